//! Content checks: msgSecCheck's verdicts from the configured risky words
//! (and the control route that replaces them), 40129 for a bad scene, 61010
//! for a user who has not acted within 2 hours on the emulator's clock, and
//! mediaCheckAsync's verdict pushed to a real push endpoint after the
//! configured delay (-1008 for a media the emulator cannot fetch).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use common::{Harness, errcode, eventually};
use serde_json::{Value, json};
use wechat_msg::Answer as _;
use wechat_msg::Push;
use wechat_msg::push::PushMessage;
use wechat_msg::push::body::Encoding;
use wechat_msg_emulator::{Config, PushTarget, RiskyWord};

fn check(content: &str, openid: &str, scene: i64) -> Value {
    json!({"content": content, "version": 2, "scene": scene, "openid": openid})
}

fn media(url: &str, openid: &str) -> Value {
    json!({"media_url": url, "media_type": 2, "version": 2, "scene": 1, "openid": openid})
}

#[tokio::test]
async fn a_text_passes_or_is_risky_with_the_words_label() {
    let mut config = Config::default();
    config.security.risky = vec![RiskyWord::new("spam-link", 10001)];
    let h = Harness::with(config).await;

    let pass = h
        .send("security.msgSecCheck", &check("hello", "OPENID", 2))
        .await;
    assert_eq!(errcode(&pass), 0, "{pass}");
    assert_eq!(pass["result"], json!({"suggest": "pass", "label": 100}));
    assert!(pass["trace_id"].as_str().is_some_and(|t| !t.is_empty()));
    // The answer reads as the typed verdict of the spec.
    let typed = <wechat_msg::MsgSecCheck as wechat_msg::Endpoint>::Answer::from_text(
        &pass.to_string(),
        wechat_msg::Form::Http,
    )
    .unwrap();
    assert_eq!(typed.result.suggest, wechat_msg::SecCheckSuggest::Pass);

    // A risky text is still errcode 0, with suggest risky and the label,
    // and the keyword strategy names the word.
    let risky = h
        .send(
            "security.msgSecCheck",
            &check("buy at spam-link now", "OPENID", 3),
        )
        .await;
    assert_eq!(errcode(&risky), 0, "{risky}");
    assert_eq!(risky["result"], json!({"suggest": "risky", "label": 10001}));
    let keyword = risky["detail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["strategy"] == "keyword")
        .unwrap();
    assert_eq!(keyword["keyword"], "spam-link");
    assert_eq!(keyword["suggest"], "risky");

    // The same through the cloud call, in its camelCase form.
    let cloud = h
        .cloud(
            "security.msgSecCheck",
            &json!({"content": "spam-link", "version": 2, "scene": 1, "openid": "OPENID"}),
        )
        .await;
    assert_eq!(cloud["errCode"], 0, "{cloud}");
    assert_eq!(cloud["result"]["suggest"], "risky");
    assert!(cloud["traceId"].is_string(), "{cloud}");
}

#[tokio::test]
async fn the_risky_words_are_replaced_through_the_control_api() {
    let h = Harness::start().await;
    let before = h.get("/_emulator/security").await;
    assert_eq!(before["risky"][0]["word"], "赌博");
    let answer = h
        .http
        .put(h.url("/_emulator/security"))
        .json(&json!({"risky": [{"word": "forbidden", "label": 20012}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let risky = h
        .send(
            "security.msgSecCheck",
            &check("a forbidden word", "OPENID", 2),
        )
        .await;
    assert_eq!(risky["result"], json!({"suggest": "risky", "label": 20012}));
    let old = h
        .send("security.msgSecCheck", &check("赌博", "OPENID", 2))
        .await;
    assert_eq!(old["result"]["suggest"], "pass", "{old}");
    // An empty word is refused by its index.
    let refused = h
        .http
        .put(h.url("/_emulator/security"))
        .json(&json!({"risky": [{"word": "ok", "label": 1}, {"word": "", "label": 2}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let refused = common::json_of(refused).await;
    assert_eq!(refused["error"], "risky[1].word: is empty");
}

#[tokio::test]
async fn a_bad_scene_is_40129_and_an_unknown_user_40003() {
    let h = Harness::start().await;
    for scene in [0, 5] {
        let answer = h
            .send("security.msgSecCheck", &check("hi", "OPENID", scene))
            .await;
        assert_eq!(errcode(&answer), 40129, "{answer}");
        assert!(
            answer["errmsg"]
                .as_str()
                .unwrap()
                .starts_with("invalid scene rid: ")
        );
    }
    let answer = h
        .send("security.mediaCheckAsync", &json!({"media_url": "http://x/y.png", "media_type": 2, "version": 2, "scene": 9, "openid": "OPENID"}))
        .await;
    assert_eq!(errcode(&answer), 40129, "{answer}");
    let answer = h
        .send("security.mediaCheckAsync", &json!({"media_url": "http://x/y.png", "media_type": 3, "version": 2, "scene": 1, "openid": "OPENID"}))
        .await;
    assert_eq!(errcode(&answer), 40004, "{answer}");
    let answer = h
        .send("security.msgSecCheck", &check("hi", "NOBODY", 1))
        .await;
    assert_eq!(errcode(&answer), 40003, "{answer}");
}

#[tokio::test]
async fn a_user_who_has_not_acted_within_2_hours_is_61010() {
    let h = Harness::start().await;
    // Known from the start: acted at the start.
    h.emu.advance_clock(Duration::from_secs(2 * 3600 - 60));
    let answer = h
        .send("security.msgSecCheck", &check("hi", "OPENID", 2))
        .await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    h.emu.advance_clock(Duration::from_secs(120));
    let answer = h
        .send("security.msgSecCheck", &check("hi", "OPENID", 2))
        .await;
    assert_eq!(errcode(&answer), 61010, "{answer}");
    assert!(
        answer["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("code is expired rid: ")
    );
    let answer = h
        .send(
            "security.mediaCheckAsync",
            &media("http://127.0.0.1:9/a.png", "OPENID"),
        )
        .await;
    assert_eq!(errcode(&answer), 61010, "{answer}");
    // Writing to customer service is acting: the check passes again.
    h.emu
        .user_acts("OPENID", json!({"MsgType": "text", "Content": "I'm back"}))
        .await
        .unwrap();
    let answer = h
        .send("security.msgSecCheck", &check("hi", "OPENID", 2))
        .await;
    assert_eq!(errcode(&answer), 0, "{answer}");
}

/// A loopback server with a picture at `/picture.png` and a push endpoint
/// at `/push` that records each push body and answers `success`.
async fn server() -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let bodies: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let log = bodies.clone();
    let app = axum::Router::new()
        .route(
            "/picture.png",
            axum::routing::get(|| async {
                (
                    [("content-type", "image/png")],
                    vec![0x89u8, b'P', b'N', b'G'],
                )
            }),
        )
        .route(
            "/push",
            axum::routing::post(move |body: Bytes| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(body);
                    "success"
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), bodies)
}

fn read_push(body: &[u8]) -> Push {
    let map = wechat_msg::push::body::read(body, Encoding::Json, Push::XML_WRAPPERS).unwrap();
    Push::from_push_form(map).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_media_check_pushes_its_verdict_after_the_delay() {
    let mut config = Config::default();
    config.security.media_check_delay = Duration::from_millis(300);
    let h = Harness::with(config).await;
    let (base, bodies) = server().await;
    h.emu
        .set_push(Some(PushTarget {
            url: format!("{base}/push"),
            urls: Vec::new(),
            token: "TOKEN".into(),
            aes_key: None,
            encoding: "json".into(),
        }))
        .unwrap();

    let started = std::time::Instant::now();
    let answer = h
        .send(
            "security.mediaCheckAsync",
            &media(&format!("{base}/picture.png"), "OPENID"),
        )
        .await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    let trace_id = answer["trace_id"].as_str().unwrap().to_owned();
    let broken = h
        .send(
            "security.mediaCheckAsync",
            &media("http://127.0.0.1:9/gone.png", "OPENID"),
        )
        .await;
    assert_eq!(errcode(&broken), 0, "{broken}");
    let broken_trace = broken["trace_id"].as_str().unwrap().to_owned();

    eventually("both verdicts are pushed", || {
        bodies.lock().unwrap().len() == 2
    })
    .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let pushes: Vec<Push> = bodies
        .lock()
        .unwrap()
        .iter()
        .map(|b| read_push(b))
        .collect();
    let by_trace = |id: &str| {
        pushes
            .iter()
            .find_map(|p| match p {
                Push::MediaCheck(e) if e.trace_id == id => Some(e.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no push for {id}: {pushes:?}"))
    };
    let fetched = by_trace(&trace_id);
    assert_eq!(fetched.errcode, 0);
    assert_eq!(fetched.from_user_name, "OPENID");
    assert_eq!(fetched.result.as_ref().unwrap().suggest, "pass");
    assert_eq!(fetched.detail.len(), 1);
    let failed = by_trace(&broken_trace);
    assert_eq!(failed.errcode, -1008);
    assert!(failed.result.is_none());
    // Each is its own push, deduplicated by its trace_id.
    assert_ne!(pushes[0].dedupe_key(), pushes[1].dedupe_key());
    // The emulator's record of pushes says they were delivered.
    eventually("delivered", || {
        h.emu
            .pushes()
            .iter()
            .filter(|p| p.push["Event"] == "wxa_media_check" && p.delivered)
            .count()
            == 2
    })
    .await;
}
