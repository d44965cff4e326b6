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
                out.push((e, endpoint));
            }
        }
        let by_name: HashMap<String, (String, Vec<Errcode>, bool)> = out
            .iter()
            .map(|(e, endpoint)| {
                let own = e.errcodes_of.is_none();
                let entry = (endpoint.rust.clone(), endpoint.errcodes.clone(), own);
                (endpoint.name.clone(), entry)
            })
            .collect();
        for (e, endpoint) in &mut out {
            let Some(of) = &e.errcodes_of else { continue };
            match by_name.get(&of.value) {
                Some((stem, errcodes, true)) => {
                    endpoint.errcode_stem = stem.clone();
                    endpoint.errcodes = errcodes.clone();
                }
                Some((_, _, false)) => self.errors.push(
                    &of.pos,
                    format!(
                        "`errcodes_of = \"{}\"` names an endpoint that shares another's errcodes itself; name the one that lists them",
                        of.value
                    ),
                ),
                None => self.errors.push(
                    &of.pos,
                    format!("`errcodes_of`: no endpoint is named `{}`", of.value),
                ),
            }
        }
        out.into_iter().map(|(_, endpoint)| endpoint).collect()
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
        if e.errcodes_of.is_none() {
            self.claim(
                &format!("{rust}Errcode"),
                &rust_pos,
                "the endpoint's errcode enum",
            );
        }
        let auth = match &e.auth {
            None => Auth::AccessToken,
            Some(a) => match a.value.as_str() {
                "access_token" => Auth::AccessToken,
                "none" => Auth::None,
                other => {
                    self.errors.push(
                        &a.pos,
                        format!("unknown auth `{other}`; expected `access_token` or `none`"),
                    );
                    Auth::AccessToken
                }
            },
        };
        let cloud = e.cloud.as_ref().is_none_or(|c| c.value);
        if let Some(of) = &e.errcodes_of {
            if let Some(first) = e.errcodes.first() {
                self.errors.push(
                    &first.pos,
                    format!(
                        "this endpoint shares the errcodes of `{}` (`errcodes_of`); list its codes there",
                        of.value
                    ),
                );
            }
            if let Some(s) = &e.shared_errcodes {
                self.errors.push(
                    &s.pos,
                    format!(
                        "`shared_errcodes` goes on `{}`, whose errcodes this endpoint shares",
                        of.value
                    ),
                );
            }
        }
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
        let with_shared = e.shared_errcodes.as_ref().is_none_or(|s| s.value);
        let none = HashMap::new();
        let errcodes = self.endpoint_errcodes(e, if with_shared { shared } else { &none });
        Some(Endpoint {
            name: name.value.clone(),
            method: method?,
            path: text(&e.path),
            doc: text(&e.doc),
            request: request?,
            body: body?,
            answer: answer?,
            deprecated,
            auth,
            cloud,
            errcode_stem: rust.clone(),
            shared_errcodes: with_shared,
            rust,
            errcodes,
        })
    }
}
