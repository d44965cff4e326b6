//! Golden wire tests of the content checks (`security.msgSecCheck`,
//! `security.mediaCheckAsync` and its `wxa_media_check` push) and of the
//! quota and rid diagnostics (`openApi.getApiQuota`, `openApi.clearQuota`,
//! `openApi.clearQuotaByAppSecret`, `openApi.getRidInfo`).
//!
//! Each example has its request in JSON (`NAME.http.json` and
//! `NAME.cloud.json` where WeChat has a cloud call; `NAME.json`, the one
//! form, for an HTTPS-only endpoint), what goes out over HTTP
//! (`NAME.wire`: the request line without the access_token, the content
//! type and the body) and WeChat's answer (`answers/NAME.*.json`). The
//! client sends each example to a recording server on loopback and the
//! recorded request must equal the golden one (JSON bodies as parsed JSON).
//! A cloud call is checked where one exists; an HTTPS-only endpoint sent by
//! a client configured for cloud calls must still go out over HTTPS.

// uniformMessage.send is retired; its deprecation note is under test.
#![allow(deprecated)]

use std::fmt::Debug;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wechat_msg::client::CloudFunction;
use wechat_msg::push::PushMessage;
use wechat_msg::push::body::Encoding;
use wechat_msg::{
    ApiQuotaQuery, ClearQuota, ClearQuotaByAppSecret, Endpoint, Form, MediaCheckAsync, MsgSecCheck,
    Push, RidQuery, SecCheckSuggest, UniformMessage, Wire,
};
use wechat_msg::{Client, Via};

fn golden(api: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(api)
        .join(file)
}

fn text(api: &str, file: &str) -> String {
    let path = golden(api, file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_file(api: &str, file: &str) -> Value {
    serde_json::from_str(&text(api, file)).unwrap_or_else(|e| panic!("{api}/{file}: {e}"))
}

#[derive(Clone, Debug)]
struct Recorded {
    line: String,
    content_type: Option<String>,
    body: Bytes,
}

/// A server on loopback that issues tokens, records every other request and
/// answers it with `answer`.
async fn recorder(answer: Value) -> (SocketAddr, Arc<Mutex<Vec<Recorded>>>) {
    let recorded: Arc<Mutex<Vec<Recorded>>> = Arc::default();
    let log = recorded.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let log = log.clone();
        let answer = answer.clone();
        async move { record(request, &log, answer).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, recorded)
}

async fn record(request: Request, log: &Mutex<Vec<Recorded>>, answer: Value) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/cgi-bin/token") || path.starts_with("/cgi-bin/stable_token") {
        return axum::Json(json!({"access_token": "TOKEN", "expires_in": 7200})).into_response();
    }
    let query: Vec<&str> = request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("access_token="))
        .collect();
    let mut line = format!("{} {path}", request.method());
    if !query.is_empty() {
        line.push('?');
        line.push_str(&query.join("&"));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap();
    log.lock().unwrap().push(Recorded {
        line,
        content_type,
        body,
    });
    axum::Json(answer).into_response()
}

fn client(addr: SocketAddr, via: Via) -> Client {
    Client::builder()
        .base_url(format!("http://{addr}"))
        .credentials("wx0123456789abcdef", "SECRET")
        .via(via)
        .build()
        .unwrap()
}

/// The request as it went out must be the golden `NAME.wire`.
fn same_wire(api: &str, name: &str, sent: &Recorded, http: &Value) {
    let wire = text(api, &format!("{name}.wire"));
    let (head, golden_body) = wire.split_once("\n\n").unwrap_or((wire.trim_end(), ""));
    let mut head_lines = head.lines();
    assert_eq!(
        Some(sent.line.as_str()),
        head_lines.next(),
        "{api}/{name}: request line"
    );
    let golden_type = head_lines
        .next()
        .map(|l| l.trim_start_matches("content-type: "));
    assert_eq!(
        sent.content_type.as_deref(),
        golden_type,
        "{api}/{name}: content type"
    );
    match golden_type {
        Some(_) => {
            let sent_body: Value = serde_json::from_slice(&sent.body).unwrap();
            assert_eq!(
                sent_body,
                serde_json::from_str::<Value>(golden_body).unwrap()
            );
            assert_eq!(sent_body, *http, "{api}/{name}: the body is the HTTP form");
        }
        None => assert!(sent.body.is_empty(), "{api}/{name}: no body"),
    }
}

/// The golden checks of one example of endpoint `T`; returns the request and
/// the answer read over HTTP.
async fn check<T>(name: &str) -> (T, T::Answer)
where
    T: Endpoint + PartialEq + Debug,
    T::Answer: PartialEq + Debug,
{
    let api = T::INFO.name;
    // An HTTPS-only endpoint has one form: `NAME.json`.
    let http_name = |stem: &str| {
        if T::INFO.cloud {
            format!("{stem}.http.json")
        } else {
            format!("{stem}.json")
        }
    };
    let http = json_file(api, &http_name(name));
    let from_http =
        T::from_value(&http, Form::Http).unwrap_or_else(|e| panic!("{api}/{name} http: {e}"));
    assert_eq!(from_http.to_value(Form::Http), http, "{api}/{name}: http");

    let answer_http = json_file(api, &format!("answers/{}", http_name(name)));
    let (addr, recorded) = recorder(answer_http.clone()).await;
    let got_http = client(addr, Via::Http)
        .send(&from_http)
        .await
        .unwrap_or_else(|e| panic!("{api}/{name} over HTTP: {e}"));
    let sent = recorded.lock().unwrap().last().cloned().unwrap();
    same_wire(api, name, &sent, &http);

    let cloud_client = |addr| client(addr, Via::Cloud(CloudFunction::new("env", "relay")));
    if !T::INFO.cloud {
        // No cloud call: a client configured for cloud calls sends it over
        // HTTPS all the same.
        let (addr, recorded) = recorder(answer_http).await;
        let got = cloud_client(addr)
            .send(&from_http)
            .await
            .unwrap_or_else(|e| panic!("{api}/{name} from a cloud client: {e}"));
        let sent = recorded.lock().unwrap().last().cloned().unwrap();
        same_wire(api, name, &sent, &http);
        assert_eq!(got, got_http, "{api}/{name}");
        return (from_http, got_http);
    }

    let cloud = json_file(api, &format!("{name}.cloud.json"));
    let from_cloud =
        T::from_value(&cloud, Form::Cloud).unwrap_or_else(|e| panic!("{api}/{name} cloud: {e}"));
    assert_eq!(from_http, from_cloud, "{api}/{name}");
    assert_eq!(
        from_http.to_value(Form::Cloud),
        cloud,
        "{api}/{name}: cloud"
    );
    assert_eq!(
        (T::INFO.convert)(&cloud, Form::Cloud, Form::Http).unwrap(),
        http
    );
    let answer_cloud = json_file(api, &format!("answers/{name}.cloud.json"));
    let resp_data = json!({
        "errcode": 0,
        "errmsg": "ok",
        "resp_data": answer_cloud.to_string(),
    });
    let (addr, recorded) = recorder(resp_data).await;
    let got_cloud = cloud_client(addr)
        .send(&from_cloud)
        .await
        .unwrap_or_else(|e| panic!("{api}/{name} as a cloud call: {e}"));
    let sent = recorded.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        sent.line, "POST /tcb/invokecloudfunction?env=env&name=relay",
        "{api}/{name}"
    );
    let event: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(event["api"], api);
    assert_eq!(event["data"], cloud, "{api}/{name}: the cloud call's data");
    assert_eq!(
        got_http, got_cloud,
        "{api}/{name}: the answer in both forms"
    );
    (from_http, got_http)
}

#[tokio::test]
async fn msg_sec_check_answers_a_typed_verdict() {
    let (request, answer) = check::<MsgSecCheck>("check").await;
    assert_eq!(request.scene, 2);
    assert_eq!(request.signature, None);
    assert_eq!(answer.trace_id, "60ae120f-371d5872-7941a05b");
    assert_eq!(answer.result.suggest, SecCheckSuggest::Risky);
    assert_eq!(answer.result.label, 20006);
    let detail = answer.detail.expect("detail");
    assert_eq!(detail.len(), 2);
    assert_eq!(detail[0].prob, Some(90));
    assert_eq!(detail[0].keyword, None);
    assert_eq!(detail[1].keyword.as_deref(), Some("命中的关键词1"));
    assert_eq!(detail[1].level, Some(20));
}

#[test]
fn a_suggest_wechat_adds_later_is_kept_not_refused() {
    let answer = r#"{"trace_id":"T","result":{"suggest":"block","label":100}}"#;
    let read = <MsgSecCheck as Endpoint>::Answer::from_json(answer, Form::Http).unwrap();
    assert_eq!(
        read.result.suggest,
        SecCheckSuggest::Unknown("block".to_owned())
    );
    assert_eq!(read.result.suggest.as_str(), "block");
    assert_eq!(read.detail, None);
    assert_eq!("pass".parse(), Ok(SecCheckSuggest::Pass));
    // It writes back as it came.
    assert_eq!(
        read.result.to_value(Form::Http),
        json!({"suggest": "block", "label": 100})
    );
}

#[tokio::test]
async fn media_check_async() {
    let (request, answer) = check::<MediaCheckAsync>("check").await;
    assert_eq!(request.media_type, 2);
    assert_eq!(answer.trace_id, "967e945cd8a3e458f3c74dcb886068e9");
}

#[test]
fn the_media_check_push_reads_in_json_and_xml_and_dedupes_on_trace_id() {
    let api = "security.mediaCheckAsync";
    let json_body = text(api, "push.json");
    let xml_body = text(api, "push.xml");
    let from_json =
        wechat_msg::push::body::read(json_body.as_bytes(), Encoding::Json, Push::XML_WRAPPERS)
            .unwrap();
    let from_xml = wechat_msg::push::body::read(
        xml_body.trim_end().as_bytes(),
        Encoding::Xml,
        Push::XML_WRAPPERS,
    )
    .unwrap();
    let json_push = Push::from_push_form(from_json).unwrap();
    let xml_push = Push::from_push_form(from_xml).unwrap();
    assert_eq!(json_push, xml_push);
    let Push::MediaCheck(event) = &json_push else {
        panic!("not a media check: {json_push:?}")
    };
    assert_eq!(event.trace_id, "60f96f1d-3845297a-1976a3ae");
    assert_eq!(event.errcode, 0);
    let result = event.result.as_ref().expect("result");
    assert_eq!((result.suggest.as_str(), result.label), ("pass", 100));
    assert_eq!(event.detail.len(), 2);
    assert_eq!(event.detail[1].strategy, "keyword");
    assert_eq!(
        json_push.dedupe_key().as_deref(),
        Some("trace_id:60f96f1d-3845297a-1976a3ae")
    );

    // Written back: the JSON form is the golden one, and XML has one
    // `<detail>` element per entry and `<result>` as one element.
    let written = json_push.to_push_form();
    assert_eq!(
        Value::Object(written.clone()),
        serde_json::from_str::<Value>(&json_body).unwrap()
    );
    let xml = String::from_utf8(wechat_msg::push::body::write(
        &written,
        Encoding::Xml,
        json_push.xml_wrappers(),
    ))
    .unwrap();
    assert_eq!(xml.matches("<detail>").count(), 2, "{xml}");
    assert_eq!(xml.matches("<result>").count(), 1, "{xml}");
    assert_eq!(xml, xml_body.trim_end());

    // Two checks for one user in the same second are two pushes.
    let mut other = written.clone();
    other.insert("trace_id".to_owned(), json!("another-trace"));
    let other = Push::from_push_form(other).unwrap();
    assert_eq!(json_push.create_time(), other.create_time());
    assert_ne!(json_push.dedupe_key(), other.dedupe_key());

    // -1008: the media could not be downloaded; no result.
    let failed = json!({
        "ToUserName": "gh_38cc49f9733b", "FromUserName": "OPENID", "CreateTime": 1626959646,
        "MsgType": "event", "Event": "wxa_media_check", "trace_id": "T", "errcode": -1008,
        "errmsg": "media download failed"
    });
    let Value::Object(failed) = failed else {
        unreachable!()
    };
    let Push::MediaCheck(failed) = Push::from_push_form(failed).unwrap() else {
        panic!("not a media check")
    };
    assert_eq!(
        (failed.errcode, failed.result, failed.detail.len()),
        (-1008, None, 0)
    );

    // A missing trace_id is named.
    let mut broken = written;
    broken.remove("trace_id");
    assert_eq!(
        Push::from_push_form(broken).unwrap_err().to_string(),
        "trace_id: missing"
    );
}

#[tokio::test]
async fn get_api_quota() {
    let (request, answer) = check::<ApiQuotaQuery>("get").await;
    assert_eq!(request.cgi_path, "/cgi-bin/message/custom/send");
    assert_eq!(
        (
            answer.quota.daily_limit,
            answer.quota.used,
            answer.quota.remain
        ),
        (100000, 3, 99997)
    );
    assert_eq!(answer.rate_limit.map(|r| r.refresh_second), Some(60));
    assert_eq!(answer.component_rate_limit, None);
}

#[tokio::test]
async fn clear_quota() {
    check::<ClearQuota>("clear").await;
}

#[test]
fn clear_quota_by_app_secret_takes_no_token_and_hides_the_secret() {
    let api = "openApi.clearQuotaByAppSecret";
    let info = <ClearQuotaByAppSecret as Endpoint>::INFO;
    assert!(!info.cloud);
    assert!(wechat_msg::AUTH_ENDPOINTS.iter().any(|e| e.name == api));
    assert!(!wechat_msg::ENDPOINTS.iter().any(|e| e.name == api));
    let http = json_file(api, "clear.json");
    let request = ClearQuotaByAppSecret::from_value(&http, Form::Http).unwrap();
    assert_eq!(request.to_value(Form::Http), http);
    assert!(!format!("{request:?}").contains("SECRET"));
    // Its credentials travel in the query.
    let wire = text(api, "clear.wire");
    assert_eq!(
        wire.trim_end(),
        format!(
            "POST {}?appid={}&appsecret={}",
            info.path, request.appid, request.appsecret
        )
    );
}

#[tokio::test]
async fn get_rid_info() {
    let (request, answer) = check::<RidQuery>("get").await;
    assert_eq!(request.rid, "61725984-6126f6f9-040f19c4");
    assert_eq!(answer.request.invoke_time, 1635156704);
    assert_eq!(answer.request.cost_in_ms, 30);
    assert!(answer.request.response_body.contains("rid: 617682e0"));
}

#[test]
fn the_diagnostics_are_https_only_and_the_checks_are_cloud_calls() {
    for (name, cloud) in [
        ("security.msgSecCheck", true),
        ("security.mediaCheckAsync", true),
        ("openApi.getApiQuota", false),
        ("openApi.clearQuota", false),
        ("openApi.getRidInfo", false),
    ] {
        let info =
            wechat_msg::meta::endpoint(name).unwrap_or_else(|| panic!("{name} is in ENDPOINTS"));
        assert_eq!(info.cloud, cloud, "{name}");
    }
}

#[test]
fn uniform_message_names_both_successors() {
    let info = <UniformMessage as Endpoint>::INFO;
    let deprecated = info.deprecated.expect("deprecated");
    assert_eq!(deprecated.successor, Some("subscribeMessage.send"));
    assert!(deprecated.note.contains("subscribeMessage.send"));
    assert!(deprecated.note.contains("/cgi-bin/message/template/send"));
    assert!(deprecated.note.contains("45109"));
}

#[tokio::test]
async fn clear_quota_by_app_secret_is_sent_without_a_token_and_fetches_none() {
    use wechat_msg_emulator::{Config, Emulator};
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let app = emulator.app().clone();
    let client = Client::builder()
        .base_url(emulator.base_url())
        .credentials(app.appid.clone(), app.secret.clone())
        .build()
        .unwrap();
    let request = ClearQuotaByAppSecret::builder()
        .appid(app.appid.clone())
        .appsecret(app.secret.clone())
        .build();
    client.send(&request).await.expect("the counts cleared");
    let counters = emulator.counters();
    assert_eq!(
        (counters.token_fetches, counters.stable_token_fetches),
        (0, 0),
        "no token was fetched for it"
    );
    // A wrong AppSecret is refused with WeChat's code, and the error never
    // shows the secret sent.
    let wrong = ClearQuotaByAppSecret::builder()
        .appid(app.appid.clone())
        .appsecret("not-the-secret")
        .build();
    let err = client.send(&wrong).await.unwrap_err();
    assert_eq!(
        err.rejection().map(|r| r.errcode.code()),
        Some(40125),
        "{err}"
    );
    for shown in [format!("{err}"), format!("{err:?}")] {
        assert!(
            !shown.contains("not-the-secret") && !shown.contains(&app.secret),
            "{shown}"
        );
    }
    emulator.shutdown().await;
}
