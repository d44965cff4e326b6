//! Arbitrary requests against a running emulator: arbitrary bytes and
//! JSON-ish bodies to every route (the spec's endpoints, the token routes,
//! the cloud function, the control API), and arbitrary bytes on a raw
//! connection. A bounded number of cases, fast enough for CI.
//!
//! Every answer must be an HTTP answer of the documented shape (WeChat's
//! `{errcode, errmsg}` or a token, a cloud answer whose `resp_data` holds an
//! `errCode`, or the control API's `{ok: false, error}`), and the emulator
//! must keep serving afterwards.

mod common;

use std::time::Duration;

use common::{Harness, errcode};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wechat_msg_emulator::Faults;

const CASES: u32 = 256;

/// Keys and strings the emulator knows, so that arbitrary bodies reach past
/// the first checks.
const WORDS: &[&str] = &[
    "touser",
    "msgtype",
    "text",
    "content",
    "image",
    "media_id",
    "MEDIA_ID",
    "thumb_media_id",
    "template_id",
    "TEMPLATE_ID",
    "form_id",
    "FORMID",
    "OPENID",
    "page",
    "data",
    "keyword1",
    "value",
    "miniprogram_state",
    "lang",
    "weapp_template_msg",
    "mp_template_msg",
    "appid",
    "url",
    "miniprogram",
    "pagepath",
    "link",
    "title",
    "description",
    "thumb_url",
    "miniprogrampage",
    "command",
    "Typing",
    "type",
    "api",
    "customerServiceMessage.send",
    "templateMessage.send",
    "customerServiceMessage.uploadTempMedia",
    "customerServiceMessage.getTempMedia",
    "subscribeMessage.send",
    "uniformMessage.send",
    "nope.nope",
    "files",
    "secs",
    "lifetime_secs",
    "openids",
    "template_ids",
    "form_ids",
    "media",
    "id",
    "content_type",
    "base64",
    "aGk=",
    "system_busy",
    "truncate",
    "reset",
    "grant_type",
    "client_credential",
    "secret",
    "force_refresh",
    "errcode",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => ".{0,16}",
    ]
}

/// JSON values, nested, with numbers at the edges of every range.
fn json_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        proptest::sample::select(vec![
            0.0,
            -1.0,
            0.5,
            1e19,
            1.8e19,
            -1e19,
            f64::MAX,
            f64::MIN_POSITIVE,
            3.2e9,
        ])
        .prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number,
        word().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::vec((word(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A request body: arbitrary bytes, JSON-ish text, or a multipart form.
fn body() -> impl Strategy<Value = (Option<&'static str>, Vec<u8>)> {
    prop_oneof![
        2 => json_value().prop_map(|v| (Some("application/json"), v.to_string().into_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..256)
            .prop_map(|bytes| (Some("application/json"), bytes)),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|bytes| (None, bytes)),
        1 => (word(), proptest::collection::vec(any::<u8>(), 0..64), any::<bool>()).prop_map(
            |(name, data, closed)| {
                let mut form = format!(
                    "--B\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
                )
                .into_bytes();
                form.extend_from_slice(&data);
                if closed {
                    form.extend_from_slice(b"\r\n--B--\r\n");
                }
                (Some("multipart/form-data; boundary=B"), form)
            }
        ),
    ]
}

/// Every route the emulator serves, and some it does not.
fn paths() -> Vec<String> {
    let mut paths: Vec<String> = wechat_msg::ENDPOINTS
        .iter()
        .map(|e| e.path.to_owned())
        .collect();
    paths.extend(
        [
            "/cgi-bin/token",
            "/cgi-bin/stable_token",
            "/tcb/invokecloudfunction",
            "/_emulator/",
            "/_emulator/messages",
            "/_emulator/counters",
            "/_emulator/reset",
            "/_emulator/faults",
            "/_emulator/known",
            "/_emulator/tokens/expire",
            "/_emulator/clock/advance",
            "/_emulator/new_day",
            "/_emulator/nope",
            "/cgi-bin/nope",
            "/",
        ]
        .map(str::to_owned),
    );
    paths
}

#[derive(Debug, Clone)]
struct Case {
    method: reqwest::Method,
    path: String,
    /// Whether the query carries a valid token (and the cloud env/name, and
    /// the token routes' credentials).
    authorized: bool,
    extra_query: Vec<(String, String)>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    let method = prop_oneof![
        4 => Just(reqwest::Method::POST),
        2 => Just(reqwest::Method::GET),
        1 => Just(reqwest::Method::PUT),
        1 => Just(reqwest::Method::DELETE),
    ];
    (
        method,
        proptest::sample::select(paths()),
        proptest::bool::weighted(0.8),
        proptest::collection::vec((word(), word()), 0..3),
        body(),
    )
        .prop_map(
            |(method, path, authorized, extra_query, (content_type, body))| Case {
                method,
                path,
                authorized,
                extra_query,
                content_type,
                body,
            },
        )
}

async fn check(h: &Harness, case: Case) -> Result<(), TestCaseError> {
    let mut query: Vec<(String, String)> = Vec::new();
    if case.authorized {
        let app = h.emu.app();
        query.push(("access_token".into(), h.token().await));
        query.push(("env".into(), "test-env".into()));
        query.push(("name".into(), "wxmsg-relay".into()));
        query.push(("grant_type".into(), "client_credential".into()));
        query.push(("appid".into(), app.appid.clone()));
        query.push(("secret".into(), app.secret.clone()));
    }
    query.extend(case.extra_query.iter().cloned());
    let mut request = h
        .http
        .request(case.method.clone(), h.url(&case.path))
        .query(&query)
        .timeout(Duration::from_secs(60))
        .body(case.body.clone());
    if let Some(content_type) = case.content_type {
        request = request.header("content-type", content_type);
    }
    let response = request
        .send()
        .await
        .map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| TestCaseError::fail(format!("a cut answer: {e}")))?;
    let text = String::from_utf8_lossy(&bytes);
    let parsed = serde_json::from_slice::<Value>(&bytes);

    if case.path.starts_with("/_emulator") && case.path != "/_emulator/nope" {
        let answer =
            parsed.map_err(|e| TestCaseError::fail(format!("{status}: not JSON ({e}): {text}")))?;
        prop_assert!(matches!(status, 200 | 400 | 405), "{status}: {text}");
        if status != 200 {
            prop_assert_eq!(&answer["ok"], &json!(false), "{}", text);
            prop_assert!(answer["error"].is_string(), "{}", text);
        }
        return Ok(());
    }

    let binary = wechat_msg::ENDPOINTS
        .iter()
        .any(|e| e.path == case.path && e.answer == wechat_msg::meta::AnswerKind::Binary);
    let answer = match parsed {
        Ok(answer) => answer,
        // A downloaded file.
        Err(_) if binary && status == 200 => return Ok(()),
        Err(e) => {
            return Err(TestCaseError::fail(format!(
                "{status}: not JSON ({e}): {text}"
            )));
        }
    };
    prop_assert!(matches!(status, 200 | 404 | 405), "{status}: {text}");
    let token = answer["access_token"].is_string() && answer["expires_in"].is_u64();
    prop_assert!(
        answer["errcode"].is_i64() || token || binary && status == 200,
        "neither an errcode nor a token: {}",
        text
    );
    if case.path == "/tcb/invokecloudfunction" && answer["errcode"] == 0 {
        let inner = answer["resp_data"]
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .ok_or_else(|| TestCaseError::fail(format!("no resp_data: {text}")))?;
        prop_assert!(inner["errCode"].is_i64(), "{}", inner);
    }
    Ok(())
}

/// A message still goes through, over HTTP and the cloud.
async fn still_serving(h: &Harness) {
    h.emu.set_faults(Faults::none());
    h.emu.reset();
    let text = json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hi"}});
    let answer = h.send("customerServiceMessage.send", &text).await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    let inner = h.cloud("customerServiceMessage.send", &text).await;
    assert_eq!(inner["errCode"], 0, "{inner}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    })
}

#[test]
fn arbitrary_requests_get_answers_of_the_documented_shape() {
    let rt = runtime();
    let h = rt.block_on(Harness::start());
    let result = runner(CASES).run(&case(), |case| {
        rt.block_on(async {
            let checked = check(&h, case).await;
            // Faults set by the case itself must not leak into the next.
            h.emu.set_faults(Faults::none());
            checked
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    rt.block_on(still_serving(&h));
    rt.block_on(h.emu.shutdown());
}

/// Raw bytes: garbage, or something like a request head with garbage in it.
fn raw_bytes() -> impl Strategy<Value = Vec<u8>> {
    let head = (
        proptest::sample::select(vec!["GET", "POST", "PUT", "BREW", ""]),
        proptest::sample::select(paths()),
        proptest::sample::select(vec!["HTTP/1.1", "HTTP/1.0", "HTTP/9", ""]),
        proptest::collection::vec(
            prop_oneof![
                Just("Content-Length: 5".to_owned()),
                Just("Content-Length: 18446744073709551616".to_owned()),
                Just("Content-Length: -1".to_owned()),
                Just("Transfer-Encoding: chunked".to_owned()),
                Just("Content-Type: application/json".to_owned()),
                Just("Connection: close".to_owned()),
                "[ -~]{0,40}",
            ],
            0..4,
        ),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(method, path, version, headers, rest)| {
            let mut bytes = format!("{method} {path} {version}\r\n").into_bytes();
            for header in headers {
                bytes.extend_from_slice(header.as_bytes());
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(&rest);
            bytes
        });
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        3 => head,
    ]
}

#[test]
fn arbitrary_bytes_on_a_connection_get_an_http_answer_or_a_close() {
    let rt = runtime();
    let h = rt.block_on(Harness::start());
    let addr = h.emu.addr();
    let result = runner(CASES).run(&raw_bytes(), |bytes| {
        rt.block_on(async {
            let mut stream = TcpStream::connect(addr)
                .await
                .map_err(|e| TestCaseError::fail(format!("connect: {e}")))?;
            // The server may close before reading everything: that is an
            // answer too.
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
            let mut answer = Vec::new();
            let read =
                tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
                    .await
                    .map_err(|_| TestCaseError::fail("the connection stayed open"))?;
            if let Err(e) = read {
                prop_assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{}", e);
            }
            prop_assert!(
                answer.is_empty() || answer.starts_with(b"HTTP/1."),
                "{}",
                String::from_utf8_lossy(&answer)
            );
            h.emu.set_faults(Faults::none());
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    rt.block_on(still_serving(&h));
    rt.block_on(h.emu.shutdown());
}
