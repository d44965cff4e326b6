//! wx-server-sdk's key rules: how a cloud call's keys become the HTTP API's
//! and back, when nothing but the rule decides.
//!
//! The spec names both forms of every key it knows (and its generator checks
//! that each cloud name becomes its HTTP name under [`request_key`]), so
//! generated code never applies these rules to a key the spec names. They
//! are for keys the spec does not name: what wx-server-sdk does to a
//! request's keys before it calls the HTTP API, and to an answer's keys on
//! the way back ([`EndpointInfo::convert_answer`](crate::meta::EndpointInfo::convert_answer)
//! uses them for answer keys outside the spec; the emulator uses
//! [`request_keys`] to accept what the SDK accepts).
//!
//! ```
//! use wechat_msg::sdk;
//!
//! assert_eq!(sdk::request_key("thumbMediaId"), "thumb_media_id");
//! assert_eq!(sdk::answer_key("created_at"), "createdAt");
//! let nested = serde_json::json!({"aB": [{"cD": 1}]});
//! assert_eq!(sdk::request_keys(&nested), serde_json::json!({"a_b": [{"c_d": 1}]}));
//! ```

use serde_json::Value;

use crate::form::Form;

/// The request rule: each ASCII capital `X` becomes `_x`
/// (`thumbMediaId` -> `thumb_media_id`; `msgtype` and `already_snake`
/// stay as they are).
pub fn request_key(key: &str) -> String {
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

/// The answer rule: each `_x` (`x` an ASCII lowercase letter) becomes `X`
/// (`created_at` -> `createdAt`; `type` stays `type`).
pub fn answer_key(key: &str) -> String {
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

/// [`request_key`] applied to every key of `value`, at every depth, as
/// wx-server-sdk does to a cloud call's data.
pub fn request_keys(value: &Value) -> Value {
    deep(value, &request_key)
}

/// [`answer_key`] applied to every key of `value`, at every depth, as
/// wx-server-sdk does to an answer.
pub fn answer_keys(value: &Value) -> Value {
    deep(value, &answer_key)
}

/// The name in form `to` of a key in form `from` that the spec does not
/// name: [`answer_key`] from HTTP to cloud, [`request_key`] from cloud to
/// HTTP, the key itself within one form.
pub fn rename(key: &str, from: Form, to: Form) -> String {
    match (from, to) {
        (Form::Http, Form::Cloud) => answer_key(key),
        (Form::Cloud, Form::Http) => request_key(key),
        _ => key.to_owned(),
    }
}

/// [`rename`] applied to every key of `value`, at every depth.
pub fn rename_keys(value: &Value, from: Form, to: Form) -> Value {
    deep(value, &|key| rename(key, from, to))
}

fn deep(value: &Value, rule: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (rule(k), deep(v, rule))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| deep(v, rule)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_convert_by_the_sdk_rules() {
        assert_eq!(request_key("thumbMediaId"), "thumb_media_id");
        assert_eq!(request_key("msgtype"), "msgtype");
        assert_eq!(request_key("already_snake"), "already_snake");
        assert_eq!(answer_key("media_id"), "mediaId");
        assert_eq!(answer_key("created_at"), "createdAt");
        assert_eq!(answer_key("type"), "type");
        assert_eq!(answer_key("a_1"), "a_1");
        let nested = json!({"aB": [{"cD": 1}]});
        assert_eq!(request_keys(&nested), json!({"a_b": [{"c_d": 1}]}));
        assert_eq!(answer_keys(&json!({"a_b": [{"c_d": 1}]})), nested);
        assert_eq!(rename_keys(&nested, Form::Cloud, Form::Cloud), nested);
    }
}
