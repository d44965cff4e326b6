//! The crate's client against the emulator: tokens, rotation, form_id
//! reuse, quotas and faults, over both transports.
// templateMessage.send is retired by WeChat; the emulator still serves it,
// and it is the endpoint with a form_id.
#![allow(deprecated)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use wechat_msg::client::{CloudFunction, DeliveryUnknown, ErrorKind, RetryPolicy, TokenSource};
use wechat_msg::{
    Client, CustomerServiceMessage, Errcode, Form, TemplateMessage, Text, Via as ClientVia,
};
use wechat_msg_emulator::{App, Config, Emulator, Faults, Via};

mod spec {
    wechat_msg::api!("tests/spec");
}

fn cloud() -> ClientVia {
    ClientVia::Cloud(CloudFunction::new("test-env", "wxmsg-relay"))
}

fn both() -> [ClientVia; 2] {
    [ClientVia::Http, cloud()]
}

fn client(emu: &Emulator, source: TokenSource, via: ClientVia) -> Client {
    Client::builder()
        .base_url(emu.base_url())
        .token_source(source)
        .retry(RetryPolicy::new(
            3,
            Duration::from_millis(1),
            Duration::from_millis(5),
        ))
        .timeout(Duration::from_secs(10))
        .via(via)
        .build()
        .expect("a client")
}

fn stable(emu: &Emulator) -> TokenSource {
    TokenSource::stable(emu.app().appid.clone(), emu.app().secret.clone())
}

fn classic(emu: &Emulator) -> TokenSource {
    TokenSource::classic(emu.app().appid.clone(), emu.app().secret.clone())
}

fn text(content: &str) -> CustomerServiceMessage {
    CustomerServiceMessage::builder()
        .touser("OPENID")
        .body(Text::builder().content(content).build())
        .build()
}

fn template(form_id: &str) -> TemplateMessage {
    TemplateMessage::builder()
        .touser("OPENID")
        .template_id("TEMPLATE_ID")
        .form_id(form_id)
        .build()
}

#[tokio::test]
async fn every_doc_example_goes_through_both_transports() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        let client = client(&emu, stable(&emu), via.clone());
        for (api, name, body) in common::doc_examples("http") {
            emu.reset();
            let info = wechat_msg::meta::endpoint(&api).unwrap();
            let answer = client
                .send_value(info, &body, Form::Http, &via)
                .await
                .unwrap_or_else(|e| panic!("{api} {name} over {via:?}: {e}"));
            assert_eq!(answer["errcode"], 0, "{answer}");
            let messages = emu.messages();
            assert_eq!(messages.len(), 1);
            assert_eq!(messages[0].body, body, "{api} {name}");
            let expected = match via {
                ClientVia::Http => Via::Http,
                _ => Via::Cloud,
            };
            assert_eq!(messages[0].via, expected);
        }
    }
}

#[tokio::test]
async fn the_stable_token_is_fetched_once_and_refreshed_after_expiry() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        emu.reset();
        let client = client(&emu, stable(&emu), via);
        client.send(&text("one")).await.unwrap();
        client.send(&text("two")).await.unwrap();
        assert_eq!(emu.counters().stable_token_fetches, 1);
        emu.expire_tokens();
        client.send(&text("three")).await.unwrap();
        let counters = emu.counters();
        assert_eq!(counters.stable_token_fetches, 2, "refreshed once");
        assert_eq!(counters.errors[&42001], 1);
        assert_eq!(emu.messages().len(), 3);
    }
}

#[tokio::test]
async fn a_classic_token_rotated_by_another_instance_is_refreshed() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    let a = client(&emu, classic(&emu), ClientVia::Http);
    let b = client(&emu, classic(&emu), ClientVia::Http);
    a.send(&text("a1")).await.unwrap();
    b.send(&text("b1")).await.unwrap(); // rotates a's token
    emu.advance_clock(Duration::from_secs(301)); // past the grace period
    a.send(&text("a2")).await.unwrap();
    let counters = emu.counters();
    assert_eq!(counters.token_fetches, 3);
    assert_eq!(counters.errors[&40001], 1);
    assert_eq!(emu.messages().len(), 3);
}

#[tokio::test]
async fn wrong_credentials_are_a_token_error_and_nothing_is_sent() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for (source, code) in [
        (TokenSource::stable(App::DEFAULT_APPID, "wrong"), 40125),
        (TokenSource::classic("wxnobody", App::DEFAULT_SECRET), 40013),
    ] {
        let client = client(&emu, source, ClientVia::Http);
        let err = client.send(&text("x")).await.unwrap_err();
        assert!(err.is_not_sent(), "{err}");
        let ErrorKind::Token(token) = err.kind() else {
            panic!("not a token error: {err}");
        };
        assert_eq!(token.errcode().map(Errcode::code), Some(code), "{err}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(App::DEFAULT_SECRET), "{shown}");
    }
    assert!(emu.messages().is_empty());
}

#[tokio::test]
async fn a_reused_form_id_is_41029_over_both_transports() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        emu.reset();
        let client = client(&emu, stable(&emu), via.clone());
        client.send(&template("FORMID")).await.unwrap();
        let err = client.send(&template("FORMID")).await.unwrap_err();
        assert_eq!(
            err.errcode().map(Errcode::code),
            Some(41029),
            "{via:?}: {err}"
        );
        assert_eq!(err.attempts(), 1, "never retried");
        let rejection = err.rejection().unwrap();
        assert!(rejection.rid.is_some(), "{err}");
        let err = client.send(&template("NEVER")).await.unwrap_err();
        assert_eq!(err.errcode().map(Errcode::code), Some(41028));
    }
}

#[tokio::test]
async fn an_exhausted_quota_is_45009_and_not_retried() {
    let mut config = Config::default();
    config.quotas.daily = Some(2);
    let emu = Emulator::start(config).await.unwrap();
    for via in both() {
        emu.reset();
        let client = client(&emu, stable(&emu), via.clone());
        client.send(&text("1")).await.unwrap();
        client.send(&text("2")).await.unwrap();
        let err = client.send(&text("3")).await.unwrap_err();
        assert_eq!(
            err.errcode().map(Errcode::code),
            Some(45009),
            "{via:?}: {err}"
        );
        assert_eq!(err.attempts(), 1);
        assert_eq!(emu.messages().len(), 2);
    }
}

#[tokio::test]
async fn the_per_user_limit_is_45047() {
    let mut config = Config::default();
    config.quotas.endpoints.insert(
        "customerServiceMessage.send".into(),
        wechat_msg_emulator::EndpointQuota::new(None, Some(1)),
    );
    let emu = Emulator::start(config).await.unwrap();
    let client = client(&emu, stable(&emu), cloud());
    client.send(&text("1")).await.unwrap();
    let err = client.send(&text("2")).await.unwrap_err();
    assert_eq!(err.errcode().map(Errcode::code), Some(45047), "{err}");
}

#[tokio::test]
async fn system_busy_is_retried_until_it_passes() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        emu.reset();
        let client = client(&emu, stable(&emu), via.clone());
        emu.set_faults(Faults {
            system_busy: 2,
            ..Faults::none()
        });
        client.send(&text("busy")).await.unwrap();
        let counters = emu.counters();
        assert_eq!(counters.calls, 3, "{via:?}: two busy answers, then success");
        assert_eq!(emu.messages().len(), 1);
        // More busy answers than retries: the error says -1.
        emu.set_faults(Faults {
            system_busy: 10,
            ..Faults::none()
        });
        let err = client.send(&text("busier")).await.unwrap_err();
        assert_eq!(err.errcode().map(Errcode::code), Some(-1));
        assert_eq!(err.attempts(), 4);
    }
}

#[tokio::test]
async fn gateway_errors_leave_delivery_unknown_and_are_not_retried() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        for html in [false, true] {
            emu.reset();
            let client = client(&emu, stable(&emu), via.clone());
            client.access_token().await.unwrap();
            emu.set_faults(Faults {
                server_error: 1,
                server_error_html: html,
                ..Faults::none()
            });
            let err = client.send(&text("x")).await.unwrap_err();
            assert!(err.is_delivery_unknown(), "{via:?} html={html}: {err}");
            assert_eq!(emu.counters().calls, 1, "not retried");
        }
    }
}

#[tokio::test]
async fn a_truncated_answer_is_delivery_unknown_and_the_message_went_through() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        emu.reset();
        let client = client(&emu, stable(&emu), via.clone());
        emu.set_faults(Faults {
            truncate: 1,
            ..Faults::none()
        });
        let err = client.send(&text("x")).await.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::DeliveryUnknown(DeliveryUnknown::BadAnswer(_))
            ),
            "{via:?}: {err}"
        );
        assert_eq!(emu.messages().len(), 1);
        assert_eq!(emu.counters().calls, 1);
    }
}

#[tokio::test]
async fn a_reset_connection_is_delivery_unknown_and_the_message_went_through() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        emu.reset();
        let client = client(&emu, stable(&emu), via.clone());
        client.access_token().await.unwrap();
        emu.set_faults(Faults {
            reset: 1,
            ..Faults::none()
        });
        let err = client.send(&text("x")).await.unwrap_err();
        assert!(err.is_delivery_unknown(), "{via:?}: {err}");
        assert_eq!(emu.messages().len(), 1);
        assert_eq!(emu.counters().calls, 1);
        // The client recovers on the next call.
        client.send(&text("y")).await.unwrap();
    }
}

#[tokio::test]
async fn an_invalid_dynamic_body_is_not_sent() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    let client = client(&emu, stable(&emu), ClientVia::Http);
    let info = wechat_msg::meta::endpoint("customerServiceMessage.send").unwrap();
    let body = json!({"touser": "OPENID", "msgtype": "link", "link": {}});
    let err = client
        .send_value(info, &body, Form::Http, &ClientVia::Http)
        .await
        .unwrap_err();
    assert!(err.is_not_sent());
    assert_eq!(emu.counters().calls, 0);
    // An openid the emulator does not know is WeChat's answer, not the client's.
    let body = json!({"touser": "NOBODY", "msgtype": "text", "text": {"content": "x"}});
    let err = client
        .send_value(info, &body, Form::Http, &ClientVia::Http)
        .await
        .unwrap_err();
    assert_eq!(err.errcode().map(|c| c.code()), Some(40003));
}

#[tokio::test]
async fn an_image_goes_end_to_end_upload_then_download_over_both_transports() {
    let mut config = Config::default();
    config.quotas.endpoints.clear();
    let emu = Emulator::start_with(config, spec::ENDPOINTS).await.unwrap();
    let png = wechat_msg_emulator::config::TINY_PNG;
    for via in both() {
        let client = client(&emu, stable(&emu), via.clone());
        let upload = spec::UploadMedia::builder()
            .kind("image")
            .media(wechat_msg::MediaFile::new("image/png", png.to_vec()))
            .build();
        let uploaded = client
            .send(&upload)
            .await
            .unwrap_or_else(|e| panic!("{via:?}: {e}"));
        assert_eq!(uploaded.kind, "image");
        assert!(uploaded.created_at > 0);
        let get = spec::GetMedia::builder()
            .media_id(uploaded.media_id.clone())
            .build();
        let media = client
            .send(&get)
            .await
            .unwrap_or_else(|e| panic!("{via:?}: {e}"));
        assert_eq!(media.content_type, "image/png");
        assert_eq!(media.bytes, png, "{via:?}");
        let stored = emu.messages().into_iter().rev().nth(1).unwrap();
        assert_eq!(
            stored.body["media"]["value"],
            Value::from(STANDARD.encode(png))
        );
        // An unknown media_id is a JSON error, not bytes.
        let get = spec::GetMedia::builder().media_id("NOPE").build();
        let err = client.send(&get).await.unwrap_err();
        assert_eq!(
            err.errcode().map(Errcode::code),
            Some(40007),
            "{via:?}: {err}"
        );
    }
}

#[tokio::test]
async fn an_image_message_goes_end_to_end_with_the_repository_spec() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    let png = wechat_msg_emulator::config::TINY_PNG;
    let upload = wechat_msg::meta::endpoint("customerServiceMessage.uploadTempMedia").unwrap();
    let image_message = |media_id: &str| json!({"touser": "OPENID", "msgtype": "image", "image": {"media_id": media_id}});
    let send = wechat_msg::meta::endpoint("customerServiceMessage.send").unwrap();
    let get = wechat_msg::meta::endpoint("customerServiceMessage.getTempMedia").unwrap();
    for via in both() {
        let client = client(&emu, stable(&emu), via.clone());
        let file = json!({"content_type": "image/png", "value": STANDARD.encode(png)});
        let uploaded = client
            .send_value(
                upload,
                &json!({"type": "image", "media": file}),
                Form::Http,
                &via,
            )
            .await
            .unwrap_or_else(|e| panic!("{via:?}: {e}"));
        let media_id = uploaded["media_id"]
            .as_str()
            .expect("a media_id")
            .to_owned();
        client
            .send_value(send, &image_message(&media_id), Form::Http, &via)
            .await
            .unwrap_or_else(|e| panic!("{via:?}: {e}"));
        let media = client
            .send_value(get, &json!({"media_id": media_id}), Form::Http, &via)
            .await
            .unwrap_or_else(|e| panic!("{via:?}: {e}"));
        assert_eq!(
            media["buffer"],
            Value::from(STANDARD.encode(png)),
            "{via:?}"
        );
        // An image whose media the emulator never stored is 40007.
        let err = client
            .send_value(send, &image_message("NEVER_UPLOADED"), Form::Http, &via)
            .await
            .unwrap_err();
        assert_eq!(
            err.errcode().map(|c| c.code()),
            Some(40007),
            "{via:?}: {err}"
        );
    }
}
