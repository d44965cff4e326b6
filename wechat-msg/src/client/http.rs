//! The HTTP form on the wire: an endpoint's request as method, path, query
//! and a JSON or multipart body, and its answer read back (JSON, or a
//! file's bytes for binary endpoints).

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::endpoint::{AnswerKind, BodyKind, EndpointInfo, Location, MediaBytes, Method};
use crate::media::MediaFile;
use crate::wire::{Form, Wire};

use super::failure::{AnswerProblem, Failure};
use super::secrets::Scrub;
use super::transport::{
    OutBody, OutPart, Outgoing, Payload, QueryPair, Received, Reply, read_json,
};

/// The HTTP request of an endpoint, from its body in the HTTP form: query
/// fields to the query string, the rest to a JSON body or multipart parts.
pub(crate) fn outgoing(info: &'static EndpointInfo, value: Value) -> Outgoing {
    let mut object = match value {
        Value::Object(object) => object,
        // Generated types and `convert` always give an object; anything else
        // is sent as is for WeChat to judge.
        other => {
            return Outgoing {
                method: info.method,
                path: info.path,
                query: Vec::new(),
                body: OutBody::Json(Bytes::from(other.to_string())),
            };
        }
    };
    let mut query = Vec::new();
    for field in info.fields.iter().filter(|f| f.location == Location::Query) {
        if let Some(value) = object.remove(field.http) {
            // A joined list is one string in the JSON forms; its items are
            // escaped one by one so the separator goes out as written.
            query.push(match (field.join, value) {
                (Some(join), Value::String(text)) => QueryPair {
                    key: field.http.to_owned(),
                    items: text.split(join).map(str::to_owned).collect(),
                    join,
                },
                (_, value) => QueryPair::text(field.http, scalar_text(&value)),
            });
        }
    }
    let body = match info.body {
        BodyKind::Multipart => OutBody::Multipart(parts(info, object)),
        BodyKind::Form => OutBody::Form(Bytes::from(form_body(object))),
        _ if info.method == Method::Get && object.is_empty() => OutBody::Empty,
        _ => OutBody::Json(Bytes::from(Value::Object(object).to_string())),
    };
    Outgoing {
        method: info.method,
        path: info.path,
        query,
        body,
    }
}

fn parts(info: &'static EndpointInfo, object: Map<String, Value>) -> Vec<OutPart> {
    object
        .into_iter()
        .map(|(name, value)| {
            let is_file = info.fields.iter().any(|f| f.http == name && f.file);
            match is_file
                .then(|| MediaFile::from_value(&value, Form::Http).ok())
                .flatten()
            {
                Some(file) => OutPart::File { name, file },
                None => OutPart::Text {
                    value: scalar_text(&value),
                    name,
                },
            }
        })
        .collect()
}

/// A form body: one pair per field in order, a list as its key repeated
/// once per item (`kidList=1&kidList=2`).
fn form_body(object: Map<String, Value>) -> String {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (key, value) in &object {
        match value {
            Value::Array(items) => {
                for item in items {
                    form.append_pair(key, &scalar_text(item));
                }
            }
            value => {
                form.append_pair(key, &scalar_text(value));
            }
        }
    }
    form.finish()
}

/// A value as query or form text: strings as they are, anything else as JSON.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads an answer over HTTP: a JSON errcode answer, or (for binary
/// endpoints) the bytes of a file.
pub(crate) fn read(
    received: Received,
    answer: AnswerKind,
    scrub: &Scrub<'_>,
) -> Result<Reply, Failure> {
    if !(200..300).contains(&received.status) {
        return Err(received.bad(AnswerProblem::Status, scrub));
    }
    if answer == AnswerKind::Binary && !received.body.is_empty() && !is_json_like(&received) {
        let content_type = received
            .content_type
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        return Ok(Reply {
            form: Form::Http,
            status: None,
            payload: Payload::Binary(MediaBytes {
                content_type,
                bytes: received.body,
            }),
        });
    }
    read_json(&received, Form::Http, scrub).map(|(status, value)| Reply {
        form: Form::Http,
        status,
        payload: Payload::Json(value),
    })
}

/// Whether a binary endpoint's answer is JSON (an error) or a page, rather
/// than a file: WeChat sends errors as JSON, often labelled `text/plain`.
fn is_json_like(received: &Received) -> bool {
    let ct = received.content_type.as_deref().unwrap_or("");
    if ct.starts_with("application/json") || ct.starts_with("text/html") {
        return true;
    }
    let first = received.body.iter().find(|b| !b.is_ascii_whitespace());
    first == Some(&b'{') && serde_json::from_slice::<Value>(&received.body).is_ok()
}
