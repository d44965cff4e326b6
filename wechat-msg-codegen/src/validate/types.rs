//! Object types, their fields and unions, string enums, and references
//! between types (`map<T>`, `list<T>`, type names), including types that
//! would contain themselves.

use std::collections::HashMap;

use heck::{ToSnakeCase, ToUpperCamelCase};

use super::graph::{self, Links};
use super::names::{is_field_ident, is_type_ident};
use super::{Validator, text};
use crate::error::Pos;
use crate::model::*;
use crate::raw::*;

/// The separators `join` may use: characters a query keeps unescaped
/// (RFC 3986 sub-delimiters), so `ids=2,616` goes out as written.
const JOIN_SEPARATORS: &[&str] = &[",", ";"];

impl Validator<'_> {
    pub(super) fn resolve_type(&mut self, sp: &Sp<String>) -> Option<Ty> {
        let parsed = parse_type(&sp.value, &self.objects, &self.enums);
        match parsed {
            Ok(ty) => Some(ty),
            Err(msg) => {
                self.errors.push(&sp.pos, msg);
                None
            }
        }
    }

    pub(super) fn object_ref(&mut self, sp: &Sp<String>, what: &str) -> Option<usize> {
        match self.objects.get(&sp.value) {
            Some(&i) => Some(i),
            None => {
                let msg = if self.enums.contains_key(&sp.value) {
                    format!(
                        "the {what} must be an object type, and `{}` is an enum",
                        sp.value
                    )
                } else {
                    format!("the {what} refers to undefined type `{}`", sp.value)
                };
                self.errors.push(&sp.pos, msg);
                None
            }
        }
    }

    pub(super) fn object(&mut self, t: &RawType) -> Object {
        let mut object = Object {
            name: text(&t.name),
            doc: text(&t.doc),
            fields: Vec::new(),
            union: None,
            endpoint: None,
        };
        // Wire keys per form and Rust names, to find duplicates.
        let mut keys: [HashMap<String, Pos>; 2] = Default::default();
        let mut rust_names: HashMap<String, Pos> = HashMap::new();
        for f in &t.fields {
            if let Some(field) = self.field(f) {
                for (i, form) in Form::ALL.into_iter().enumerate() {
                    let pos = if form == Form::Http {
                        &f.http
                    } else {
                        &f.cloud
                    };
                    let pos = pos.as_ref().map_or(&f.pos, |p| &p.pos);
                    self.unique_key(&mut keys[i], field.key(form), form, pos);
                }
                let pos = f.rust.as_ref().map_or(&f.pos, |r| &r.pos);
                self.unique_rust(&mut rust_names, &field.rust, pos, "field");
                object.fields.push(field);
            }
        }
        if let Some(u) = &t.union {
            object.union = self.union(u, &mut keys, &mut rust_names);
        }
        object
    }

    pub(super) fn field(&mut self, f: &RawField) -> Option<Field> {
        let (http, cloud) = (f.http.as_ref()?, f.cloud.as_ref()?);
        let mut ok = self.wire_name(http) & self.wire_name(cloud);
        match f.verbatim.as_ref().filter(|v| v.value) {
            Some(verbatim) => ok &= self.verbatim_name(http, cloud, verbatim),
            None => ok &= self.camel_rule(http, cloud),
        }
        let rust = match &f.rust {
            Some(r) => {
                ok &= self.field_ident(r);
                r.value.clone()
            }
            None => {
                let derived = http.value.to_snake_case();
                if !is_field_ident(&derived) {
                    let msg = format!(
                        "the Rust name derived from `{}` is `{derived}`, which is not a usable field name (a keyword?); give the field `rust = \"...\"`",
                        http.value
                    );
                    self.errors.push(&http.pos, msg);
                    ok = false;
                }
                derived
            }
        };
        let ty = f.ty.as_ref().and_then(|t| self.resolve_type(t));
        let role = match &f.role {
            None => None,
            Some(r) => match Role::from_name(&r.value) {
                Some(role) => Some(role),
                None => {
                    let msg = format!(
                        "unknown role `{}`; expected one of: {}",
                        r.value,
                        Role::ALL.map(Role::name).join(", ")
                    );
                    self.errors.push(&r.pos, msg);
                    None
                }
            },
        };
        let location = match &f.location {
            None => Location::Body,
            Some(l) => match l.value.as_str() {
                "body" => Location::Body,
                "query" => Location::Query,
                other => {
                    self.errors.push(
                        &l.pos,
                        format!("unknown location `in = \"{other}\"`; expected `body` or `query`"),
                    );
                    Location::Body
                }
            },
        };
        let join = match (&f.join, &ty) {
            (None, _) => None,
            (Some(j), ty) => {
                let separator_ok = JOIN_SEPARATORS.contains(&j.value.as_str());
                if !separator_ok {
                    let msg = format!(
                        "`join = \"{}\"` is not a separator the query keeps as is; expected one of: {}",
                        j.value.escape_debug(),
                        JOIN_SEPARATORS.join(" ")
                    );
                    self.errors.push(&j.pos, msg);
                }
                let list_of_scalars = matches!(ty, Some(Ty::List(item)) if matches!(**item, Ty::String | Ty::Integer | Ty::Bool | Ty::Enum(_)));
                if ty.is_some() && !list_of_scalars {
                    let msg = format!(
                        "`join` is for a list of strings, integers, bools or enums, and `{}` is `{}`",
                        http.value,
                        f.ty.as_ref().map_or("", |t| t.value.as_str())
                    );
                    self.errors.push(&j.pos, msg);
                }
                if location != Location::Query {
                    let msg = format!(
                        "`join` joins a list in the query; give `{}` `in = \"query\"` (a form body sends a list as repeated keys)",
                        http.value
                    );
                    self.errors.push(&j.pos, msg);
                }
                Some(j.value.clone())
            }
        };
        if let (Some(r), Some(t)) = (&f.role, &ty)
            && r.value == "secret"
            && *t != Ty::String
        {
            let msg = format!(
                "`role = \"secret\"` is for a string field, and `{}` is `{}`",
                http.value,
                f.ty.as_ref().map_or("", |t| t.value.as_str())
            );
            self.errors.push(&r.pos, msg);
        }
        if !ok {
            return None;
        }
        Some(Field {
            rust,
            http: http.value.clone(),
            cloud: cloud.value.clone(),
            ty: ty?,
            required: f.required.as_ref().is_some_and(|r| r.value),
            role,
            location,
            keywords: None,
            join,
            errcode_missing: f.errcode_missing.as_ref().map(|c| c.value),
            errcode_invalid: f.errcode_invalid.as_ref().map(|c| c.value),
            doc: text(&f.doc),
        })
    }

    pub(super) fn union(
        &mut self,
        u: &RawUnion,
        keys: &mut [HashMap<String, Pos>; 2],
        rust_names: &mut HashMap<String, Pos>,
    ) -> Option<Union> {
        let rust_field = u.rust.as_ref()?;
        if self.field_ident(rust_field) {
            self.unique_rust(rust_names, &rust_field.value, &rust_field.pos, "field");
        }
        let enum_name = self.type_name(&u.enum_name);
        let tag = u.tag.as_ref()?;
        let tag_cloud = u.tag_cloud.clone().unwrap_or_else(|| tag.clone());
        self.wire_name(tag);
        self.camel_rule(tag, &tag_cloud);
        self.unique_key(&mut keys[0], &tag.value, Form::Http, &tag.pos);
        self.unique_key(&mut keys[1], &tag_cloud.value, Form::Cloud, &tag_cloud.pos);
        if u.variants.is_empty() {
            self.errors.push(
                &u.pos,
                "a union needs at least one `[[type.union.variant]]`",
            );
        }
        let mut values: HashMap<String, Pos> = HashMap::new();
        let mut variant_names: HashMap<String, Pos> = HashMap::new();
        let mut variants = Vec::new();
        for raw in &u.variants {
            let Some(value) = &raw.value else { continue };
            self.unique_rust(&mut values, &value.value, &value.pos, "union value");
            let cloud = raw.cloud.clone().unwrap_or_else(|| value.clone());
            self.wire_name(value);
            self.camel_rule(value, &cloud);
            self.unique_key(&mut keys[0], &value.value, Form::Http, &value.pos);
            self.unique_key(&mut keys[1], &cloud.value, Form::Cloud, &cloud.pos);
            let rust = raw.rust.clone().unwrap_or_else(|| Sp {
                value: value.value.to_upper_camel_case(),
                pos: value.pos.clone(),
            });
            if !is_type_ident(&rust.value) {
                self.errors.push(
                    &rust.pos,
                    format!(
                        "`{}` is not a Rust variant name; give the variant `rust = \"...\"`",
                        rust.value
                    ),
                );
            }
            self.unique_rust(&mut variant_names, &rust.value, &rust.pos, "variant");
            let payload = raw
                .payload
                .as_ref()
                .and_then(|p| match self.objects.get(&p.value) {
                    Some(&i) => Some(i),
                    None => {
                        let msg = if self.enums.contains_key(&p.value) {
                            format!(
                                "union payload `{}` must be an object type, not an enum",
                                p.value
                            )
                        } else {
                            format!("union payload refers to undefined type `{}`", p.value)
                        };
                        self.errors.push(&p.pos, msg);
                        None
                    }
                });
            if raw.payload.is_none() {
                let msg = format!(
                    "union variant `{}` has no payload: give it `payload = \"TypeName\"`, the object sent under `{}`",
                    value.value, value.value
                );
                self.errors.push(&raw.pos, msg);
            }
            if let Some(payload) = payload {
                variants.push(Variant {
                    value: value.value.clone(),
                    cloud: cloud.value.clone(),
                    rust: rust.value,
                    payload,
                    doc: text(&raw.doc),
                });
            }
        }
        Some(Union {
            rust_field: rust_field.value.clone(),
            enum_name: enum_name?,
            tag_http: tag.value.clone(),
            tag_cloud: tag_cloud.value,
            doc: text(&u.doc),
            variants,
        })
    }

    pub(super) fn enumeration(&mut self, e: &RawEnum) -> StrEnum {
        let mut wires = HashMap::new();
        let mut rusts = HashMap::new();
        let mut values = Vec::new();
        if e.values.is_empty() {
            self.errors
                .push(&e.pos, "an enum needs at least one `[[enum.value]]`");
        }
        for raw in &e.values {
            let Some(wire) = &raw.wire else { continue };
            self.unique_rust(&mut wires, &wire.value, &wire.pos, "enum wire value");
            let rust = raw.rust.clone().unwrap_or_else(|| Sp {
                value: wire.value.to_upper_camel_case(),
                pos: wire.pos.clone(),
            });
            if !is_type_ident(&rust.value) {
                self.errors.push(
                    &rust.pos,
                    format!(
                        "`{}` is not a Rust variant name; give the value `rust = \"...\"`",
                        rust.value
                    ),
                );
            }
            self.unique_rust(&mut rusts, &rust.value, &rust.pos, "variant");
            values.push(EnumValue {
                wire: wire.value.clone(),
                rust: rust.value,
                doc: text(&raw.doc),
            });
        }
        let open = e.open.as_ref().is_some_and(|o| o.value);
        if open && let Some(taken) = values.iter().position(|v| v.rust == "Unknown") {
            let pos = e.values[taken]
                .rust
                .as_ref()
                .or(e.values[taken].wire.as_ref())
                .map_or(&e.pos, |s| &s.pos);
            self.errors.push(
                pos,
                "an open enum (`open = true`) keeps unlisted values as `Unknown`; give this value another `rust` name",
            );
        }
        StrEnum {
            name: text(&e.name),
            doc: text(&e.doc),
            values,
            open,
        }
    }

    /// Object types that contain themselves without a map or list between
    /// would have infinite size.
    pub(super) fn check_recursion(&mut self, raw: &[&RawType], objects: &[Object]) {
        for start in 0..objects.len() {
            if graph::reachable(objects, start, Links::Inline).contains(&start) {
                let msg = format!(
                    "type `{}` contains itself; wrap the recursion in `list<...>` or `map<...>`",
                    objects[start].name
                );
                self.errors.push(&raw[start].pos, msg);
            }
        }
    }
}

/// Parses `string`, `integer`, `bool`, `file`, `map<T>`, `list<T>` or a type name.
fn parse_type(
    s: &str,
    objects: &HashMap<String, usize>,
    enums: &HashMap<String, usize>,
) -> Result<Ty, String> {
    let s = s.trim();
    for (prefix, wrap) in [("map<", Ty::Map as fn(Box<Ty>) -> Ty), ("list<", Ty::List)] {
        if let Some(inner) = s.strip_prefix(prefix) {
            let inner = inner
                .strip_suffix('>')
                .ok_or_else(|| format!("type `{s}` is missing its closing `>`"))?;
            return Ok(wrap(Box::new(parse_type(inner, objects, enums)?)));
        }
    }
    Ok(match s {
        "string" => Ty::String,
        "integer" => Ty::Integer,
        "bool" => Ty::Bool,
        "file" => Ty::File,
        name => {
            if let Some(&i) = objects.get(name) {
                Ty::Object(i)
            } else if let Some(&i) = enums.get(name) {
                Ty::Enum(i)
            } else if name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                return Err(format!(
                    "undefined type `{name}`; define it with `[[type]]` or `[[enum]]`"
                ));
            } else {
                return Err(format!(
                    "unknown type `{name}`; expected string, integer, bool, file, map<T>, list<T> or a type name"
                ));
            }
        }
    })
}
