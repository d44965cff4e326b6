//! Property tests: arbitrary valid requests of the three documented
//! endpoints, built with the generated builders, survive both wire forms,
//! and wx-server-sdk's camel -> snake rule maps the cloud form onto the HTTP
//! form (template keyword keys excepted: they are user data).

// templateMessage.send and uniformMessage.send are retired; their wire
// forms still have to hold.
#![allow(deprecated)]

use std::collections::BTreeMap;
use std::fmt::Debug;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::Value;
use wechat_msg::{
    CustomerServiceBody, CustomerServiceMessage, Form, Image, Link, MiniProgramPage,
    MiniProgramTarget, MpTemplateMessage, TemplateKeyword, TemplateMessage, Text, UniformMessage,
    WeappTemplateMessage, Wire,
};
use wechat_msg_tests::sdk;

/// Any Unicode text, control characters, quotes and astral planes included.
fn text() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..16).prop_map(String::from_iter)
}

fn keyword() -> impl Strategy<Value = TemplateKeyword> {
    (text(), proptest::option::of(text())).prop_map(|(value, color)| {
        TemplateKeyword::builder()
            .value(value)
            .maybe_color(color)
            .build()
    })
}

/// Template keyword maps: the keys are arbitrary too (capitals included),
/// since they are user data and must pass through untouched.
fn keywords() -> impl Strategy<Value = BTreeMap<String, TemplateKeyword>> {
    btree_map(text(), keyword(), 0..5)
}

fn body() -> impl Strategy<Value = CustomerServiceBody> {
    prop_oneof![
        text().prop_map(|content| Text::builder().content(content).build().into()),
        text().prop_map(|media_id| Image::builder().media_id(media_id).build().into()),
        (text(), text(), text(), text()).prop_map(|(title, description, url, thumb_url)| {
            Link::builder()
                .title(title)
                .description(description)
                .url(url)
                .thumb_url(thumb_url)
                .build()
                .into()
        }),
        (text(), text(), text()).prop_map(|(title, pagepath, thumb_media_id)| {
            MiniProgramPage::builder()
                .title(title)
                .pagepath(pagepath)
                .thumb_media_id(thumb_media_id)
                .build()
                .into()
        }),
    ]
}

fn customer_service() -> impl Strategy<Value = CustomerServiceMessage> {
    (text(), body()).prop_map(|(touser, body)| {
        CustomerServiceMessage::builder()
            .touser(touser)
            .body(body)
            .build()
    })
}

fn template() -> impl Strategy<Value = TemplateMessage> {
    (
        text(),
        text(),
        proptest::option::of(text()),
        text(),
        proptest::option::of(keywords()),
        proptest::option::of(text()),
    )
        .prop_map(|(touser, template_id, page, form_id, data, emphasis)| {
            TemplateMessage::builder()
                .touser(touser)
                .template_id(template_id)
                .maybe_page(page)
                .form_id(form_id)
                .maybe_data(data)
                .maybe_emphasis_keyword(emphasis)
                .build()
        })
}

fn weapp() -> impl Strategy<Value = WeappTemplateMessage> {
    (text(), text(), text(), keywords(), text()).prop_map(
        |(template_id, page, form_id, data, emphasis)| {
            WeappTemplateMessage::builder()
                .template_id(template_id)
                .page(page)
                .form_id(form_id)
                .data(data)
                .emphasis_keyword(emphasis)
                .build()
        },
    )
}

fn mp() -> impl Strategy<Value = MpTemplateMessage> {
    (text(), text(), text(), text(), text(), keywords()).prop_map(
        |(appid, template_id, url, mini_appid, pagepath, data)| {
            MpTemplateMessage::builder()
                .appid(appid)
                .template_id(template_id)
                .url(url)
                .miniprogram(
                    MiniProgramTarget::builder()
                        .appid(mini_appid)
                        .pagepath(pagepath)
                        .build(),
                )
                .data(data)
                .build()
        },
    )
}

fn uniform() -> impl Strategy<Value = UniformMessage> {
    (text(), proptest::option::of(weapp()), mp()).prop_map(|(touser, weapp, mp)| {
        UniformMessage::builder()
            .touser(touser)
            .maybe_weapp_template_msg(weapp)
            .mp_template_msg(mp)
            .build()
    })
}

/// Both forms round-trip, through values and through text; each form
/// converts into the other without loss; the SDK's rule maps the cloud form
/// onto the HTTP form; and nothing is written as `null`.
fn check_wire<T: Wire + PartialEq + Debug>(message: &T) -> Result<(), TestCaseError> {
    for form in Form::ALL {
        let value = message.to_value(form);
        prop_assert_eq!(&T::from_value(&value, form).unwrap(), message);
        let text = message.to_json(form);
        prop_assert_eq!(&T::from_json(&text, form).unwrap(), message);
        prop_assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value.clone());
        prop_assert!(!has_null(&value), "a null in {}", text);
    }
    let http = message.to_value(Form::Http);
    let cloud = message.to_value(Form::Cloud);
    let via_cloud = T::from_value(&cloud, Form::Cloud)
        .unwrap()
        .to_value(Form::Http);
    prop_assert_eq!(&via_cloud, &http);
    let via_http = T::from_value(&http, Form::Http)
        .unwrap()
        .to_value(Form::Cloud);
    prop_assert_eq!(&via_http, &cloud);
    prop_assert_eq!(sdk::cloud_to_http(&cloud), http);
    Ok(())
}

fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        Value::Object(map) => map.values().any(has_null),
        _ => false,
    }
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Every dotted path to a key in `value` (not descending into `data` maps).
fn key_paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (key, child) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            out.push(path.clone());
            if key != "data" {
                key_paths(child, &path, out);
            }
        }
    }
}

fn remove_path(value: &mut Value, path: &str) {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (Some(parent), key),
        None => (None, path),
    };
    let mut target = value;
    for step in parent.into_iter().flat_map(|p| p.split('.')) {
        target = &mut target[step];
    }
    target.as_object_mut().unwrap().remove(key);
}

fn insert_at(value: &mut Value, parent: &str, key: &str) {
    let mut target = value;
    for step in parent.split('.').filter(|s| !s.is_empty()) {
        target = &mut target[step];
    }
    target
        .as_object_mut()
        .unwrap()
        .insert(key.to_owned(), Value::from(1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// wx-server-sdk's request rule exists in the runtime (`wechat_msg::sdk`,
    /// what the emulator and answer conversion use), in the generator (the
    /// spec check of cloud names) and here, written independently: they
    /// agree on any key; the answer rule undoes it on camelCase keys.
    #[test]
    fn the_sdk_rule_is_the_same_everywhere(key in "[a-zA-Z_0-9]{0,12}", any_key in text()) {
        prop_assert_eq!(wechat_msg::sdk::request_key(&any_key), sdk::snake_key(&any_key));
        prop_assert_eq!(
            wechat_msg::sdk::request_key(&any_key),
            wechat_msg_codegen::sdk_snake_case(&any_key)
        );
        if !key.contains('_') {
            prop_assert_eq!(wechat_msg::sdk::answer_key(&wechat_msg::sdk::request_key(&key)), key);
        }
    }

    #[test]
    fn customer_service_messages_survive_both_forms(message in customer_service()) {
        check_wire(&message)?;
    }

    #[test]
    fn template_messages_survive_both_forms(message in template()) {
        check_wire(&message)?;
    }

    #[test]
    fn uniform_messages_survive_both_forms(message in uniform()) {
        check_wire(&message)?;
    }

    /// Only the payload the msgtype names is sent, under a key equal to it.
    #[test]
    fn only_the_named_payload_is_sent(message in customer_service()) {
        let tag = message.body.tag();
        for form in Form::ALL {
            let value = message.to_value(form);
            prop_assert_eq!(keys(&value), vec!["touser", "msgtype", tag]);
            prop_assert_eq!(&value["msgtype"], tag);
        }
    }

    /// Unset optional fields are absent from both forms; set ones are there.
    #[test]
    fn optional_fields_are_sent_only_when_set(message in template()) {
        for (form, page, data, emphasis) in [
            (Form::Http, "page", "data", "emphasis_keyword"),
            (Form::Cloud, "page", "data", "emphasisKeyword"),
        ] {
            let value = message.to_value(form);
            prop_assert_eq!(value.get(page).is_some(), message.page.is_some());
            prop_assert_eq!(value.get(data).is_some(), message.data.is_some());
            prop_assert_eq!(value.get(emphasis).is_some(), message.emphasis_keyword.is_some());
        }
    }

    /// Template keyword keys are written exactly as given, in both forms.
    #[test]
    fn template_keyword_keys_pass_through(message in uniform()) {
        let expected: Vec<&str> = message.mp_template_msg.data.keys().map(String::as_str).collect();
        for (form, outer) in [(Form::Http, "mp_template_msg"), (Form::Cloud, "mpTemplateMsg")] {
            let value = message.to_value(form);
            prop_assert_eq!(keys(&value[outer]["data"]), expected.clone());
        }
    }

    /// Every field of a customer service message is required: dropping any
    /// one, at any depth and in either form, is rejected with its path.
    #[test]
    fn a_dropped_field_is_named(message in customer_service(), pick in any::<prop::sample::Index>()) {
        for form in Form::ALL {
            let mut value = message.to_value(form);
            let mut paths = Vec::new();
            key_paths(&value, "", &mut paths);
            let path = pick.get(&paths).clone();
            remove_path(&mut value, &path);
            let err = CustomerServiceMessage::from_value(&value, form).unwrap_err();
            prop_assert_eq!(err.path(), path.as_str());
            prop_assert!(err.to_string().starts_with(&format!("{path}: missing")), "{}", err);
        }
    }

    /// A key the spec does not know is rejected with its path, at any depth.
    #[test]
    fn an_unknown_field_is_named(message in customer_service(), deep in any::<bool>(), key in "[a-z]{1,8}_x") {
        for form in Form::ALL {
            let mut value = message.to_value(form);
            let parent = if deep { message.body.tag() } else { "" };
            insert_at(&mut value, parent, &key);
            let err = CustomerServiceMessage::from_value(&value, form).unwrap_err();
            let path = if deep { format!("{parent}.{key}") } else { key.clone() };
            prop_assert_eq!(err.path(), path.as_str());
            prop_assert!(err.to_string().contains("unknown field"), "{}", err);
        }
    }
}
