//! What the emulator's tests share: a running emulator and a plain HTTP
//! client speaking WeChat's wire.
#![allow(dead_code)]

// The same global capture as the runtime's client tests.
#[path = "../../../wechat-msg/tests/client_support/logs.rs"]
pub mod logs;

use std::path::PathBuf;

use serde_json::{Value, json};
use wechat_msg_emulator::{Config, Emulator};

/// A running emulator and an HTTP client for it.
pub struct Harness {
    pub emu: Emulator,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::with(Config::default()).await
    }

    pub async fn with(config: Config) -> Harness {
        let emu = Emulator::start(config).await.expect("the emulator starts");
        Harness::around(emu)
    }

    pub fn around(emu: Emulator) -> Harness {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a client");
        Harness { emu, http }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.emu.base_url(), path_and_query)
    }

    /// A fresh classic token.
    pub async fn token(&self) -> String {
        let app = self.emu.app();
        let answer = self
            .get(&format!(
                "/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
                app.appid, app.secret
            ))
            .await;
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {answer}"))
            .to_owned()
    }

    /// GET, the answer as JSON.
    pub async fn get(&self, path_and_query: &str) -> Value {
        let response = self
            .http
            .get(self.url(path_and_query))
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    /// POST of raw text, the answer as JSON.
    pub async fn post_text(&self, path_and_query: &str, body: impl Into<String>) -> Value {
        let response = self
            .http
            .post(self.url(path_and_query))
            .header("content-type", "application/json")
            .body(body.into())
            .send()
            .await
            .unwrap();
        json_of(response).await
    }

    /// POST of a JSON body, the answer as JSON.
    pub async fn post(&self, path_and_query: &str, body: &Value) -> Value {
        self.post_text(path_and_query, body.to_string()).await
    }

    /// Sends `body` (HTTP form) to the endpoint `api` with `token`.
    pub async fn send_with(&self, token: &str, api: &str, body: &Value) -> Value {
        let info = wechat_msg::meta::endpoint(api).expect("a known endpoint");
        self.post(&format!("{}?access_token={token}", info.path), body)
            .await
    }

    /// Sends `body` (HTTP form) to the endpoint `api` with a fresh token.
    pub async fn send(&self, api: &str, body: &Value) -> Value {
        let token = self.token().await;
        self.send_with(&token, api, body).await
    }

    /// Invokes the relay with `{api, data}`; the outer answer and the parsed
    /// `resp_data` (Null when absent).
    pub async fn cloud_with(&self, token: &str, event: &Value) -> (Value, Value) {
        let outer = self
            .post(
                &format!(
                    "/tcb/invokecloudfunction?access_token={token}&env=test-env&name=wxmsg-relay"
                ),
                event,
            )
            .await;
        let inner = outer["resp_data"]
            .as_str()
            .map(|s| serde_json::from_str(s).expect("resp_data is JSON"))
            .unwrap_or(Value::Null);
        (outer, inner)
    }

    /// A cloud call of `api` with `data` (cloud form) and a fresh token.
    pub async fn cloud(&self, api: &str, data: &Value) -> Value {
        let token = self.token().await;
        let (outer, inner) = self
            .cloud_with(&token, &json!({"api": api, "data": data}))
            .await;
        assert_eq!(outer["errcode"], 0, "{outer}");
        inner
    }
}

pub async fn json_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"))
}

/// The errcode of an HTTP answer, 0 when absent.
pub fn errcode(answer: &Value) -> i64 {
    answer.get("errcode").and_then(Value::as_i64).unwrap_or(0)
}

/// The errCode of a cloud answer.
pub fn err_code(answer: &Value) -> i64 {
    answer["errCode"]
        .as_i64()
        .unwrap_or_else(|| panic!("no errCode in {answer}"))
}

/// The golden message examples, from the golden files: (endpoint, name, body)
/// for `form` ("http" or "cloud").
pub fn doc_examples(form: &str) -> Vec<(String, String, Value)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden");
    let mut out = Vec::new();
    let mut apis: Vec<_> = std::fs::read_dir(&root).unwrap().flatten().collect();
    apis.sort_by_key(|e| e.file_name());
    for api in apis {
        let name = api.file_name().to_string_lossy().into_owned();
        // The message endpoints (JSON in, `{errcode, errmsg}` out, to a
        // user); the media endpoints' golden bodies are exercised by
        // `media.rs`, template management and updatable messages by
        // `templates.rs`, and all of them by the cross-crate golden tests.
        // Endpoints called without a token (`AUTH_ENDPOINTS`) send no message.
        let Some(info) = wechat_msg::meta::endpoint(&name) else {
            assert!(
                wechat_msg::AUTH_ENDPOINTS.iter().any(|e| e.name == name),
                "tests/golden/{name}: no such endpoint"
            );
            continue;
        };
        let to_a_user = info
            .roles
            .iter()
            .any(|r| r.role == wechat_msg::meta::Role::Openid);
        if info.answer != wechat_msg::meta::AnswerKind::Ack
            || info.body != wechat_msg::meta::BodyKind::Json
            || !to_a_user
        {
            continue;
        }
        let mut files: Vec<_> = std::fs::read_dir(api.path()).unwrap().flatten().collect();
        files.sort_by_key(|e| e.file_name());
        for file in files {
            let file_name = file.file_name().to_string_lossy().into_owned();
            if let Some(stem) = file_name.strip_suffix(&format!(".{form}.json")) {
                let text = std::fs::read_to_string(file.path()).unwrap();
                out.push((
                    name.clone(),
                    stem.to_owned(),
                    serde_json::from_str(&text).unwrap(),
                ));
            }
        }
    }
    assert!(out.len() >= 6, "the golden examples are missing: {root:?}");
    out
}

/// Waits up to 15 s for `check` to hold (pushes are delivered in the
/// background); panics naming `what` if it never does.
pub async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 15 s");
}
