//! Raw spec -> model. Every check the spec needs happens here, and every
//! mistake is reported, not only the first.

use std::collections::HashMap;

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::error::{Pos, SpecErrors};
use crate::model::*;
use crate::raw::*;

/// The wx-server-sdk rule for cloud-call keys: each ASCII capital `X`
/// becomes `_x`; everything else is kept.
pub fn sdk_snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Validates the raw files into a model, or reports every mistake.
pub fn validate(files: &[RawFile], errors: &mut SpecErrors) -> Option<Model> {
    let mut v = Validator {
        errors,
        names: HashMap::new(),
        objects: HashMap::new(),
        enums: HashMap::new(),
    };
    let raw_types: Vec<&RawType> = files.iter().flat_map(|f| &f.types).collect();
    let raw_enums: Vec<&RawEnum> = files.iter().flat_map(|f| &f.enums).collect();
    let raw_endpoints: Vec<&RawEndpoint> = files.iter().flat_map(|f| &f.endpoints).collect();

    // Pass 1: names, so references can point forward and across files.
    for (i, t) in raw_types.iter().enumerate() {
        if let Some(name) = v.type_name(&t.name) {
            v.objects.insert(name, i);
        }
    }
    for (i, e) in raw_enums.iter().enumerate() {
        if let Some(name) = v.type_name(&e.name) {
            v.enums.insert(name, i);
        }
    }

    let objects: Vec<Object> = raw_types.iter().map(|t| v.object(t)).collect();
    let enums: Vec<StrEnum> = raw_enums.iter().map(|e| v.enumeration(e)).collect();
    v.check_recursion(&raw_types, &objects);
    let shared = v.shared_errcodes(files);
    let endpoints = v.endpoints(&raw_endpoints, &objects, &shared);
    let push = crate::push::validate(files, v.errors, &mut v.names);

    v.errors.is_empty().then_some(Model {
        endpoints,
        objects,
        enums,
        push,
        files: Vec::new(),
    })
}

struct Validator<'e> {
    errors: &'e mut SpecErrors,
    /// Every generated Rust type name, and where it was first defined.
    names: HashMap<String, Pos>,
    objects: HashMap<String, usize>,
    enums: HashMap<String, usize>,
}

fn text(sp: &Option<Sp<String>>) -> String {
    sp.as_ref().map(|s| s.value.clone()).unwrap_or_default()
}

impl Validator<'_> {
    /// Claims a generated Rust type name; reports a second claim.
    fn claim(&mut self, name: &str, pos: &Pos, what: &str) -> bool {
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
    fn type_name(&mut self, name: &Option<Sp<String>>) -> Option<String> {
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

    fn resolve_type(&mut self, sp: &Sp<String>) -> Option<Ty> {
        let parsed = parse_type(&sp.value, &self.objects, &self.enums);
        match parsed {
            Ok(ty) => Some(ty),
            Err(msg) => {
                self.errors.push(&sp.pos, msg);
                None
            }
        }
    }

    fn object(&mut self, t: &RawType) -> Object {
        let mut object = Object {
            name: text(&t.name),
            doc: text(&t.doc),
            fields: Vec::new(),
            union: None,
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

    fn unique_key(&mut self, seen: &mut HashMap<String, Pos>, key: &str, form: Form, pos: &Pos) {
        let form_name = if form == Form::Http { "HTTP" } else { "cloud" };
        if let Some(first) = seen.get(key) {
            let msg =
                format!("duplicate {form_name} wire name `{key}`; it is already used at {first}");
            self.errors.push(pos, msg);
        } else {
            seen.insert(key.to_owned(), pos.clone());
        }
    }

    fn unique_rust(&mut self, seen: &mut HashMap<String, Pos>, name: &str, pos: &Pos, what: &str) {
        if let Some(first) = seen.get(name) {
            let msg = format!("duplicate Rust {what} name `{name}`; it is already used at {first}");
            self.errors.push(pos, msg);
        } else {
            seen.insert(name.to_owned(), pos.clone());
        }
    }

    /// Checks that wx-server-sdk's rule turns `cloud` into `http`.
    fn camel_rule(&mut self, http: &Sp<String>, cloud: &Sp<String>) -> bool {
        let converted = sdk_snake_case(&cloud.value);
        if converted != http.value {
            let msg = format!(
                "cloud name `{}` becomes `{}` under wx-server-sdk's rule (each capital X -> _x), not the HTTP name `{}`",
                cloud.value, converted, http.value
            );
            self.errors.push(&cloud.pos, msg);
            return false;
        }
        true
    }

    fn wire_name(&mut self, sp: &Sp<String>) -> bool {
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

    fn field(&mut self, f: &RawField) -> Option<Field> {
        let (http, cloud) = (f.http.as_ref()?, f.cloud.as_ref()?);
        let mut ok = self.wire_name(http) & self.wire_name(cloud);
        ok &= self.camel_rule(http, cloud);
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
            Some(r) => match r.value.as_str() {
                "openid" => Some(Role::Openid),
                "template_id" => Some(Role::TemplateId),
                "form_id" => Some(Role::FormId),
                "media_id" => Some(Role::MediaId),
                "timestamp" => Some(Role::Timestamp),
                other => {
                    let msg = format!(
                        "unknown role `{other}`; expected one of: openid, template_id, form_id, media_id, timestamp"
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
            doc: text(&f.doc),
        })
    }

    fn field_ident(&mut self, sp: &Sp<String>) -> bool {
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

    fn union(
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

    fn enumeration(&mut self, e: &RawEnum) -> StrEnum {
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
        StrEnum {
            name: text(&e.name),
            doc: text(&e.doc),
            values,
        }
    }

    /// Object types that contain themselves without a map or list between
    /// would have infinite size.
    fn check_recursion(&mut self, raw: &[&RawType], objects: &[Object]) {
        fn direct(ty: &Ty) -> Option<usize> {
            match ty {
                Ty::Object(i) => Some(*i),
                _ => None,
            }
        }
        for start in 0..objects.len() {
            let mut stack: Vec<usize> = vec![start];
            let mut seen = vec![false; objects.len()];
            while let Some(i) = stack.pop() {
                let o = &objects[i];
                let next = o.fields.iter().filter_map(|f| direct(&f.ty)).chain(
                    o.union
                        .iter()
                        .flat_map(|u| u.variants.iter().map(|v| v.payload)),
                );
                for n in next {
                    if n == start {
                        let msg = format!(
                            "type `{}` contains itself; wrap the recursion in `list<...>` or `map<...>`",
                            objects[start].name
                        );
                        self.errors.push(&raw[start].pos, msg);
                        stack.clear();
                        break;
                    }
                    if !seen[n] {
                        seen[n] = true;
                        stack.push(n);
                    }
                }
            }
        }
    }

    fn errcode(
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

    fn shared_errcodes(&mut self, files: &[RawFile]) -> HashMap<i64, Errcode> {
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

    fn unique_code(&mut self, seen: &mut HashMap<String, Pos>, code: &Sp<i64>) {
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

    fn endpoints(
        &mut self,
        raw: &[&RawEndpoint],
        objects: &[Object],
        shared: &HashMap<i64, Errcode>,
    ) -> Vec<Endpoint> {
        let mut names: HashMap<String, Pos> = HashMap::new();
        let mut requests: HashMap<usize, Pos> = HashMap::new();
        let mut out = Vec::new();
        for e in raw {
            if let Some(endpoint) = self.endpoint(e, objects, shared) {
                let name_pos = e.name.as_ref().map_or(&e.pos, |n| &n.pos);
                self.unique_rust(&mut names, &endpoint.name, name_pos, "endpoint");
                let request_pos = e.request.as_ref().map_or(&e.pos, |r| &r.pos);
                if let Some(first) = requests.get(&endpoint.request) {
                    let msg = format!(
                        "request type `{}` is already the request of the endpoint at {first}; each endpoint needs its own",
                        objects[endpoint.request].name
                    );
                    self.errors.push(request_pos, msg);
                } else {
                    requests.insert(endpoint.request, request_pos.clone());
                }
                out.push(endpoint);
            }
        }
        out
    }

    fn endpoint(
        &mut self,
        e: &RawEndpoint,
        objects: &[Object],
        shared: &HashMap<i64, Errcode>,
    ) -> Option<Endpoint> {
        let name = e.name.as_ref()?;
        let valid_name = name.value.split_once('.').is_some_and(|(ns, m)| {
            !ns.is_empty()
                && !m.is_empty()
                && !m.contains('.')
                && name
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.')
        });
        if !valid_name {
            self.errors.push(
                &name.pos,
                format!(
                    "endpoint name `{}` must be `namespace.method` (`customerServiceMessage.send`)",
                    name.value
                ),
            );
        }
        let rust = match &e.rust {
            Some(r) => r.value.clone(),
            None => name.value.replace('.', "_").to_upper_camel_case(),
        };
        let rust_pos = e.rust.as_ref().map_or(&name.pos, |r| &r.pos).clone();
        if !is_type_ident(&rust) {
            self.errors
                .push(&rust_pos, format!("`{rust}` is not a Rust type name"));
        }
        self.claim(
            &format!("{rust}Errcode"),
            &rust_pos,
            "the endpoint's errcode enum",
        );
        let method = e.method.as_ref().and_then(|m| match m.value.as_str() {
            "GET" => Some(Method::Get),
            "POST" => Some(Method::Post),
            other => {
                self.errors.push(
                    &m.pos,
                    format!("unknown method `{other}`; expected GET or POST"),
                );
                None
            }
        });
        if let Some(path) = &e.path
            && (!path.value.starts_with('/') || path.value.contains(['?', '#', ' ']))
        {
            self.errors.push(
                &path.pos,
                format!(
                    "path `{}` must start with `/` and carry no query",
                    path.value
                ),
            );
        }
        let request = e
            .request
            .as_ref()
            .and_then(|r| self.object_ref(r, "request"));
        let body = match &e.body {
            None => Some(BodyKind::Json),
            Some(b) => match b.value.as_str() {
                "json" => Some(BodyKind::Json),
                "multipart" => Some(BodyKind::Multipart),
                other => {
                    self.errors.push(
                        &b.pos,
                        format!("unknown body `{other}`; expected `json` or `multipart`"),
                    );
                    None
                }
            },
        };
        let answer = match &e.answer {
            None => Some(AnswerKind::Ack),
            Some(a) if a.value == "ack" => Some(AnswerKind::Ack),
            Some(a) if a.value == "binary" => Some(AnswerKind::Binary),
            Some(a) => self.object_ref(a, "answer").map(AnswerKind::Object),
        };
        if let (Some(req), Some(method), Some(body)) = (request, method, body) {
            self.check_request_fields(
                &objects[req],
                method,
                body,
                e.request.as_ref().map_or(&e.pos, |r| &r.pos),
                objects,
            );
        }
        let deprecated = e.deprecated.as_ref().map(|d| Deprecated {
            since: d.since.as_ref().map(|s| s.value.clone()),
            successor: d.successor.as_ref().map(|s| s.value.clone()),
            note: text(&d.note),
        });
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
        Some(Endpoint {
            name: name.value.clone(),
            rust,
            method: method?,
            path: text(&e.path),
            doc: text(&e.doc),
            request: request?,
            body: body?,
            answer: answer?,
            deprecated,
            errcodes,
        })
    }

    fn object_ref(&mut self, sp: &Sp<String>, what: &str) -> Option<usize> {
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

    /// Query fields and files only at the top of a request; multipart bodies
    /// hold scalars and files only.
    fn check_request_fields(
        &mut self,
        request: &Object,
        method: Method,
        body: BodyKind,
        pos: &Pos,
        objects: &[Object],
    ) {
        for f in &request.fields {
            let scalar = matches!(f.ty, Ty::String | Ty::Integer | Ty::Bool | Ty::Enum(_));
            if f.location == Location::Query && !scalar {
                self.errors.push(
                    pos,
                    format!(
                        "query field `{}` of `{}` must be a string, integer, bool or enum",
                        f.http, request.name
                    ),
                );
            }
            if body == BodyKind::Multipart
                && f.location == Location::Body
                && !scalar
                && f.ty != Ty::File
            {
                self.errors.push(
                    pos,
                    format!(
                        "multipart field `{}` of `{}` must be a scalar or a file",
                        f.http, request.name
                    ),
                );
            }
            if body == BodyKind::Json && f.ty == Ty::File {
                self.errors.push(
                    pos,
                    format!(
                        "file field `{}` of `{}` needs `body = \"multipart\"` on the endpoint",
                        f.http, request.name
                    ),
                );
            }
        }
        if method == Method::Get {
            for f in request
                .fields
                .iter()
                .filter(|f| f.location != Location::Query)
            {
                let msg = format!(
                    "field `{}` of `{}`: a GET request has no body; give it `in = \"query\"`",
                    f.http, request.name
                );
                self.errors.push(pos, msg);
            }
            if request.union.is_some() {
                self.errors.push(
                    pos,
                    format!("a GET request (`{}`) cannot hold a union", request.name),
                );
            }
        }
        if body == BodyKind::Multipart && request.union.is_some() {
            self.errors.push(
                pos,
                format!(
                    "a multipart request (`{}`) cannot hold a union",
                    request.name
                ),
            );
        }
        // Files and query fields below the top level are never sent right.
        let mut stack: Vec<&Object> = request
            .fields
            .iter()
            .filter_map(|f| nested(&f.ty))
            .map(|i| &objects[i])
            .collect();
        stack.extend(
            request
                .union
                .iter()
                .flat_map(|u| u.variants.iter().map(|v| &objects[v.payload])),
        );
        let mut guard = 0;
        while let Some(o) = stack.pop() {
            guard += 1;
            if guard > 10_000 {
                break;
            }
            for f in &o.fields {
                if f.location == Location::Query || contains_file(&f.ty) {
                    self.errors.push(pos, format!("field `{}` of `{}`: query fields and files are allowed only at the top of a request", f.http, o.name));
                }
                if let Some(i) = nested(&f.ty) {
                    stack.push(&objects[i]);
                }
            }
        }
    }
}

fn nested(ty: &Ty) -> Option<usize> {
    match ty {
        Ty::Object(i) => Some(*i),
        Ty::Map(t) | Ty::List(t) => nested(t),
        _ => None,
    }
}

fn contains_file(ty: &Ty) -> bool {
    match ty {
        Ty::File => true,
        Ty::Map(t) | Ty::List(t) => contains_file(t),
        _ => false,
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

pub(crate) fn is_type_ident(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && syn::parse_str::<syn::Ident>(s).is_ok()
}

pub(crate) fn is_field_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && syn::parse_str::<syn::Ident>(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::sdk_snake_case;

    #[test]
    fn sdk_rule() {
        assert_eq!(sdk_snake_case("thumbMediaId"), "thumb_media_id");
        assert_eq!(sdk_snake_case("msgType"), "msg_type");
        assert_eq!(sdk_snake_case("touser"), "touser");
        assert_eq!(sdk_snake_case("thumb_url"), "thumb_url");
    }
}
