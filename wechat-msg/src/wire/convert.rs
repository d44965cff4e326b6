//! Converting a body between the two forms through its type: requests
//! ([`convert`]) and answers ([`convert_answer`], [`convert_untyped_answer`]),
//! the keys the spec does not name renamed by wx-server-sdk's rule.

use serde_json::{Map, Value};

use super::{Cx, Form, Wire, WireError};
use crate::protocol::STATUS_KEYS;

/// Parses `value` as `T` in form `from` and writes it back in form `to`.
pub fn convert<T: Wire>(value: &Value, from: Form, to: Form) -> Result<Value, WireError> {
    Ok(T::from_value(value, from)?.to_value(to))
}

/// [`EndpointInfo::convert_answer`](crate::meta::EndpointInfo::convert_answer)
/// of an endpoint whose answer is the object type `A`: `value` read as `A`
/// in form `from` (leniently, as answers are read) and written in form
/// `to`, so every key the spec names is renamed at every depth. What the
/// type does not hold is kept, in the order of `value`: `errcode` and
/// `errmsg` (`errCode`, `errMsg`) under their names in `to`, and keys the
/// spec does not name, at any depth, renamed by wx-server-sdk's rule
/// ([`crate::sdk::rename_keys`]).
pub fn convert_answer<A: Wire>(value: &Value, from: Form, to: Form) -> Result<Value, WireError> {
    let typed = A::read_wire(value, &mut Cx::new(from, false))?;
    Ok(keep_unnamed(value, typed.to_value(to), from, to, true))
}

/// [`EndpointInfo::convert_answer`](crate::meta::EndpointInfo::convert_answer)
/// of an endpoint that answers no fields of its own (an ack) or bytes (whose
/// JSON form is `{content_type, buffer}`): the status keys by their names,
/// every other key by wx-server-sdk's rule.
pub fn convert_untyped_answer(value: &Value, from: Form, to: Form) -> Result<Value, WireError> {
    Cx::new(from, false).object(value)?;
    Ok(keep_unnamed(
        value,
        Value::Object(Map::new()),
        from,
        to,
        true,
    ))
}

/// `converted` (what the generated writer wrote of `original`) with what it
/// does not hold carried over from `original`. A key of `original` is found
/// in `converted` under its own name or its name by the rule (the spec's
/// names obey the rule, or are the same in both forms); one found in
/// neither is not in the spec and is carried over, renamed by the rule at
/// every depth.
fn keep_unnamed(original: &Value, converted: Value, from: Form, to: Form, top: bool) -> Value {
    match (original, converted) {
        (Value::Object(original), Value::Object(mut converted)) => {
            let mut out = Map::new();
            for (key, value) in original {
                let status = STATUS_KEYS
                    .iter()
                    .find(|(http, cloud)| {
                        top && key == if from == Form::Http { http } else { cloud }
                    })
                    .map(|&(http, cloud)| if to == Form::Http { http } else { cloud });
                if let Some(name) = status {
                    out.insert(name.to_owned(), value.clone());
                    continue;
                }
                let ruled = crate::sdk::rename(key, from, to);
                let found = converted
                    .remove(key)
                    .map(|v| (key.clone(), v))
                    .or_else(|| converted.remove(&ruled).map(|v| (ruled.clone(), v)));
                match found {
                    Some((name, written)) => {
                        out.insert(name, keep_unnamed(value, written, from, to, false));
                    }
                    None => {
                        out.insert(ruled, crate::sdk::rename_keys(value, from, to));
                    }
                }
            }
            // Keys the writer added that `original` lacks (none today).
            out.extend(converted);
            Value::Object(out)
        }
        (Value::Array(original), Value::Array(converted)) if original.len() == converted.len() => {
            Value::Array(
                original
                    .iter()
                    .zip(converted)
                    .map(|(o, c)| keep_unnamed(o, c, from, to, false))
                    .collect(),
            )
        }
        (_, converted) => converted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_converts_by_the_spec_at_every_depth_and_by_the_rule_elsewhere() {
        let list = crate::meta::endpoint("subscribeMessage.getTemplateList").unwrap();
        let cloud = json!({
            "errCode": 0,
            "errMsg": "openapi.subscribeMessage.getTemplateList:ok",
            "data": [{
                "priTmplId": "T1", "title": "t", "content": "c", "type": 2,
                "keywordEnumValueList": [{"keywordCode": "phrase1.DATA", "enumValueList": ["a"]}],
                "extraNote": {"innerKey": 1}
            }]
        });
        let http = (list.convert_answer)(&cloud, Form::Cloud, Form::Http).unwrap();
        // The spec keeps the verbatim camelCase keys at depth, where the
        // SDK's request rule would make `pri_tmpl_id` and `keyword_code`.
        assert_eq!(
            http,
            json!({
                "errcode": 0,
                "errmsg": "openapi.subscribeMessage.getTemplateList:ok",
                "data": [{
                    "priTmplId": "T1", "title": "t", "content": "c", "type": 2,
                    "keywordEnumValueList": [{"keywordCode": "phrase1.DATA", "enumValueList": ["a"]}],
                    "extra_note": {"inner_key": 1}
                }]
            })
        );
        assert_ne!(http, crate::sdk::request_keys(&cloud));
        let back = (list.convert_answer)(&http, Form::Http, Form::Cloud).unwrap();
        assert_eq!(back, cloud);
        // Keys in order of the answer.
        let keys: Vec<&String> = back.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["errCode", "errMsg", "data"]);

        // Top-level answer fields of their own names, and an ack.
        let media = crate::meta::endpoint("customerServiceMessage.uploadTempMedia").unwrap();
        let answer = json!({"errcode": 0, "errmsg": "ok", "type": "image", "media_id": "M", "created_at": 7});
        assert_eq!(
            (media.convert_answer)(&answer, Form::Http, Form::Cloud).unwrap(),
            json!({"errCode": 0, "errMsg": "ok", "type": "image", "mediaId": "M", "createdAt": 7})
        );
        let send = crate::meta::endpoint("customerServiceMessage.send").unwrap();
        assert_eq!(
            (send.convert_answer)(
                &json!({"errcode": 0, "errmsg": "ok"}),
                Form::Http,
                Form::Cloud
            )
            .unwrap(),
            json!({"errCode": 0, "errMsg": "ok"})
        );

        // A value of the wrong type is named.
        let err = (list.convert_answer)(
            &json!({"data": [{"priTmplId": 1}]}),
            Form::Http,
            Form::Cloud,
        )
        .unwrap_err();
        assert_eq!(err.path(), "data[0].priTmplId");
    }
}
