//! Subscriptions to subscribe messages: 43101 without one, one-time
//! subscriptions used up, long-term ones not, the order of the checks, the
//! control route, and the subscribe events pushed to a real push endpoint
//! (the library's push service on a socket).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Harness, err_code, errcode, eventually, json_of};
use serde_json::{Value, json};
use wechat_msg::Push;
use wechat_msg::push::{PushConfig, PushService, Receiver};
use wechat_msg_emulator::{Config, Subscription};

const API: &str = "subscribeMessage.send";
const PUSH_TOKEN: &str = "EMULATOR-PUSH-TOKEN";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ";

fn message(to: &str, template_id: &str) -> Value {
    json!({"touser": to, "template_id": template_id, "data": {"thing1": {"value": "Your order shipped"}}})
}

async fn send(h: &Harness, token: &str, to: &str) -> i64 {
    errcode(&h.send_with(token, API, &message(to, "TEMPLATE_ID")).await)
}

/// `POST /_emulator/users/{openid}/subscriptions` with `body`: the status
/// and the answer.
async fn grant(h: &Harness, openid: &str, body: &str) -> (u16, Value) {
    let response = h
        .http
        .post(h.url(&format!("/_emulator/users/{openid}/subscriptions")))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), json_of(response).await)
}

async fn granted(h: &Harness, openid: &str, body: Value) -> Value {
    let (status, answer) = grant(h, openid, &body.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ok"], true, "{answer}");
    answer
}

#[tokio::test]
async fn a_message_to_a_user_without_a_subscription_answers_43101() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.emu.add_openid("FAN");
    let answer = h
        .send_with(&token, API, &message("FAN", "TEMPLATE_ID"))
        .await;
    assert_eq!(errcode(&answer), 43101, "{answer}");
    let errmsg = answer["errmsg"].as_str().unwrap();
    assert!(
        errmsg.starts_with("user refuse to accept the msg rid: "),
        "{errmsg}"
    );
    assert!(wechat_msg::meta::rid_of(errmsg).is_some(), "{errmsg}");
    // Through the cloud relay as well.
    let inner = h
        .cloud(
            API,
            &json!({"touser": "FAN", "templateId": "TEMPLATE_ID", "data": {"thing1": {"value": "x"}}}),
        )
        .await;
    assert_eq!(err_code(&inner), 43101, "{inner}");
    assert!(h.emu.messages().is_empty());
    assert_eq!(h.emu.counters().errors[&43101], 2);
    // A subscription to another template is not one to this one.
    h.emu.add_template_id("OTHER_TEMPLATE");
    granted(&h, "FAN", json!({"template_id": "OTHER_TEMPLATE"})).await;
    assert_eq!(send(&h, &token, "FAN").await, 43101);
    let answer = h
        .send_with(&token, API, &message("FAN", "OTHER_TEMPLATE"))
        .await;
    assert_eq!(errcode(&answer), 0, "{answer}");
}

#[tokio::test]
async fn one_time_subscriptions_add_up_and_are_used_up_one_per_message() {
    let h = Harness::start().await;
    let token = h.token().await;
    let answer = granted(&h, "FAN", json!({"template_id": "TEMPLATE_ID", "times": 2})).await;
    assert_eq!(
        answer["subscriptions"],
        json!([{"template_id": "TEMPLATE_ID", "long_term": false, "times": 2}])
    );
    // The user became known: no 40003.
    assert_eq!(send(&h, &token, "FAN").await, 0);
    assert_eq!(send(&h, &token, "FAN").await, 0);
    assert_eq!(send(&h, &token, "FAN").await, 43101);
    // Grants add to what is left.
    granted(&h, "FAN", json!({"template_id": "TEMPLATE_ID", "times": 1})).await;
    granted(&h, "FAN", json!({"template_id": "TEMPLATE_ID", "times": 2})).await;
    let user = h.get("/_emulator/users/FAN").await;
    assert_eq!(user["subscriptions"][0]["times"], 3, "{user}");
    for _ in 0..3 {
        assert_eq!(send(&h, &token, "FAN").await, 0);
    }
    assert_eq!(send(&h, &token, "FAN").await, 43101);
    let held: Vec<Subscription> = h.emu.subscriptions("FAN");
    assert_eq!(held.len(), 1);
    assert!(held[0].times == 0 && !held[0].long_term, "{held:?}");
    assert_eq!(h.emu.messages().len(), 5);
}

#[tokio::test]
async fn a_long_term_subscription_is_never_used_up() {
    let h = Harness::start().await;
    let token = h.token().await;
    // Through the Rust API this time; one-time ones held too are kept.
    h.emu
        .subscribe("FAN", "TEMPLATE_ID", Some(1))
        .await
        .unwrap();
    h.emu.subscribe("FAN", "TEMPLATE_ID", None).await.unwrap();
    for _ in 0..20 {
        assert_eq!(send(&h, &token, "FAN").await, 0);
    }
    let user = h.get("/_emulator/users/FAN").await;
    assert_eq!(
        user["subscriptions"],
        json!([{"template_id": "TEMPLATE_ID", "long_term": true, "times": 1}]),
        "{user}"
    );
}

#[tokio::test]
async fn a_message_refused_for_anything_else_uses_no_subscription() {
    let config = Config::from_toml(
        r#"
        [quotas.endpoints."subscribeMessage.send"]
        per_user = 2
        "#,
    )
    .unwrap();
    let h = Harness::with(config).await;
    let token = h.token().await;
    granted(&h, "FAN", json!({"template_id": "TEMPLATE_ID", "times": 1})).await;
    // The template is checked first: an unknown one answers 40037, not 43101,
    // though the user holds no subscription to it.
    let answer = h.send_with(&token, API, &message("FAN", "NOPE")).await;
    assert_eq!(errcode(&answer), 40037, "{answer}");
    // The openid before the subscription too.
    assert_eq!(send(&h, &token, "NOBODY").await, 40003);
    // A body the spec refuses (no `data`).
    let answer = h
        .send_with(
            &token,
            API,
            &json!({"touser": "FAN", "template_id": "TEMPLATE_ID"}),
        )
        .await;
    assert_eq!(errcode(&answer), 47001, "{answer}");
    // A keyword value that breaks its type's rule, and one outside the
    // template's enum list: 47003, nothing used up.
    for (key, value) in [("thing1", "x".repeat(21)), ("phrase5", "取消".to_owned())] {
        let body = json!({"touser": "FAN", "template_id": "TEMPLATE_ID",
                          "data": {key: {"value": value}}});
        let answer = h.send_with(&token, API, &body).await;
        assert_eq!(errcode(&answer), 47003, "{answer}");
    }
    assert_eq!(h.emu.subscriptions("FAN")[0].times, 1);
    // The one subscription is still there for a good message.
    assert_eq!(send(&h, &token, "FAN").await, 0);
    assert_eq!(send(&h, &token, "FAN").await, 43101);
    // A quota refusal comes before the subscription and uses none up.
    granted(&h, "FAN", json!({"template_id": "TEMPLATE_ID", "times": 5})).await;
    assert_eq!(send(&h, &token, "FAN").await, 0);
    assert_eq!(send(&h, &token, "FAN").await, 45047);
    assert_eq!(h.emu.subscriptions("FAN")[0].times, 4);
    assert_eq!(h.emu.messages().len(), 2);
}

#[tokio::test]
async fn the_control_route_refuses_what_is_not_a_subscription() {
    let h = Harness::start().await;
    let cases = [
        (
            r#"{"template_id": "NOPE"}"#,
            "template_id `NOPE` is not one of the account's templates",
        ),
        (
            r#"{"template_id": "TEMPLATE_ID", "times": 0}"#,
            "times must be at least 1",
        ),
        (r#"{"template_id": "TEMPLATE_ID", "times": -1}"#, "times"),
        (r#"{"template_id": "TEMPLATE_ID", "times": "2"}"#, "times"),
        (
            r#"{"template_id": "TEMPLATE_ID", "tims": 2}"#,
            "unknown field `tims`",
        ),
        (r#"{"times": 2}"#, "missing field `template_id`"),
        ("not json", "a subscription is {\"template_id\""),
    ];
    for (body, expected) in cases {
        let (status, answer) = grant(&h, "FAN", body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["ok"], false, "{body}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(expected), "{body}: {error}");
    }
    let (status, answer) = grant(&h, "%0A", r#"{"template_id": "TEMPLATE_ID"}"#).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("openid"),
        "{answer}"
    );
    let wrong = h
        .http
        .get(h.url("/_emulator/users/FAN/subscriptions"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405);
    // Nothing was granted, and nobody became known.
    assert_eq!(h.emu.subscriptions("FAN"), []);
    assert_eq!(
        h.get("/_emulator/users/FAN").await["subscriptions"],
        json!([])
    );
    assert!(h.emu.pushes().is_empty());
    // A template registered at run time can be subscribed to.
    h.emu.add_template_id("NOPE");
    granted(&h, "FAN", json!({"template_id": "NOPE", "times": 1})).await;
    // The route is listed.
    let index = h.get("/_emulator/").await;
    assert!(
        index["control"]
            .as_array()
            .unwrap()
            .contains(&json!("POST /_emulator/users/{openid}/subscriptions")),
        "{index}"
    );
}

#[tokio::test]
async fn the_default_configuration_lets_openid_receive_template_id() {
    let h = Harness::start().await;
    let token = h.token().await;
    assert_eq!(
        h.get("/_emulator/users/OPENID").await["subscriptions"],
        json!([{"template_id": "TEMPLATE_ID", "long_term": true, "times": 0}])
    );
    for (_, name, body) in common::doc_examples("http")
        .into_iter()
        .filter(|(api, _, _)| api == API)
    {
        for _ in 0..3 {
            let answer = h.send_with(&token, API, &body).await;
            assert_eq!(errcode(&answer), 0, "{name}: {answer}");
        }
    }
    // A reset goes back to the configuration.
    granted(&h, "FAN", json!({"template_id": "TEMPLATE_ID", "times": 1})).await;
    h.emu.reset();
    assert_eq!(h.emu.subscriptions("FAN"), []);
    assert_eq!(h.emu.subscriptions("OPENID").len(), 1);
    assert_eq!(send(&h, &token, "OPENID").await, 0);
}

#[tokio::test]
async fn subscriptions_come_from_the_configuration() {
    let config = Config::from_toml(
        r#"
        [known]
        openids = ["OPENID", "U1", "U2"]
        template_ids = ["TEMPLATE_ID", "T2"]
        [[subscriptions.granted]]
        openid = "U1"
        template_id = "T2"
        times = 2
        [[subscriptions.granted]]
        openid = "U2"
        template_id = "TEMPLATE_ID"
        "#,
    )
    .unwrap();
    let h = Harness::with(config).await;
    let token = h.token().await;
    for _ in 0..2 {
        let answer = h.send_with(&token, API, &message("U1", "T2")).await;
        assert_eq!(errcode(&answer), 0, "{answer}");
    }
    let answer = h.send_with(&token, API, &message("U1", "T2")).await;
    assert_eq!(errcode(&answer), 43101, "{answer}");
    for _ in 0..5 {
        assert_eq!(send(&h, &token, "U2").await, 0);
    }
    // The file's list replaces the default: OPENID holds nothing now.
    assert_eq!(send(&h, &token, "OPENID").await, 43101);
    // And an empty list of endpoints turns the check off.
    let config = Config::from_toml("[subscriptions]\nendpoints = []").unwrap();
    let h = Harness::with(config).await;
    h.emu.add_openid("FAN");
    assert_eq!(send(&h, &h.token().await, "FAN").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_senders_use_each_one_time_subscription_once() {
    let h = Arc::new(Harness::start().await);
    let token = h.token().await;
    granted(
        &h,
        "FAN",
        json!({"template_id": "TEMPLATE_ID", "times": 20}),
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..60 {
        let h = h.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move { send(&h, &token, "FAN").await }));
    }
    let mut codes = Vec::new();
    for task in tasks {
        codes.push(task.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 20, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == 43101).count(),
        40,
        "{codes:?}"
    );
    assert_eq!(h.emu.messages().len(), 20);
    assert_eq!(h.emu.subscriptions("FAN")[0].times, 0);
}

/// A developer's push endpoint: the library's push service, keeping what
/// it receives.
async fn receiver(h: &Harness, encrypted: bool) -> (String, Arc<Mutex<Vec<Push>>>) {
    let mut config = PushConfig::new(PUSH_TOKEN).unwrap();
    if encrypted {
        config = config.encrypted(AES_KEY, &h.emu.app().appid).unwrap();
    }
    let received = Arc::new(Mutex::new(Vec::new()));
    let keep = received.clone();
    let service = PushService::new(Receiver::new(config)).on_push(move |push: Push| {
        let keep = keep.clone();
        async move {
            keep.lock().unwrap().push(push);
        }
    });
    let app = axum::Router::new().nest_service("/wechat/push", service.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wechat/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn sent_events(received: &Mutex<Vec<Push>>) -> Vec<(String, String, i64, i64)> {
    received
        .lock()
        .unwrap()
        .iter()
        .filter_map(|push| match push {
            Push::SubscribeMsgSent(sent) => Some(
                sent.list
                    .iter()
                    .map(|item| {
                        assert_eq!(item.error_status.as_deref(), Some("success"));
                        (
                            sent.from_user_name.clone(),
                            item.template_id.clone(),
                            item.error_code,
                            item.msg_id.unwrap_or_default(),
                        )
                    })
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_popup_and_sent_events_reach_the_push_endpoint_in_every_mode() {
    for (encrypted, encoding) in [
        (false, "json"),
        (true, "json"),
        (true, "xml"),
        (false, "xml"),
    ] {
        let mode = format!("{encoding} encrypted={encrypted}");
        let h = Harness::start().await;
        let token = h.token().await;
        let (url, received) = receiver(&h, encrypted).await;
        let mut target = json!({"url": url, "token": PUSH_TOKEN, "encoding": encoding});
        if encrypted {
            target["aes_key"] = json!(AES_KEY);
        }
        let set = h
            .http
            .put(h.url("/_emulator/push"))
            .json(&target)
            .send()
            .await
            .unwrap();
        assert_eq!(set.status(), 200, "{mode}");

        // The grant is pushed before the control route answers.
        let answer = granted(&h, "FAN", json!({"template_id": "TEMPLATE_ID", "times": 2})).await;
        assert_eq!(answer["delivery"]["delivered"], true, "{mode}: {answer}");
        assert_eq!(
            answer["delivery"]["push"]["Event"],
            "subscribe_msg_popup_event"
        );
        // The receiver answers WeChat first and runs its handler after.
        eventually(&format!("{mode}: the popup event handled"), || {
            !received.lock().unwrap().is_empty()
        })
        .await;
        {
            let received = received.lock().unwrap();
            assert_eq!(received.len(), 1, "{mode}");
            let Push::SubscribeMsgPopup(popup) = &received[0] else {
                panic!("{mode}: not a popup event: {:?}", received[0])
            };
            assert_eq!(popup.from_user_name, "FAN");
            assert_eq!(popup.to_user_name, h.emu.app().original_id);
            assert_eq!(popup.list.len(), 1);
            assert_eq!(popup.list[0].template_id, "TEMPLATE_ID");
            assert_eq!(popup.list[0].subscribe_status_string, "accept");
            assert_eq!(popup.list[0].popup_scene, Some(0));
        }

        // Each accepted message is followed by its sent event; a refused
        // one is not. A receiver drops an event from the same user in the
        // same second as a duplicate (WeChat's advice: FromUserName +
        // CreateTime), so the clock moves a second before each.
        h.emu.advance_clock(Duration::from_secs(1));
        assert_eq!(send(&h, &token, "FAN").await, 0);
        h.emu.advance_clock(Duration::from_secs(1));
        let cloud = h
            .cloud(
                API,
                &json!({"touser": "FAN", "templateId": "TEMPLATE_ID", "data": {"thing1": {"value": "x"}}}),
            )
            .await;
        assert_eq!(err_code(&cloud), 0, "{mode}: {cloud}");
        assert_eq!(send(&h, &token, "FAN").await, 43101);
        eventually(&format!("{mode}: two sent events"), || {
            sent_events(&received).len() == 2
        })
        .await;
        let sent = sent_events(&received);
        for (openid, template_id, code, _) in &sent {
            assert_eq!(
                (openid.as_str(), template_id.as_str(), *code),
                ("FAN", "TEMPLATE_ID", 0),
                "{mode}"
            );
        }
        assert_ne!(sent[0].3, sent[1].3, "{mode}: MsgIDs are distinct");
        assert!(sent.iter().all(|s| s.3 > 0), "{mode}: {sent:?}");
        // Recorded, and marked delivered, among the pushes.
        eventually(&format!("{mode}: recorded as delivered"), || {
            let pushes = h.emu.pushes();
            pushes.len() == 3 && pushes.iter().all(|p| p.delivered)
        })
        .await;
        eventually(&format!("{mode}: three pushes handled"), || {
            received.lock().unwrap().len() >= 3
        })
        .await;
        assert_eq!(received.lock().unwrap().len(), 3, "{mode}");
    }
}

#[tokio::test]
async fn without_a_push_endpoint_the_events_are_recorded_undelivered() {
    let h = Harness::start().await;
    let token = h.token().await;
    let answer = granted(&h, "FAN", json!({"template_id": "TEMPLATE_ID", "times": 1})).await;
    assert_eq!(answer["delivery"]["delivered"], false, "{answer}");
    assert_eq!(answer["delivery"]["attempts"], json!([]));
    assert_eq!(send(&h, &token, "FAN").await, 0);
    let pushes = h.get("/_emulator/pushes").await;
    let events: Vec<&str> = pushes
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["push"]["Event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["subscribe_msg_popup_event", "subscribe_msg_sent_event"],
        "{pushes}"
    );
    let sent = &pushes[1]["push"];
    assert_eq!(sent["FromUserName"], "FAN");
    assert_eq!(sent["List"]["TemplateId"], "TEMPLATE_ID");
    assert_eq!(sent["List"]["ErrorCode"], 0);
    assert_eq!(sent["List"]["ErrorStatus"], "success");
    assert!(sent["List"]["MsgID"].as_i64().unwrap() > 0, "{sent}");
}
