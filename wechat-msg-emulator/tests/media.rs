//! Multipart bodies, synthesized answers and binary answers, served from a
//! spec of the tests' own (`tests/spec/`): nothing in the emulator knows
//! these endpoints.

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Harness, err_code, errcode, json_of};
use serde_json::{Value, json};
use wechat_msg_emulator::{Config, Emulator, Via};

mod spec {
    wechat_msg::api!("tests/spec");
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really a picture \x00\xff";

/// The default configuration, less its quota for an endpoint this spec lacks.
fn config() -> Config {
    let mut config = Config::default();
    config.quotas.endpoints.clear();
    config
}

async fn start() -> Harness {
    start_with(config()).await
}

async fn start_with(config: Config) -> Harness {
    let emu = Emulator::start_with(config, spec::ENDPOINTS)
        .await
        .expect("the emulator starts");
    Harness::around(emu)
}

async fn upload(h: &Harness, token: &str, query: &str, form: reqwest::multipart::Form) -> Value {
    let response = h
        .http
        .post(h.url(&format!(
            "/cgi-bin/media/upload?access_token={token}{query}"
        )))
        .multipart(form)
        .send()
        .await
        .unwrap();
    json_of(response).await
}

fn png_form() -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(PNG.to_vec())
        .file_name("a.png")
        .mime_str("image/png")
        .unwrap();
    reqwest::multipart::Form::new().part("media", part)
}

async fn download(h: &Harness, token: &str, query: &str) -> reqwest::Response {
    h.http
        .get(h.url(&format!("/cgi-bin/media/get?access_token={token}&{query}")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_upload_answers_a_new_media_id_and_the_bytes_come_back() {
    let h = start().await;
    let token = h.token().await;
    let answer = upload(&h, &token, "&type=image", png_form()).await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    assert_eq!(answer["type"], "image", "echoed from the request");
    let created_at = answer["created_at"].as_u64().expect("a Unix time");
    assert!(created_at > 1_600_000_000, "{answer}");
    let media_id = answer["media_id"].as_str().unwrap().to_owned();

    let response = download(&h, &token, &format!("media_id={media_id}&version=3")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);

    // The upload is recorded with its file in the HTTP form.
    let messages = h.emu.messages();
    assert_eq!(messages[0].endpoint, "media.upload");
    assert_eq!(
        messages[0].body,
        json!({"type": "image", "media": {"content_type": "image/png", "value": STANDARD.encode(PNG)}})
    );
    assert_eq!(
        messages[1].body,
        json!({"media_id": media_id, "version": 3})
    );
}

#[tokio::test]
async fn uploaded_media_expire() {
    let mut config = config();
    config.known.media_lifetime = Duration::from_secs(3600);
    let h = start_with(config).await;
    let token = h.token().await;
    let answer = upload(&h, &token, "&type=image", png_form()).await;
    let media_id = answer["media_id"].as_str().unwrap().to_owned();
    h.emu.advance_clock(Duration::from_secs(3601));
    let response = download(&h, &token, &format!("media_id={media_id}")).await;
    let answer = json_of(response).await;
    assert_eq!(errcode(&answer), 40007);
}

#[tokio::test]
async fn the_default_media_lifetime_is_three_days() {
    let h = start().await;
    let token = h.token().await;
    let answer = upload(&h, &token, "&type=image", png_form()).await;
    let media_id = answer["media_id"].as_str().unwrap().to_owned();
    h.emu.advance_clock(Duration::from_secs(3 * 24 * 3600 - 60));
    let token = h.token().await;
    let response = download(&h, &token, &format!("media_id={media_id}")).await;
    assert_eq!(response.status(), 200);
    h.emu.advance_clock(Duration::from_secs(120));
    let answer = json_of(download(&h, &token, &format!("media_id={media_id}")).await).await;
    assert_eq!(errcode(&answer), 40007);
}

#[tokio::test]
async fn a_download_of_unknown_media_is_a_json_40007() {
    let h = start().await;
    let token = h.token().await;
    let response = download(&h, &token, "media_id=NOPE").await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let answer = json_of(response).await;
    assert_eq!(errcode(&answer), 40007);
    // A configured medium is there from the start.
    let response = download(&h, &token, "media_id=MEDIA_ID").await;
    assert_eq!(response.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn query_fields_are_read_as_the_spec_types_them() {
    let h = start().await;
    let token = h.token().await;
    let answer = json_of(download(&h, &token, "media_id=MEDIA_ID&version=abc").await).await;
    assert_eq!(errcode(&answer), 47001);
    assert!(
        answer["errmsg"].as_str().unwrap().contains("version"),
        "{answer}"
    );
    let answer = json_of(download(&h, &token, "version=1").await).await;
    assert_eq!(errcode(&answer), 47001);
    assert!(
        answer["errmsg"]
            .as_str()
            .unwrap()
            .contains("media_id: missing"),
        "{answer}"
    );
}

#[tokio::test]
async fn bad_multipart_bodies_are_refused() {
    let h = start().await;
    let token = h.token().await;
    // The file part is missing.
    let form = reqwest::multipart::Form::new().text("other", "x");
    let answer = upload(&h, &token, "&type=image", form).await;
    assert_eq!(errcode(&answer), 47001);
    // The query field is missing.
    let answer = upload(&h, &token, "", png_form()).await;
    assert_eq!(errcode(&answer), 47001);
    assert!(
        answer["errmsg"].as_str().unwrap().contains("type: missing"),
        "{answer}"
    );
    // Not multipart at all.
    let answer = h
        .post_text(
            &format!("/cgi-bin/media/upload?access_token={token}&type=image"),
            "{}",
        )
        .await;
    assert_eq!(errcode(&answer), 47001, "{answer}");
    assert!(
        answer["errmsg"].as_str().unwrap().contains("multipart"),
        "{answer}"
    );
    // Empty.
    let answer = h
        .post_text(
            &format!("/cgi-bin/media/upload?access_token={token}&type=image"),
            "",
        )
        .await;
    assert_eq!(errcode(&answer), 44002);
    assert!(h.emu.messages().is_empty());
}

#[tokio::test]
async fn a_cloud_upload_and_download_round_trip() {
    let h = start().await;
    let token = h.token().await;
    let event = json!({
        "api": "media.upload",
        "data": {"type": "image", "media": {"contentType": "image/png", "value": STANDARD.encode(PNG)}},
        "files": ["media"],
    });
    let (_, inner) = h.cloud_with(&token, &event).await;
    assert_eq!(err_code(&inner), 0, "{inner}");
    assert_eq!(inner["errMsg"], "openapi.media.upload:ok");
    assert_eq!(inner["type"], "image");
    assert!(inner["createdAt"].as_u64().is_some(), "{inner}");
    let media_id = inner["mediaId"].as_str().unwrap().to_owned();

    let event = json!({"api": "media.get", "data": {"mediaId": media_id}});
    let (_, inner) = h.cloud_with(&token, &event).await;
    assert_eq!(err_code(&inner), 0, "{inner}");
    assert_eq!(inner["contentType"], "image/png");
    assert_eq!(inner["buffer"], STANDARD.encode(PNG));
    assert_eq!(h.emu.messages()[0].via, Via::Cloud);

    let event = json!({"api": "media.get", "data": {"mediaId": "NOPE"}});
    let (_, inner) = h.cloud_with(&token, &event).await;
    assert_eq!(err_code(&inner), 40007);
    assert!(inner.get("buffer").is_none());
}

#[tokio::test]
async fn a_file_left_out_of_files_is_uploaded_as_its_text() {
    let h = start().await;
    let token = h.token().await;
    let encoded = STANDARD.encode(PNG);
    let event = json!({
        "api": "media.upload",
        "data": {"type": "image", "media": {"contentType": "image/png", "value": encoded}},
    });
    let (_, inner) = h.cloud_with(&token, &event).await;
    let media_id = inner["mediaId"].as_str().unwrap().to_owned();
    let response = download(&h, &token, &format!("media_id={media_id}")).await;
    assert_eq!(response.bytes().await.unwrap().as_ref(), encoded.as_bytes());
}

#[tokio::test]
async fn map_keys_are_user_data_in_cloud_calls() {
    let h = start().await;
    let token = h.token().await;
    let event = json!({
        "api": "media.note",
        "data": {"touser": "OPENID", "mediaId": "MEDIA_ID", "labels": {"firstLabel": {"textValue": "a"}}},
    });
    let (_, inner) = h.cloud_with(&token, &event).await;
    assert_eq!(err_code(&inner), 0, "{inner}");
    assert_eq!(
        h.emu.messages()[0].body,
        json!({"touser": "OPENID", "media_id": "MEDIA_ID", "labels": {"firstLabel": {"text_value": "a"}}})
    );
}

#[tokio::test]
async fn config_quotas_are_checked_against_the_served_spec() {
    let mut config = config();
    config.quotas.endpoints.insert(
        "media.upload".into(),
        wechat_msg_emulator::EndpointQuota::new(Some(1), Some(1)),
    );
    let err = Emulator::start_with(config, spec::ENDPOINTS)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("media.upload"), "{err}");
    // The repository's spec does not have it.
    let mut config = Config::default();
    config.quotas.endpoints.insert(
        "media.upload".into(),
        wechat_msg_emulator::EndpointQuota::new(Some(1), None),
    );
    let err = Emulator::start(config).await.unwrap_err();
    assert!(
        err.to_string().contains("unknown endpoint `media.upload`"),
        "{err}"
    );
}
