//! subscribeMessage.send keyword values against a running emulator: a value
//! that breaks its type's rule answers 47003 with WeChat's errmsg, over
//! HTTP and in a cloud call, and is not recorded; unknown types pass; the
//! typed client sees the same answer for a body it did not check itself.

mod common;

use common::{Harness, errcode};
use serde_json::{Value, json};
use wechat_msg::Form;
use wechat_msg::client::{ErrorKind, TokenSource};
use wechat_msg::{Client, Via};

fn subscribe(key: &str, value: &str) -> Value {
    json!({"touser": "OPENID", "template_id": "TEMPLATE_ID", "data": {key: {"value": value}}})
}

fn errmsg(answer: &Value) -> &str {
    answer["errmsg"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_keyword_that_breaks_its_rule_is_47003_with_wechats_errmsg() {
    let h = Harness::start().await;
    let token = h.token().await;
    for (key, value) in [
        ("thing1", "x".repeat(21)),
        ("number2", "twelve".to_owned()),
        ("phrase3", "六个汉字了啊".to_owned()),
        ("name4", "张".repeat(11)),
        ("time5", "25:00".to_owned()),
    ] {
        let answer = h
            .send_with(&token, "subscribeMessage.send", &subscribe(key, &value))
            .await;
        assert_eq!(errcode(&answer), 47003, "{key} {value:?}: {answer}");
        let expected = format!("argument invalid! data.{key}.value invalid rid: ");
        assert!(errmsg(&answer).starts_with(&expected), "{answer}");
    }
    let answer = h
        .send_with(&token, "subscribeMessage.send", &subscribe("thing1", ""))
        .await;
    assert_eq!(errcode(&answer), 47003, "{answer}");
    assert!(
        errmsg(&answer).starts_with("argument invalid! data.thing1.value is empty rid: "),
        "{answer}"
    );
    assert!(h.emu.messages().is_empty(), "nothing refused is recorded");

    // At the limit it is accepted; so is any value of an undeclared type.
    for (key, value) in [
        ("thing1", "中".repeat(20)),
        ("short_thing2", "x".repeat(100)),
    ] {
        let answer = h
            .send_with(&token, "subscribeMessage.send", &subscribe(key, &value))
            .await;
        assert_eq!(errcode(&answer), 0, "{key}: {answer}");
    }
    assert_eq!(h.emu.messages().len(), 2);
}

#[tokio::test]
async fn a_cloud_call_gets_the_same_47003() {
    let h = Harness::start().await;
    let data = json!({"touser": "OPENID", "templateId": "TEMPLATE_ID", "data": {"thing1": {"value": "x".repeat(23)}}});
    let inner = h.cloud("subscribeMessage.send", &data).await;
    assert_eq!(inner["errCode"], 47003, "{inner}");
    let msg = inner["errMsg"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with(
            "openapi.subscribeMessage.send:fail argument invalid! data.thing1.value invalid rid: "
        ),
        "{inner}"
    );
}

#[tokio::test]
async fn the_client_refuses_before_the_emulator_sees_it() {
    let h = Harness::start().await;
    let app = h.emu.app();
    let client = Client::builder()
        .base_url(h.emu.base_url())
        .token_source(TokenSource::classic(app.appid.clone(), app.secret.clone()))
        .build()
        .unwrap();
    let info = wechat_msg::meta::endpoint("subscribeMessage.send").unwrap();
    let err = client
        .send_value(
            info,
            &subscribe("thing1", &"x".repeat(23)),
            Form::Http,
            &Via::Http,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidRequest(_)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("data.thing1.value: longer than 20 characters (23)"),
        "{err}"
    );
    let counters = h.emu.counters();
    assert_eq!(
        (counters.token_fetches, counters.calls),
        (0, 0),
        "{counters:?}"
    );
}
