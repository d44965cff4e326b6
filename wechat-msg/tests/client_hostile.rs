//! A hostile WeChat: token answers that break before their fields are read,
//! absurd lifetimes, successes and errmsgs echoing secrets, huge errmsgs,
//! control characters, a relay's own token errors and errmsgs that are not
//! UTF-8. Each is served by a real server on loopback.
#![cfg(feature = "client")]

mod client_support;

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client_support::*;
use serde_json::json;
use wechat_msg::CustomerServiceMessageSendErrcode as Code;
use wechat_msg::Via;
use wechat_msg::client::{
    AccessToken, AnswerProblem, BoxError, BoxFuture, CloudFunction, Delivery, ErrorKind,
    FreshToken, TokenErrorKind, TokenProvider, TokenSource,
};
use wechat_msg::{Form, MalformedAnswer};

const SEND: &str = "/cgi-bin/message/custom/send";
const STABLE: &str = "/cgi-bin/stable_token";
const INVOKE: &str = "/tcb/invokecloudfunction";
/// The live token a hostile token endpoint hands out.
const LIVE: &str = "LIVE-TOKEN-2c26b46b68ffc68ff99b453c1d304134";

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Every text an error shows: Display, Debug, pretty Debug, and those of
/// each error in its `source()` chain.
fn texts(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(err) = next {
        out.push(format!("{err}"));
        out.push(format!("{err:?}"));
        out.push(format!("{err:#?}"));
        next = err.source();
    }
    out
}

/// Display and one-line Debug of an error and of each error in its
/// `source()` chain (pretty Debug breaks lines on purpose).
fn lines(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(err) = next {
        out.push(format!("{err}"));
        out.push(format!("{err:?}"));
        next = err.source();
    }
    out
}

fn assert_hides(what: &str, secret: &str, texts: &[String]) {
    for text in texts {
        assert!(!text.contains(secret), "{what} shows {secret:?}: {text}");
    }
}

/// An HTTP/1.1 answer with a chunked body and no Content-Length.
fn chunked(status: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    for chunk in body.chunks(700) {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

/// An HTTP/1.1 answer whose body ends when the connection closes.
fn until_close(status: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes =
        format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n")
            .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The token endpoint answers `bytes` (every request gets them); returns the
/// failed send, the log of the whole run at the default level, and how many
/// requests the server read.
async fn token_answer(bytes: Vec<u8>) -> (wechat_msg::client::Error<Code>, String, usize) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (addr, requests) = raw_server(Script::Write(bytes)).await;
    let err = builder(&format!("http://{addr}"))
        .max_answer_bytes(1024)
        .build()
        .unwrap()
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    (err, captured.text(), requests.load(Ordering::SeqCst))
}

#[tokio::test]
async fn a_token_answer_over_the_cap_without_a_length_shows_no_byte_of_it() {
    let body = format!(
        r#"{{"access_token":"{LIVE}","expires_in":7200,"padding":"{}"}}"#,
        "p".repeat(5000)
    );
    let (err, log, requests) = token_answer(chunked("200 OK", body.as_bytes())).await;
    assert_eq!(requests, 1, "the token fetch only; nothing sent");
    assert!(err.is_not_sent(), "{err:?}");
    let ErrorKind::Token(token) = err.kind() else {
        panic!("expected a token error, got {err:?}");
    };
    let TokenErrorKind::BadAnswer(bad) = token.kind() else {
        panic!("expected a bad token answer, got {token:?}");
    };
    // What was wrong is still said: status, problem, size.
    assert_eq!(bad.status(), 200);
    assert_eq!(bad.problem(), &AnswerProblem::TooLarge { limit: 1024 });
    assert!(err.to_string().contains("1024"), "{err}");
    assert_eq!(bad.excerpt(), "");
    assert!(log.contains("access token refresh failed"), "{log}");
    let mut seen = texts(&err);
    seen.push(log);
    assert_hides("an oversized token answer", LIVE, &seen);
    assert_hides("an oversized token answer", &LIVE[..12], &seen);
    assert_hides("an oversized token answer", SECRET, &seen);
}

#[tokio::test]
async fn a_token_answer_cut_off_after_the_token_shows_no_byte_of_it() {
    let cut = format!(r#"{{"access_token":"{LIVE}""#);
    for bytes in [
        until_close("200 OK", cut.as_bytes()),
        // Shorter than its Content-Length.
        [
            head("200 OK", "application/json", 400),
            cut.clone().into_bytes(),
        ]
        .concat(),
        chunked("200 OK", cut.as_bytes()),
        // A gateway's status with the token in the body.
        until_close(
            "502 Bad Gateway",
            format!(r#"{{"access_token":"{LIVE}","expires_in":7200}}"#).as_bytes(),
        ),
    ] {
        let (err, log, _) = token_answer(bytes).await;
        assert!(matches!(err.kind(), ErrorKind::Token(_)), "{err:?}");
        assert!(log.contains("access token refresh failed"), "{log}");
        let mut seen = texts(&err);
        seen.push(log);
        assert_hides("a cut-off token answer", LIVE, &seen);
        assert_hides("a cut-off token answer", &LIVE[..12], &seen);
    }
}

#[tokio::test]
async fn a_token_answer_with_a_string_errcode_shows_no_byte_of_it() {
    let body = format!(r#"{{"errcode":"0","access_token":"{LIVE}","expires_in":7200}}"#);
    let (err, log, _) = token_answer(until_close("200 OK", body.as_bytes())).await;
    let ErrorKind::Token(token) = err.kind() else {
        panic!("expected a token error, got {err:?}");
    };
    let TokenErrorKind::BadAnswer(bad) = token.kind() else {
        panic!("expected a bad token answer, got {token:?}");
    };
    assert_eq!(
        bad.problem(),
        &AnswerProblem::Malformed(MalformedAnswer::ErrcodeNotInteger)
    );
    assert!(
        err.to_string().contains("errcode is not an integer"),
        "{err}"
    );
    let mut seen = texts(&err);
    seen.push(log);
    assert_hides("a token answer with a string errcode", LIVE, &seen);
}

#[tokio::test]
async fn a_token_rejection_echoing_a_token_of_its_own_hides_it() {
    let body = format!(
        r#"{{"errcode":45009,"errmsg":"quota used up for {LIVE} rid: 1-2","access_token":"{LIVE}"}}"#
    );
    let (err, log, _) = token_answer(until_close("200 OK", body.as_bytes())).await;
    let ErrorKind::Token(token) = err.kind() else {
        panic!("expected a token error, got {err:?}");
    };
    assert_eq!(
        token.errcode(),
        Some(&wechat_msg::client::TokenErrcode::DailyQuotaExceeded)
    );
    let mut seen = texts(&err);
    seen.push(log);
    assert_hides("a token rejection", LIVE, &seen);
}

/// A server issuing `LIVE` with the lifetime `expires_in` (raw JSON text)
/// and accepting every message.
async fn lifetime(expires_in: &'static str) -> Fake {
    serve(move |hit| async move {
        if hit.path == STABLE {
            return raw(
                200,
                "application/json",
                format!(r#"{{"access_token":"{LIVE}","expires_in":{expires_in}}}"#),
            );
        }
        ok()
    })
    .await
}

#[tokio::test]
async fn a_huge_expires_in_is_clamped_not_a_panic() {
    for expires_in in [
        "18446744073709551615",
        "9223372036854775808",
        "9223372036854775807",
        "100000000000000000000000",
        "1e300",
    ] {
        let fake = lifetime(expires_in).await;
        let client = builder(&fake.base_url()).build().unwrap();
        for _ in 0..3 {
            client
                .send(&text_message("OPENID"))
                .await
                .unwrap_or_else(|err| panic!("expires_in {expires_in}: {err}"));
        }
        assert_eq!(fake.count(STABLE), 1, "expires_in {expires_in}: cached");
        assert_eq!(fake.to(SEND)[2].token(), Some(LIVE));
    }
}

#[tokio::test]
async fn a_negative_or_zero_expires_in_is_a_clear_token_error() {
    for expires_in in ["-1", "-9223372036854775808", "0", "-1e300"] {
        let fake = lifetime(expires_in).await;
        let client = builder(&fake.base_url()).build().unwrap();
        let err = client.send(&text_message("OPENID")).await.unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Token(_)), "{err:?}");
        assert!(err.to_string().contains("expires_in"), "{err}");
        assert_hides("a bad expires_in", LIVE, &texts(&err));
        assert_eq!(fake.count(SEND), 0);
    }
}

struct Forever;

impl TokenProvider for Forever {
    fn fetch_token(&self) -> BoxFuture<'_, Result<FreshToken, BoxError>> {
        Box::pin(async {
            Ok(FreshToken {
                token: AccessToken::new("FOREVER"),
                expires_in: Some(Duration::MAX),
            })
        })
    }
}

#[tokio::test]
async fn a_provider_token_living_forever_is_no_panic() {
    let fake = serve(|_| async { ok() }).await;
    let client = builder(&fake.base_url())
        .token_provider(Forever)
        .build()
        .unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(fake.to(SEND)[1].token(), Some("FOREVER"));
}

/// A WeChat that issues `LIVE` and echoes it and the secret in every answer.
async fn echoing() -> Fake {
    serve(|hit| async move {
        if hit.path == STABLE {
            return json(json!({"access_token": LIVE, "expires_in": 7200}));
        }
        let token = hit.token().unwrap_or_default().to_owned();
        match hit.path.as_str() {
            "/cgi-bin/media/upload" => json(json!({
                "errcode": 0, "errmsg": format!("ok {token}"), "type": "image",
                "media_id": format!("MEDIA-{token}-{SECRET}"), "created_at": 1700000000,
            })),
            _ => json(json!({
                "errcode": 0,
                "errmsg": format!("ok for {token} and {SECRET}"),
                "echo": {"url": format!("/send?access_token={token}"), "list": [SECRET, 7]},
                token: SECRET,
            })),
        }
    })
    .await
}

#[tokio::test]
async fn a_success_echoing_the_token_and_the_secret_is_scrubbed() {
    let fake = echoing().await;
    let client = builder(&fake.base_url()).build().unwrap();
    let send = wechat_msg::meta::endpoint("customerServiceMessage.send").unwrap();
    let body = json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hi"}});
    for from in [Form::Http, Form::Cloud] {
        let answer = client
            .send_value(send, &body, from, &Via::Http)
            .await
            .unwrap();
        let text = answer.to_string();
        assert!(!text.contains(LIVE), "{text}");
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains("access_token=***"), "{text}");
    }

    let upload = wechat_msg::TempMediaUpload::builder()
        .media_type(wechat_msg::TempMediaType::Image)
        .media(wechat_msg::MediaFile::new("image/png", b"png".to_vec()))
        .build();
    let answer = client.send(&upload).await.unwrap();
    let text = format!("{answer:?}");
    assert!(!text.contains(LIVE), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("MEDIA-***-***"), "{text}");
}

/// A success that spells the token with JSON escapes (`\u004C` for `L`)
/// does not show it in the raw text, and is still scrubbed: an answer is
/// read straight from its text only when it holds no escape and no secret.
#[tokio::test]
async fn a_success_spelling_the_token_with_escapes_is_scrubbed() {
    let escaped: String = LIVE
        .chars()
        .map(|c| format!("\\u{:04X}", c as u32))
        .collect();
    let fake = serve(move |hit| {
        let escaped = escaped.clone();
        async move {
            if hit.path == STABLE {
                return json(json!({"access_token": LIVE, "expires_in": 7200}));
            }
            raw(
                200,
                "application/json",
                format!(
                    r#"{{"errcode":0,"errmsg":"ok","type":"image","media_id":"MEDIA-{escaped}","created_at":1700000000}}"#
                ),
            )
        }
    })
    .await;
    let client = builder(&fake.base_url()).build().unwrap();
    let upload = wechat_msg::TempMediaUpload::builder()
        .media_type(wechat_msg::TempMediaType::Image)
        .media(wechat_msg::MediaFile::new("image/png", b"png".to_vec()))
        .build();
    let answer = client.send(&upload).await.unwrap();
    let text = format!("{answer:?}");
    assert!(!text.contains(LIVE), "{text}");
    assert!(text.contains("MEDIA-***"), "{text}");
}

/// A WeChat answering errcode `code` with `errmsg` to every message.
async fn rejecting(code: i64, errmsg: String) -> Fake {
    let tokens = Tokens::default();
    serve(move |hit| {
        let token = tokens.answer(&hit, 7200);
        let errmsg = errmsg.clone();
        async move { token.unwrap_or_else(|| errcode(code, &errmsg)) }
    })
    .await
}

#[tokio::test]
async fn a_huge_errmsg_is_kept_bounded() {
    let errmsg = format!("{} rid: 3-4", "e".repeat(2_000_000));
    for code in [40003, 99999] {
        let fake = rejecting(code, errmsg.clone()).await;
        let err = builder(&fake.base_url())
            .build()
            .unwrap()
            .send(&text_message("OPENID"))
            .await
            .unwrap_err();
        let kept = &err.rejection().unwrap().errmsg;
        assert!(kept.len() <= 1100, "{} bytes kept", kept.len());
        assert!(kept.starts_with("eeee"), "{kept}");
        assert!(kept.contains("bytes cut"), "{kept}");
        for text in texts(&err) {
            assert!(text.len() < 8 * 1024, "{} bytes shown", text.len());
        }
        assert_eq!(err.delivery(), Delivery::Answered);
    }
}

/// No raw control character, nor a line break, in any text.
fn assert_no_control(what: &str, texts: &[String]) {
    for text in texts {
        assert!(
            !text.chars().any(char::is_control),
            "{what} shows a control character: {text:?}"
        );
    }
}

const HOSTILE: &str = "bad\u{1b}[2J\u{1b}]0;pwned\u{7}\nerror: forged line\r\u{9b}31m";

#[tokio::test]
async fn control_characters_in_an_errmsg_are_escaped() {
    for code in [40003, 99999] {
        let fake = rejecting(code, HOSTILE.to_owned()).await;
        let client = builder(&fake.base_url()).build().unwrap();
        let err = client.send(&text_message("OPENID")).await.unwrap_err();
        assert_eq!(err.rejection().unwrap().errmsg, HOSTILE, "kept as given");
        let display = err.to_string();
        assert!(display.contains(r"\u{1b}[2J"), "{display}");
        assert!(display.contains(r"\n"), "{display}");
        assert_no_control("a rejection", &lines(&err));
        assert_no_control(
            "a rejection",
            &[
                err.rejection().unwrap().to_string(),
                format!("{}", err.errcode().unwrap()),
            ],
        );

        let send = wechat_msg::meta::endpoint("customerServiceMessage.send").unwrap();
        let body = json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hi"}});
        let err = client
            .send_value(send, &body, Form::Http, &Via::Http)
            .await
            .unwrap_err();
        assert_no_control("a dynamic rejection", &lines(&err));
    }
}

#[tokio::test]
async fn control_characters_from_the_token_endpoint_are_escaped() {
    let fake = serve(|_| async { errcode(12345, HOSTILE) }).await;
    let err = builder(&fake.base_url())
        .build()
        .unwrap()
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Token(_)), "{err:?}");
    assert_no_control("a token rejection", &lines(&err));
}

#[tokio::test]
async fn control_characters_in_an_input_key_are_escaped() {
    let fake = serve(|_| async { ok() }).await;
    let client = builder(&fake.base_url()).build().unwrap();
    let send = wechat_msg::meta::endpoint("customerServiceMessage.send").unwrap();
    let body = json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hi", HOSTILE: 1}, HOSTILE: 2});
    let err = client
        .send_value(send, &body, Form::Http, &Via::Http)
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidRequest(_)),
        "{err:?}"
    );
    // The client's error and its kind; the wire error's own text is the
    // wire module's.
    assert_no_control(
        "an invalid request",
        &[err.to_string(), format!("{err:?}"), err.kind().to_string()],
    );
    assert!(fake.hits().is_empty());
}

/// A WeChat whose relay answers `inner` to every cloud call.
async fn relaying(inner: serde_json::Value) -> (Fake, Tokens) {
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let fake = serve(move |hit| {
        let token = issuer.answer(&hit, 7200);
        let inner = inner.clone();
        async move {
            token.unwrap_or_else(|| {
                json(json!({"errcode": 0, "errmsg": "ok", "resp_data": inner.to_string()}))
            })
        }
    })
    .await;
    (fake, tokens)
}

#[tokio::test]
async fn a_token_error_of_the_relay_is_a_rejection_and_keeps_our_token() {
    let (fake, tokens) = relaying(json!({
        "errCode": 40001,
        "errMsg": "openapi.customerServiceMessage.send:fail invalid credential rid: 5-6"
    }))
    .await;
    let client = builder(&fake.base_url())
        .via(Via::Cloud(CloudFunction::new("prod", "relay")))
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert_eq!(err.errcode(), Some(&Code::InvalidCredential));
    assert_eq!(err.delivery(), Delivery::Answered);
    assert_eq!(err.attempts(), 1);
    assert_eq!(fake.count(INVOKE), 1, "not invoked again");
    assert_eq!(tokens.issued(), 1, "our token is not refreshed");

    // Our token was not invalidated either.
    let _ = client.send(&text_message("OPENID")).await;
    assert_eq!(tokens.issued(), 1);
    assert_eq!(fake.to(INVOKE)[1].token(), Some(Tokens::nth(1).as_str()));
}

#[tokio::test]
async fn an_errmsg_that_is_not_utf8_is_still_a_rejection() {
    let body: &[u8] = b"{\"errcode\":40003,\"errmsg\":\"invalid openid \xff\xfe\x80 rid: 7-8\"}";
    let (addr, requests) = raw_server(Script::Write(until_close("200 OK", body))).await;
    let err = builder(&format!("http://{addr}"))
        .token_source(TokenSource::fixed("FIXED"))
        .build()
        .unwrap()
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert_eq!(err.errcode(), Some(&Code::InvalidOpenid), "{err:?}");
    assert_eq!(err.delivery(), Delivery::Answered);
    let rejection = err.rejection().unwrap();
    assert_eq!(rejection.rid.as_deref(), Some("7-8"));
    assert!(rejection.errmsg.starts_with("invalid openid \u{fffd}"));
    assert_eq!(requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_success_that_is_not_utf8_is_still_not_read_as_one() {
    let body: &[u8] = b"{\"errcode\":0,\"errmsg\":\"ok \xff\"}";
    let (addr, requests) = raw_server(Script::Write(until_close("200 OK", body))).await;
    let err = builder(&format!("http://{addr}"))
        .token_source(TokenSource::fixed("FIXED"))
        .build()
        .unwrap()
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(err.bad_answer().is_some(), "{err:?}");
    assert_eq!(requests.load(Ordering::SeqCst), 1, "never retried");
}
