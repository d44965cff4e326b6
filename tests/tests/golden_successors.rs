//! Golden wire tests of the endpoints added after the docs' three: the
//! subscribe message, the typing indicator, and the temporary media upload
//! (multipart) and download (binary answer). Bodies in both forms parse, print
//! back equal, convert into each other, and follow wx-server-sdk's key rule;
//! string enums reject other values by name; the upload's multipart body and
//! the download's bytes are checked against the emulator.

use std::fmt::Debug;
use std::path::Path;

use serde_json::Value;
use wechat_msg::client::CloudFunction;
use wechat_msg::{Client, Via};
use wechat_msg::{
    CustomerServiceBody, CustomerServiceMessage, Endpoint, Form, Image, Lang, MediaFile,
    MiniprogramState, SubscribeMessage, TempMediaQuery, TempMediaType, TempMediaUpload,
    TypingCommand, TypingStatus, Wire,
};
use wechat_msg_emulator::{Config, Emulator};
use wechat_msg_tests::sdk;

fn fixture(api: &str, name: &str, form: Form) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(api)
        .join(format!("{name}.{form}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Both forms parse into the same value, print back equal, convert into each
/// other, and the SDK's rule maps the cloud form onto the HTTP form.
fn check<T: Endpoint + PartialEq + Debug>(name: &str) -> T {
    let api = T::INFO.name;
    let http = fixture(api, name, Form::Http);
    let cloud = fixture(api, name, Form::Cloud);
    let from_http =
        T::from_value(&http, Form::Http).unwrap_or_else(|e| panic!("{api}/{name} http: {e}"));
    let from_cloud =
        T::from_value(&cloud, Form::Cloud).unwrap_or_else(|e| panic!("{api}/{name} cloud: {e}"));
    assert_eq!(from_http, from_cloud, "{api}/{name}");
    assert_eq!(
        from_http.to_value(Form::Http),
        http,
        "{api}/{name}: http prints back"
    );
    assert_eq!(
        from_http.to_value(Form::Cloud),
        cloud,
        "{api}/{name}: http -> cloud"
    );
    assert_eq!(
        from_cloud.to_value(Form::Http),
        http,
        "{api}/{name}: cloud -> http"
    );
    assert_eq!(
        sdk::cloud_to_http(&cloud),
        http,
        "{api}/{name}: the SDK's rule"
    );
    assert_eq!(
        (T::INFO.convert)(&cloud, Form::Cloud, Form::Http).unwrap(),
        http
    );
    from_http
}

#[test]
fn subscribe_message() {
    let message: SubscribeMessage = check("send");
    assert_eq!(message.miniprogram_state, Some(MiniprogramState::Developer));
    assert_eq!(message.lang, Some(Lang::ZhCn));
    assert_eq!(message.data["site01"].value, "TIT Creative Park");
    let built = SubscribeMessage::builder()
        .touser("OPENID")
        .template_id("TEMPLATE_ID")
        .page("index?foo=bar")
        .data([
            ("number01", "339208499"),
            ("date01", "2015-01-05"),
            ("site01", "TIT Creative Park"),
            (
                "site02",
                "No. 397, Xingang Zhonglu, Haizhu District, Guangzhou",
            ),
        ])
        .miniprogram_state(MiniprogramState::Developer)
        .lang(Lang::ZhCn)
        .build();
    assert_eq!(built, message);
}

#[test]
fn typing_status() {
    let typing: TypingStatus = check("typing");
    assert_eq!(typing.command, TypingCommand::Typing);
    let cancel: TypingStatus = check("cancel");
    assert_eq!(cancel.command, TypingCommand::CancelTyping);
}

#[test]
fn media_upload_and_query() {
    let upload: TempMediaUpload = check("upload");
    assert_eq!(upload.media_type, TempMediaType::Image);
    assert_eq!(upload.media.content_type(), "image/png");
    assert!(upload.media.bytes().starts_with(b"\x89PNG"));
    let query: TempMediaQuery = check("get");
    assert_eq!(query.media_id, "MEDIA_ID");
}

#[test]
fn string_enums_reject_other_values_by_name() {
    let cases = [
        ("miniprogram_state", "dev", "developer, trial, formal"),
        ("lang", "zh-CN", "zh_CN, en_US, zh_HK, zh_TW"),
    ];
    for (field, value, allowed) in cases {
        let mut body = fixture("subscribeMessage.send", "send", Form::Http);
        body[field] = Value::from(value);
        let err = SubscribeMessage::from_value(&body, Form::Http).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{field}: unknown value \"{value}\"; expected one of: {allowed}")
        );
    }
    let err = TypingStatus::from_json(r#"{"touser":"OPENID","command":"typing"}"#, Form::Http)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "command: unknown value \"typing\"; expected one of: Typing, CancelTyping"
    );
    assert_eq!(
        "trial".parse::<MiniprogramState>().unwrap(),
        MiniprogramState::Trial
    );
    assert!("Trial".parse::<MiniprogramState>().is_err());
    assert_eq!(Lang::EnUs.to_string(), "en_US");
}

#[test]
fn uploaded_file_must_be_base64() {
    let mut body = fixture(
        "customerServiceMessage.uploadTempMedia",
        "upload",
        Form::Cloud,
    );
    body["media"]["value"] = Value::from("not base64!");
    let err = TempMediaUpload::from_value(&body, Form::Cloud).unwrap_err();
    assert_eq!(err.to_string(), "media.value: invalid base64");
}

/// The upload goes out as multipart (the emulator records the parts in the
/// HTTP form, which must equal the golden body), answers a typed media id
/// that an image message can send, and the download answers the same bytes.
#[tokio::test]
async fn upload_send_and_download_against_the_emulator() {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let app = emulator.app().clone();
    let golden = fixture(
        "customerServiceMessage.uploadTempMedia",
        "upload",
        Form::Http,
    );
    let png =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/image.png")).unwrap();
    for via in [Via::Http, Via::Cloud(CloudFunction::new("env", "relay"))] {
        let client = Client::builder()
            .base_url(emulator.base_url())
            .credentials(app.appid.clone(), app.secret.clone())
            .via(via)
            .build()
            .unwrap();
        let upload = TempMediaUpload::builder()
            .media_type(TempMediaType::Image)
            .media(MediaFile::new("image/png", png.clone()))
            .build();
        let media = client.send(&upload).await.unwrap();
        assert_eq!(media.media_type, "image");
        assert!(!media.media_id.is_empty());
        let recorded = emulator.messages().last().cloned().unwrap();
        assert_eq!(recorded.endpoint, "customerServiceMessage.uploadTempMedia");
        assert_eq!(
            recorded.body, golden,
            "the multipart body as the emulator read it"
        );

        let image = CustomerServiceMessage::builder()
            .touser("OPENID")
            .body(CustomerServiceBody::Image(
                Image::builder().media_id(media.media_id.clone()).build(),
            ))
            .build();
        client.send(&image).await.unwrap();

        let download = client
            .send(
                &TempMediaQuery::builder()
                    .media_id(media.media_id.clone())
                    .build(),
            )
            .await
            .unwrap();
        assert_eq!(download.content_type, "image/png");
        assert_eq!(download.bytes, png);

        // An unknown media id is WeChat's 40007, typed, over either transport.
        let err = client
            .send(&TempMediaQuery::builder().media_id("NO_SUCH_MEDIA").build())
            .await
            .unwrap_err();
        assert_eq!(err.errcode().map(|c| c.code()), Some(40007));
    }
    emulator.shutdown().await;
}
