//! Nothing secret in the emulator's logs, at any level, or in Debug output.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::Harness;
use serde_json::json;
use wechat_msg_emulator::App;

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tokens_and_credentials_never_reach_the_logs() {
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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

    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
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
