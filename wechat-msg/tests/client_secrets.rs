//! No error's Display or Debug, and no tracing output, ever contains the
//! access_token or the app secret, even when the URL carried them and the
//! server echoes them back.
#![cfg(feature = "client")]

mod client_support;

use std::sync::Arc;
use std::time::Duration;

use client_support::*;
use serde_json::json;
use wechat_msg::Form;
use wechat_msg::client::{ErrorKind, RetryPolicy, TokenSource};
use wechat_msg::{Client, Via};

const TOKEN: &str = "ACCESS-TOKEN-6f1ed002ab5595859014ebf0951522d9";

/// Every error text of `err`, both ways, and those of every error in its
/// `source()` chain.
fn texts(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(err) = next {
        out.extend([format!("{err}"), format!("{err:?}"), format!("{err:#?}")]);
        next = err.source();
    }
    out
}

fn assert_clean(what: &str, texts: &[String]) {
    for text in texts {
        assert!(!text.contains(TOKEN), "{what} shows the token: {text}");
        assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
        // Also no partial leak of the token's distinctive tail.
        assert!(
            !text.contains("6f1ed002ab5595859014ebf0951522d9"),
            "{what}: {text}"
        );
    }
}

/// A server that issues TOKEN and echoes the request URL (with the token)
/// into whatever it answers for `path`.
async fn echoing(answer: fn(&str) -> axum::response::Response) -> Fake {
    serve(move |hit| async move {
        if hit.path == "/cgi-bin/stable_token" {
            return json(json!({"access_token": TOKEN, "expires_in": 7200}));
        }
        let url = format!(
            "{}?access_token={}",
            hit.path,
            hit.token().unwrap_or_default()
        );
        answer(&url)
    })
    .await
}

fn client(base_url: &str) -> Client {
    builder(base_url)
        .timeout(Duration::from_millis(400))
        .max_answer_bytes(4096)
        .retry(RetryPolicy::new(
            1,
            Duration::from_millis(1),
            Duration::from_millis(2),
        ))
        .build()
        .unwrap()
}

#[tokio::test]
async fn no_error_kind_shows_the_token_or_the_secret() {
    // Every test of this binary installs the log capture before it reaches a
    // callsite, so no callsite's interest is cached before the subscriber
    // exists (see `client_support::logs`).
    let logs = client_support::logs::logs();
    let mut seen = Vec::new();

    // Rejected, with the token echoed in errmsg.
    let fake = echoing(|url| errcode(40003, &format!("invalid openid for {url} rid: 1-1"))).await;
    let err = client(&fake.base_url())
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Rejected(_)));
    assert!(err.rejection().unwrap().errmsg.contains("access_token=***"));
    seen.push(("rejected", texts(&err)));

    // Delivery unknown: a bad answer echoing the URL in an HTML page.
    let fake = echoing(|url| {
        raw(
            502,
            "text/html",
            format!("<html>bad gateway for {url}</html>"),
        )
    })
    .await;
    let err = client(&fake.base_url())
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(err.is_delivery_unknown());
    assert!(
        err.bad_answer()
            .unwrap()
            .excerpt()
            .contains("access_token=***")
    );
    seen.push(("delivery unknown (bad answer)", texts(&err)));

    // Delivery unknown: a timeout, the token in the URL of reqwest's error.
    let fake = serve(|hit| async move {
        if hit.path == "/cgi-bin/stable_token" {
            return json(json!({"access_token": TOKEN, "expires_in": 7200}));
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        ok()
    })
    .await;
    let err = client(&fake.base_url())
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    seen.push(("delivery unknown (timeout)", texts(&err)));

    // Delivery unknown: a reset.
    let (addr, _) = raw_server(Script::Reset {
        head: head("200 OK", "application/json", 50),
    })
    .await;
    let err = builder(&format!("http://{addr}"))
        .token_source(TokenSource::fixed(TOKEN))
        .build()
        .unwrap()
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(err.is_delivery_unknown());
    seen.push(("delivery unknown (reset)", texts(&err)));

    // Not sent: nothing listens; the URL carries the token.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = client(&format!("http://127.0.0.1:{port}"))
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Token(_)), "{err:?}");
    seen.push(("token (not reachable)", texts(&err)));
    let err = builder(&format!("http://127.0.0.1:{port}"))
        .token_source(TokenSource::fixed(TOKEN))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotSent(_)), "{err:?}");
    seen.push(("not sent", texts(&err)));

    // Bad answer after success, echoing the token in a field.
    let fake = echoing(|url| {
        json(json!({"errcode": 0, "errmsg": "ok", "type": "image", "media_id": url, "created_at": url}))
    })
    .await;
    let upload = wechat_msg::TempMediaUpload::builder()
        .media_type(wechat_msg::TempMediaType::Image)
        .media(wechat_msg::MediaFile::new("image/png", b"png".to_vec()))
        .build();
    let err = client(&fake.base_url()).send(&upload).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::BadAnswer(_)), "{err:?}");
    seen.push(("bad answer", texts(&err)));

    // Token failures: the classic token puts the secret in the URL; the
    // endpoint echoes it in an errmsg, in a page, or never answers.
    for answer in [
        (|url: &str| errcode(40125, &format!("invalid appsecret {url}"))) as fn(&str) -> _,
        |url: &str| raw(500, "text/html", format!("<html>{url}</html>")),
        |url: &str| json(json!({"access_token": url, "expires_in": "soon"})),
    ] {
        let fake = serve(move |hit| async move {
            let query: Vec<String> = hit.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            answer(&format!("{}?{}", hit.path, query.join("&")))
        })
        .await;
        let err = builder(&fake.base_url())
            .token_source(TokenSource::classic(APPID, SECRET))
            .build()
            .unwrap()
            .send(&text_message("OPENID"))
            .await
            .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Token(_)), "{err:?}");
        assert_eq!(fake.to("/cgi-bin/token")[0].query["secret"], SECRET);
        seen.push(("token", texts(&err)));
    }
    let fake = serve(|_| async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        ok()
    })
    .await;
    let err = builder(&fake.base_url())
        .token_source(TokenSource::classic(APPID, SECRET))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap()
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    seen.push(("token (timeout)", texts(&err)));

    // Invalid request (dynamic send).
    let err = client(&fake.base_url())
        .send_value(
            wechat_msg::meta::endpoint("customerServiceMessage.send").unwrap(),
            &json!({"touser": TOKEN}),
            Form::Http,
            &Via::Http,
        )
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidRequest(_)));
    seen.push(("invalid request", texts(&err)));

    assert!(seen.len() >= 12);
    for (what, texts) in &seen {
        assert_clean(what, texts);
    }
    assert_clean("the logs", &[logs.all()]);
}

#[tokio::test]
async fn tracing_shows_the_call_and_no_secret() {
    let logs = client_support::logs::logs();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let fake = serve(move |hit| {
        let calls = calls.clone();
        async move {
            if hit.path == "/cgi-bin/stable_token" {
                return json(json!({"access_token": TOKEN, "expires_in": 7200}));
            }
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                return errcode(-1, &format!("busy {}", hit.token().unwrap_or_default()));
            }
            errcode(45015, "response out of time limit rid: 5-5")
        }
    })
    .await;
    let err = logs
        .scope("tracing_shows_the_call", async {
            client(&fake.base_url())
                .send(&text_message("OPENID"))
                .await
                .unwrap_err()
        })
        .await;
    assert_eq!(err.attempts(), 2);

    let log = logs.lines_of("tracing_shows_the_call");
    assert!(log.contains("wechat_msg.call"), "{log}");
    assert!(
        log.contains("endpoint=\"customerServiceMessage.send\"")
            || log.contains("endpoint=customerServiceMessage.send"),
        "{log}"
    );
    assert!(log.contains("attempt=2"), "{log}");
    assert!(log.contains("errcode=45015"), "{log}");
    assert!(log.contains("latency_ms"), "{log}");
    // Nothing secret anywhere, in the lines of every test of this binary.
    let all = logs.all();
    assert!(!all.contains(TOKEN), "{all}");
    assert!(!all.contains(SECRET), "{all}");
}
