//! The customer-service conversation: reply windows at their edges, typing,
//! and the user who writes, pushed to a real push endpoint (the library's
//! push service on a socket) whose handler replies through the client.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Harness, errcode, eventually};
use serde_json::{Value, json};
use wechat_msg::Push;
use wechat_msg::push::{PushConfig, PushService, Receiver};
use wechat_msg_emulator::{Config, PushTarget};

const PUSH_TOKEN: &str = "EMULATOR-PUSH-TOKEN";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ";

fn text(to: &str) -> Value {
    json!({"touser": to, "msgtype": "text", "text": {"content": "reply"}})
}

fn typing(to: &str, command: &str) -> Value {
    json!({"touser": to, "command": command})
}

async fn reply(h: &Harness, token: &str, to: &str) -> i64 {
    errcode(
        &h.send_with(token, "customerServiceMessage.send", &text(to))
            .await,
    )
}

async fn set_typing(h: &Harness, token: &str, to: &str, command: &str) -> i64 {
    errcode(
        &h.send_with(
            token,
            "customerServiceMessage.setTyping",
            &typing(to, command),
        )
        .await,
    )
}

async fn writes(h: &Harness, openid: &str) -> Value {
    h.post(
        &format!("/_emulator/users/{openid}/messages"),
        &json!({"MsgType": "text", "Content": "hello"}),
    )
    .await
}

async fn enters(h: &Harness, openid: &str) -> Value {
    h.post(
        &format!("/_emulator/users/{openid}/messages"),
        &json!({"MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "button"}),
    )
    .await
}

fn advance(h: &Harness, secs: u64) {
    h.emu.advance_clock(Duration::from_secs(secs));
}

#[tokio::test]
async fn a_message_opens_five_replies_for_48_hours() {
    let h = Harness::start().await;
    let token = h.token().await;
    // The built-in user starts with an open window, as if they had written.
    for _ in 0..5 {
        assert_eq!(reply(&h, &token, "OPENID").await, 0);
    }
    assert_eq!(reply(&h, &token, "OPENID").await, 45047);
    // A user who never wrote: 45015. An unknown openid is still 40003.
    h.emu.add_openid("SILENT");
    assert_eq!(reply(&h, &token, "SILENT").await, 45015);
    assert_eq!(reply(&h, &token, "NOBODY").await, 40003);
    // The user writes: five again, not added to what was left.
    let answer = writes(&h, "SILENT").await;
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["window"]["replies_left"], 5);
    assert_eq!(reply(&h, &token, "SILENT").await, 0);
    writes(&h, "SILENT").await;
    for _ in 0..5 {
        assert_eq!(reply(&h, &token, "SILENT").await, 0);
    }
    assert_eq!(reply(&h, &token, "SILENT").await, 45047);
    // 48 hours, to the second.
    writes(&h, "SILENT").await;
    advance(&h, 48 * 3600 - 1);
    let token = h.token().await; // the old one expired on the way
    assert_eq!(reply(&h, &token, "SILENT").await, 0);
    advance(&h, 1);
    assert_eq!(reply(&h, &token, "SILENT").await, 45015);
    let window = h.get("/_emulator/users/SILENT").await;
    assert_eq!(window["window"], Value::Null, "{window}");
    assert_eq!(h.emu.counters().errors[&45015], 2);
}

#[tokio::test]
async fn entering_opens_two_replies_for_a_minute() {
    let h = Harness::start().await;
    let token = h.token().await;
    let answer = enters(&h, "VISITOR").await;
    assert_eq!(answer["window"]["replies_left"], 2, "{answer}");
    assert_eq!(reply(&h, &token, "VISITOR").await, 0);
    assert_eq!(reply(&h, &token, "VISITOR").await, 0);
    assert_eq!(reply(&h, &token, "VISITOR").await, 45047);
    enters(&h, "VISITOR").await;
    advance(&h, 59);
    assert_eq!(reply(&h, &token, "VISITOR").await, 0);
    advance(&h, 1);
    assert_eq!(reply(&h, &token, "VISITOR").await, 45015);
    // Entering after writing replaces the window: 2 for a minute, not 5.
    writes(&h, "VISITOR").await;
    let answer = enters(&h, "VISITOR").await;
    assert_eq!(answer["window"]["replies_left"], 2, "{answer}");
    assert!(answer["window"]["closes_in_secs"].as_u64().unwrap() <= 60);
}

#[tokio::test]
async fn typing_needs_a_recent_interaction_and_is_not_repeated() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.emu.add_openid("U");
    assert_eq!(set_typing(&h, &token, "U", "Typing").await, 45080);
    writes(&h, "U").await;
    assert_eq!(set_typing(&h, &token, "U", "Typing").await, 0);
    assert_eq!(set_typing(&h, &token, "U", "Typing").await, 45081);
    // Typing lasts 15 seconds.
    advance(&h, 15);
    assert_eq!(set_typing(&h, &token, "U", "Typing").await, 0);
    // Cancelling, or sending a message, stops it.
    assert_eq!(set_typing(&h, &token, "U", "CancelTyping").await, 0);
    assert_eq!(set_typing(&h, &token, "U", "Typing").await, 0);
    assert_eq!(reply(&h, &token, "U").await, 0);
    assert_eq!(set_typing(&h, &token, "U", "Typing").await, 0);
    // 30 seconds after the interaction it is too late, window or not.
    advance(&h, 15);
    assert_eq!(set_typing(&h, &token, "U", "Typing").await, 45080);
    assert_eq!(reply(&h, &token, "U").await, 0);
}

/// A developer's app: the library's push service, whose handler answers
/// every text through the client, as `examples/echo-bot.rs` does.
async fn echo_bot(h: &Harness, encrypted: bool) -> (String, Arc<AtomicUsize>) {
    let client = wechat_msg::Client::builder()
        .base_url(h.emu.base_url())
        .credentials(h.emu.app().appid.clone(), h.emu.app().secret.clone())
        .build()
        .unwrap();
    let mut config = PushConfig::new(PUSH_TOKEN).unwrap();
    if encrypted {
        config = config.encrypted(AES_KEY, &h.emu.app().appid).unwrap();
    }
    let handled = Arc::new(AtomicUsize::new(0));
    let count = handled.clone();
    let service = PushService::new(Receiver::new(config)).on_push(move |push: Push| {
        let client = client.clone();
        let count = count.clone();
        async move {
            if let Push::Text(text) = push {
                let reply = wechat_msg::CustomerServiceMessage::builder()
                    .touser(text.from_user_name)
                    .body(
                        wechat_msg::Text::builder()
                            .content(format!("echo: {}", text.content))
                            .build(),
                    )
                    .build();
                client.send(&reply).await.expect("the reply is accepted");
            }
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    let app = axum::Router::new().nest_service("/wechat/push", service.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wechat/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, handled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_writes_and_the_bot_replies_in_every_mode() {
    for (encrypted, encoding) in [
        (false, "json"),
        (true, "json"),
        (true, "xml"),
        (false, "xml"),
    ] {
        let h = Harness::start().await;
        let (url, handled) = echo_bot(&h, encrypted).await;
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
        assert_eq!(set.status(), 200);
        let shown = h.get("/_emulator/push").await;
        assert_eq!(shown["push"]["encrypted"], encrypted);
        assert!(!shown.to_string().contains(AES_KEY) && !shown.to_string().contains(PUSH_TOKEN));

        h.emu.add_openid("FAN");
        let answer = writes(&h, "FAN").await;
        let delivery = &answer["delivery"];
        assert_eq!(
            delivery["delivered"], true,
            "{encoding} {encrypted}: {answer}"
        );
        assert_eq!(delivery["attempts"].as_array().unwrap().len(), 1);
        assert_eq!(delivery["attempts"][0]["answer"], "success");
        let push = &delivery["push"];
        assert_eq!(push["FromUserName"], "FAN");
        assert_eq!(push["ToUserName"], h.emu.app().original_id);
        assert!(push["MsgId"].as_i64().unwrap() > 1 << 53, "{push}");
        eventually("the bot's reply", || {
            h.emu.messages().iter().any(|m| {
                m.endpoint == "customerServiceMessage.send"
                    && m.body["touser"] == "FAN"
                    && m.body["text"]["content"] == "echo: hello"
            })
        })
        .await;
        // Events are pushed too (and do not make the bot reply).
        let answer = enters(&h, "FAN").await;
        assert_eq!(answer["delivery"]["delivered"], true, "{answer}");
        eventually("both pushes handled", || {
            handled.load(Ordering::SeqCst) == 2
        })
        .await;
        assert_eq!(h.emu.pushes().len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_or_absent_endpoint_is_retried_and_recorded() {
    let h = Harness::start().await;
    // No endpoint: the user still acts, the window opens, nothing delivered.
    let answer = writes(&h, "OPENID").await;
    assert_eq!(answer["delivery"]["delivered"], false);
    assert_eq!(answer["delivery"]["attempts"], json!([]));
    // An endpoint with another token refuses every push: 3 attempts in all,
    // and the bot's handler never runs.
    let (url, handled) = echo_bot(&h, false).await;
    h.emu
        .set_push(Some(PushTarget {
            url: url.clone(),
            urls: Vec::new(),
            token: "ANOTHER-TOKEN".into(),
            aes_key: None,
            encoding: "json".into(),
        }))
        .unwrap();
    let delivery = h
        .emu
        .user_acts("OPENID", json!({"MsgType": "text", "Content": "x"}))
        .await
        .unwrap();
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts.len(), 3);
    assert!(delivery.attempts.iter().all(|a| a.status == Some(401)));
    assert_eq!(handled.load(Ordering::SeqCst), 0);
    // Nobody listening at all.
    h.emu
        .set_push(Some(PushTarget {
            url: "http://127.0.0.1:9/push".into(),
            urls: Vec::new(),
            token: PUSH_TOKEN.into(),
            aes_key: None,
            encoding: "json".into(),
        }))
        .unwrap();
    let delivery = h
        .emu
        .user_acts("OPENID", json!({"MsgType": "text", "Content": "y"}))
        .await
        .unwrap();
    assert!(!delivery.delivered && delivery.attempts.len() == 3);
    assert!(
        delivery.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("refused")
    );
    // Bad input names what is wrong.
    let bad = h
        .post(
            "/_emulator/users/OPENID/messages",
            &json!({"MsgType": "text"}),
        )
        .await;
    assert_eq!(bad["ok"], false);
    assert!(
        bad["error"].as_str().unwrap().contains("Content: missing"),
        "{bad}"
    );
    let bad = h
        .http
        .put(h.url("/_emulator/push"))
        .json(&json!({"url": "http://x", "token": "T"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = h
        .http
        .put(h.url("/_emulator/push"))
        .json(&json!({"url": "http://x", "token": "TOKEN", "aes_key": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    // The recorded pushes hold neither the token nor the key.
    let all = h.get("/_emulator/pushes").await.to_string();
    assert!(!all.contains(PUSH_TOKEN) && !all.contains("ANOTHER-TOKEN"));
}

#[tokio::test]
async fn the_push_endpoint_comes_from_the_configuration_too() {
    let config = Config::from_toml(
        r#"
        [push]
        url = "http://127.0.0.1:9/push"
        token = "CONFIGURED"
        encoding = "xml"
        [conversation]
        open = []
        "#,
    )
    .unwrap();
    let h = Harness::with(config).await;
    let token = h.token().await;
    assert_eq!(reply(&h, &token, "OPENID").await, 45015);
    let shown = h.get("/_emulator/push").await;
    assert_eq!(shown["push"]["encoding"], "xml");
    assert!(Config::from_toml("[push]\nurl = \"x\"\ntoken = \"ab\"").is_err());
}
