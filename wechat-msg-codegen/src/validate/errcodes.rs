//! Errcodes: the shared table and each endpoint's own entries, their
//! classes and variant names.

use std::collections::HashMap;

use super::names::is_type_ident;
use super::{Validator, text};
use crate::error::Pos;
use crate::model::*;
use crate::raw::*;

impl Validator<'_> {
    pub(super) fn errcode(
        &mut self,
        e: &RawErrcode,
        shared: Option<&HashMap<i64, Errcode>>,
    ) -> Option<Errcode> {
        let code = e.code.as_ref()?;
        let inherited = shared.and_then(|s| s.get(&code.value));
        let class = match (&e.class, inherited) {
            (Some(c), Some(_)) | (Some(c), None) => match c.value.as_str() {
                "retry" => Some(ErrorClass::Retry),
                "refresh_token" => Some(ErrorClass::RefreshToken),
                "permanent" => Some(ErrorClass::Permanent),
                other => {
                    let msg = format!(
                        "unknown errcode class `{other}`; expected one of: retry, refresh_token, permanent"
                    );
                    self.errors.push(&c.pos, msg);
                    None
                }
            },
            (None, Some(s)) => Some(s.class),
            (None, None) => {
                self.errors.push(
                    &e.pos,
                    format!(
                        "errcode {} needs `class` (retry, refresh_token or permanent)",
                        code.value
                    ),
                );
                None
            }
        };
        if let (Some(shared), Some(rust)) = (inherited, &e.rust)
            && rust.value != shared.rust
        {
            let msg = format!(
                "errcode {} is in the shared table as `{}`; drop `rust` here (an endpoint entry may only refine the description)",
                code.value, shared.rust
            );
            self.errors.push(&rust.pos, msg);
        }
        let rust = match (&e.rust, inherited) {
            (Some(r), _) => {
                if !is_type_ident(&r.value) || r.value == "Unknown" {
                    self.errors.push(
                        &r.pos,
                        format!(
                            "`{}` is not a usable errcode variant name (`Unknown` is reserved)",
                            r.value
                        ),
                    );
                }
                r.value.clone()
            }
            (None, Some(s)) => s.rust.clone(),
            (None, None) => {
                self.errors.push(
                    &e.pos,
                    format!("errcode {} needs `rust`, its variant name", code.value),
                );
                return None;
            }
        };
        Some(Errcode {
            code: code.value,
            rust,
            description: text(&e.description),
            class: class?,
        })
    }

    pub(super) fn shared_errcodes(&mut self, files: &[RawFile]) -> HashMap<i64, Errcode> {
        let mut shared: HashMap<i64, Errcode> = HashMap::new();
        let mut codes: HashMap<String, Pos> = HashMap::new();
        let mut names: HashMap<String, Pos> = HashMap::new();
        for e in files.iter().flat_map(|f| &f.errcodes) {
            if let Some(code) = &e.code {
                self.unique_code(&mut codes, code);
            }
            if let Some(errcode) = self.errcode(e, None) {
                self.unique_rust(
                    &mut names,
                    &errcode.rust,
                    e.rust.as_ref().map_or(&e.pos, |r| &r.pos),
                    "errcode variant",
                );
                shared.entry(errcode.code).or_insert(errcode);
            }
        }
        shared
    }

    /// The errcodes of endpoint `e`: the shared table, refined or extended
    /// by its own entries, sorted by code.
    pub(super) fn endpoint_errcodes(
        &mut self,
        e: &RawEndpoint,
        shared: &HashMap<i64, Errcode>,
    ) -> Vec<Errcode> {
        let mut errcodes: Vec<Errcode> = shared.values().cloned().collect();
        let mut own_codes: HashMap<String, Pos> = HashMap::new();
        for raw in &e.errcodes {
            if let Some(code) = &raw.code {
                self.unique_code(&mut own_codes, code);
            }
            if let Some(errcode) = self.errcode(raw, Some(shared)) {
                match errcodes.iter_mut().find(|c| c.code == errcode.code) {
                    Some(existing) => *existing = errcode,
                    None => errcodes.push(errcode),
                }
            }
        }
        errcodes.sort_by_key(|c| c.code);
        let mut variant_names: HashMap<String, Pos> = HashMap::new();
        for (c, raw) in errcodes
            .iter()
            .filter(|c| !shared.contains_key(&c.code))
            .filter_map(|c| {
                e.errcodes
                    .iter()
                    .find(|r| r.code.as_ref().is_some_and(|k| k.value == c.code))
                    .map(|r| (c, r))
            })
        {
            let pos = raw.rust.as_ref().map_or(&raw.pos, |r| &r.pos);
            if shared.values().any(|s| s.rust == c.rust) {
                self.errors.push(
                    pos,
                    format!(
                        "duplicate Rust errcode variant `{}`: the shared table already uses it",
                        c.rust
                    ),
                );
            }
            self.unique_rust(&mut variant_names, &c.rust, pos, "errcode variant");
        }
        errcodes
    }

    /// `errcode_missing` and `errcode_invalid` marks: only on the fields of
    /// a request type, naming codes its endpoint lists.
    pub(super) fn field_errcodes(
        &mut self,
        raw_types: &[&RawType],
        objects: &[Object],
        endpoints: &[Endpoint],
    ) {
        for (raw, object) in raw_types.iter().zip(objects) {
            for f in &raw.fields {
                let marks = [
                    ("errcode_missing", &f.errcode_missing),
                    ("errcode_invalid", &f.errcode_invalid),
                ];
                for (key, mark) in marks {
                    let Some(mark) = mark else { continue };
                    match object.endpoint.map(|i| &endpoints[i]) {
                        None => self.errors.push(
                            &mark.pos,
                            format!(
                                "`{key}` is for the top-level fields of a request type, and `{}` is not the request of an endpoint",
                                object.name
                            ),
                        ),
                        Some(e) if !e.errcodes.iter().any(|c| c.code == mark.value) => {
                            self.errors.push(
                                &mark.pos,
                                format!(
                                    "`{key} = {}`: `{}` does not list errcode {}; add it under `[[endpoint.errcode]]`",
                                    mark.value, e.name, mark.value
                                ),
                            )
                        }
                        Some(_) => {}
                    }
                }
            }
        }
    }
}
