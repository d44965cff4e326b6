//! `wechat_msg::templates!`: typed subscribe templates from a templates file.
//! This file is itself the compile-pass case: it uses every kind of keyword.

use serde_json::json;
use wechat_msg::keyword::{Amount, CharacterString, Thing, Time};
use wechat_msg::{Form, Wire};

wechat_msg::templates!("ui/templates/shop.toml");

fn shipped() -> OrderShipped {
    OrderShipped::builder()
        .item(Thing::try_from("Blue kettle").unwrap())
        .shipped_at(Time::try_from("15:01").unwrap())
        .state(OrderShippedState::try_from("已发货").unwrap())
        .note("fragile, this way up".to_owned())
        .build()
}

#[test]
fn a_template_becomes_a_subscribe_message_in_both_forms() {
    let mut message = shipped().to("OPENID");
    message.page = Some("orders/detail?id=7".to_owned());
    let data = json!({
        "thing1": {"value": "Blue kettle"},
        "time2": {"value": "15:01"},
        "phrase3": {"value": "已发货"},
        "short_thing4": {"value": "fragile, this way up"}
    });
    assert_eq!(
        message.to_value(Form::Http),
        json!({"touser": "OPENID", "template_id": "TEMPLATE_ID", "page": "orders/detail?id=7", "data": data})
    );
    assert_eq!(
        message.to_value(Form::Cloud),
        json!({"touser": "OPENID", "templateId": "TEMPLATE_ID", "page": "orders/detail?id=7", "data": data})
    );
}

#[test]
fn constants_name_the_template() {
    assert_eq!(OrderShipped::ID, "TEMPLATE_ID");
    assert_eq!(OrderShipped::TITLE, "Order shipped");
    assert_eq!(
        OrderShipped::KEYS,
        ["thing1", "time2", "phrase3", "short_thing4"]
    );
    assert_eq!(PaymentReceived::ID, "PAY_TEMPLATE");
    assert!(Bare::KEYS.is_empty());
    assert!(Bare::builder().build().to("OPENID").data.is_empty());
}

#[test]
fn an_enum_keyword_takes_only_its_values() {
    assert_eq!(OrderShippedState::VALUES, ["已发货", "已签收"]);
    let err = OrderShippedState::try_from("lost").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"data.phrase3.value: not one of the template's values ("已发货", "已签收")"#
    );
}

#[test]
fn typed_values_are_checked_before_they_reach_the_template() {
    assert!(Thing::try_from("x".repeat(21).as_str()).is_err());
    let paid = PaymentReceived::builder()
        .amount(Amount::try_from("¥12.50").unwrap())
        .order_no(CharacterString::try_from("A-1024").unwrap())
        .build();
    let message = paid.to("OPENID");
    assert_eq!(message.template_id, "PAY_TEMPLATE");
    assert_eq!(message.data["amount1"].value, "¥12.50");
    assert_eq!(message.data["character_string2"].value, "A-1024");
}

/// The file `wechat-msg templates pull` prints for the default emulator
/// (the CLI's tests keep it equal to that output).
mod pulled {
    wechat_msg::templates!("templates.toml");
}

#[tokio::test]
async fn the_pulled_file_compiles_and_its_messages_reach_the_emulator() {
    use pulled::{Template1, Template1Phrase5};
    use wechat_msg::Client;
    use wechat_msg::keyword::{CharacterString, Date};
    use wechat_msg_emulator::{Config, Emulator};

    let config = Config::from_toml("[known]\nopenids = [\"OPENID\", \"FAN\"]\n").unwrap();
    let emulator = Emulator::start(config).await.unwrap();
    let app = emulator.app();
    let client = Client::builder()
        .base_url(emulator.base_url())
        .credentials(app.appid.clone(), app.secret.clone())
        .build()
        .unwrap();
    let meeting = Template1::builder()
        .thing1(Thing::try_from("Quarterly review").unwrap())
        .time2(Time::try_from("15:01").unwrap())
        .date3(Date::try_from("2019年10月1日").unwrap())
        .character_string4(CharacterString::try_from("R-2048").unwrap())
        .phrase5(Template1Phrase5::try_from("进行中").unwrap())
        .build();
    client.send(&meeting.to("OPENID")).await.unwrap();
    let sent = emulator.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body["data"]["phrase5"]["value"],
        json!("进行中"),
        "{:?}",
        sent[0].body
    );
    // Another user has not subscribed: WeChat's 43101.
    let err = client.send(&meeting.to("FAN")).await.unwrap_err();
    assert_eq!(
        err.rejection().map(|r| &r.errcode),
        Some(&wechat_msg::SubscribeMessageSendErrcode::UserRefused),
        "{err}"
    );
    emulator.shutdown().await;
}
