//! Template keywords: every rule of `api-spec/keywords.toml` at its edges
//! (at the limit, one past it, CJK, emoji, combining marks, empty), the
//! newtypes and `KeywordType`, the checks of `SubscribeMessage.data` when
//! parsing, and the client refusing an invalid subscribe message as not
//! sent, typed, dynamic and in bulk, against a real HTTP server.
#![cfg(feature = "client")]

mod client_support;

use std::collections::BTreeMap;

use client_support::*;
use serde_json::json;
use wechat_msg::Via;
use wechat_msg::client::{BulkMessage, ErrorKind, Outcome};
use wechat_msg::keyword::{
    Amount, CarNumber, CharacterString, Date, KeywordError, KeywordType, Letter, Name, Number,
    PhoneNumber, Phrase, Symbol, Thing, Time,
};
use wechat_msg::{Form, SubscribeKeyword, SubscribeMessage, Wire, WireErrorKind};

fn ok(ty: KeywordType, text: &str) {
    assert_eq!(ty.check(text), Ok(()), "{ty} {text:?} should fit");
}

fn too_long(ty: KeywordType, text: &str, max: usize) {
    let found = text.chars().count();
    assert_eq!(
        ty.check(text),
        Err(KeywordError::TooLong {
            max,
            found,
            when: None
        }),
        "{ty} {text:?}"
    );
    assert_eq!(
        ty.check(text).unwrap_err().to_string(),
        format!("longer than {max} characters ({found})")
    );
}

fn breaks_rule(ty: KeywordType, text: &str) {
    assert!(
        matches!(ty.check(text), Err(KeywordError::Rule { .. })),
        "{ty} {text:?}: {:?}",
        ty.check(text)
    );
}

#[test]
fn every_type_refuses_an_empty_value() {
    for &ty in KeywordType::ALL {
        assert_eq!(ty.check(""), Err(KeywordError::Empty), "{ty}");
    }
    assert_eq!(KeywordError::Empty.to_string(), "is empty");
    // Unknown types too: WeChat answers `... is empty` for any key.
    assert_eq!(
        wechat_msg::keyword::check("short_thing1", ""),
        Err(KeywordError::Empty)
    );
}

#[test]
fn thing_counts_scalar_values() {
    let ty = KeywordType::Thing;
    ok(ty, &"a".repeat(20));
    too_long(ty, &"a".repeat(21), 20);
    // A CJK character is one.
    ok(ty, &"中".repeat(20));
    too_long(ty, &"中".repeat(21), 20);
    // An emoji outside the BMP is one.
    ok(ty, &"😀".repeat(20));
    too_long(ty, &"😀".repeat(21), 20);
    // A ZWJ sequence counts each scalar: 👨‍👩‍👧 is 5.
    let family = "👨\u{200d}👩\u{200d}👧";
    assert_eq!(family.chars().count(), 5);
    ok(ty, &family.repeat(4));
    too_long(ty, &format!("{}a", family.repeat(4)), 20);
    // A combining mark counts separately: e + U+0301 is 2.
    ok(ty, &"e\u{301}".repeat(10));
    too_long(ty, &format!("{}a", "e\u{301}".repeat(10)), 20);
}

#[test]
fn number_letter_symbol_character_string() {
    ok(KeywordType::Number, &"9".repeat(32));
    too_long(KeywordType::Number, &"9".repeat(33), 32);
    ok(KeywordType::Number, "3.14");
    breaks_rule(KeywordType::Number, "3.");
    breaks_rule(KeywordType::Number, "一");
    breaks_rule(KeywordType::Number, "12a");

    ok(KeywordType::Letter, &"z".repeat(32));
    too_long(KeywordType::Letter, &"z".repeat(33), 32);
    breaks_rule(KeywordType::Letter, "abc1");
    breaks_rule(KeywordType::Letter, "é");

    ok(KeywordType::Symbol, "#¥、!@");
    too_long(KeywordType::Symbol, "#¥、!@?", 5);
    breaks_rule(KeywordType::Symbol, "#a");

    ok(
        KeywordType::CharacterString,
        &format!("{}-", "A1".repeat(15)),
    );
    ok(KeywordType::CharacterString, &"x".repeat(32));
    too_long(KeywordType::CharacterString, &"x".repeat(33), 32);
    breaks_rule(KeywordType::CharacterString, "订单1");
    breaks_rule(KeywordType::CharacterString, "a b");
}

#[test]
fn time_and_date() {
    for text in [
        "15:01",
        "15:01:02",
        "9:05",
        "2019-10-01 15:01",
        "2019年10月1日 15:01",
        "10月1日15:01",
        "15:01~16:00",
        "15:01 ~ 16:00",
        "2019/10/01 15:01~2019/10/02 16:00",
    ] {
        ok(KeywordType::Time, text);
    }
    for text in ["24:00", "15:60", "1501", "15:01~", "2019-10-01", "下午3点"] {
        breaks_rule(KeywordType::Time, text);
    }
    for text in [
        "2019年10月1日",
        "10月1日",
        "2019-10-01",
        "2019/10/01",
        "2019.10.01",
        "10-01",
        "2019-10-01 15:01",
        "2019-10-01~2019-10-07",
        "2019年10月1日 ~ 2019年10月7日",
    ] {
        ok(KeywordType::Date, text);
    }
    for text in ["2019", "2019-10", "October 1", "2019-10-01 25:00"] {
        breaks_rule(KeywordType::Date, text);
    }
}

#[test]
fn amount_phone_car_number_phrase() {
    for text in ["¥100.50", "100元", "$9999999999", "0.5", "¥1234567890.99元"] {
        ok(KeywordType::Amount, text);
    }
    for text in ["¥12345678901", "¥¥1", "100块", "1,000"] {
        breaks_rule(KeywordType::Amount, text);
    }

    ok(KeywordType::PhoneNumber, "+86-10-12345678");
    ok(KeywordType::PhoneNumber, &"1".repeat(17));
    too_long(KeywordType::PhoneNumber, &"1".repeat(18), 17);
    breaks_rule(KeywordType::PhoneNumber, "call 110");

    ok(KeywordType::CarNumber, "粤A12345");
    ok(KeywordType::CarNumber, "粤A1234学");
    ok(KeywordType::CarNumber, "粤B123456");
    too_long(KeywordType::CarNumber, "粤B1234567", 8);
    breaks_rule(KeywordType::CarNumber, "A粤12345");
    breaks_rule(KeywordType::CarNumber, "粤A-12345");

    ok(KeywordType::Phrase, "配送中");
    ok(KeywordType::Phrase, "五个汉字啊");
    too_long(KeywordType::Phrase, "六个汉字了啊", 5);
    breaks_rule(KeywordType::Phrase, "ok");
    breaks_rule(KeywordType::Phrase, "配送😀");
}

#[test]
fn name_counts_chinese_stricter_and_mixed_as_chinese() {
    let ty = KeywordType::Name;
    ok(ty, &"张".repeat(10));
    ok(ty, &"a".repeat(20));
    ok(ty, "Zhang San");
    too_long(ty, &"a".repeat(21), 20);
    let chinese = KeywordError::TooLong {
        max: 10,
        found: 11,
        when: Some("Chinese characters"),
    };
    assert_eq!(ty.check(&"张".repeat(11)), Err(chinese.clone()));
    assert_eq!(
        chinese.to_string(),
        "longer than 10 characters with Chinese characters (11)"
    );
    // Mixed counts as Chinese: 1 Chinese + 10 letters is 11.
    assert_eq!(
        ty.check(&format!("张{}", "a".repeat(10))),
        Err(KeywordError::TooLong {
            max: 10,
            found: 11,
            when: Some("Chinese characters")
        })
    );
    ok(ty, &format!("张{}", "a".repeat(9)));
    breaks_rule(ty, "R2D2");
}

#[test]
fn keyword_types_come_from_keys() {
    assert_eq!(
        KeywordType::of_key("character_string12"),
        Some(KeywordType::CharacterString)
    );
    assert_eq!(KeywordType::of_key("thing1"), Some(KeywordType::Thing));
    assert_eq!(KeywordType::of_key("thing"), Some(KeywordType::Thing));
    assert_eq!(KeywordType::of_key("short_thing1"), None);
    assert_eq!(KeywordType::of_key("enum3"), None);
    assert_eq!(KeywordType::of_key("12"), None);
    assert_eq!(KeywordType::CharacterString.name(), "character_string");
    assert_eq!(KeywordType::ALL.len(), 12);
    // Unknown types pass unchecked (beyond being non-empty).
    assert_eq!(
        wechat_msg::keyword::check("short_thing1", &"x".repeat(100)),
        Ok(())
    );
    assert!(wechat_msg::keyword::check("thing1", &"x".repeat(21)).is_err());
}

#[test]
fn newtypes_hold_only_fitting_values() {
    let thing = Thing::try_from("咖啡").unwrap();
    assert_eq!(thing.as_str(), "咖啡");
    assert_eq!(thing.to_string(), "咖啡");
    assert_eq!(format!("{thing:?}"), "Thing(\"咖啡\")");
    assert_eq!(String::from(thing.clone()), "咖啡");
    assert_eq!(thing.clone().into_inner(), "咖啡");
    assert_eq!(Thing::try_from("咖啡".to_owned()), Ok(thing));
    assert_eq!(
        Thing::try_from("x".repeat(23)).unwrap_err().to_string(),
        "longer than 20 characters (23)"
    );
    assert_eq!(
        Number::try_from("abc").unwrap_err().to_string(),
        "must be digits with an optional decimal part, like 3.14"
    );
    assert!(Letter::try_from("abc").is_ok());
    assert!(Symbol::try_from("#").is_ok());
    assert!(CharacterString::try_from("A-1").is_ok());
    assert!(Time::try_from("15:01").is_ok());
    assert!(Date::try_from("2019-10-01").is_ok());
    assert!(Amount::try_from("¥1").is_ok());
    assert!(PhoneNumber::try_from("110").is_ok());
    assert!(CarNumber::try_from("粤A12345").is_ok());
    assert!(Name::try_from("张三").is_ok());
    assert!(Phrase::try_from("配送中").is_ok());
    assert_eq!(Phrase::TYPE, KeywordType::Phrase);
}

#[test]
fn truncate_cuts_with_an_ellipsis_that_counts() {
    // Fits: unchanged.
    assert_eq!(Thing::truncate(&"a".repeat(20)).as_str(), "a".repeat(20));
    // One past: 19 characters and the ellipsis.
    let cut = Thing::truncate(&"a".repeat(21));
    assert_eq!(cut.as_str(), format!("{}…", "a".repeat(19)));
    assert_eq!(cut.as_str().chars().count(), 20);
    // CJK and emoji are cut at a character.
    assert_eq!(
        Thing::truncate(&"中".repeat(30)).as_str(),
        format!("{}…", "中".repeat(19))
    );
    assert_eq!(
        Thing::truncate(&"😀".repeat(30)).as_str(),
        format!("{}…", "😀".repeat(19))
    );
    // A grapheme cluster is never split: the family (5 scalars) at
    // characters 16..=20 does not fit in 19 and is left out whole.
    let family = "👨\u{200d}👩\u{200d}👧";
    let text = format!("{}{family}tail", "a".repeat(15));
    assert_eq!(
        Thing::truncate(&text).as_str(),
        format!("{}…", "a".repeat(15))
    );
    // A combining mark stays with its letter.
    let text = format!("{}e\u{301}xyz", "a".repeat(18));
    assert_eq!(
        Thing::truncate(&text).as_str(),
        format!("{}…", "a".repeat(18))
    );
    assert_eq!(Thing::truncate("").as_str(), "…");
}

fn message(key: &str, text: &str) -> SubscribeMessage {
    let mut data = BTreeMap::new();
    data.insert(
        key.to_owned(),
        SubscribeKeyword::builder().value(text).build(),
    );
    SubscribeMessage::builder()
        .touser("OPENID")
        .template_id("TEMPLATE_ID")
        .data(data)
        .build()
}

#[test]
fn parsing_and_validate_name_the_keyword() {
    let long = "x".repeat(23);
    let err = message("thing1", &long).validate(Form::Http).unwrap_err();
    assert_eq!(err.path(), "data.thing1.value");
    assert_eq!(
        err.to_string(),
        "data.thing1.value: longer than 20 characters (23)"
    );
    assert!(matches!(err.kind(), WireErrorKind::Keyword(_)));
    let body = json!({"touser": "OPENID", "template_id": "T", "data": {"thing1": {"value": long}}});
    let err = SubscribeMessage::from_value(&body, Form::Http).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data.thing1.value: longer than 20 characters (23)"
    );
    let cloud = json!({"touser": "OPENID", "templateId": "T", "data": {"time2": {"value": ""}}});
    let err = SubscribeMessage::from_value(&cloud, Form::Cloud).unwrap_err();
    assert_eq!(err.to_string(), "data.time2.value: is empty");
    // Unknown types pass.
    assert!(message("short_thing1", &long).validate(Form::Http).is_ok());
    assert!(message("thing1", "ok").validate(Form::Cloud).is_ok());
}

async fn accepting() -> Fake {
    let tokens = Tokens::default();
    serve(move |hit| {
        let token = tokens.answer(&hit, 7200);
        async move { token.unwrap_or_else(client_support::ok) }
    })
    .await
}

#[tokio::test]
async fn the_client_refuses_an_invalid_subscribe_message_as_not_sent() {
    let fake = accepting().await;
    let client = builder(&fake.base_url()).build().unwrap();
    let expected = "data.thing1.value: longer than 20 characters (23)";

    // Typed.
    let err = client
        .send(&message("thing1", &"x".repeat(23)))
        .await
        .unwrap_err();
    let ErrorKind::InvalidRequest(wire) = err.kind() else {
        panic!("expected an invalid request, got {err:?}");
    };
    assert_eq!(wire.to_string(), expected);
    assert!(err.is_not_sent());
    assert!(err.to_string().contains(expected), "{err}");

    // Dynamic, in either form.
    let info = wechat_msg::meta::endpoint("subscribeMessage.send").unwrap();
    for (form, body) in [
        (
            Form::Http,
            json!({"touser": "OPENID", "template_id": "T", "data": {"thing1": {"value": "x".repeat(23)}}}),
        ),
        (
            Form::Cloud,
            json!({"touser": "OPENID", "templateId": "T", "data": {"thing1": {"value": "x".repeat(23)}}}),
        ),
    ] {
        let err = client
            .send_value(info, &body, form, &Via::Http)
            .await
            .unwrap_err();
        assert!(err.is_not_sent(), "{err:?}");
        assert!(err.to_string().contains(expected), "{err}");
    }

    // In bulk, typed and dynamic.
    let bad = json!({"touser": "OPENID", "template_id": "T", "data": {"phrase3": {"value": "ok"}}});
    let outcomes = client
        .send_all(futures_util::stream::iter([
            BulkMessage::new(&message("thing1", &"x".repeat(23))),
            BulkMessage::value(info, bad, Form::Http),
        ]))
        .collect_in_order()
        .await;
    let Outcome::NotSent(first) = &outcomes[0] else {
        panic!("{outcomes:?}");
    };
    assert!(first.to_string().contains(expected), "{first}");
    let Outcome::NotSent(second) = &outcomes[1] else {
        panic!("{outcomes:?}");
    };
    assert!(
        second
            .to_string()
            .contains("data.phrase3.value: must be Chinese characters only"),
        "{second}"
    );
    assert!(
        fake.hits().is_empty(),
        "nothing was sent, not even a token fetch"
    );

    // A valid one goes out.
    client.send(&message("thing1", "x")).await.unwrap();
    assert_eq!(fake.to("/cgi-bin/message/subscribe/send").len(), 1);
}
