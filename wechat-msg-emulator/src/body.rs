//! Turning an HTTP request into a validated body in the HTTP form: JSON,
//! multipart or a form, plus the fields that travel in the query, whose
//! text is read as each field's kind (`FieldInfo::kind`) says.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Query, Request};
use axum::http::{HeaderMap, Method, Uri, header};
use serde_json::{Map, Value};
use wechat_msg::meta::{BodyKind, EndpointInfo, FieldKind, Location};
use wechat_msg::{Form, WireErrorKind, protocol};

use crate::error::{WxError, format_error};

/// The query string's pairs, decoded; an undecodable query reads as empty.
pub(crate) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// The value of `key` in the query, if any.
pub(crate) fn query_value<'q>(query: &'q [(String, String)], key: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The request body of a call to `info`, checked with the generated parser.
pub(crate) async fn from_http(
    info: &'static EndpointInfo,
    method: &Method,
    headers: &HeaderMap,
    query: &[(String, String)],
    bytes: Bytes,
) -> Result<Value, WxError> {
    let has_body_fields = info.fields.iter().any(|f| f.location == Location::Body);
    let mut body = if !has_body_fields || *method == Method::GET {
        Value::Object(Map::new())
    } else if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(WxError::new(44002, "empty post data"));
    } else {
        match info.body {
            BodyKind::Multipart => multipart(info, headers, bytes).await?,
            // WeChat takes a form endpoint's body as JSON too (the newest
            // docs of addTemplate show JSON); the Content-Type tells which.
            BodyKind::Form if !is_json(headers) => form(info, &bytes),
            // A key given twice is refused, not "last one wins".
            _ => wechat_msg::meta::parse_json(&bytes)
                .map_err(|e| WxError::new(47001, format!("data format error: {e}")))?,
        }
    };
    if let Value::Object(map) = &mut body {
        for field in info.fields.iter().filter(|f| f.location == Location::Query) {
            if let Some((_, value)) = query.iter().find(|(k, _)| k == field.http) {
                let value = from_text(&field.kind, Value::String(value.clone()));
                map.insert(field.http.to_owned(), value);
            }
        }
    }
    validate(info, body, Form::Http)
}

/// A value that arrived as text (a query value, a form body's value), read
/// as its field's kind says: for a number or a boolean, the text read as
/// JSON when it is one (`"3"` -> `3`, `"true"` -> `true`), the items of a
/// list each so (`kidList=1&kidList=2` -> `[1, 2]`). Anything else stays
/// text: a joined list (`ids=2,616`) is read by the generated parser, and
/// text that is no number (`"abc"`) is refused by it, naming the field
/// (`kidList[1]: expected an integer, found a string`).
fn from_text(kind: &FieldKind, value: Value) -> Value {
    match (kind, value) {
        (kind, Value::String(text)) if kind.is_number_or_bool() => {
            match serde_json::from_str::<Value>(&text) {
                Ok(read @ (Value::Number(_) | Value::Bool(_))) => read,
                _ => Value::String(text),
            }
        }
        (FieldKind::List(item), Value::Array(items)) => Value::Array(
            items
                .into_iter()
                .map(|value| from_text(item, value))
                .collect(),
        ),
        (_, value) => value,
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"))
}

/// An `application/x-www-form-urlencoded` body as a JSON object: a list
/// field's key may repeat (`kidList=1&kidList=2`) and is always an array;
/// another field given twice keeps its last value, as form parsers do.
/// Values are read as their fields' kinds say ([`from_text`]); a key the
/// spec does not know stays text (and the parser refuses it).
fn form(info: &EndpointInfo, bytes: &[u8]) -> Value {
    let mut out = Map::new();
    for (key, value) in form_urlencoded::parse(bytes) {
        let field = info.fields.iter().find(|f| f.http == key);
        let value = Value::String(value.into_owned());
        let value = match field {
            Some(field) => from_text(field.kind.item(), value),
            None => value,
        };
        if field.is_some_and(|f| f.list) {
            let entry = out
                .entry(key.into_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = entry {
                items.push(value);
            }
        } else {
            out.insert(key.into_owned(), value);
        }
    }
    Value::Object(out)
}

/// Parses `body` in `form` with the generated parser and writes it in the
/// HTTP form. Values that arrived as text were read as their fields' kinds
/// before ([`from_text`]).
///
/// A top-level field the spec gives an `errcode_missing` answers that code
/// when it is missing or empty, and one with an `errcode_invalid` that code
/// when its type refuses the value, as WeChat does (`cgi_path` 76021, `rid`
/// 76002); any other problem is [`format_error`](crate::error::format_error)'s.
pub(crate) fn validate(
    info: &'static EndpointInfo,
    body: Value,
    form: Form,
) -> Result<Value, WxError> {
    let http = (info.convert)(&body, form, Form::Http).map_err(|err| {
        let missing = matches!(err.kind(), WireErrorKind::Missing);
        field_error(info, err.path(), form, missing).unwrap_or_else(|| format_error(&err))
    })?;
    for field in info.fields.iter().filter(|f| f.errcode_missing.is_some()) {
        if http.get(field.http).and_then(Value::as_str) == Some("")
            && let Some(err) = field_error(info, field.http, Form::Http, true)
        {
            return Err(err);
        }
    }
    Ok(http)
}

/// The errcode the spec gives the top-level field at `path` (named in
/// `form`) for a missing (`errcode_missing`) or refused (`errcode_invalid`)
/// value, with the errcode's description as its errmsg.
pub(crate) fn field_error(
    info: &EndpointInfo,
    path: &str,
    form: Form,
    missing: bool,
) -> Option<WxError> {
    let field = info.fields.iter().find(|f| match form {
        Form::Http => f.http == path,
        _ => f.cloud == path,
    })?;
    let code = if missing {
        field.errcode_missing
    } else {
        field.errcode_invalid
    }?;
    let errmsg = info.errcode(code).map_or("", |e| e.description);
    Some(WxError::new(code, format!("{}: {errmsg}", field.http)))
}

/// The parts of a `multipart/form-data` body as a JSON object: file fields as
/// `{content_type, value: base64}`, others as strings.
async fn multipart(
    info: &EndpointInfo,
    headers: &HeaderMap,
    bytes: Bytes,
) -> Result<Value, WxError> {
    let mut request = Request::new(Body::from(bytes));
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        request
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    let not_multipart = |e: String| WxError::new(47001, format!("data format error: body: {e}"));
    let mut parts = Multipart::from_request(request, &())
        .await
        .map_err(|e| not_multipart(format!("expected multipart/form-data ({})", e.body_text())))?;
    let mut out = Map::new();
    while let Some(part) = parts
        .next_field()
        .await
        .map_err(|e| not_multipart(e.body_text()))?
    {
        let name = part.name().unwrap_or_default().to_owned();
        let content_type = part.content_type().map(str::to_owned);
        let data = part
            .bytes()
            .await
            .map_err(|e| not_multipart(e.body_text()))?;
        let is_file = info.fields.iter().any(|f| f.http == name && f.file);
        let value = if is_file {
            let content_type = content_type.as_deref();
            protocol::file_value(
                Form::Http,
                content_type.unwrap_or("application/octet-stream"),
                &data,
            )
        } else {
            Value::String(String::from_utf8_lossy(&data).into_owned())
        };
        out.insert(name, value);
    }
    Ok(Value::Object(out))
}
