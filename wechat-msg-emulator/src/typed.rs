//! The services with state of their own (templates, activities, content
//! checks, diagnostics) read their requests and write their answers through
//! the generated types: no wire key is written by hand here.

use serde_json::{Map, Value};
use wechat_msg::{Endpoint, Form, Wire};

use crate::error::{WxError, format_error};

/// Whether `name` is the cloud-call name of the endpoint `E`.
pub(crate) fn is<E: Endpoint>(name: &str) -> bool {
    name == E::INFO.name
}

/// A validated body (HTTP form) read as the request type `T`. The body has
/// passed the endpoint's own check, so this fails only when a caller hands
/// the wrong endpoint's body: the error names the field as a refusal would.
pub(crate) fn request<T: Wire>(body: &Value) -> Result<T, WxError> {
    T::from_value(body, Form::Http).map_err(|e| format_error(&e))
}

/// The fields of a typed answer in the HTTP form, beside errcode and errmsg.
pub(crate) fn answer<T: Wire>(answer: &T) -> Map<String, Value> {
    match answer.to_value(Form::Http) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
