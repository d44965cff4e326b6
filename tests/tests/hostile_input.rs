//! Hostile bodies: duplicate keys, control characters in keys, arbitrary
//! bytes. The reader refuses what is ambiguous, names where, and never panics.

use proptest::prelude::*;
use wechat_msg::meta::parse_json;
use wechat_msg::{CustomerServiceMessage, Form, SubscribeMessage, Wire, WireErrorKind};

fn error_of<T: Wire + std::fmt::Debug>(text: &str, form: Form) -> String {
    T::from_json(text, form).unwrap_err().to_string()
}

#[test]
fn a_repeated_key_is_refused_and_named_not_the_last_one_taken() {
    let twice =
        r#"{"touser":"OPENID","touser":"ATTACKER","msgtype":"text","text":{"content":"hi"}}"#;
    for form in Form::ALL {
        let err = CustomerServiceMessage::from_json(twice, form).unwrap_err();
        assert_eq!(err.to_string(), "touser: duplicate field");
        assert_eq!(err.kind(), &WireErrorKind::Duplicate);
        assert_eq!(err.path(), "touser");
    }
    // The union's tag, and a key deep inside a payload.
    assert_eq!(
        error_of::<CustomerServiceMessage>(
            r#"{"touser":"O","msgtype":"text","msgtype":"image","text":{"content":"hi"}}"#,
            Form::Http
        ),
        "msgtype: duplicate field"
    );
    assert_eq!(
        error_of::<CustomerServiceMessage>(
            r#"{"touser":"O","msgtype":"link","link":{"title":"t","description":"d","url":"u","thumb_url":"a","thumb_url":"b"}}"#,
            Form::Http
        ),
        "link.thumb_url: duplicate field"
    );
    assert_eq!(
        error_of::<CustomerServiceMessage>(
            r#"{"touser":"O","msgtype":"miniprogrampage","miniprogrampage":{"title":"t","pagepath":"p","thumbMediaId":"a","thumbMediaId":"b"}}"#,
            Form::Cloud
        ),
        "miniprogrampage.thumbMediaId: duplicate field"
    );
    // Keyword keys are user data, and still may not repeat.
    assert_eq!(
        error_of::<SubscribeMessage>(
            r#"{"touser":"O","template_id":"T","data":{"thing1":{"value":"a"},"thing1":{"value":"b"}}}"#,
            Form::Http
        ),
        "data.thing1: duplicate field"
    );
}

#[test]
fn a_repeated_key_is_found_wherever_it_is() {
    // Inside arrays, at any depth, and whatever the schema (the parser knows none).
    let err = parse_json(br#"{"a":[{"x":1},{"y":[0,{"k":1,"k":2}]}]}"#).unwrap_err();
    assert_eq!(err.to_string(), "a[1].y[1].k: duplicate field");
    let err = parse_json(br#"{"k":1,"k":1}"#).unwrap_err();
    assert_eq!(err.to_string(), "k: duplicate field");
    // Equal values in different objects are fine.
    assert!(parse_json(br#"{"a":{"k":1},"b":{"k":1}}"#).is_ok());
    // The value is otherwise the one serde_json gives.
    let text =
        br#"{"n":-3,"u":18446744073709551615,"f":1.5,"s":"\u00e9","t":true,"z":null,"a":[]}"#;
    assert_eq!(
        parse_json(text).unwrap(),
        serde_json::from_slice::<serde_json::Value>(text).unwrap()
    );
    // Syntax errors and trailing garbage are still syntax errors.
    assert!(matches!(
        parse_json(b"{\"a\":1} x").unwrap_err().kind(),
        WireErrorKind::Syntax(_)
    ));
    assert!(matches!(
        parse_json(b"{\"a\":").unwrap_err().kind(),
        WireErrorKind::Syntax(_)
    ));
}

#[test]
fn control_characters_in_keys_are_escaped_in_error_paths() {
    let hostile = "{\"touser\":\"O\",\"msgtype\":\"text\",\"text\":{\"content\":\"hi\"},\"x\\u001b[31m\\nerror: forged\\u202e\":1}";
    let shown = error_of::<CustomerServiceMessage>(hostile, Form::Http);
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    assert!(!shown.contains('\n'), "{shown:?}");
    assert!(!shown.contains('\u{202e}'), "{shown:?}");
    assert!(
        shown.contains(r"x\u{1b}[31m\u{a}error: forged\u{202e}"),
        "{shown}"
    );
    assert!(shown.ends_with(": unknown field"), "{shown}");
}

#[test]
fn an_answer_naming_a_key_twice_is_malformed() {
    use wechat_msg::MalformedAnswer;
    use wechat_msg::meta::read_answer;
    let twice = br#"{"errcode":0,"errmsg":"ok","errcode":40001}"#;
    let err = read_answer::<CustomerServiceMessage>(twice, Form::Http).unwrap_err();
    assert!(
        matches!(err, MalformedAnswer::Fields(ref e) if e.to_string() == "errcode: duplicate field"),
        "{err}"
    );
    // And a plain answer still reads.
    assert!(
        read_answer::<CustomerServiceMessage>(br#"{"errcode":0,"errmsg":"ok"}"#, Form::Http)
            .unwrap()
            .is_ok()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary answer bytes, and JSON-shaped ones, in both forms: a
    /// reading, a refusal or a malformed answer, never a panic.
    #[test]
    fn arbitrary_answers_never_panic_the_answer_parser(
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
        text in json_noise(),
        code in any::<i64>(),
    ) {
        use wechat_msg::meta::read_answer;
        for form in Form::ALL {
            let _ = read_answer::<CustomerServiceMessage>(&bytes, form);
            let _ = read_answer::<CustomerServiceMessage>(text.as_bytes(), form);
            let answer = format!(r#"{{"errcode":{code},"errmsg":{text},"errCode":{code},"errMsg":"x","media_id":{text}}}"#);
            let _ = read_answer::<CustomerServiceMessage>(answer.as_bytes(), form);
            let _ = read_answer::<wechat_msg::TempMediaUpload>(answer.as_bytes(), form);
        }
    }

    /// Arbitrary bytes: an error or a value, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_json(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            for form in Form::ALL {
                let _ = CustomerServiceMessage::from_json(text, form);
                let _ = SubscribeMessage::from_json(text, form);
            }
        }
    }

    /// JSON-shaped noise built from the spec's own keys reaches deeper into
    /// the readers than random bytes do.
    #[test]
    fn json_shaped_noise_never_panics_the_readers(text in json_noise()) {
        for form in Form::ALL {
            let _ = CustomerServiceMessage::from_json(&text, form);
            let _ = SubscribeMessage::from_json(&text, form);
            for info in wechat_msg::ENDPOINTS {
                if let Ok(value) = parse_json(text.as_bytes()) {
                    let _ = (info.convert)(&value, form, Form::Http);
                }
            }
        }
    }
}

/// Objects and arrays of the spec's key names and odd scalars.
fn json_noise() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "touser",
        "msgtype",
        "text",
        "content",
        "image",
        "media_id",
        "mediaId",
        "link",
        "title",
        "thumb_url",
        "miniprogrampage",
        "pagepath",
        "thumb_media_id",
        "template_id",
        "data",
        "value",
        "thing1",
        "page",
        "lang",
        "miniprogram_state",
        "command",
        "x",
    ]);
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("\"text\"".to_owned()),
        Just("\"image\"".to_owned()),
        Just("\"\\u0000\\ud800\"".to_owned()),
        "[a-z]{0,4}".prop_map(|s| format!("{s:?}")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(","))),
            proptest::collection::vec((key.clone(), inner), 0..6).prop_map(|entries| {
                let fields: Vec<String> =
                    entries.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}
