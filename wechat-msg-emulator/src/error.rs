//! Error answers: WeChat's `{errcode, errmsg}` (and its cloud form inside
//! `resp_data`), and the control API's `{ok: false, error}`.
//!
//! Every answer that carries an errcode says so in an [`Errcode`] response
//! extension, which the counting middleware reads.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use wechat_msg::keyword::KeywordError;
use wechat_msg::{Form, WireError, WireErrorKind, protocol};

/// The content type of WeChat's JSON answers.
pub(crate) const WECHAT_JSON: &str = "application/json; encoding=utf-8";

/// Why the emulator refused what a test or the control API asked of it
/// (a user's action, a subscription, a snapshot, a registration, a
/// template, the push endpoint, a clock step): the message names what is
/// wrong, and nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// An openid that is empty or holds control characters.
    #[error("the openid must be non-empty text")]
    InvalidOpenid,
    /// A push body that is not a JSON object.
    #[error("a push body is a JSON object")]
    PushNotAnObject,
    /// A push body the spec's pushes do not read; why.
    #[error("invalid push: {0}")]
    InvalidPush(String),
    /// A subscription to a template that is not one of the account's.
    #[error(
        "template_id `{0}` is not one of the account's templates; a user can only subscribe to those (templates.private, known.template_ids, POST /_emulator/templates)"
    )]
    NotATemplate(String),
    /// A one-time subscription for no messages.
    #[error("times must be at least 1 (leave it out for a long-term subscription)")]
    NoTimes,
    /// A push whose record went away before its delivery ended.
    #[error("the push record is gone (the emulator was reset)")]
    PushRecordGone,
    /// A value the emulator cannot take: the field at fault, then why
    /// (`users[0].openid: an openid is non-empty text`).
    #[error("{0}")]
    Invalid(String),
}

/// An error answer: WeChat's errcode and the text of its errmsg (the rid is
/// appended when it is rendered). As a response it is the HTTP form,
/// `{"errcode": N, "errmsg": "... rid: ..."}` with status 200, as WeChat
/// sends errors; [`WxError::cloud_body`] is the form a cloud call returns.
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
        status_body(self.code, &self.errmsg())
    }

    /// What a cloud call of `api` returns for this error.
    pub fn cloud_body(&self, api: &str) -> Value {
        let message = format!("openapi.{api}:fail {}", self.errmsg());
        Value::Object(status_map(Form::Cloud, self.code, message))
    }

    /// This error with another HTTP status.
    pub fn with_status(self, status: StatusCode) -> Response {
        let mut response = self.into_response();
        *response.status_mut() = status;
        response
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

/// `{errcode, errmsg}` (HTTP form) as a JSON value.
pub(crate) fn status_body(code: i64, message: &str) -> Value {
    Value::Object(status_map(Form::Http, code, message.into()))
}

/// The status keys of an answer in `form` with `code` and `message`.
pub(crate) fn status_map(form: Form, code: i64, message: String) -> Map<String, Value> {
    let (code_key, message_key) = protocol::status_keys(form);
    let mut out = Map::new();
    out.insert(code_key.into(), Value::from(code));
    out.insert(message_key.into(), Value::from(message));
    out
}

impl IntoResponse for WxError {
    fn into_response(self) -> Response {
        let mut response = json_response(StatusCode::OK, WECHAT_JSON, &self.http_body());
        response.extensions_mut().insert(Errcode(self.code));
        response
    }
}

/// The errcode an answer carries, for the counters. Gateway errors and
/// timeouts carry their HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Errcode(pub i64);

/// A refusal of the control API: `{"ok": false, "error": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ControlError {
    pub status: StatusCode,
    pub message: String,
}

impl ControlError {
    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ControlError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<EmulatorError> for ControlError {
    /// 400 with the error's message.
    fn from(err: EmulatorError) -> Self {
        ControlError::bad_request(err.to_string())
    }
}

impl From<String> for EmulatorError {
    fn from(message: String) -> Self {
        EmulatorError::Invalid(message)
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        json_response(
            self.status,
            "application/json",
            &json!({"ok": false, "error": self.message}),
        )
    }
}

fn json_response(status: StatusCode, content_type: &'static str, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errmsg_carries_a_rid() {
        let err = WxError::new(40003, "invalid openid");
        let body = err.http_body();
        let msg = body["errmsg"].as_str().unwrap();
        assert!(msg.starts_with("invalid openid rid: "), "{msg}");
        assert!(wechat_msg::meta::rid_of(msg).is_some());
        let cloud = err.cloud_body("customerServiceMessage.send");
        let msg = cloud["errMsg"].as_str().unwrap();
        assert!(
            msg.starts_with("openapi.customerServiceMessage.send:fail invalid openid rid: "),
            "{msg}"
        );
    }

    #[test]
    fn an_error_answer_says_its_errcode() {
        let response = WxError::new(40003, "invalid openid").into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], WECHAT_JSON);
        assert_eq!(
            response.extensions().get::<Errcode>(),
            Some(&Errcode(40003))
        );
        let refused = ControlError::bad_request("no").into_response();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(refused.extensions().get::<Errcode>(), None);
    }
}
