//! Turning an HTTP request into a validated body in the HTTP form: JSON or
//! multipart, plus the fields that travel in the query.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Query, Request};
use axum::http::{HeaderMap, Method, Uri, header};
use serde_json::{Map, Value};
use wechat_msg::keyword::KeywordError;
use wechat_msg::{BodyKind, EndpointInfo, Form, Location, WireError, WireErrorKind};

use crate::error::WxError;
use crate::media::encode_base64;

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
            _ => wechat_msg::wire::parse_json(&bytes)
                .map_err(|e| WxError::new(47001, format!("data format error: {e}")))?,
        }
    };
    let mut query_fields = Vec::new();
    if let Value::Object(map) = &mut body {
        for field in info.fields.iter().filter(|f| f.location == Location::Query) {
            if let Some((_, value)) = query.iter().find(|(k, _)| k == field.http) {
                map.insert(field.http.to_owned(), Value::String(value.clone()));
                query_fields.push(field.http);
            }
        }
    }
    if info.body == BodyKind::Form && !is_json(headers) {
        // Form values arrive as text too.
        query_fields.extend(
            info.fields
                .iter()
                .filter(|f| f.location == Location::Body)
                .map(|f| f.http),
        );
    }
    validate(info, body, Form::Http, &query_fields)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().starts_with("application/json"))
}

/// An `application/x-www-form-urlencoded` body as a JSON object of strings:
/// a list field's key may repeat (`kidList=1&kidList=2`) and is always an
/// array; another field given twice keeps its last value, as form parsers do.
fn form(info: &EndpointInfo, bytes: &[u8]) -> Value {
    let mut out = Map::new();
    for (key, value) in form_urlencoded::parse(bytes) {
        let value = Value::String(value.into_owned());
        let list = info.fields.iter().any(|f| f.http == key && f.list);
        if list {
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
/// HTTP form. A query or form value that the spec types as a number or
/// boolean arrives as a string (an item of a list too: `kidList[0]`); it is
/// read again as JSON before giving up.
pub(crate) fn validate(
    info: &'static EndpointInfo,
    mut body: Value,
    form: Form,
    query_fields: &[&str],
) -> Result<Value, WxError> {
    let mut retried = Vec::new();
    loop {
        match (info.convert)(&body, form, Form::Http) {
            Ok(value) => return Ok(value),
            Err(err) => {
                let (key, index) = split_path(err.path());
                let retry = matches!(err.kind(), WireErrorKind::WrongType { .. })
                    && query_fields.contains(&key)
                    && !retried.contains(&err.path().to_owned());
                let slot = retry
                    .then(|| body.get_mut(key))
                    .flatten()
                    .and_then(|v| match index {
                        None => Some(v),
                        Some(i) => v.get_mut(i),
                    });
                let reparsed = slot.and_then(|slot| {
                    let value = slot
                        .as_str()
                        .and_then(|text| serde_json::from_str::<Value>(text).ok())
                        .filter(|v| v.is_number() || v.is_boolean())?;
                    *slot = value;
                    Some(())
                });
                match reparsed {
                    Some(()) => retried.push(err.path().to_owned()),
                    None => return Err(format_error(&err)),
                }
            }
        }
    }
}

/// A top-level key and, for `key[3]`, the index of the item.
fn split_path(path: &str) -> (&str, Option<usize>) {
    match path.split_once('[') {
        Some((key, rest)) => match rest.strip_suffix(']').and_then(|i| i.parse().ok()) {
            Some(index) => (key, Some(index)),
            None => (path, None),
        },
        None => (path, None),
    }
}

/// 47001 naming the field at fault; 47003 for a template keyword whose
/// value breaks its type's rule (the generated check, the one the client
/// runs), with WeChat's errmsg: `argument invalid! data.thing1.value
/// invalid`, or `... is empty`. Keys of types the spec does not declare
/// (`short_thing`, enum types) are not checked beyond being non-empty.
pub(crate) fn format_error(err: &WireError) -> WxError {
    match err.kind() {
        WireErrorKind::Keyword(KeywordError::Empty) => {
            WxError::new(47003, format!("argument invalid! {} is empty", err.path()))
        }
        WireErrorKind::Keyword(_) => {
            WxError::new(47003, format!("argument invalid! {} invalid", err.path()))
        }
        _ => WxError::new(47001, format!("data format error: {err}")),
    }
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
            let mut file = Map::new();
            file.insert(
                "content_type".into(),
                Value::from(content_type.unwrap_or_else(|| "application/octet-stream".into())),
            );
            file.insert("value".into(), Value::from(encode_base64(&data)));
            Value::Object(file)
        } else {
            Value::String(String::from_utf8_lossy(&data).into_owned())
        };
        out.insert(name, value);
    }
    Ok(Value::Object(out))
}
