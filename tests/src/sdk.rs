//! What wx-server-sdk does to a cloud call's parameters before it sends them
//! over HTTP: every key camelCase -> snake_case, recursively, each ASCII
//! capital `X` becoming `_x`.
//!
//! Written here from the SDK's description, not taken from the generator, so
//! that the tests compare two independent readings of the rule.

use serde_json::{Map, Value};

/// The SDK's rule for one key: each ASCII capital `X` becomes `_x`.
pub fn snake_key(key: &str) -> String {
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

/// The HTTP body the SDK sends for the cloud-call parameters `value`.
///
/// One deliberate difference from the SDK: the keys of a template `data`
/// map are user data (template keywords) and are kept as given, while the
/// values under them are still converted. The SDK would rewrite a keyword
/// with a capital in it; the project keeps them, and the docs' keywords have
/// none, so on the docs' examples both readings agree.
pub fn cloud_to_http(value: &Value) -> Value {
    convert(value, false)
}

fn convert(value: &Value, user_keys: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, child) in map {
                let converted = if user_keys {
                    key.clone()
                } else {
                    snake_key(key)
                };
                let child_user_keys = !user_keys && converted == "data" && child.is_object();
                out.insert(converted, convert(child, child_user_keys));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| convert(v, false)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys() {
        assert_eq!(snake_key("thumbMediaId"), "thumb_media_id");
        assert_eq!(snake_key("msgtype"), "msgtype");
        assert_eq!(snake_key("msgType"), "msg_type");
        assert_eq!(snake_key("thumb_url"), "thumb_url");
        assert_eq!(snake_key("URL"), "_u_r_l");
        assert_eq!(snake_key("émoji"), "émoji");
    }

    #[test]
    fn data_keys_are_kept_and_their_values_converted() {
        let cloud = json!({
            "templateId": "T",
            "data": {"keyWord1": {"value": "v", "someColor": "c"}},
            "mpTemplateMsg": {"data": {"Remark": {"value": "r"}}, "appId": "a"},
        });
        let http = json!({
            "template_id": "T",
            "data": {"keyWord1": {"value": "v", "some_color": "c"}},
            "mp_template_msg": {"data": {"Remark": {"value": "r"}}, "app_id": "a"},
        });
        assert_eq!(cloud_to_http(&cloud), http);
    }
}
