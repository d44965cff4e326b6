//! The cloud-call path end to end against a local stand-in for
//! `/tcb/invokecloudfunction` that behaves like the relay in `cloud-relay/`,
//! and the HTTP path against the same server: the same request gives the
//! same result either way.
#![cfg(feature = "client")]

mod client_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use client_support::*;
use serde_json::{Value, json};
use wechat_msg::client::{AnswerProblem, CloudFunction, ErrorKind};
use wechat_msg::{Client, Via};
use wechat_msg::{
    CustomerServiceMessageGetTempMediaErrcode, CustomerServiceMessageSendErrcode as Code, Form,
    MediaBytes, MediaFile, TempMediaQuery, TempMediaType, TempMediaUpload,
};

const INVOKE: &str = "/tcb/invokecloudfunction";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

fn cloud() -> Via {
    Via::Cloud(CloudFunction::new("prod-4g1x", "relay"))
}

/// What the relay returns for an event, as the SDK would.
fn relay(event: &Value) -> Value {
    let api = event["api"].as_str().unwrap_or_default();
    let data = &event["data"];
    match api {
        "customerServiceMessage.send" if data["touser"] == "OPENID" => {
            json!({"errCode": 0, "errMsg": "openapi.customerServiceMessage.send:ok"})
        }
        "customerServiceMessage.send" => json!({
            "errCode": 40003,
            "errMsg": "openapi.customerServiceMessage.send:fail invalid openid rid: 65f0-77aa"
        }),
        "customerServiceMessage.uploadTempMedia" => {
            let file = &data["media"];
            let bytes = STANDARD
                .decode(file["value"].as_str().unwrap_or_default())
                .unwrap_or_default();
            if event["files"] != json!(["media"])
                || bytes != PNG
                || file["contentType"] != "image/png"
            {
                return json!({"errCode": 41005, "errMsg": "openapi.customerServiceMessage.uploadTempMedia:fail media data missing"});
            }
            json!({"errCode": 0, "errMsg": "openapi.customerServiceMessage.uploadTempMedia:ok",
                   "type": data["type"], "mediaId": "MEDIA_ID", "createdAt": 1700000000})
        }
        "customerServiceMessage.getTempMedia" => json!({
            "errCode": 0, "errMsg": "openapi.customerServiceMessage.getTempMedia:ok",
            "contentType": "image/png", "buffer": STANDARD.encode(PNG)
        }),
        other => json!({"errCode": -604100, "errMsg": format!("openapi.{other}:fail unknown API")}),
    }
}

/// WeChat, HTTP and cloud-call sides, for the tests here.
async fn wechat() -> (Fake, Tokens) {
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let fake = serve(move |hit| {
        let token = issuer.answer(&hit, 7200);
        async move {
            if let Some(token) = token {
                return token;
            }
            match hit.path.as_str() {
                INVOKE => {
                    if hit.query.get("env").map(String::as_str) != Some("prod-4g1x")
                        || hit.query.get("name").map(String::as_str) != Some("relay")
                    {
                        return errcode(-501000, "env or function not found");
                    }
                    let inner = relay(&hit.json());
                    json(json!({"errcode": 0, "errmsg": "ok", "resp_data": inner.to_string()}))
                }
                "/cgi-bin/message/custom/send" if hit.json()["touser"] == "OPENID" => ok(),
                "/cgi-bin/message/custom/send" => errcode(40003, "invalid openid rid: 65f0-77aa"),
                "/cgi-bin/media/upload" => {
                    let (name, file_name, ct, bytes) = &hit.parts[0];
                    assert_eq!(hit.parts.len(), 1);
                    assert_eq!(name, "media");
                    assert_eq!(file_name.as_deref(), Some("media.png"));
                    assert_eq!(ct.as_deref(), Some("image/png"));
                    assert_eq!(&bytes[..], PNG);
                    json(json!({"errcode": 0, "errmsg": "ok", "type": hit.query["type"], "media_id": "MEDIA_ID", "created_at": 1700000000}))
                }
                "/cgi-bin/media/get" if hit.query.get("media_id").map(String::as_str) == Some("MEDIA_ID") => {
                    raw(200, "image/png", PNG)
                }
                "/cgi-bin/media/get" => raw(
                    200,
                    "text/plain",
                    r#"{"errcode":40007,"errmsg":"invalid media_id rid: 1a-2b"}"#,
                ),
                _ => errcode(404, "no such path in the stand-in"),
            }
        }
    })
    .await;
    (fake, tokens)
}

fn client(fake: &Fake) -> Client {
    builder(&fake.base_url()).build().unwrap()
}

#[tokio::test]
async fn the_invoke_request_carries_the_camel_case_event() {
    let (fake, _) = wechat().await;
    let link = wechat_msg::CustomerServiceMessage::builder()
        .touser("OPENID")
        .body(
            wechat_msg::Link::builder()
                .title("Happy Day")
                .description("Is Really A Happy Day")
                .url("https://example.com")
                .thumb_url("https://example.com/thumb.png")
                .build(),
        )
        .build();
    client(&fake).send_via(&link, &cloud()).await.unwrap();
    let invoke = &fake.to(INVOKE)[0];
    assert_eq!(invoke.method, "POST");
    assert_eq!(invoke.query["env"], "prod-4g1x");
    assert_eq!(invoke.query["name"], "relay");
    assert_eq!(invoke.token(), Some(Tokens::nth(1).as_str()));
    assert_eq!(
        invoke.json(),
        json!({
            "api": "customerServiceMessage.send",
            "data": {
                "touser": "OPENID",
                "msgtype": "link",
                "link": {
                    "title": "Happy Day",
                    "description": "Is Really A Happy Day",
                    "url": "https://example.com",
                    "thumbUrl": "https://example.com/thumb.png"
                }
            }
        })
    );
}

#[tokio::test]
async fn the_same_request_gives_the_same_result_either_way() {
    let (fake, _) = wechat().await;
    let client = client(&fake);
    for via in [Via::Http, cloud()] {
        client
            .send_via(&text_message("OPENID"), &via)
            .await
            .unwrap();
        let err = client
            .send_via(&text_message("STRANGER"), &via)
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(&Code::InvalidOpenid), "{via:?}");
        assert_eq!(err.via(), via.form());
        assert_eq!(
            err.rejection().unwrap().rid.as_deref(),
            Some("65f0-77aa"),
            "{via:?}"
        );
        assert_eq!(err.attempts(), 1);
    }
    assert_eq!(fake.count(INVOKE), 2);
    assert_eq!(fake.count("/cgi-bin/message/custom/send"), 2);
}

#[tokio::test]
async fn the_default_transport_can_be_the_cloud_call() {
    let (fake, _) = wechat().await;
    let client = builder(&fake.base_url()).via(cloud()).build().unwrap();
    client.send(&text_message("OPENID")).await.unwrap();
    assert_eq!(fake.count(INVOKE), 1);
}

#[tokio::test]
async fn upload_either_way() {
    let (fake, _) = wechat().await;
    let client = client(&fake);
    let upload = TempMediaUpload::builder()
        .media_type(TempMediaType::Image)
        .media(MediaFile::new("image/png", PNG.to_vec()))
        .build();
    let by_http = client.send_via(&upload, &Via::Http).await.unwrap();
    let by_cloud = client.send_via(&upload, &cloud()).await.unwrap();
    assert_eq!(by_http, by_cloud);
    assert_eq!(by_http.media_id, "MEDIA_ID");

    let sent = &fake.to("/cgi-bin/media/upload")[0];
    assert_eq!(sent.query["type"], "image");
    assert!(sent.query.contains_key("access_token"));
    let invoke = fake.to(INVOKE)[0].json();
    assert_eq!(invoke["files"], json!(["media"]));
    assert_eq!(invoke["data"]["type"], "image");
    assert_eq!(invoke["data"]["media"]["value"], STANDARD.encode(PNG));
}

#[tokio::test]
async fn binary_answers_either_way() {
    let (fake, _) = wechat().await;
    let client = client(&fake);
    let query = TempMediaQuery::builder().media_id("MEDIA_ID").build();
    let by_http = client.send_via(&query, &Via::Http).await.unwrap();
    let by_cloud = client.send_via(&query, &cloud()).await.unwrap();
    let expected = MediaBytes {
        content_type: "image/png".to_owned(),
        bytes: PNG.to_vec(),
    };
    assert_eq!(by_http, expected);
    assert_eq!(by_cloud, expected);
    let get = &fake.to("/cgi-bin/media/get")[0];
    assert_eq!(get.method, "GET");
    assert_eq!(get.query["media_id"], "MEDIA_ID");
    assert!(get.body.is_empty());

    // A JSON body from a binary endpoint is its error answer.
    let missing = TempMediaQuery::builder().media_id("GONE").build();
    let err = client.send_via(&missing, &Via::Http).await.unwrap_err();
    assert_eq!(
        err.errcode(),
        Some(&CustomerServiceMessageGetTempMediaErrcode::InvalidMediaId)
    );
}

#[tokio::test]
async fn an_invoke_errcode_about_the_token_refreshes_and_retries() {
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let fake = serve(move |hit| {
        let token = issuer.answer(&hit, 7200);
        async move {
            if let Some(token) = token {
                return token;
            }
            if hit.token() == Some(Tokens::nth(1).as_str()) {
                return errcode(42001, "access_token expired rid: 9-9");
            }
            let inner = relay(&hit.json());
            json(json!({"errcode": 0, "errmsg": "ok", "resp_data": inner.to_string()}))
        }
    })
    .await;
    client(&fake)
        .send_via(&text_message("OPENID"), &cloud())
        .await
        .unwrap();
    assert_eq!(tokens.issued(), 2);
    assert_eq!(fake.count(INVOKE), 2);
}

#[tokio::test]
async fn a_busy_api_in_the_cloud_is_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let fake = serve(move |hit| {
        let calls = calls.clone();
        async move {
            let inner = if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                json!({"errCode": -1, "errMsg": "openapi.customerServiceMessage.send:fail system error"})
            } else {
                relay(&hit.json())
            };
            json(json!({"errcode": 0, "errmsg": "ok", "resp_data": inner.to_string()}))
        }
    })
    .await;
    let client = builder(&fake.base_url())
        .token_source(wechat_msg::client::TokenSource::None)
        .build()
        .unwrap();
    client
        .send_via(&text_message("OPENID"), &cloud())
        .await
        .unwrap();
    assert_eq!(fake.count(INVOKE), 2);
}

#[tokio::test]
async fn a_missing_or_broken_resp_data_is_delivery_unknown() {
    for outer in [
        json!({"errcode": 0, "errmsg": "ok"}),
        json!({"errcode": 0, "errmsg": "ok", "resp_data": "{\"errCode\":0,"}),
        json!({"errcode": 0, "errmsg": "ok", "resp_data": 7}),
    ] {
        let body = outer.clone();
        let fake = serve(move |_| {
            let body = body.clone();
            async move { json(body) }
        })
        .await;
        let client = builder(&fake.base_url())
            .token_source(wechat_msg::client::TokenSource::None)
            .build()
            .unwrap();
        let err = client
            .send_via(&text_message("OPENID"), &cloud())
            .await
            .unwrap_err();
        assert!(err.is_delivery_unknown(), "{outer}: {err:?}");
        assert_eq!(
            err.bad_answer().unwrap().problem(),
            &AnswerProblem::RespData,
            "{outer}"
        );
        assert_eq!(fake.count(INVOKE), 1);
    }
}

#[tokio::test]
async fn an_errcode_that_is_not_a_number_in_resp_data_is_delivery_unknown() {
    let fake = serve(|_| async {
        json(json!({"errcode": 0, "errmsg": "ok", "resp_data": "{\"errCode\":\"x\"}"}))
    })
    .await;
    let client = builder(&fake.base_url())
        .token_source(wechat_msg::client::TokenSource::None)
        .build()
        .unwrap();
    let err = client
        .send_via(&text_message("OPENID"), &cloud())
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::DeliveryUnknown(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn dynamic_send_over_the_cloud_answers_in_the_callers_form() {
    let (fake, _) = wechat().await;
    let client = client(&fake);
    let info = wechat_msg::meta::endpoint("customerServiceMessage.uploadTempMedia").unwrap();
    let body = json!({"type": "image", "media": {"content_type": "image/png", "value": STANDARD.encode(PNG)}});
    let answer = client
        .send_value(info, &body, Form::Http, &cloud())
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"errcode": 0, "errmsg": "openapi.customerServiceMessage.uploadTempMedia:ok",
               "type": "image", "media_id": "MEDIA_ID", "created_at": 1700000000})
    );
    let answer = client
        .send_value(info, &body, Form::Http, &Via::Http)
        .await
        .unwrap();
    assert_eq!(answer["media_id"], "MEDIA_ID");

    let info = wechat_msg::meta::endpoint("customerServiceMessage.getTempMedia").unwrap();
    for via in [Via::Http, cloud()] {
        let answer = client
            .send_value(info, &json!({"mediaId": "MEDIA_ID"}), Form::Cloud, &via)
            .await
            .unwrap();
        assert_eq!(answer["contentType"], "image/png", "{via:?}");
        assert_eq!(answer["buffer"], STANDARD.encode(PNG), "{via:?}");
    }
}
