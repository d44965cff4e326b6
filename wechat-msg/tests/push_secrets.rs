//! Nothing secret in the push service's logs: neither the push Token nor
//! the EncodingAESKey, at any level, for pushes accepted or refused.
#![cfg(all(feature = "push", feature = "client"))]

mod client_support;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use wechat_msg::push::body::Encoding;
use wechat_msg::push::{PushConfig, PushService, PushSigner, Receiver};

const TOKEN: &str = "SECRET-PUSH-TOKEN-1f2e";
const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ";
const APPID: &str = "wx0123456789abcdef";

#[tokio::test]
async fn the_push_service_logs_no_secret() {
    let logs = client_support::logs::logs();
    let service = PushService::new(Receiver::new(
        PushConfig::new(TOKEN)
            .unwrap()
            .encrypted(KEY, APPID)
            .unwrap(),
    ));
    let app = axum::Router::new().nest_service("/push", service.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let push = json!({"ToUserName":"gh","FromUserName":"U","CreateTime":now,"MsgType":"text","Content":"hi","MsgId":1});
    let push = push.as_object().unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let signers = [
        PushSigner::new(TOKEN)
            .unwrap()
            .encrypted(KEY, APPID)
            .unwrap(),
        PushSigner::new("WRONG-TOKEN").unwrap(),
        PushSigner::new(TOKEN)
            .unwrap()
            .encrypted(&"B".repeat(43), APPID)
            .unwrap(),
        PushSigner::new(TOKEN)
            .unwrap()
            .encrypted(KEY, "wxOTHER")
            .unwrap(),
    ];
    let mut statuses = Vec::new();
    for signer in signers {
        let signed = signer.sign(push, Encoding::Json, &[], now, "n");
        let answer = http
            .post(format!("{url}?{}", signed.query))
            .body(signed.body)
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses, [200, 401, 400, 403]);
    let all = logs.all();
    assert!(
        all.contains("push refused"),
        "the logs were captured: {all}"
    );
    assert!(!all.contains(TOKEN), "{all}");
    assert!(!all.contains(KEY), "{all}");
}
