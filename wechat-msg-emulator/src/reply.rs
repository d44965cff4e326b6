//! WeChat-shaped answers: `{errcode, errmsg}` with a `rid`, and the cloud
//! call's `{errCode, errMsg}` inside `resp_data`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use wechat_msg::EndpointInfo;

use crate::faults::{After, ConnectionKill};
use crate::state::Success;

/// An error answer: WeChat's errcode and the text of its errmsg (the rid is
/// appended when it is rendered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WxError {
    pub code: i64,
    pub msg: String,
}

impl WxError {
    pub fn new(code: i64, msg: impl Into<String>) -> Self {
        WxError {
            code,
            msg: msg.into(),
        }
    }

    /// The errmsg as WeChat writes it: the text, then ` rid: <id>`.
    pub fn errmsg(&self) -> String {
        format!("{} rid: {}", self.msg, new_rid())
    }

    /// `{"errcode": N, "errmsg": "... rid: ..."}`.
    pub fn http_body(&self) -> Value {
        json!({"errcode": self.code, "errmsg": self.errmsg()})
    }

    /// What a cloud call of `info` returns for this error.
    pub fn cloud_body(&self, api: &str) -> Value {
        json!({
            "errCode": self.code,
            "errMsg": format!("openapi.{api}:fail {}", self.errmsg()),
        })
    }
}

/// A request id like WeChat's: `6527c1f2-6f2b4a52-1f3c5c3d`.
pub(crate) fn new_rid() -> String {
    format!(
        "{:08x}-{:08x}-{:08x}",
        fastrand::u32(..),
        fastrand::u32(..),
        fastrand::u32(..)
    )
}

/// An answer before faults are applied to it.
#[derive(Debug)]
pub(crate) struct Reply {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    /// A JSON answer with status 200, as WeChat sends them (errors included).
    pub fn json(value: &Value) -> Reply {
        Reply::bytes(
            StatusCode::OK,
            "application/json; encoding=utf-8",
            value.to_string().into_bytes(),
        )
    }

    /// An answer of any status and type.
    pub fn bytes(status: StatusCode, content_type: &str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type: content_type.to_owned(),
            body,
        }
    }

    /// Sends it, truncated or with the connection reset if a fault says so.
    pub fn finish(self, after: Option<After>, kill: &ConnectionKill) -> Response {
        let mut body = self.body;
        match after {
            None => {}
            Some(After::Truncate) => body.truncate(body.len() / 2),
            Some(After::Reset) => kill.reset(),
        }
        Reply { body, ..self }.into_response()
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let value = HeaderValue::from_str(&self.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        response.headers_mut().insert(header::CONTENT_TYPE, value);
        response
    }
}

/// A successful answer in the HTTP form.
pub(crate) fn http_success(success: &Success) -> Reply {
    match success {
        Success::Json(fields) => Reply::json(&Value::Object(with_status_http(fields))),
        Success::Binary {
            content_type,
            bytes,
        } => Reply::bytes(StatusCode::OK, content_type, bytes.to_vec()),
    }
}

fn with_status_http(fields: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("errcode".into(), Value::from(0));
    out.insert("errmsg".into(), Value::from("ok"));
    out.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// A successful answer as the cloud call returns it: `errCode`, `errMsg`,
/// then the answer's fields under their cloud names (other keys, and keys
/// inside values, converted as wx-server-sdk converts answers).
pub(crate) fn cloud_success(info: &EndpointInfo, success: &Success) -> Value {
    let mut out = Map::new();
    out.insert("errCode".into(), Value::from(0));
    out.insert(
        "errMsg".into(),
        Value::from(format!("openapi.{}:ok", info.name)),
    );
    match success {
        Success::Json(fields) => {
            for (key, value) in fields {
                let name = info
                    .answer_fields
                    .iter()
                    .find(|f| f.http == key)
                    .map_or_else(|| camel_key(key), |f| f.cloud.to_owned());
                out.insert(name, camel_keys(value));
            }
        }
        Success::Binary {
            content_type,
            bytes,
        } => {
            out.insert("contentType".into(), Value::from(content_type.as_str()));
            out.insert(
                "buffer".into(),
                Value::from(crate::media::encode_base64(bytes)),
            );
        }
    }
    Value::Object(out)
}

/// wx-server-sdk's answer rule: each `_x` becomes `X`.
pub(crate) fn camel_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(next) if c == '_' && next.is_ascii_lowercase() => {
                out.push(next.to_ascii_uppercase());
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

fn camel_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (camel_key(k), camel_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(camel_keys).collect()),
        other => other.clone(),
    }
}

/// wx-server-sdk's request rule: each ASCII capital `X` becomes `_x`,
/// recursively through every key.
pub(crate) fn snake_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (snake_key(k), snake_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(snake_keys).collect()),
        other => other.clone(),
    }
}

fn snake_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_convert_by_the_sdk_rules() {
        assert_eq!(snake_key("thumbMediaId"), "thumb_media_id");
        assert_eq!(snake_key("msgtype"), "msgtype");
        assert_eq!(snake_key("already_snake"), "already_snake");
        assert_eq!(camel_key("media_id"), "mediaId");
        assert_eq!(camel_key("created_at"), "createdAt");
        assert_eq!(camel_key("type"), "type");
        let nested = json!({"aB": [{"cD": 1}]});
        assert_eq!(snake_keys(&nested), json!({"a_b": [{"c_d": 1}]}));
    }

    #[test]
    fn errmsg_carries_a_rid() {
        let err = WxError::new(40003, "invalid openid");
        let body = err.http_body();
        let msg = body["errmsg"].as_str().unwrap();
        assert!(msg.starts_with("invalid openid rid: "), "{msg}");
        assert!(wechat_msg::answer::rid_of(msg).is_some());
        let cloud = err.cloud_body("customerServiceMessage.send");
        let msg = cloud["errMsg"].as_str().unwrap();
        assert!(
            msg.starts_with("openapi.customerServiceMessage.send:fail invalid openid rid: "),
            "{msg}"
        );
    }
}
