//! Push delivery as WeChat does it behind a load balancer: `urls` taken in
//! turn per attempt, three attempts in all with the same body, and the
//! `push_drop_answers` fault.

mod common;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::StatusCode;
use common::Harness;
use serde_json::{Value, json};

/// An endpoint instance: records every body it gets and answers `status`.
async fn instance(status: u16) -> (String, Arc<Mutex<Vec<Bytes>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let sink = sink.clone();
        async move {
            sink.lock().unwrap().push(body);
            let status = StatusCode::from_u16(status).unwrap();
            (
                status,
                if status.is_success() {
                    "success"
                } else {
                    "busy"
                },
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wechat/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

async fn put(h: &Harness, path: &str, body: &Value) -> Value {
    let answer = h.http.put(h.url(path)).json(body).send().await.unwrap();
    answer.json().await.unwrap()
}

async fn writes(h: &Harness, content: &str) -> Value {
    h.post(
        "/_emulator/users/OPENID/messages",
        &json!({"MsgType": "text", "Content": content}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_go_to_each_url_in_turn_three_in_all_with_the_same_body() {
    let h = Harness::start().await;
    let (failing, failing_got) = instance(503).await;
    let (working, working_got) = instance(200).await;
    let set = put(
        &h,
        "/_emulator/push",
        &json!({"urls": [failing, working], "token": "T0KEN-1", "encoding": "json"}),
    )
    .await;
    assert_eq!(set["ok"], true, "{set}");
    let shown = h.get("/_emulator/push").await;
    assert_eq!(shown["push"]["urls"], json!([failing, working]), "{shown}");
    assert!(!shown.to_string().contains("T0KEN-1"));

    // The first attempt fails on one instance; the retry lands on the other.
    let answer = writes(&h, "one").await;
    let attempts = answer["delivery"]["attempts"].as_array().unwrap().clone();
    assert_eq!(answer["delivery"]["delivered"], true, "{answer}");
    assert_eq!(attempts.len(), 2, "{answer}");
    assert_eq!(attempts[0]["url"], failing);
    assert_eq!(attempts[1]["url"], working);
    // The same body both times (the signature is made per attempt).
    assert_eq!(
        failing_got.lock().unwrap()[0],
        working_got.lock().unwrap()[0]
    );

    // Nobody accepts: three attempts in all, alternating.
    let (other, other_got) = instance(500).await;
    put(
        &h,
        "/_emulator/push",
        &json!({"url": failing, "urls": [other], "token": "T0KEN-1"}),
    )
    .await;
    failing_got.lock().unwrap().clear();
    let answer = writes(&h, "two").await;
    assert_eq!(answer["delivery"]["delivered"], false, "{answer}");
    let attempts = answer["delivery"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{answer}");
    let total = failing_got.lock().unwrap().len() + other_got.lock().unwrap().len();
    assert_eq!(total, 3);
    assert_ne!(attempts[0]["url"], attempts[1]["url"]);
    assert_eq!(attempts[0]["url"], attempts[2]["url"]);
    let bodies: Vec<Bytes> = failing_got
        .lock()
        .unwrap()
        .iter()
        .chain(other_got.lock().unwrap().iter())
        .cloned()
        .collect();
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));

    // Neither `url` nor `urls`, or a URL that is not one: 400 naming it.
    let bad = h
        .http
        .put(h.url("/_emulator/push"))
        .json(&json!({"token": "T0KEN-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("`urls`"));
    let bad = h
        .http
        .put(h.url("/_emulator/push"))
        .json(&json!({"urls": ["ftp://x"], "token": "T0KEN-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_answers_are_retried() {
    let h = Harness::start().await;
    let (url, got) = instance(200).await;
    put(
        &h,
        "/_emulator/push",
        &json!({"url": url, "token": "T0KEN-2"}),
    )
    .await;
    let set = put(&h, "/_emulator/faults", &json!({"push_drop_answers": 1})).await;
    assert_eq!(set["ok"], true, "{set}");
    let answer = writes(&h, "hello").await;
    assert_eq!(answer["delivery"]["delivered"], true, "{answer}");
    let attempts = answer["delivery"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{answer}");
    assert!(
        attempts[0]["error"]
            .as_str()
            .unwrap()
            .contains("push_drop_answers")
    );
    assert_eq!(attempts[0]["status"], 200);
    // The endpoint got it twice: it had answered, and the answer was lost.
    assert_eq!(got.lock().unwrap().len(), 2);
    // Three dropped: not delivered after three attempts.
    put(&h, "/_emulator/faults", &json!({"push_drop_answers": 3})).await;
    let answer = writes(&h, "again").await;
    assert_eq!(answer["delivery"]["delivered"], false, "{answer}");
    assert_eq!(answer["delivery"]["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(h.get("/_emulator/faults").await["push_drop_answers"], 0);
}
