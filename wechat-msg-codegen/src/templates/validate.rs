//! Raw templates file -> [`Templates`]: names, duplicates, each keyword's
//! type, enum values. Every mistake is reported, not only the first.

use std::collections::BTreeMap;

use heck::ToUpperCamelCase;
use proc_macro2::Ident;

use super::model::{Keyword, Template, Templates, keyword_type};
use super::raw::{RawKeyword, RawList, RawTemplates};
use crate::error::{Pos, SpecErrors};
use crate::raw::Sp;

/// Validates a templates file as read; what is wrong goes to `errors`.
pub(super) fn validate(raw: RawTemplates, errors: &mut SpecErrors) -> Templates {
    let mut out = Templates::default();
    let mut struct_names: BTreeMap<String, Pos> = BTreeMap::new();
    let mut ids: BTreeMap<String, Pos> = BTreeMap::new();
    for t in raw.templates {
        if let Some(id) = &t.id {
            if id.value.trim().is_empty() {
                errors.push(&id.pos, "`id` must not be empty");
            } else if let Some(first) = ids.insert(id.value.clone(), id.pos.clone()) {
                errors.push(
                    &id.pos,
                    format!("template id `{}` is already used at {first}", id.value),
                );
            }
        }
        if let Some(rust) = &t.rust {
            check_struct_name(errors, rust);
            if let Some(first) = struct_names.insert(rust.value.clone(), rust.pos.clone()) {
                errors.push(
                    &rust.pos,
                    format!("struct name `{}` is already used at {first}", rust.value),
                );
            }
        }
        let keywords = keywords(errors, t.keywords);
        if let (Some(id), Some(rust), Some(title)) = (t.id, t.rust, t.title) {
            out.templates.push(Template {
                id: id.value,
                rust: rust.value,
                title: title.value,
                doc: t.doc.map(|d| d.value),
                keywords,
            });
        }
    }
    out
}

fn keywords(errors: &mut SpecErrors, raw: Vec<RawKeyword>) -> Vec<Keyword> {
    let mut out = Vec::new();
    let mut keys: BTreeMap<String, Pos> = BTreeMap::new();
    let mut fields: BTreeMap<String, Pos> = BTreeMap::new();
    for k in raw {
        let values = k
            .values
            .as_ref()
            .map(|list| distinct_values(errors, "values", list));
        let Some(key) = k.key else { continue };
        let Some(key_type) = keyword_type(&key.value) else {
            errors.push(
                &key.pos,
                format!(
                    "keyword key `{}` is not a type followed by digits (`thing1`, `character_string12`)",
                    key.value
                ),
            );
            continue;
        };
        if let Some(ty) = &k.ty
            && ty.value != key_type
        {
            errors.push(
                &ty.pos,
                format!(
                    "`type` is `{}` but the key `{}` makes it `{key_type}`",
                    ty.value, key.value
                ),
            );
        }
        if let Some(first) = keys.insert(key.value.clone(), key.pos.clone()) {
            errors.push(
                &key.pos,
                format!("keyword `{}` is already listed at {first}", key.value),
            );
        }
        let rust = k.rust.unwrap_or_else(|| key.clone());
        check_field_name(errors, &rust);
        if let Some(first) = fields.insert(rust.value.clone(), rust.pos.clone()) {
            errors.push(
                &rust.pos,
                format!("field name `{}` is already used at {first}", rust.value),
            );
        }
        out.push(Keyword {
            ty: key_type.to_owned(),
            key: key.value,
            rust: rust.value,
            name: k.name.map(|n| n.value),
            values,
            doc: k.doc.map(|d| d.value),
        });
    }
    out
}

/// The strings of the array `key`: non-empty, distinct, at least one.
fn distinct_values(errors: &mut SpecErrors, key: &str, list: &RawList) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in list.items.iter().flatten() {
        let s = &item.value;
        if s.is_empty() {
            errors.push(&item.pos, format!("`{key}` holds an empty string"));
        } else if out.contains(s) {
            errors.push(&item.pos, format!("`{key}` lists `{s}` twice"));
        } else {
            out.push(s.clone());
        }
    }
    if list.items.is_empty() {
        errors.push(&list.pos, format!("`{key}` must list at least one value"));
    }
    out
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && syn::parse_str::<Ident>(s).is_ok()
}

fn check_struct_name(errors: &mut SpecErrors, name: &Sp<String>) {
    if !is_ident(&name.value) || !name.value.starts_with(|c: char| c.is_ascii_uppercase()) {
        errors.push(
            &name.pos,
            format!(
                "`{}` is not a Rust type name (UpperCamelCase, ASCII letters and digits)",
                name.value
            ),
        );
    } else if name.value.to_upper_camel_case() != name.value {
        errors.push(
            &name.pos,
            format!(
                "`{}` is not UpperCamelCase (`{}`)",
                name.value,
                name.value.to_upper_camel_case()
            ),
        );
    }
}

fn check_field_name(errors: &mut SpecErrors, name: &Sp<String>) {
    let lower = name
        .value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !is_ident(&name.value) || !lower || name.value.starts_with(|c: char| c.is_ascii_digit()) {
        errors.push(
            &name.pos,
            format!(
                "`{}` is not a Rust field name (snake_case, ASCII, not a Rust keyword)",
                name.value
            ),
        );
    } else if ["to", "builder", "data"].contains(&name.value.as_str()) {
        errors.push(
            &name.pos,
            format!(
                "`{}` is taken by the generated methods; pick another `rust` name",
                name.value
            ),
        );
    }
}
