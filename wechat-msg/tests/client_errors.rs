//! Errors users can build on: each is a `std::error::Error` whose `source()`
//! chain reaches the typed cause, and a call's error can be erased into one
//! app-wide type without losing its errcode, its class or the delivery
//! verdict.
#![cfg(feature = "client")]

mod client_support;

use std::time::Duration;

use client_support::*;
use serde_json::json;
use wechat_msg::client::{
    AnswerProblem, AnyError, BadAnswer, BoxError, BoxFuture, BuildError, Delivery, DeliveryUnknown,
    Error, ErrorKind, FreshToken, RetryPolicy, TokenErrcode, TokenError, TokenErrorKind,
    TokenProvider, TokenSource, TransportError,
};
use wechat_msg::{
    AnyErrcode, CustomerServiceMessageSendErrcode as Code, Errcode, ErrorClass, Form,
    MalformedAnswer, Rejection, WireError,
};
use wechat_msg::{Client, Via};

const SEND: &str = "/cgi-bin/message/custom/send";

/// The chain of causes below `err`, as the errors themselves.
fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut next = err.source();
    while let Some(cause) = next {
        out.push(cause);
        next = cause.source();
    }
    out
}

fn find<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    chain(err).into_iter().find_map(|e| e.downcast_ref::<T>())
}

#[test]
fn every_error_type_is_a_std_error_for_any_thread() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<Error<Code>>();
    is_error::<Error>();
    is_error::<AnyError>();
    is_error::<ErrorKind<Code>>();
    is_error::<TokenError>();
    is_error::<TokenErrorKind>();
    is_error::<TransportError>();
    is_error::<DeliveryUnknown>();
    is_error::<BadAnswer>();
    is_error::<AnswerProblem>();
    is_error::<BuildError>();
    is_error::<Rejection<Code>>();
    is_error::<Rejection<TokenErrcode>>();
    is_error::<MalformedAnswer>();
}

fn client(base_url: &str) -> Client {
    builder(base_url)
        .token_source(TokenSource::fixed("FIXED"))
        .retry(RetryPolicy::none())
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_rejection_is_the_source_of_its_error() {
    let fake = serve(|_| async { errcode(40003, "invalid openid rid: 1-2") }).await;
    let err = client(&fake.base_url())
        .send(&text_message("STRANGER"))
        .await
        .unwrap_err();
    let rejection = find::<Rejection<Code>>(&err).expect("the rejection in the chain");
    assert_eq!(rejection.errcode, Code::InvalidOpenid);
    assert_eq!(rejection.rid.as_deref(), Some("1-2"));
}

#[tokio::test]
async fn a_connection_never_made_keeps_its_cause_without_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = client(&format!("http://127.0.0.1:{port}"))
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(err.is_not_sent());
    let transport = find::<TransportError>(&err).expect("the transport error");
    let cause = find::<reqwest::Error>(transport).expect("reqwest's error below it");
    assert!(cause.is_connect(), "{cause:?}");
    assert_eq!(cause.url(), None, "the URL (and its token) is dropped");
    for text in chain(&err).iter().map(|e| format!("{e} {e:?}")) {
        assert!(!text.contains("FIXED"), "{text}");
    }
}

#[tokio::test]
async fn an_unreadable_answer_chains_down_to_what_is_wrong() {
    let fake = serve(|_| async { raw(200, "application/json", r#"{"errcode":"7"}"#) }).await;
    let err = client(&fake.base_url())
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(err.is_delivery_unknown());
    assert!(find::<DeliveryUnknown>(&err).is_some());
    assert_eq!(find::<BadAnswer>(&err).unwrap().status(), 200);
    assert_eq!(
        find::<MalformedAnswer>(&err),
        Some(&MalformedAnswer::ErrcodeNotInteger)
    );
}

#[tokio::test]
async fn a_token_failure_chains_to_the_token_endpoints_refusal() {
    let fake = serve(|_| async { errcode(40125, "invalid appsecret rid: 3-4") }).await;
    let err = builder(&fake.base_url())
        .build()
        .unwrap()
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(find::<TokenError>(&err).is_some());
    let refusal = find::<Rejection<TokenErrcode>>(&err).expect("the token endpoint's refusal");
    assert_eq!(refusal.errcode, TokenErrcode::InvalidAppSecret);
}

struct Down;

#[derive(Debug, thiserror::Error)]
#[error("the token service is down")]
struct ServiceDown;

impl TokenProvider for Down {
    fn fetch_token(&self) -> BoxFuture<'_, Result<FreshToken, BoxError>> {
        Box::pin(async { Err(ServiceDown.into()) })
    }
}

#[tokio::test]
async fn a_providers_error_is_in_the_chain() {
    let fake = serve(|_| async { ok() }).await;
    let err = builder(&fake.base_url())
        .token_provider(Down)
        .build()
        .unwrap()
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    assert!(find::<ServiceDown>(&err).is_some(), "{err:?}");
}

#[tokio::test]
async fn an_invalid_request_chains_to_its_wire_error() {
    let fake = serve(|_| async { ok() }).await;
    let send = wechat_msg::meta::endpoint("customerServiceMessage.send").unwrap();
    let err = client(&fake.base_url())
        .send_value(send, &json!({"touser": "OPENID"}), Form::Http, &Via::Http)
        .await
        .unwrap_err();
    assert_eq!(find::<WireError>(&err).unwrap().path(), "msgtype");
}

#[tokio::test]
async fn erasing_keeps_the_errcode_its_class_and_the_delivery() {
    let fake = serve(|_| async { errcode(-1, "system error rid: 5-6") }).await;
    let err = client(&fake.base_url())
        .send(&text_message("OPENID"))
        .await
        .unwrap_err();
    let typed = err.to_string();
    assert_eq!(err.class(), Some(ErrorClass::Retry));
    let erased: Error = err.erase();
    let code: &AnyErrcode = erased.errcode().unwrap();
    assert_eq!(code.code(), -1);
    assert_eq!(code.name(), Some("SystemBusy"));
    assert_eq!(code.class(), ErrorClass::Retry);
    assert!(code.is_retryable());
    assert_eq!(erased.class(), Some(ErrorClass::Retry));
    assert_eq!(erased.delivery(), Delivery::Answered);
    assert_eq!(erased.errmsg(), Some("system error rid: 5-6"));
    assert_eq!(erased.rejection().unwrap().rid.as_deref(), Some("5-6"));
    assert_eq!(erased.endpoint(), "customerServiceMessage.send");
    assert_eq!(erased.attempts(), 1);
    assert_eq!(erased.to_string(), typed);
    assert_eq!(fake.count(SEND), 1);

    // An unknown code stays unknown and permanent.
    let fake = serve(|_| async { errcode(61234, "new") }).await;
    let erased = client(&fake.base_url())
        .send(&text_message("OPENID"))
        .await
        .unwrap_err()
        .erase();
    assert_eq!(erased.errcode().map(Errcode::code), Some(61234));
    assert_eq!(erased.errcode().unwrap().info(), None);
    assert_eq!(erased.class(), Some(ErrorClass::Permanent));
}

#[tokio::test]
async fn erasing_keeps_unknown_and_not_sent_verdicts() {
    let fake = serve(|_| async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        ok()
    })
    .await;
    let erased = client(&fake.base_url())
        .send(&text_message("OPENID"))
        .await
        .unwrap_err()
        .erase();
    assert_eq!(erased.delivery(), Delivery::Unknown);
    assert!(erased.is_timeout());
    assert_eq!(erased.errcode(), None);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let erased = client(&format!("http://127.0.0.1:{port}"))
        .send(&text_message("OPENID"))
        .await
        .unwrap_err()
        .erase();
    assert_eq!(erased.delivery(), Delivery::NotSent);
}

/// Two endpoints, one error type, `?` on both.
async fn notify(client: &Client) -> Result<(), AnyError> {
    let typing = wechat_msg::TypingStatus::builder()
        .touser("OPENID")
        .command(wechat_msg::TypingCommand::Typing)
        .build();
    client.send(&typing).await?;
    client.send(&text_message("OPENID")).await?;
    Ok(())
}

#[tokio::test]
async fn any_endpoints_error_converts_into_one_app_wide_type() {
    let fake = serve(|hit| async move {
        match hit.path.as_str() {
            SEND => errcode(45015, "response out of time limit"),
            _ => ok(),
        }
    })
    .await;
    let err = notify(&client(&fake.base_url())).await.unwrap_err();
    assert_eq!(err.endpoint(), "customerServiceMessage.send");
    assert_eq!(
        err.errcode().and_then(AnyErrcode::name),
        Some("ReplyWindowClosed")
    );
    assert_eq!(err.delivery(), Delivery::Answered);
    assert!(find::<Rejection<AnyErrcode>>(&err).is_some());
    let shown = err.to_string();
    let boxed: Box<dyn std::error::Error + Send + Sync> = err.into();
    assert_eq!(boxed.to_string(), shown);
}
