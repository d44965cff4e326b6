//! The bad-answer matrix: every answer that is not what WeChat sends is a
//! typed error (never a panic, never a retry), and the odd-but-valid ones
//! (unknown errcodes, extra fields) are read as WeChat meant them.
#![cfg(feature = "client")]

mod client_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::response::Response;
use client_support::*;
use serde_json::json;
use wechat_msg::Client;
use wechat_msg::client::{AnswerProblem, Delivery, DeliveryUnknown, ErrorKind, TokenSource};
use wechat_msg::{CustomerServiceMessageSendErrcode as Code, MalformedAnswer};

const SEND: &str = "/cgi-bin/message/custom/send";

fn client(base_url: &str) -> Client {
    builder(base_url)
        .token_source(TokenSource::fixed("FIXED"))
        .max_answer_bytes(1024)
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

/// Sends a text message to a server answering `answer`; the server must be
/// reached exactly once.
async fn answered(answer: fn() -> Response) -> wechat_msg::client::Error<Code> {
    let fake = serve(move |_| async move { answer() }).await;
    let err = client(&fake.base_url())
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert_eq!(fake.count(SEND), 1, "never retried: {err:?}");
    err
}

fn problem(err: &wechat_msg::client::Error<Code>) -> AnswerProblem {
    err.bad_answer()
        .unwrap_or_else(|| panic!("expected a bad answer, got {err:?}"))
        .problem()
        .clone()
}

#[tokio::test]
async fn non_json_success() {
    let err = answered(|| raw(200, "text/plain", "OK")).await;
    assert!(err.is_delivery_unknown());
    assert_eq!(
        problem(&err),
        AnswerProblem::Malformed(MalformedAnswer::NotJson)
    );
    assert_eq!(err.bad_answer().unwrap().excerpt(), "OK");
}

#[tokio::test]
async fn html_error_page() {
    let err = answered(|| {
        raw(
            200,
            "text/html; charset=utf-8",
            "<!DOCTYPE html>\n<html><head><title>Oops</title></head><body>maintenance</body></html>",
        )
    })
    .await;
    assert!(err.is_delivery_unknown());
    let bad = err.bad_answer().unwrap();
    assert_eq!(bad.content_type(), Some("text/html; charset=utf-8"));
    assert!(
        bad.excerpt().starts_with("<!DOCTYPE html>\\n<html>"),
        "{bad:?}"
    );
    assert!(err.to_string().contains("<!DOCTYPE html>"), "{err}");
}

#[tokio::test]
async fn empty_body() {
    let err = answered(|| raw(200, "application/json", "")).await;
    assert!(err.is_delivery_unknown());
    assert_eq!(problem(&err), AnswerProblem::Empty);
}

#[tokio::test]
async fn truncated_json() {
    let err = answered(|| raw(200, "application/json", r#"{"errcode":0,"errm"#)).await;
    assert!(err.is_delivery_unknown());
    assert_eq!(
        problem(&err),
        AnswerProblem::Malformed(MalformedAnswer::NotJson)
    );
}

#[tokio::test]
async fn json_that_is_not_an_object() {
    let err = answered(|| raw(200, "application/json", "[0]")).await;
    assert_eq!(
        problem(&err),
        AnswerProblem::Malformed(MalformedAnswer::NotObject)
    );
}

#[tokio::test]
async fn body_over_the_cap_with_a_length() {
    let err = answered(|| {
        let padding = "x".repeat(4096);
        json(json!({"errcode": 0, "errmsg": "ok", "padding": padding}))
    })
    .await;
    assert!(err.is_delivery_unknown());
    assert_eq!(problem(&err), AnswerProblem::TooLarge { limit: 1024 });
}

#[tokio::test]
async fn body_over_the_cap_without_a_length() {
    // Chunked: the cap is enforced while reading.
    let body = format!(r#"{{"errcode":0,"padding":"{}"}}"#, "y".repeat(5000));
    let mut bytes =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            .to_vec();
    for chunk in body.as_bytes().chunks(700) {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    let (addr, requests) = raw_server(Script::Write(bytes)).await;
    let err = client(&format!("http://{addr}"))
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert_eq!(problem(&err), AnswerProblem::TooLarge { limit: 1024 });
    assert!(
        err.bad_answer()
            .unwrap()
            .excerpt()
            .starts_with(r#"{"errcode":0"#)
    );
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_server_dripping_bytes_past_the_total_timeout() {
    let body = br#"{"errcode":0,"errmsg":"ok"}"#.to_vec();
    let (addr, requests) = raw_server(Script::Drip {
        head: head("200 OK", "application/json", body.len()),
        body,
        every: Duration::from_millis(100),
    })
    .await;
    let err = client(&format!("http://{addr}"))
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::DeliveryUnknown(DeliveryUnknown::Timeout(_))
        ),
        "{err:?}"
    );
    assert!(err.is_timeout());
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_reset_mid_answer() {
    let mut head = head("200 OK", "application/json", 100);
    head.extend_from_slice(br#"{"errcode":0,"errmsg""#);
    let (addr, requests) = raw_server(Script::Reset { head }).await;
    let err = client(&format!("http://{addr}"))
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::DeliveryUnknown(DeliveryUnknown::Interrupted(_))
        ),
        "{err:?}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn server_error_with_json() {
    let err = answered(|| {
        raw(
            503,
            "application/json",
            r#"{"errcode":-1,"errmsg":"system error"}"#,
        )
    })
    .await;
    // A 5xx is a gateway's answer, whatever its body says: not retried.
    assert!(err.is_delivery_unknown());
    let bad = err.bad_answer().unwrap();
    assert_eq!(bad.status(), 503);
    assert_eq!(bad.problem(), &AnswerProblem::Status);
    assert!(bad.excerpt().contains("system error"));
}

#[tokio::test]
async fn server_error_with_html() {
    let err = answered(|| {
        raw(
            500,
            "text/html",
            "<html><body>Internal Server Error</body></html>",
        )
    })
    .await;
    assert!(err.is_delivery_unknown());
    assert_eq!(err.bad_answer().unwrap().status(), 500);
    assert!(err.to_string().contains("HTTP 500"), "{err}");
}

#[tokio::test]
async fn errcode_as_a_string() {
    let err = answered(|| {
        raw(
            200,
            "application/json",
            r#"{"errcode":"40001","errmsg":"invalid credential"}"#,
        )
    })
    .await;
    assert!(err.is_delivery_unknown());
    assert_eq!(
        problem(&err),
        AnswerProblem::Malformed(MalformedAnswer::ErrcodeNotInteger)
    );
}

#[tokio::test]
async fn unknown_errcode_is_kept() {
    let err = answered(|| errcode(48999, "a code from the future rid: 64f0-abc1")).await;
    assert_eq!(err.delivery(), Delivery::Answered);
    let rejection = err.rejection().unwrap();
    assert_eq!(
        rejection.errcode,
        Code::Unknown {
            code: 48999,
            errmsg: "a code from the future rid: 64f0-abc1".to_owned()
        }
    );
    assert_eq!(rejection.errcode.code(), 48999);
    assert_eq!(rejection.rid.as_deref(), Some("64f0-abc1"));
    assert_eq!(err.attempts(), 1);
}

#[tokio::test]
async fn extra_fields_are_ignored() {
    let fake = serve(|_| async {
        json(json!({"errcode": 0, "errmsg": "ok", "msgid": 123, "new": {"nested": [1, 2]}}))
    })
    .await;
    client(&fake.base_url())
        .send(&text_message("OPENID"))
        .await
        .unwrap();
}

#[tokio::test]
async fn success_without_errcode() {
    let fake = serve(|_| async { json(json!({})) }).await;
    client(&fake.base_url())
        .send(&text_message("OPENID"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_typed_answer_with_extra_fields() {
    let fake = serve(|_| async {
        json(json!({"errcode": 0, "errmsg": "ok", "type": "image", "media_id": "MEDIA_ID", "created_at": 1700000000, "item": []}))
    })
    .await;
    let upload = wechat_msg::TempMediaUpload::builder()
        .media_type(wechat_msg::TempMediaType::Image)
        .media(wechat_msg::MediaFile::new("image/png", b"\x89PNG".to_vec()))
        .build();
    let media = client(&fake.base_url()).send(&upload).await.unwrap();
    assert_eq!(media.media_id, "MEDIA_ID");
    assert_eq!(media.created_at, 1_700_000_000);
}

#[tokio::test]
async fn a_success_whose_fields_do_not_match_is_a_bad_answer_after_delivery() {
    let fake = serve(|_| async {
        json(json!({"errcode": 0, "errmsg": "ok", "type": "image", "media_id": "MEDIA_ID", "created_at": "yesterday"}))
    })
    .await;
    let upload = wechat_msg::TempMediaUpload::builder()
        .media_type(wechat_msg::TempMediaType::Image)
        .media(wechat_msg::MediaFile::new("image/png", b"\x89PNG".to_vec()))
        .build();
    let err = client(&fake.base_url()).send(&upload).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::BadAnswer(_)), "{err:?}");
    assert_eq!(err.delivery(), Delivery::Answered);
    let AnswerProblem::Fields(wire) = err.bad_answer().unwrap().problem() else {
        panic!("expected a field error, got {err:?}");
    };
    assert_eq!(wire.path(), "created_at");
    assert_eq!(fake.count("/cgi-bin/media/upload"), 1);
}

#[tokio::test]
async fn excerpts_are_bounded() {
    let err = answered(|| raw(200, "text/plain", "z".repeat(900))).await;
    let excerpt = err.bad_answer().unwrap().excerpt();
    assert!(excerpt.chars().count() <= 201, "{}", excerpt.len());
    assert!(excerpt.ends_with('…'));
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let err = answered(|| {
        Response::builder()
            .status(302)
            .header("location", "http://127.0.0.1:1/elsewhere")
            .body(axum::body::Body::empty())
            .unwrap()
    })
    .await;
    assert_eq!(err.bad_answer().unwrap().status(), 302);
}
