//! `Client::send_value`, the send of the CLI: an endpoint known at run time
//! and a JSON body, validated first, then the same call path as typed sends.
#![cfg(feature = "client")]

mod client_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use client_support::*;
use serde_json::json;
use wechat_msg::Via;
use wechat_msg::client::{Delivery, ErrorKind};
use wechat_msg::{AnyErrcode, Errcode, ErrorClass, Form};

const SEND: &str = "/cgi-bin/message/custom/send";

fn info(name: &str) -> &'static wechat_msg::meta::EndpointInfo {
    wechat_msg::meta::endpoint(name).unwrap()
}

async fn accepting() -> Fake {
    let tokens = Tokens::default();
    serve(move |hit| {
        let token = tokens.answer(&hit, 7200);
        async move {
            match token {
                Some(token) => token,
                None if hit.json()["touser"] == "STRANGER" => {
                    errcode(40003, "invalid openid rid: 11-22")
                }
                None => ok(),
            }
        }
    })
    .await
}

#[tokio::test]
async fn sends_a_body_in_either_form_and_answers_json() {
    let fake = accepting().await;
    let client = builder(&fake.base_url()).build().unwrap();
    let send = info("customerServiceMessage.send");
    let http = json!({"touser": "OPENID", "msgtype": "miniprogrampage", "miniprogrampage": {
        "title": "title", "pagepath": "pages/index", "thumb_media_id": "MEDIA"}});
    let answer = client
        .send_value(send, &http, Form::Http, &Via::Http)
        .await
        .unwrap();
    assert_eq!(answer, json!({"errcode": 0, "errmsg": "ok"}));

    let cloud = json!({"touser": "OPENID", "msgtype": "miniprogrampage", "miniprogrampage": {
        "title": "title", "pagepath": "pages/index", "thumbMediaId": "MEDIA"}});
    let answer = client
        .send_value(send, &cloud, Form::Cloud, &Via::Http)
        .await
        .unwrap();
    // Answered in the caller's form.
    assert_eq!(answer, json!({"errCode": 0, "errMsg": "ok"}));

    // Both went over the wire in the HTTP form.
    let sent: Vec<_> = fake.to(SEND).iter().map(|h| h.json()).collect();
    assert_eq!(sent[0], http);
    assert_eq!(sent[1], http);
}

#[tokio::test]
async fn an_invalid_body_is_not_sent() {
    let fake = accepting().await;
    let client = builder(&fake.base_url()).build().unwrap();
    let send = info("customerServiceMessage.send");
    let body = json!({"touser": "OPENID", "msgtype": "link", "link": {"title": "t", "description": "d", "url": "u"}});
    let err = client
        .send_value(send, &body, Form::Http, &Via::Http)
        .await
        .unwrap_err();
    let ErrorKind::InvalidRequest(wire) = err.kind() else {
        panic!("expected an invalid request, got {err:?}");
    };
    assert_eq!(wire.path(), "link.thumb_url");
    assert!(err.is_not_sent());
    assert_eq!(err.attempts(), 0);
    assert!(err.to_string().contains("link.thumb_url"), "{err}");
    assert!(
        fake.hits().is_empty(),
        "nothing at all was sent, not even a token fetch"
    );
}

#[tokio::test]
async fn a_rejection_carries_the_endpoints_errcode_row() {
    let fake = accepting().await;
    let client = builder(&fake.base_url()).build().unwrap();
    let send = info("customerServiceMessage.send");
    let body = json!({"touser": "STRANGER", "msgtype": "text", "text": {"content": "hi"}});
    let err = client
        .send_value(send, &body, Form::Http, &Via::Http)
        .await
        .unwrap_err();
    let code: &AnyErrcode = err.errcode().unwrap();
    assert_eq!(code.code(), 40003);
    assert_eq!(code.name(), Some("InvalidOpenid"));
    assert_eq!(code.class(), ErrorClass::Permanent);
    assert!(!code.is_retryable());
    assert_eq!(err.rejection().unwrap().rid.as_deref(), Some("11-22"));
    assert_eq!(err.delivery(), Delivery::Answered);
    assert!(err.to_string().contains("InvalidOpenid (40003)"), "{err}");
}

#[tokio::test]
async fn the_dynamic_send_retries_and_refreshes_like_the_typed_one() {
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let fake = serve(move |hit| {
        let token = issuer.answer(&hit, 7200);
        let calls = calls.clone();
        async move {
            if let Some(token) = token {
                return token;
            }
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => errcode(-1, "system error"),
                1 => errcode(40001, "invalid credential"),
                _ => ok(),
            }
        }
    })
    .await;
    let client = builder(&fake.base_url()).build().unwrap();
    let body = json!({"touser": "OPENID", "command": "Typing"});
    client
        .send_value(
            info("customerServiceMessage.setTyping"),
            &body,
            Form::Http,
            &Via::Http,
        )
        .await
        .unwrap();
    assert_eq!(fake.count("/cgi-bin/message/custom/business/typing"), 3);
    assert_eq!(tokens.issued(), 2);
}

#[tokio::test]
async fn an_unknown_errcode_in_a_dynamic_send_is_kept() {
    let fake = serve(|_| async { errcode(61234, "something new") }).await;
    let client = builder(&fake.base_url())
        .token_source(wechat_msg::client::TokenSource::None)
        .build()
        .unwrap();
    let body = json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hi"}});
    let err = client
        .send_value(
            info("customerServiceMessage.send"),
            &body,
            Form::Http,
            &Via::Http,
        )
        .await
        .unwrap_err();
    let code = err.errcode().unwrap();
    assert_eq!(code.code(), 61234);
    assert_eq!(code.name(), None);
    assert_eq!(err.rejection().unwrap().errmsg, "something new");
}

#[tokio::test]
async fn every_endpoint_of_the_spec_can_be_sent_dynamically() {
    // A body each endpoint accepts, derived from nothing but its metadata
    // would need the spec's types; instead check that every endpoint's
    // request goes to its own method and path.
    let fake = serve(|_| async { ok() }).await;
    let client = builder(&fake.base_url())
        .token_source(wechat_msg::client::TokenSource::None)
        .build()
        .unwrap();
    let bodies = [
        (
            "customerServiceMessage.send",
            json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hi"}}),
        ),
        (
            "customerServiceMessage.setTyping",
            json!({"touser": "OPENID", "command": "CancelTyping"}),
        ),
        (
            "subscribeMessage.send",
            json!({"touser": "OPENID", "template_id": "TEMPLATE_ID", "data": {"thing1": {"value": "x"}}}),
        ),
    ];
    for (name, body) in bodies {
        let info = info(name);
        client
            .send_value(info, &body, Form::Http, &Via::Http)
            .await
            .unwrap();
        let hit = fake.hits().pop().unwrap();
        assert_eq!(hit.path, info.path, "{name}");
        assert_eq!(hit.method, info.method.as_str(), "{name}");
        assert_eq!(hit.json(), body, "{name}");
    }
}

#[tokio::test]
async fn a_dynamic_answer_is_converted_at_every_depth() {
    let fake = serve(|hit| async move {
        match hit.path.as_str() {
            "/wxaapi/newtmpl/gettemplate" => json(json!({
                "errcode": 0,
                "errmsg": "ok",
                "data": [{
                    "priTmplId": "T1",
                    "title": "t",
                    "content": "c",
                    "type": 2,
                    "keywordEnumValueList": [
                        {"keywordCode": "phrase1.DATA", "enumValueList": ["a"], "sort_order": 1}
                    ],
                    "extra_note": {"inner_key": [{"deep_key": true}]}
                }],
                "next_page": "p2"
            })),
            "/wxaapi/newtmpl/getcategory" => {
                json(json!({"errcode": 0, "errmsg": "ok", "data": "not a list"}))
            }
            _ => ok(),
        }
    })
    .await;
    let client = builder(&fake.base_url())
        .token_source(wechat_msg::client::TokenSource::None)
        .build()
        .unwrap();
    let list = info("subscribeMessage.getTemplateList");
    let answer = client
        .send_value(list, &json!({}), Form::Cloud, &Via::Http)
        .await
        .unwrap();
    // The spec's names at every depth (verbatim camelCase keys stay as they
    // are, where the SDK's rule would not touch them either way), the
    // status keys by name, and keys the spec does not name, at any depth,
    // by wx-server-sdk's rule.
    assert_eq!(
        answer,
        json!({
            "errCode": 0,
            "errMsg": "ok",
            "data": [{
                "priTmplId": "T1",
                "title": "t",
                "content": "c",
                "type": 2,
                "keywordEnumValueList": [
                    {"keywordCode": "phrase1.DATA", "enumValueList": ["a"], "sortOrder": 1}
                ],
                "extraNote": {"innerKey": [{"deepKey": true}]}
            }],
            "nextPage": "p2"
        })
    );
    // In the form it came in, the answer is WeChat's as is.
    let same = client
        .send_value(list, &json!({}), Form::Http, &Via::Http)
        .await
        .unwrap();
    assert_eq!(
        same["data"][0]["extra_note"]["inner_key"][0]["deep_key"],
        true
    );

    // An answer without the spec's shape is a bad answer, naming the field.
    let err = client
        .send_value(
            info("subscribeMessage.getCategory"),
            &json!({}),
            Form::Cloud,
            &Via::Http,
        )
        .await
        .unwrap_err();
    let ErrorKind::BadAnswer(bad) = err.kind() else {
        panic!("expected a bad answer, got {err:?}");
    };
    let wechat_msg::client::AnswerProblem::Fields(wire) = bad.problem() else {
        panic!("expected a field problem, got {bad:?}");
    };
    assert_eq!(wire.path(), "data", "{err}");
}
