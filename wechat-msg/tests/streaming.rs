//! The streaming reader (`Wire::read_from`, the fast path of
//! `Wire::from_json`) accepts exactly what the value reader (`parse_json`
//! then `Wire::from_value`) accepts, and reads the same value: checked on
//! every golden request body, on bodies shuffled and broken at random
//! (keys in any order, a union's tag after its payload, duplicate keys,
//! nulls, wrong types, missing and unknown keys), and on chosen cases.
//! Errors always come from the value reader, so `from_json` names the
//! field at fault whichever way the text was read. The same holds for the
//! lenient reader of answers (`Answer::from_text`) against the golden
//! answers.

#![allow(deprecated)]

use std::fmt::Debug;
use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;
use wechat_msg::__private::Cx;
use wechat_msg::meta::parse_json;
use wechat_msg::{
    Ack, AddTemplate, Answer, CreateActivityId, CustomerServiceMessage, DeleteTemplate, Endpoint,
    Form, GetCategory, GetPubTemplateKeywords, GetPubTemplateTitles, GetTemplateList,
    SetUpdatableMsg, SubscribeMessage, TempMediaQuery, TempMediaUpload, TemplateMessage,
    TypingStatus, UniformMessage, Wire, WireError,
};

/// Reads `text` only through the streaming reader.
fn stream<T: Wire>(text: &str, form: Form) -> Option<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let read = T::read_from(&mut de, &mut Cx::new(form, true)).ok()?;
    de.end().ok()?;
    Some(read)
}

/// Reads `text` only through the value reader.
fn slow<T: Wire>(text: &str, form: Form) -> Result<T, WireError> {
    T::from_value(&parse_json(text.as_bytes())?, form)
}

/// Both readers agree on `text`; `from_json` gives their answer.
fn agree<T: Wire + PartialEq + Debug>(text: &str, form: Form) -> Result<T, WireError> {
    let fast = stream::<T>(text, form);
    let slow = slow::<T>(text, form);
    match (&fast, &slow) {
        (Some(fast), Ok(slow)) => assert_eq!(fast, slow, "{text}"),
        (None, Err(_)) => {}
        (Some(_), Err(err)) => {
            panic!("streaming accepts what the value reader refuses ({err}): {text}")
        }
        (None, Ok(_)) => panic!("streaming refuses what the value reader accepts: {text}"),
    }
    let parsed = T::from_json(text, form);
    assert_eq!(parsed, slow, "{text}");
    parsed
}

/// A JSON text as a tree whose objects may repeat keys.
#[derive(Clone, Debug)]
enum Json {
    Raw(String),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn of(value: &Value) -> Json {
        match value {
            Value::Object(map) => {
                Json::Object(map.iter().map(|(k, v)| (k.clone(), Json::of(v))).collect())
            }
            other => Json::Raw(other.to_string()),
        }
    }

    fn text(&self) -> String {
        match self {
            Json::Raw(raw) => raw.clone(),
            Json::Object(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v.text()))
                    .collect();
                format!("{{{}}}", entries.join(","))
            }
        }
    }

    /// Shuffles every object's keys and, now and then, breaks one entry.
    fn mutate(&mut self, rng: &mut u64) {
        let Json::Object(entries) = self else { return };
        for i in (1..entries.len()).rev() {
            entries.swap(i, (next(rng) % (i as u64 + 1)) as usize);
        }
        if !entries.is_empty() && next(rng).is_multiple_of(6) {
            let at = (next(rng) % entries.len() as u64) as usize;
            match next(rng) % 7 {
                0 => {
                    let copy = entries[at].clone();
                    let to = (next(rng) % (entries.len() as u64 + 1)) as usize;
                    entries.insert(to, copy);
                }
                1 => entries[at].1 = Json::Raw("null".into()),
                2 => entries[at].1 = Json::Raw("7".into()),
                3 => entries[at].1 = Json::Raw("\"x\"".into()),
                4 => {
                    entries.remove(at);
                }
                5 => entries.push(("unknown".into(), Json::Raw("1".into()))),
                _ => entries[at].1 = Json::Object(Vec::new()),
            }
        }
        for (_, value) in entries.iter_mut() {
            value.mutate(rng);
        }
    }
}

fn next(state: &mut u64) -> u64 {
    // xorshift64*: deterministic for a given proptest seed.
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Every golden request body of `api`: (form, text).
fn goldens(api: &str) -> Vec<(Form, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(api);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let form = if name.ends_with(".http.json") {
            Form::Http
        } else if name.ends_with(".cloud.json") {
            Form::Cloud
        } else {
            continue;
        };
        out.push((form, std::fs::read_to_string(&path).unwrap()));
    }
    assert!(!out.is_empty(), "no golden body in {}", dir.display());
    out
}

/// Runs `check` for every request type with the golden bodies of its
/// endpoint.
fn each_type(check: &mut dyn FnMut(&str, Form, &str)) {
    for api in [
        "customerServiceMessage.send",
        "customerServiceMessage.setTyping",
        "customerServiceMessage.uploadTempMedia",
        "customerServiceMessage.getTempMedia",
        "subscribeMessage.send",
        "subscribeMessage.addTemplate",
        "subscribeMessage.deleteTemplate",
        "subscribeMessage.getCategory",
        "subscribeMessage.getPubTemplateKeyWordsById",
        "subscribeMessage.getPubTemplateTitleList",
        "subscribeMessage.getTemplateList",
        "templateMessage.send",
        "uniformMessage.send",
        "updatableMessage.createActivityId",
        "updatableMessage.setUpdatableMsg",
    ] {
        for (form, text) in goldens(api) {
            check(api, form, &text);
        }
    }
}

/// `agree` for the request type of `api`.
fn agree_for(api: &str, form: Form, text: &str) -> bool {
    macro_rules! by_api {
        ($($name:literal => $ty:ty,)*) => {
            match api {
                $($name => agree::<$ty>(text, form).is_ok(),)*
                other => panic!("no type for {other}"),
            }
        };
    }
    by_api! {
        "customerServiceMessage.send" => CustomerServiceMessage,
        "customerServiceMessage.setTyping" => TypingStatus,
        "customerServiceMessage.uploadTempMedia" => TempMediaUpload,
        "customerServiceMessage.getTempMedia" => TempMediaQuery,
        "subscribeMessage.send" => SubscribeMessage,
        "subscribeMessage.addTemplate" => AddTemplate,
        "subscribeMessage.deleteTemplate" => DeleteTemplate,
        "subscribeMessage.getCategory" => GetCategory,
        "subscribeMessage.getPubTemplateKeyWordsById" => GetPubTemplateKeywords,
        "subscribeMessage.getPubTemplateTitleList" => GetPubTemplateTitles,
        "subscribeMessage.getTemplateList" => GetTemplateList,
        "templateMessage.send" => TemplateMessage,
        "uniformMessage.send" => UniformMessage,
        "updatableMessage.createActivityId" => CreateActivityId,
        "updatableMessage.setUpdatableMsg" => SetUpdatableMsg,
    }
}

#[test]
fn every_golden_body_streams_to_the_value_readers_result() {
    each_type(&mut |api, form, text| {
        assert!(agree_for(api, form, text), "{api} {form}: {text}");
        // Unindented, as a client would send it.
        let compact = parse_json(text.as_bytes()).unwrap().to_string();
        assert!(agree_for(api, form, &compact), "{api} {form}: {compact}");
    });
}

#[test]
fn a_tag_after_its_payload_is_read() {
    let text = r#"{"link":{"title":"t","description":"d","url":"https://a.example","thumb_url":"https://a.example/i.png"},"touser":"OPENID","msgtype":"link"}"#;
    let message = agree::<CustomerServiceMessage>(text, Form::Http).unwrap();
    assert!(stream::<CustomerServiceMessage>(text, Form::Http).is_some());
    assert_eq!(
        message.to_json(Form::Http),
        r#"{"touser":"OPENID","msgtype":"link","link":{"title":"t","description":"d","url":"https://a.example","thumb_url":"https://a.example/i.png"}}"#
    );
}

#[test]
fn errors_name_the_field_whichever_reader_ran() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"touser":"A","touser":"B","msgtype":"text","text":{"content":"hi"}}"#,
            "touser: duplicate field",
        ),
        (
            r#"{"image":{"media_id":"M"},"touser":"A","msgtype":"text","text":{"content":"hi"}}"#,
            "image: not allowed when msgtype is \"text\"",
        ),
        (
            r#"{"touser":"A","msgtype":"text","text":{"content":"hi"},"image":{"media_id":"M"}}"#,
            "image: not allowed when msgtype is \"text\"",
        ),
        (
            r#"{"text":{"content":"hi","content":"ho"},"touser":"A","msgtype":"text"}"#,
            "text.content: duplicate field",
        ),
        (
            r#"{"touser":"A","msgtype":"text","text":{"content":5}}"#,
            "text.content: expected a string, found a number",
        ),
        (
            r#"{"touser":"A","msgtype":"video","video":{}}"#,
            "msgtype: unknown value \"video\"; expected one of: text, image, link, miniprogrampage",
        ),
        (
            r#"{"touser":"A","msgtype":"text"}"#,
            "text: missing (required when msgtype is \"text\")",
        ),
    ];
    for (text, message) in cases {
        let err = agree::<CustomerServiceMessage>(text, Form::Http).unwrap_err();
        assert_eq!(err.to_string(), *message, "{text}");
    }
    let err = agree::<SubscribeMessage>(
        r#"{"data":{"thing1":{"value":"a thing of more than twenty characters"}},"touser":"A","template_id":"T"}"#,
        Form::Http,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("data.thing1.value: "), "{err}");
    let err = agree::<GetPubTemplateTitles>(r#"{"start":0,"limit":1,"ids":"2,x"}"#, Form::Http)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ids[1]: expected an integer, found a string"
    );
}

#[test]
fn null_is_an_absent_optional_field_and_a_repeated_null_is_refused() {
    let base = r#""touser":"A","template_id":"T","data":{"thing1":{"value":"v"}}"#;
    let message =
        agree::<SubscribeMessage>(&format!(r#"{{{base},"page":null}}"#), Form::Http).unwrap();
    assert_eq!(message.page, None);
    let err = agree::<SubscribeMessage>(
        &format!(r#"{{"page":null,{base},"page":null}}"#),
        Form::Http,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "page: duplicate field");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn shuffled_and_broken_bodies_read_alike(seed in any::<u64>()) {
        let mut rng = seed | 1;
        each_type(&mut |api, form, text| {
            let mut json = Json::of(&serde_json::from_str(text).unwrap());
            json.mutate(&mut rng);
            agree_for(api, form, &json.text());
        });
    }
}

/// Every golden answer of `api` (in `answers/`): (form, text).
fn golden_answers(api: &str) -> Vec<(Form, String)> {
    goldens(&format!("{api}/answers"))
}

/// An answer's text reader ([`Answer::from_text`], streaming and lenient)
/// reads what the value reader reads from the same text, and fails alike.
fn answer_agrees<E: Endpoint>(text: &str, form: Form)
where
    E::Answer: Wire + PartialEq + Debug,
{
    let slow = parse_json(text.as_bytes())
        .and_then(|value| <E::Answer as Answer>::from_json(&value, form));
    // The streaming read on its own: whatever it accepts, the value reader
    // accepts and reads the same.
    let mut de = serde_json::Deserializer::from_str(text);
    if let Ok(fast) = <E::Answer as Wire>::read_from(&mut de, &mut Cx::new(form, false))
        && de.end().is_ok()
    {
        match &slow {
            Ok(slow) => assert_eq!(&fast, slow, "{text}"),
            Err(err) => {
                panic!("streaming accepts an answer the value reader refuses ({err}): {text}")
            }
        }
    }
    assert_eq!(<E::Answer as Answer>::from_text(text, form), slow, "{text}");
}

/// `answer_agrees` for the endpoint of `api`, over its golden answers
/// mutated by `mutate`.
fn answers_agree(mutate: &mut dyn FnMut(&mut Json)) {
    macro_rules! by_api {
        ($($name:literal => $ty:ty,)*) => {
            $(
                for (form, text) in golden_answers($name) {
                    let mut json = Json::of(&serde_json::from_str(&text).unwrap());
                    mutate(&mut json);
                    answer_agrees::<$ty>(&json.text(), form);
                }
            )*
        };
    }
    by_api! {
        "subscribeMessage.addTemplate" => AddTemplate,
        "subscribeMessage.getCategory" => GetCategory,
        "subscribeMessage.getPubTemplateKeyWordsById" => GetPubTemplateKeywords,
        "subscribeMessage.getPubTemplateTitleList" => GetPubTemplateTitles,
        "subscribeMessage.getTemplateList" => GetTemplateList,
    }
}

#[test]
fn golden_answers_read_alike_from_text_and_from_a_value() {
    answers_agree(&mut |_| {});
}

#[test]
fn an_ack_reads_from_any_object_and_refuses_anything_else_as_the_value_reader_does() {
    for text in [
        r#"{"errcode":0,"errmsg":"ok"}"#,
        "{}",
        r#"{"a":[1,{"b":2}]}"#,
    ] {
        assert_eq!(
            Ack::from_text(text, Form::Http),
            Ok(Ack::default()),
            "{text}"
        );
    }
    for text in ["[]", "1", r#"{"a":1,"a":2}"#, "{", r#"{"a":1} x"#] {
        let slow = parse_json(text.as_bytes()).and_then(|v| Ack::from_json(&v, Form::Http));
        assert!(slow.is_err(), "{text}");
        assert_eq!(Ack::from_text(text, Form::Http), slow, "{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn shuffled_and_broken_answers_read_alike(seed in any::<u64>()) {
        let mut rng = seed | 1;
        answers_agree(&mut |json| json.mutate(&mut rng));
    }
}
