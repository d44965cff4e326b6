//! Numbers from outside (the control API, the configuration, the Rust API)
//! that would overflow the emulator's clock: refused with a clear message,
//! and the emulator keeps serving afterwards.

mod common;

use std::time::Duration;

use common::{Harness, errcode};
use serde_json::{Value, json};
use wechat_msg_emulator::{Config, RegisteredMedia, Registration};

fn text() -> Value {
    json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hi"}})
}

/// A POST to the control API: the status and the JSON answer.
async fn control(h: &Harness, path: &str, body: &Value) -> (u16, Value) {
    let response = h
        .http
        .post(h.url(path))
        .json(body)
        .send()
        .await
        .expect("the emulator answers");
    let status = response.status().as_u16();
    (status, common::json_of(response).await)
}

/// A token fetch, a send, a reset and a cloud call all still work.
async fn still_serving(h: &Harness) {
    let token = h.token().await;
    // The clock moved past the reply window: the user writes again first.
    h.emu
        .user_acts("OPENID", json!({"MsgType": "text", "Content": "again"}))
        .await
        .expect("the user writes");
    let answer = h
        .send_with(&token, "customerServiceMessage.send", &text())
        .await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    let (status, answer) = control(h, "/_emulator/reset", &json!({})).await;
    assert_eq!((status, &answer["ok"]), (200, &json!(true)), "{answer}");
    let (outer, inner) = h
        .cloud_with(
            &token,
            &json!({"api": "customerServiceMessage.send", "data": text()}),
        )
        .await;
    assert_eq!(outer["errcode"], 0, "{outer}");
    assert_eq!(inner["errCode"], 0, "{inner}");
}

#[tokio::test]
async fn a_clock_advance_past_the_limit_is_refused_with_400() {
    let h = Harness::start().await;
    for secs in [json!(1e19), json!(1.8e19), json!(4e9), json!(f64::MAX)] {
        let (status, answer) =
            control(&h, "/_emulator/clock/advance", &json!({ "secs": secs })).await;
        assert_eq!(status, 400, "{secs}: {answer}");
        assert_eq!(answer["ok"], false, "{answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.starts_with("secs: "), "{error}");
        assert!(error.contains("limit"), "{error}");
        still_serving(&h).await;
    }
    // Advances that are fine one by one but not in total.
    let (status, _) = control(&h, "/_emulator/clock/advance", &json!({"secs": 3e9})).await;
    assert_eq!(status, 200);
    let (status, answer) = control(&h, "/_emulator/clock/advance", &json!({"secs": 3e9})).await;
    assert_eq!(status, 400, "{answer}");
    still_serving(&h).await;
}

#[tokio::test]
async fn a_negative_or_missing_advance_is_refused() {
    let h = Harness::start().await;
    for body in [json!({"secs": -1}), json!({}), json!({"secs": "10"})] {
        let (status, answer) = control(&h, "/_emulator/clock/advance", &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"].as_str().is_some(), "{answer}");
    }
    still_serving(&h).await;
}

#[tokio::test]
async fn the_rust_api_saturates_a_huge_advance() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.emu.advance_clock(Duration::MAX);
    h.emu.advance_clock(Duration::MAX);
    // Far in the future: the old token expired; a new one works.
    let answer = h
        .send_with(&token, "customerServiceMessage.send", &text())
        .await;
    assert_eq!(errcode(&answer), 42001, "{answer}");
    still_serving(&h).await;
    h.emu.reset();
    h.emu.expire_tokens();
    still_serving(&h).await;
}

#[tokio::test]
async fn a_media_lifetime_out_of_range_is_refused() {
    let h = Harness::start().await;
    for lifetime in [json!(1e19), json!(-1), json!(f64::MAX)] {
        let body = json!({"media": [{
            "id": "HUGE", "content_type": "image/png", "base64": "aGk=", "lifetime_secs": lifetime,
        }]});
        let (status, answer) = control(&h, "/_emulator/known", &body).await;
        assert_eq!(status, 400, "{lifetime}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains("lifetime_secs"), "{error}");
        assert!(error.contains("HUGE"), "{error}");
        still_serving(&h).await;
    }
    let image = json!({"touser": "OPENID", "msgtype": "image", "image": {"media_id": "HUGE"}});
    let answer = h.send("customerServiceMessage.send", &image).await;
    assert_eq!(errcode(&answer), 40007, "nothing was registered: {answer}");

    let mut known = Registration::default();
    known.media.push({
        let mut m = RegisteredMedia::new("HUGE", "image/png", b"x");
        m.lifetime_secs = Some(1e19);
        m
    });
    let err = h.emu.register(&known).unwrap_err();
    assert!(err.to_string().contains("lifetime_secs"), "{err}");
    still_serving(&h).await;
}

#[tokio::test]
async fn durations_in_the_configuration_are_bounded() {
    for (section, key) in [
        ("tokens", "lifetime_secs"),
        ("tokens", "grace_secs"),
        ("known", "form_id_lifetime_secs"),
        ("known", "media_lifetime_secs"),
    ] {
        let err = Config::from_toml(&format!("[{section}]\n{key} = 1e19\n")).unwrap_err();
        assert!(err.0.contains(&format!("{section}.{key}")), "{err}");
    }
    // The same limits apply to a configuration built in Rust.
    let mut config = Config::default();
    config.known.form_id_lifetime = Duration::MAX;
    config.tokens.grace = Duration::MAX;
    let err = wechat_msg_emulator::Emulator::start(config)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("known.form_id_lifetime_secs"), "{err}");
    assert!(err.contains("tokens.grace_secs"), "{err}");
}

#[tokio::test]
async fn the_longest_configured_lifetimes_work() {
    // At the limit, not beyond: tokens, form_ids and uploads still work
    // after the clock moved as far as it can.
    let mut config = Config::default();
    let limit = Duration::from_secs(100 * 365 * 24 * 3600);
    config.tokens.lifetime = limit;
    config.tokens.grace = limit;
    config.known.form_id_lifetime = limit;
    config.known.media_lifetime = limit;
    let h = Harness::with(config).await;
    h.emu.advance_clock(limit);
    still_serving(&h).await;
    let token = h.token().await;
    let _ = h.token().await; // the first one is replaced, with its grace
    let answer = h
        .send_with(&token, "customerServiceMessage.send", &text())
        .await;
    assert_eq!(errcode(&answer), 0, "{answer}");
}
