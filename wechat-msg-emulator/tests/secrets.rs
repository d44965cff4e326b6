//! Nothing secret in the emulator's logs, at any level, or in Debug output.

mod common;

use common::Harness;
use serde_json::json;
use wechat_msg_emulator::App;

#[tokio::test]
async fn tokens_and_credentials_never_reach_the_logs() {
    let logs = common::logs::logs();
    let h = Harness::start().await;
    let token = h.token().await;
    let text = json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hi"}});
    h.send_with(&token, "customerServiceMessage.send", &text)
        .await;
    h.send_with("bogus-token-value", "customerServiceMessage.send", &text)
        .await;
    h.cloud_with(
        &token,
        &json!({"api": "customerServiceMessage.send", "data": text}),
    )
    .await;
    h.get("/cgi-bin/token?grant_type=client_credential&appid=wxA&secret=guessed-secret")
        .await;

    let logs = logs.all();
    assert!(logs.contains("accepted"), "the logs were captured: {logs}");
    for secret in [
        token.as_str(),
        "bogus-token-value",
        "guessed-secret",
        App::DEFAULT_APPID,
        App::DEFAULT_SECRET,
    ] {
        assert!(!logs.contains(secret), "`{secret}` in the logs:\n{logs}");
    }
    let shown = format!("{:?} {:?} {:?}", h.emu, h.emu.app(), h.emu.config());
    assert!(!shown.contains(App::DEFAULT_SECRET) && !shown.contains(App::DEFAULT_APPID));
}
