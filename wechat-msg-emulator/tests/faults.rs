//! Faults on demand, over real HTTP.

mod common;

use std::time::{Duration, Instant};

use common::{Harness, err_code, errcode};
use serde_json::{Value, json};
use wechat_msg_emulator::Faults;

fn text() -> Value {
    json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hi"}})
}

async fn raw_send(h: &Harness, token: &str) -> Result<(u16, String), reqwest::Error> {
    let response = h
        .http
        .post(h.url(&format!(
            "/cgi-bin/message/custom/send?access_token={token}"
        )))
        .body(text().to_string())
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

#[tokio::test]
async fn system_busy_answers_minus_one_for_the_next_n_calls() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.emu.set_faults(Faults {
        system_busy: 2,
        ..Faults::none()
    });
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(errcode(
            &h.send_with(&token, "customerServiceMessage.send", &text())
                .await,
        ));
    }
    assert_eq!(codes, [-1, -1, 0]);
    assert_eq!(h.emu.messages().len(), 1, "busy calls are not processed");
    let counters = h.emu.counters();
    assert_eq!(counters.faults, 2);
    assert_eq!(counters.errors[&-1], 2);
    assert_eq!(h.emu.faults().system_busy, 0);
}

#[tokio::test]
async fn faults_are_set_and_read_over_http() {
    let h = Harness::start().await;
    let token = h.token().await;
    let response = h
        .http
        .put(h.url("/_emulator/faults"))
        .json(&json!({"system_busy": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    h.send_with(&token, "customerServiceMessage.send", &text())
        .await;
    let faults = h.get("/_emulator/faults").await;
    assert_eq!(faults["system_busy"], 2);
    let response = h
        .http
        .put(h.url("/_emulator/faults"))
        .json(&json!({"system_bussy": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "unknown settings are refused");
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.emu.set_faults(Faults {
        latency_ms: 150,
        ..Faults::none()
    });
    let started = Instant::now();
    let answer = h
        .send_with(&token, "customerServiceMessage.send", &text())
        .await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(errcode(&answer), 0);
    assert_eq!(
        h.emu.faults().latency_ms,
        150,
        "latency stays until changed"
    );
}

#[tokio::test]
async fn server_errors_answer_5xx_without_processing() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.emu.set_faults(Faults {
        server_error: 1,
        ..Faults::none()
    });
    let (status, body) = raw_send(&h, &token).await.unwrap();
    assert_eq!(status, 502);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["errcode"], -1);

    h.emu.set_faults(Faults {
        server_error: 1,
        server_error_status: 503,
        server_error_html: true,
        ..Faults::none()
    });
    let (status, body) = raw_send(&h, &token).await.unwrap();
    assert_eq!(status, 503);
    assert!(body.starts_with("<html>"), "{body}");
    assert!(serde_json::from_str::<Value>(&body).is_err());

    let (status, _) = raw_send(&h, &token).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(h.emu.messages().len(), 1);
    let errors = h.emu.counters().errors;
    assert_eq!((errors[&502], errors[&503]), (1, 1));
}

#[tokio::test]
async fn a_truncated_answer_follows_an_accepted_message() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.emu.set_faults(Faults {
        truncate: 1,
        ..Faults::none()
    });
    let (status, body) = raw_send(&h, &token).await.unwrap();
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    assert!(
        r#"{"errcode":0,"errmsg":"ok"}"#.starts_with(&body),
        "{body}"
    );
    assert_eq!(h.emu.messages().len(), 1, "the message went through");
}

#[tokio::test]
async fn a_reset_connection_follows_an_accepted_message() {
    let h = Harness::start().await;
    let token = h.token().await;
    h.emu.set_faults(Faults {
        reset: 1,
        ..Faults::none()
    });
    let err = raw_send(&h, &token).await.unwrap_err();
    assert!(is_connection_reset(&err), "{err:?}");
    assert_eq!(h.emu.messages().len(), 1, "the message went through");
    // The next call, on a new connection, is normal.
    let (status, _) = raw_send(&h, &token).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(h.emu.messages().len(), 2);
}

/// Whether an io::Error of kind ConnectionReset is among the causes.
fn is_connection_reset(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionReset
        {
            return true;
        }
        cause = e.source();
    }
    false
}

#[tokio::test]
async fn token_fetches_are_spared_unless_included() {
    let h = Harness::start().await;
    h.emu.set_faults(Faults {
        system_busy: 1,
        ..Faults::none()
    });
    let token = h.token().await;
    assert!(!token.is_empty());
    assert_eq!(h.emu.faults().system_busy, 1);
    h.emu.set_faults(Faults {
        system_busy: 1,
        tokens: true,
        ..Faults::none()
    });
    let app = h.emu.app();
    let answer = h
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
            app.appid, app.secret
        ))
        .await;
    assert_eq!(errcode(&answer), -1);
}

#[tokio::test]
async fn cloud_calls_see_busy_inside_resp_data_and_gateway_errors_outside() {
    let h = Harness::start().await;
    let token = h.token().await;
    let event = json!({"api": "customerServiceMessage.send", "data": text()});
    h.emu.set_faults(Faults {
        system_busy: 1,
        ..Faults::none()
    });
    let (outer, inner) = h.cloud_with(&token, &event).await;
    assert_eq!(outer["errcode"], 0);
    assert_eq!(err_code(&inner), -1);
    assert!(
        inner["errMsg"]
            .as_str()
            .unwrap()
            .starts_with("openapi.customerServiceMessage.send:fail system error")
    );
    h.emu.set_faults(Faults {
        server_error: 1,
        ..Faults::none()
    });
    let response = h
        .http
        .post(h.url(&format!(
            "/tcb/invokecloudfunction?access_token={token}&env=e&name=f"
        )))
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    h.emu.set_faults(Faults {
        truncate: 1,
        ..Faults::none()
    });
    let response = h
        .http
        .post(h.url(&format!(
            "/tcb/invokecloudfunction?access_token={token}&env=e&name=f"
        )))
        .json(&event)
        .send()
        .await
        .unwrap();
    let body = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    assert_eq!(h.emu.messages().len(), 1);
}
