//! Retries and delivery: -1 is retried with backoff, connections never made
//! are retried, permanent codes never are, and a failure after the request
//! may have reached WeChat is reported as delivery unknown, never retried.
#![cfg(feature = "client")]

mod client_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use client_support::*;
use wechat_msg::CustomerServiceMessageSendErrcode as Code;
use wechat_msg::client::{
    AnswerProblem, Delivery, DeliveryUnknown, ErrorKind, RetryPolicy, TokenSource,
};

const SEND: &str = "/cgi-bin/message/custom/send";

/// Answers `first` for the first `n` messages, then ok.
async fn failing_first(n: usize, code: i64) -> Fake {
    let tokens = Tokens::default();
    let seen = Arc::new(AtomicUsize::new(0));
    serve(move |hit| {
        let answer = tokens.answer(&hit, 7200);
        let seen = seen.clone();
        async move {
            if let Some(answer) = answer {
                return answer;
            }
            if seen.fetch_add(1, Ordering::SeqCst) < n {
                errcode(code, "system error")
            } else {
                ok()
            }
        }
    })
    .await
}

#[tokio::test]
async fn system_busy_is_retried_then_succeeds() {
    let fake = failing_first(2, -1).await;
    let client = builder(&fake.base_url()).build().unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(fake.count(SEND), 3);
}

#[tokio::test]
async fn rate_limit_is_retried_too() {
    let fake = failing_first(1, 45011).await;
    let client = builder(&fake.base_url()).build().unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(fake.count(SEND), 2);
}

#[tokio::test]
async fn retries_are_bounded() {
    let fake = failing_first(usize::MAX, -1).await;
    let client = builder(&fake.base_url())
        .retry(RetryPolicy::new(
            2,
            Duration::from_millis(1),
            Duration::from_millis(5),
        ))
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert_eq!(err.errcode(), Some(&Code::SystemBusy));
    assert_eq!(err.attempts(), 3);
    assert_eq!(err.delivery(), Delivery::Answered);
    assert_eq!(fake.count(SEND), 3);

    let client = builder(&fake.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert_eq!(err.attempts(), 1);
}

#[tokio::test]
async fn permanent_codes_are_never_retried() {
    for (code, expected) in [
        (45015, Code::ReplyWindowClosed),
        (45047, Code::CustomerServiceLimitExceeded),
        (40003, Code::InvalidOpenid),
        (45009, Code::DailyQuotaExceeded),
    ] {
        let fake = failing_first(usize::MAX, code).await;
        let client = builder(&fake.base_url()).build().unwrap();
        let err = client.send(&text_message("OPENID")).await.unwrap_err();
        assert_eq!(err.errcode(), Some(&expected));
        assert!(!expected.is_retryable());
        assert_eq!(fake.count(SEND), 1, "errcode {code}");
        assert_eq!(err.attempts(), 1);
    }
}

#[tokio::test]
async fn a_connection_never_made_is_retried_and_reported_as_not_sent() {
    // A port with nothing listening.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = builder(&format!("http://127.0.0.1:{port}"))
        .token_source(TokenSource::fixed("FIXED"))
        .retry(RetryPolicy::new(
            2,
            Duration::from_millis(1),
            Duration::from_millis(5),
        ))
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotSent(_)), "{err:?}");
    assert!(err.is_not_sent());
    assert!(!err.is_delivery_unknown());
    assert_eq!(err.attempts(), 3);
}

#[tokio::test]
async fn a_connection_refused_once_then_accepted_succeeds() {
    // The first connection is refused by the server's absence; the server
    // comes up on the same port during the backoff.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = builder(&format!("http://{addr}"))
        .token_source(TokenSource::fixed("FIXED"))
        .retry(RetryPolicy::new(
            5,
            Duration::from_millis(100),
            Duration::from_millis(200),
        ))
        .build()
        .unwrap();
    let send = tokio::spawn(async move { client.send(&text_message("OPENID")).await });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let Ok(listener) = tokio::net::TcpListener::bind(addr).await else {
        // Another process took the port meanwhile: nothing to test here.
        return;
    };
    let app = axum::Router::new().fallback(|| async { ok() });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    send.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_timeout_after_the_request_was_sent_is_delivery_unknown_and_not_retried() {
    let fake = serve(|_| async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        ok()
    })
    .await;
    let client = builder(&fake.base_url())
        .token_source(TokenSource::fixed("FIXED"))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::DeliveryUnknown(DeliveryUnknown::Timeout(_))
        ),
        "{err:?}"
    );
    assert!(err.is_delivery_unknown());
    assert!(err.is_timeout());
    assert_eq!(err.attempts(), 1);
    assert_eq!(fake.count(SEND), 1);
    assert!(err.to_string().contains("delivery unknown"), "{err}");
}

#[tokio::test]
async fn a_gateway_error_is_delivery_unknown_and_not_retried() {
    let fake = serve(|_| async {
        raw(
            502,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
    })
    .await;
    let client = builder(&fake.base_url())
        .token_source(TokenSource::fixed("FIXED"))
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert!(err.is_delivery_unknown());
    let bad = err.bad_answer().unwrap();
    assert_eq!(bad.status(), 502);
    assert_eq!(bad.problem(), &AnswerProblem::Status);
    assert_eq!(fake.count(SEND), 1);
}

#[tokio::test]
async fn a_reset_mid_answer_is_delivery_unknown_and_not_retried() {
    let mut head = head("200 OK", "application/json", 64);
    head.extend_from_slice(br#"{"errcode":0,"#);
    let (addr, requests) = raw_server(Script::Reset { head }).await;
    let client = builder(&format!("http://{addr}"))
        .token_source(TokenSource::fixed("FIXED"))
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
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
async fn a_connection_closed_before_any_answer_is_delivery_unknown() {
    let (addr, requests) = raw_server(Script::Write(Vec::new())).await;
    let client = builder(&format!("http://{addr}"))
        .token_source(TokenSource::fixed("FIXED"))
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert!(err.is_delivery_unknown(), "{err:?}");
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_slow_busy_answer_stops_at_the_calls_deadline() {
    // Each answer takes 600 ms: with a 1 s deadline, a third attempt would
    // start past it (a second one only if the first came back in time).
    let fake = serve(|_| async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        errcode(-1, "system error")
    })
    .await;
    let client = builder(&fake.base_url())
        .token_source(TokenSource::fixed("FIXED"))
        .retry(
            RetryPolicy::new(10, Duration::from_millis(1), Duration::from_millis(2))
                .with_deadline(Duration::from_secs(1)),
        )
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert_eq!(err.errcode(), Some(&Code::SystemBusy), "{err:?}");
    assert_eq!(err.delivery(), Delivery::Answered);
    assert_eq!(err.deadline_reached(), Some(Duration::from_secs(1)));
    assert!((1..=2).contains(&err.attempts()), "{err:?}");
    assert_eq!(fake.count(SEND), err.attempts() as usize);
    assert!(
        err.to_string()
            .contains("the call's 1 s deadline was reached"),
        "{err}"
    );
}

#[tokio::test]
async fn the_deadline_also_bounds_connection_retries() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = builder(&format!("http://127.0.0.1:{port}"))
        .token_source(TokenSource::fixed("FIXED"))
        .retry(
            RetryPolicy::new(50, Duration::from_millis(1), Duration::from_millis(1))
                .with_deadline(Duration::ZERO),
        )
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert!(err.is_not_sent(), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.deadline_reached(), Some(Duration::ZERO));
}

#[test]
fn the_default_deadline_is_thirty_seconds() {
    assert_eq!(RetryPolicy::default().deadline(), Duration::from_secs(30));
    assert_eq!(
        RetryPolicy::new(1, Duration::ZERO, Duration::ZERO).deadline(),
        Duration::from_secs(30)
    );
}
