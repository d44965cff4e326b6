//! Names: Rust type, field and variant identifiers, wire names, and the
//! duplicates among them (per object, per form, per enum, crate-wide for
//! generated type names).

use std::collections::HashMap;

use super::Validator;
use crate::error::Pos;
use crate::model::Form;
use crate::raw::Sp;

impl Validator<'_> {
    /// Claims a generated Rust type name; reports a second claim.
    pub(super) fn claim(&mut self, name: &str, pos: &Pos, what: &str) -> bool {
        if let Some(first) = self.names.get(name) {
            let msg = format!(
                "duplicate Rust name `{name}` ({what}); `{name}` is already defined at {first}"
            );
            self.errors.push(pos, msg);
            return false;
        }
        self.names.insert(name.to_owned(), pos.clone());
        true
    }

    /// A type name that must be a Rust type identifier.
    pub(super) fn type_name(&mut self, name: &Option<Sp<String>>) -> Option<String> {
        let name = name.as_ref()?;
        if !is_type_ident(&name.value) {
            let msg = format!(
                "`{}` is not a Rust type name (UpperCamelCase, letters and digits)",
                name.value
            );
            self.errors.push(&name.pos, msg);
            return None;
        }
        self.claim(&name.value, &name.pos, "type")
            .then(|| name.value.clone())
    }

    pub(super) fn unique_key(
        &mut self,
        seen: &mut HashMap<String, Pos>,
        key: &str,
        form: Form,
        pos: &Pos,
    ) {
        let form_name = if form == Form::Http { "HTTP" } else { "cloud" };
        if let Some(first) = seen.get(key) {
            let msg =
                format!("duplicate {form_name} wire name `{key}`; it is already used at {first}");
            self.errors.push(pos, msg);
        } else {
            seen.insert(key.to_owned(), pos.clone());
        }
    }

    pub(super) fn unique_rust(
        &mut self,
        seen: &mut HashMap<String, Pos>,
        name: &str,
        pos: &Pos,
        what: &str,
    ) {
        if let Some(first) = seen.get(name) {
            let msg = format!("duplicate Rust {what} name `{name}`; it is already used at {first}");
            self.errors.push(pos, msg);
        } else {
            seen.insert(name.to_owned(), pos.clone());
        }
    }

    pub(super) fn unique_code(&mut self, seen: &mut HashMap<String, Pos>, code: &Sp<i64>) {
        let key = code.value.to_string();
        if let Some(first) = seen.get(&key) {
            let msg = format!(
                "duplicate errcode {}; it is already listed at {first}",
                code.value
            );
            self.errors.push(&code.pos, msg);
        } else {
            seen.insert(key, code.pos.clone());
        }
    }

    pub(super) fn wire_name(&mut self, sp: &Sp<String>) -> bool {
        let ok = !sp.value.is_empty()
            && sp
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            self.errors.push(
                &sp.pos,
                format!(
                    "wire name `{}` must be ASCII letters, digits and `_`",
                    sp.value
                ),
            );
        }
        ok
    }

    pub(super) fn field_ident(&mut self, sp: &Sp<String>) -> bool {
        let ok = is_field_ident(&sp.value);
        if !ok {
            self.errors.push(
                &sp.pos,
                format!(
                    "`{}` is not a Rust field name (snake_case, not a keyword)",
                    sp.value
                ),
            );
        }
        ok
    }
}

pub(super) fn is_type_ident(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && syn::parse_str::<syn::Ident>(s).is_ok()
}

pub(super) fn is_field_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && syn::parse_str::<syn::Ident>(s).is_ok()
}
