//! Access tokens: caching and margin, single-flight refresh, cancellation,
//! invalidation of the failing token only, refresh-and-retry once, and
//! every token source.
#![cfg(feature = "client")]

mod client_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use client_support::*;
use serde_json::json;
use wechat_msg::CustomerServiceMessageSendErrcode as Code;
use wechat_msg::client::{
    AccessToken, AnswerProblem, BoxError, BoxFuture, ErrorKind, FreshToken, TokenErrcode,
    TokenErrorKind, TokenProvider, TokenSource,
};

const SEND: &str = "/cgi-bin/message/custom/send";
const STABLE: &str = "/cgi-bin/stable_token";

/// A server issuing tokens that live `expires_in` seconds and accepting
/// every message.
async fn accepting(expires_in: u64) -> (Fake, Tokens) {
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let fake = serve(move |hit| {
        let answer = issuer.answer(&hit, expires_in);
        async move { answer.unwrap_or_else(ok) }
    })
    .await;
    (fake, tokens)
}

#[tokio::test]
async fn stable_token_request_is_normal_mode_and_token_goes_in_the_query() {
    let (fake, _) = accepting(7200).await;
    let client = builder(&fake.base_url()).build().unwrap();
    client.send(&text_message("OPENID")).await.unwrap();

    let fetch = &fake.to(STABLE)[0];
    assert_eq!(fetch.method, "POST");
    assert_eq!(
        fetch.json(),
        json!({"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": false})
    );
    let send = &fake.to(SEND)[0];
    assert_eq!(send.token(), Some(Tokens::nth(1).as_str()));
    assert_eq!(
        send.json(),
        json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hello"}})
    );
}

#[tokio::test]
async fn token_is_cached_for_its_lifetime() {
    let (fake, tokens) = accepting(7200).await;
    let client = builder(&fake.base_url()).build().unwrap();
    for _ in 0..20 {
        client.send(&text_message("OPENID")).await.unwrap();
    }
    assert_eq!(tokens.issued(), 1);
    assert_eq!(fake.count(SEND), 20);
    // Clones share the cache.
    client.clone().send(&text_message("OPENID")).await.unwrap();
    assert_eq!(tokens.issued(), 1);
}

#[tokio::test]
async fn token_is_replaced_a_margin_before_expiry() {
    // 3 s tokens, 2 s margin: replaced after 1 s.
    let (fake, tokens) = accepting(3).await;
    let client = builder(&fake.base_url())
        .refresh_margin(Duration::from_secs(2))
        .build()
        .unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(tokens.issued(), 1);

    tokio::time::sleep(Duration::from_millis(1200)).await;
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(tokens.issued(), 2);
    let used: Vec<_> = fake
        .to(SEND)
        .iter()
        .map(|h| h.token().unwrap().to_owned())
        .collect();
    assert_eq!(used, [Tokens::nth(1), Tokens::nth(1), Tokens::nth(2)]);
}

#[tokio::test]
async fn a_margin_longer_than_the_lifetime_uses_half_the_lifetime() {
    // 2 s tokens, 300 s margin: used for 1 s, not refetched on every call.
    let (fake, tokens) = accepting(2).await;
    let client = builder(&fake.base_url()).build().unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(tokens.issued(), 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(tokens.issued(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_senders_cause_one_fetch() {
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let fake = serve(move |hit| {
        let answer = issuer.answer(&hit, 7200);
        async move {
            if answer.is_some() {
                // A slow token endpoint: every sender arrives while it works.
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            answer.unwrap_or_else(ok)
        }
    })
    .await;
    let client = builder(&fake.base_url()).build().unwrap();
    let senders: Vec<_> = (0..200)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.send(&text_message("OPENID")).await })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap().unwrap();
    }
    assert_eq!(fake.count(STABLE), 1);
    assert_eq!(fake.count(SEND), 200);
    assert!(
        fake.to(SEND)
            .iter()
            .all(|h| h.token() == Some(Tokens::nth(1).as_str()))
    );
}

#[tokio::test]
async fn a_caller_dropped_during_the_refresh_strands_no_one() {
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let fake = serve(move |hit| {
        let answer = issuer.answer(&hit, 7200);
        async move {
            if answer.is_some() {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            answer.unwrap_or_else(ok)
        }
    })
    .await;
    let client = builder(&fake.base_url()).build().unwrap();

    let first = {
        let client = client.clone();
        tokio::spawn(async move { client.send(&text_message("OPENID")).await })
    };
    // Wait until the first caller's refresh reached the token endpoint.
    while fake.count(STABLE) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = {
        let client = client.clone();
        tokio::spawn(async move { client.send(&text_message("OPENID")).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());

    let second = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("the waiting caller finishes")
        .unwrap();
    second.unwrap();
    // The refresh went on without its caller and served the other one.
    assert_eq!(fake.count(STABLE), 1);
    assert_eq!(fake.count(SEND), 1);

    // A caller dropped by a timeout of its own while it waits.
    let third = tokio::time::timeout(
        Duration::from_millis(1),
        client.send(&text_message("OPENID")),
    )
    .await;
    drop(third);
    client.send(&text_message("OPENID")).await.unwrap();
}

#[tokio::test]
async fn only_the_failing_token_is_invalidated() {
    // Two senders hold TOKEN-1. The first is refused and refreshes to TOKEN-2;
    // the second's refusal of TOKEN-1 arrives after that, and must not throw
    // TOKEN-2 away.
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let refusals = Arc::new(AtomicUsize::new(0));
    let fake = {
        let issuer = issuer.clone();
        serve(move |hit| {
            let answer = issuer.answer(&hit, 7200);
            let issued = issuer.clone();
            let refusals = refusals.clone();
            async move {
                if let Some(answer) = answer {
                    return answer;
                }
                if hit.token() == Some(Tokens::nth(1).as_str()) {
                    if refusals.fetch_add(1, Ordering::SeqCst) == 1 {
                        // The second refusal waits for the refresh.
                        while issued.issued() < 2 {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    return errcode(
                        40001,
                        "invalid credential, access_token is invalid or not latest rid: 1-2-3",
                    );
                }
                ok()
            }
        })
        .await
    };
    let client = builder(&fake.base_url()).build().unwrap();
    // Warm the cache with TOKEN-1 so that both senders start with it.
    assert_eq!(
        client.access_token().await.unwrap().unwrap(),
        AccessToken::new(Tokens::nth(1))
    );
    let message = text_message("OPENID");
    let (a, b) = tokio::join!(client.send(&message), client.send(&message));
    a.unwrap();
    b.unwrap();
    assert_eq!(
        tokens.issued(),
        2,
        "the second refusal must not refresh again"
    );
    let used: Vec<_> = fake
        .to(SEND)
        .iter()
        .map(|h| h.token().unwrap().to_owned())
        .collect();
    assert_eq!(used.iter().filter(|t| **t == Tokens::nth(2)).count(), 2);
}

#[tokio::test]
async fn each_token_errcode_refreshes_once_and_retries_once() {
    for code in [40001, 40014, 42001] {
        let tokens = Tokens::default();
        let issuer = tokens.clone();
        let fake = serve(move |hit| {
            let answer = issuer.answer(&hit, 7200);
            async move {
                match answer {
                    Some(answer) => answer,
                    None if hit.token() == Some(Tokens::nth(1).as_str()) => {
                        errcode(code, "access_token expired")
                    }
                    None => ok(),
                }
            }
        })
        .await;
        let client = builder(&fake.base_url()).build().unwrap();
        client.send(&text_message("OPENID")).await.unwrap();
        assert_eq!(tokens.issued(), 2, "errcode {code}");
        assert_eq!(fake.count(SEND), 2, "errcode {code}");
    }
}

#[tokio::test]
async fn a_token_refused_twice_is_reported_not_refreshed_again() {
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let fake = serve(move |hit| {
        let answer = issuer.answer(&hit, 7200);
        async move { answer.unwrap_or_else(|| errcode(42001, "access_token expired rid: ab-12")) }
    })
    .await;
    let client = builder(&fake.base_url()).build().unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert_eq!(err.errcode(), Some(&Code::AccessTokenExpired));
    assert_eq!(err.rejection().unwrap().rid.as_deref(), Some("ab-12"));
    assert_eq!(err.attempts(), 2);
    assert_eq!(tokens.issued(), 2);
    assert_eq!(fake.count(SEND), 2);
}

#[tokio::test]
async fn classic_token_source() {
    let (fake, tokens) = accepting(7200).await;
    let client = builder(&fake.base_url())
        .token_source(TokenSource::classic(APPID, SECRET))
        .build()
        .unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    let fetch = &fake.to("/cgi-bin/token")[0];
    assert_eq!(fetch.method, "GET");
    assert_eq!(fetch.query["grant_type"], "client_credential");
    assert_eq!(fetch.query["appid"], APPID);
    assert_eq!(fetch.query["secret"], SECRET);
    assert_eq!(tokens.issued(), 1);
    assert_eq!(fake.count(STABLE), 0);
}

#[tokio::test]
async fn token_endpoint_errcode_is_a_token_error_and_nothing_is_sent() {
    let fake = serve(|hit| async move {
        if hit.path == STABLE {
            errcode(40125, "invalid appsecret rid: 77-88")
        } else {
            ok()
        }
    })
    .await;
    let client = builder(&fake.base_url()).build().unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert!(err.is_not_sent());
    assert_eq!(err.attempts(), 0);
    let ErrorKind::Token(token) = err.kind() else {
        panic!("expected a token error, got {err:?}");
    };
    assert_eq!(token.errcode(), Some(&TokenErrcode::InvalidAppSecret));
    assert!(
        matches!(token.kind(), TokenErrorKind::Rejected(r) if r.rid.as_deref() == Some("77-88"))
    );
    assert_eq!(fake.count(SEND), 0);
    assert_eq!(
        fake.count(STABLE),
        1,
        "a permanent token errcode is not retried"
    );
}

#[tokio::test]
async fn token_endpoint_busy_is_retried() {
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let busy = Arc::new(AtomicUsize::new(0));
    let fake = serve(move |hit| {
        let issuer = issuer.clone();
        let busy = busy.clone();
        async move {
            if hit.path == STABLE && busy.fetch_add(1, Ordering::SeqCst) == 0 {
                return errcode(-1, "system error");
            }
            issuer.answer(&hit, 7200).unwrap_or_else(ok)
        }
    })
    .await;
    let client = builder(&fake.base_url()).build().unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(fake.count(STABLE), 2);
}

#[tokio::test]
async fn token_answer_without_expiry_is_a_bad_answer_that_hides_the_token() {
    let fake = serve(|hit| async move {
        if hit.path == STABLE {
            json(json!({"access_token": "LEAKY-TOKEN-123456", "expires_in": "7200"}))
        } else {
            ok()
        }
    })
    .await;
    let client = builder(&fake.base_url()).build().unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    let ErrorKind::Token(token) = err.kind() else {
        panic!("expected a token error, got {err:?}");
    };
    let TokenErrorKind::BadAnswer(bad) = token.kind() else {
        panic!("expected a bad token answer, got {token:?}");
    };
    // Every byte of a token answer may be the token: no excerpt at all;
    // the problem names the field.
    assert_eq!(bad.excerpt(), "");
    assert!(
        matches!(bad.problem(), AnswerProblem::Fields(w) if w.path() == "expires_in"),
        "{bad:?}"
    );
    assert!(err.to_string().contains("expires_in"), "{err}");
    for text in [format!("{err}"), format!("{err:?}")] {
        assert!(!text.contains("LEAKY-TOKEN-123456"), "{text}");
    }
}

#[tokio::test]
async fn fixed_token_is_never_fetched_nor_refreshed() {
    let fake = serve(|hit| async move {
        if hit.token() == Some("FIXED-TOKEN-abc") {
            errcode(40001, "invalid credential")
        } else {
            ok()
        }
    })
    .await;
    let client = builder(&fake.base_url())
        .token_source(TokenSource::fixed("FIXED-TOKEN-abc"))
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert_eq!(err.errcode(), Some(&Code::InvalidCredential));
    assert_eq!(err.attempts(), 1);
    assert_eq!(fake.count(STABLE), 0);
    assert_eq!(fake.hits().len(), 1);
}

#[tokio::test]
async fn no_token_for_cloud_hosting() {
    let fake = serve(|hit| async move {
        if hit.query.contains_key("access_token") {
            errcode(40001, "unexpected token")
        } else {
            ok()
        }
    })
    .await;
    let client = builder(&fake.base_url())
        .token_source(TokenSource::None)
        .build()
        .unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(client.access_token().await.unwrap(), None);
    assert_eq!(fake.hits().len(), 1);
    assert!(fake.hits()[0].query.is_empty());
}

struct Central {
    calls: Arc<AtomicUsize>,
}

impl TokenProvider for Central {
    fn fetch_token(&self) -> BoxFuture<'_, Result<FreshToken, BoxError>> {
        Box::pin(async move {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(FreshToken {
                token: AccessToken::new(format!("CENTRAL-{n}")),
                expires_in: None,
            })
        })
    }
}

#[tokio::test]
async fn custom_provider_is_cached_and_asked_again_when_refused() {
    let fake = serve(|hit| async move {
        if hit.token() == Some("CENTRAL-1") {
            errcode(40001, "invalid credential")
        } else {
            ok()
        }
    })
    .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let client = builder(&fake.base_url())
        .token_provider(Central {
            calls: calls.clone(),
        })
        .build()
        .unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let used: Vec<_> = fake
        .hits()
        .iter()
        .map(|h| h.token().unwrap().to_owned())
        .collect();
    assert_eq!(used, ["CENTRAL-1", "CENTRAL-2", "CENTRAL-2"]);
}

struct Broken;

impl TokenProvider for Broken {
    fn fetch_token(&self) -> BoxFuture<'_, Result<FreshToken, BoxError>> {
        Box::pin(async { Err("the token service is down".into()) })
    }
}

#[tokio::test]
async fn failing_provider_is_a_token_error() {
    let fake = serve(|_| async { ok() }).await;
    let client = builder(&fake.base_url())
        .token_provider(Broken)
        .build()
        .unwrap();
    let err = client.send(&text_message("OPENID")).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Token(t) if matches!(t.kind(), TokenErrorKind::Provider(_)))
    );
    assert!(
        err.to_string().contains("the token service is down"),
        "{err}"
    );
    assert_eq!(fake.hits().len(), 0);
}

#[tokio::test]
async fn secrets_and_tokens_are_redacted_in_debug_and_display() {
    let token = AccessToken::new("TOKEN-VALUE-xyz");
    let source = TokenSource::stable(APPID, SECRET);
    for text in [
        format!("{token}"),
        format!("{token:?}"),
        format!("{source:?}"),
        format!("{:?}", TokenSource::fixed("TOKEN-VALUE-xyz")),
        format!("{:?}", builder("http://127.0.0.1:1")),
        format!("{:?}", builder("http://127.0.0.1:1").build().unwrap()),
    ] {
        assert!(!text.contains("TOKEN-VALUE-xyz"), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
    assert_eq!(token.expose(), "TOKEN-VALUE-xyz");
}
