//! Endpoints: names, methods, paths, body and answer kinds, and one request
//! type per endpoint.

use std::collections::HashMap;

use heck::ToUpperCamelCase;

use super::names::is_type_ident;
use super::{Validator, text};
use crate::error::Pos;
use crate::model::*;
use crate::raw::*;

impl Validator<'_> {
    pub(super) fn endpoints(
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

    pub(super) fn endpoint(
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
                "form" => Some(BodyKind::Form),
                other => {
                    self.errors.push(
                        &b.pos,
                        format!("unknown body `{other}`; expected `json`, `multipart` or `form`"),
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
                req,
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
        let errcodes = self.endpoint_errcodes(e, shared);
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
}
