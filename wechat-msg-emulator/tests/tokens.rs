//! The token endpoints over real HTTP: issue, rotate, expire, refuse.

mod common;

use std::time::Duration;

use common::{Harness, errcode};
use serde_json::json;
use wechat_msg_emulator::{App, Config};

const TEXT: &str = r#"{"touser":"OPENID","msgtype":"text","text":{"content":"hi"}}"#;

async fn send_text(h: &Harness, token: &str) -> i64 {
    let answer = h
        .post_text(
            &format!("/cgi-bin/message/custom/send?access_token={token}"),
            TEXT,
        )
        .await;
    errcode(&answer)
}

fn stable_body(force: bool) -> serde_json::Value {
    json!({
        "grant_type": "client_credential",
        "appid": App::DEFAULT_APPID,
        "secret": App::DEFAULT_SECRET,
        "force_refresh": force,
    })
}

#[tokio::test]
async fn a_classic_token_works_and_says_how_long() {
    let h = Harness::start().await;
    let app = h.emu.app();
    let answer = h
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
            app.appid, app.secret
        ))
        .await;
    assert_eq!(answer["expires_in"], 7200);
    let token = answer["access_token"].as_str().unwrap();
    assert_eq!(send_text(&h, token).await, 0);
    assert_eq!(h.emu.counters().token_fetches, 1);
}

#[tokio::test]
async fn wrong_credentials_are_refused() {
    let h = Harness::start().await;
    let cases = [
        ("grant_type=client_credential&appid=wxnope&secret=x", 40013),
        (
            &*format!(
                "grant_type=client_credential&appid={}&secret=wrong",
                App::DEFAULT_APPID
            ),
            40125,
        ),
        (
            &*format!(
                "grant_type=password&appid={}&secret={}",
                App::DEFAULT_APPID,
                App::DEFAULT_SECRET
            ),
            40002,
        ),
        ("grant_type=client_credential&secret=x", 41002),
        (
            &*format!("grant_type=client_credential&appid={}", App::DEFAULT_APPID),
            41004,
        ),
    ];
    for (query, code) in cases {
        let answer = h.get(&format!("/cgi-bin/token?{query}")).await;
        assert_eq!(errcode(&answer), code, "{query}: {answer}");
        assert!(
            answer["errmsg"].as_str().unwrap().contains(" rid: "),
            "{answer}"
        );
    }
    let mut body = stable_body(false);
    body["appid"] = json!("wxnope");
    assert_eq!(
        errcode(&h.post("/cgi-bin/stable_token", &body).await),
        40013
    );
    let mut body = stable_body(false);
    body["secret"] = json!("wrong");
    assert_eq!(
        errcode(&h.post("/cgi-bin/stable_token", &body).await),
        40125
    );
    assert_eq!(
        errcode(&h.post_text("/cgi-bin/stable_token", "").await),
        44002
    );
    assert_eq!(
        errcode(&h.post_text("/cgi-bin/stable_token", "{").await),
        47001
    );
    let counters = h.emu.counters();
    assert_eq!(counters.errors[&40013], 2);
    assert_eq!(counters.errors[&40125], 2);
    assert_eq!(counters.token_fetches, 5);
    assert_eq!(counters.stable_token_fetches, 4);
}

#[tokio::test]
async fn a_new_classic_token_retires_the_previous_one_after_the_grace_period() {
    let h = Harness::start().await;
    let first = h.token().await;
    let second = h.token().await;
    assert_ne!(first, second);
    // Within the grace period both work.
    assert_eq!(send_text(&h, &first).await, 0);
    assert_eq!(send_text(&h, &second).await, 0);
    h.emu.advance_clock(Duration::from_secs(301));
    assert_eq!(send_text(&h, &first).await, 40001);
    assert_eq!(send_text(&h, &second).await, 0);
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let mut config = Config::default();
    config.tokens.lifetime = Duration::from_secs(60);
    let h = Harness::with(config).await;
    let answer = h
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
            App::DEFAULT_APPID,
            App::DEFAULT_SECRET
        ))
        .await;
    assert_eq!(answer["expires_in"], 60);
    let token = answer["access_token"].as_str().unwrap().to_owned();
    assert_eq!(send_text(&h, &token).await, 0);
    h.emu.advance_clock(Duration::from_secs(61));
    assert_eq!(send_text(&h, &token).await, 42001);
    assert_eq!(send_text(&h, &h.token().await).await, 0);
}

#[tokio::test]
async fn a_short_real_lifetime_expires_in_real_time() {
    let mut config = Config::default();
    config.tokens.lifetime = Duration::from_millis(200);
    let h = Harness::with(config).await;
    let token = h.token().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(send_text(&h, &token).await, 42001);
}

#[tokio::test]
async fn expire_tokens_expires_every_token() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.emu.expire_tokens();
    assert_eq!(send_text(&h, &token).await, 42001);
    let answer = h.post("/_emulator/tokens/expire", &json!({})).await;
    assert_eq!(answer["ok"], true);
}

#[tokio::test]
async fn the_stable_token_is_returned_until_forced() {
    let h = Harness::start().await;
    let a = h.post("/cgi-bin/stable_token", &stable_body(false)).await;
    let b = h.post("/cgi-bin/stable_token", &stable_body(false)).await;
    assert_eq!(a["access_token"], b["access_token"]);
    let old = a["access_token"].as_str().unwrap().to_owned();
    let c = h.post("/cgi-bin/stable_token", &stable_body(true)).await;
    assert_eq!(c["expires_in"], 7200);
    let new = c["access_token"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    // The old one keeps working through the grace period, then stops.
    assert_eq!(send_text(&h, &old).await, 0);
    h.emu.advance_clock(Duration::from_secs(301));
    assert_eq!(send_text(&h, &old).await, 40001);
    assert_eq!(send_text(&h, &new).await, 0);
    // Normal mode now returns the forced one.
    let d = h.post("/cgi-bin/stable_token", &stable_body(false)).await;
    assert_eq!(d["access_token"], new.as_str());
    // Classic fetches do not disturb the stable token.
    h.token().await;
    h.token().await;
    h.emu.advance_clock(Duration::from_secs(301));
    assert_eq!(send_text(&h, &new).await, 0);
}

#[tokio::test]
async fn missing_and_unknown_tokens_are_refused() {
    let h = Harness::start().await;
    let missing = h.post_text("/cgi-bin/message/custom/send", TEXT).await;
    assert_eq!(errcode(&missing), 41001);
    let empty = h
        .post_text("/cgi-bin/message/custom/send?access_token=", TEXT)
        .await;
    assert_eq!(errcode(&empty), 41001);
    assert_eq!(send_text(&h, "not-a-token").await, 40001);
    assert!(h.emu.messages().is_empty());
}

/// The stable token's checks come from the spec: a `grant_type` the
/// generated `GrantType` refuses answers the field's `errcode_invalid`, a
/// missing or empty field its `errcode_missing`, another shape 47001.
#[tokio::test]
async fn stable_token_requests_are_checked_with_the_spec_errcodes() {
    use wechat_msg::{Endpoint, StableTokenRequest, TokenErrcode};
    let h = Harness::start().await;
    let field = |key: &str| {
        StableTokenRequest::INFO
            .fields
            .iter()
            .find(|f| f.http == key)
            .unwrap()
    };
    let invalid_grant = field("grant_type").errcode_invalid.unwrap();
    assert_eq!(invalid_grant, TokenErrcode::InvalidGrantType.code());
    let mut body = stable_body(false);
    body["grant_type"] = json!("password");
    let answer = h.post_text("/cgi-bin/stable_token", body.to_string()).await;
    assert_eq!(errcode(&answer), invalid_grant, "{answer}");

    for (key, code) in [
        ("grant_type", field("grant_type").errcode_missing.unwrap()),
        ("appid", TokenErrcode::AppidMissing.code()),
        ("secret", TokenErrcode::SecretMissing.code()),
    ] {
        assert_eq!(field(key).errcode_missing, Some(code), "{key}");
        let mut body = stable_body(false);
        body.as_object_mut().unwrap().remove(key);
        let answer = h.post_text("/cgi-bin/stable_token", body.to_string()).await;
        assert_eq!(errcode(&answer), code, "{key} missing: {answer}");
        let mut body = stable_body(false);
        body[key] = json!("");
        let answer = h.post_text("/cgi-bin/stable_token", body.to_string()).await;
        assert_eq!(errcode(&answer), code, "{key} empty: {answer}");
    }

    let mut body = stable_body(false);
    body["force_refresh"] = json!("yes");
    let answer = h.post_text("/cgi-bin/stable_token", body.to_string()).await;
    assert_eq!(errcode(&answer), 47001, "{answer}");
    assert!(
        answer["errmsg"].as_str().unwrap().contains("force_refresh"),
        "{answer}"
    );
    // The secret is never echoed in a refusal.
    let mut body = stable_body(false);
    body["grant_type"] = json!(7);
    let answer = h.post_text("/cgi-bin/stable_token", body.to_string()).await;
    assert!(
        !answer.to_string().contains(App::DEFAULT_SECRET),
        "{answer}"
    );
    assert_eq!(h.emu.counters().token_fetches, 0);
}
