//! Golden wire tests of template management (`subscribeMessage.addTemplate`,
//! `deleteTemplate`, `getCategory`, `getPubTemplateKeyWordsById`,
//! `getPubTemplateTitleList`, `getTemplateList`) and updatable messages
//! (`updatableMessage.createActivityId`, `setUpdatableMsg`).
//!
//! Each example has its request in both JSON forms (`NAME.http.json`,
//! `NAME.cloud.json`), what goes out over HTTP (`NAME.wire`: the request
//! line without the access_token, then the content type and the body, when
//! there is one), and WeChat's answer in both forms (`answers/NAME.*.json`).
//! The client sends each example to a recording server on loopback, over
//! HTTP and as a cloud call, and the recorded request must equal the golden
//! one byte for byte (JSON bodies as parsed JSON); the answers must read
//! into the same typed value in both forms.

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
use wechat_msg::{
    AddTemplate, CreateActivityId, DeleteTemplate, Endpoint, Form, GetCategory,
    GetPubTemplateKeywords, GetPubTemplateTitles, GetTemplateList, SetUpdatableMsg, Wire,
};
use wechat_msg::{Client, Via};
use wechat_msg_tests::sdk;

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

/// One recorded request: the request line (query without the token), the
/// content type and the body.
#[derive(Clone, Debug)]
struct Recorded {
    line: String,
    content_type: Option<String>,
    body: Bytes,
}

/// A server on loopback that issues tokens, records every other request and
/// answers it with `answer` (already in the form the route answers in).
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

/// The golden checks of one example of endpoint `T`.
async fn check<T>(name: &str)
where
    T: Endpoint + PartialEq + Debug,
    T::Answer: PartialEq + Debug,
{
    let api = T::INFO.name;
    let http = json_file(api, &format!("{name}.http.json"));
    let cloud = json_file(api, &format!("{name}.cloud.json"));

    // Both JSON forms: the same request, printed back equal, converted.
    let from_http =
        T::from_value(&http, Form::Http).unwrap_or_else(|e| panic!("{api}/{name} http: {e}"));
    let from_cloud =
        T::from_value(&cloud, Form::Cloud).unwrap_or_else(|e| panic!("{api}/{name} cloud: {e}"));
    assert_eq!(from_http, from_cloud, "{api}/{name}");
    assert_eq!(from_http.to_value(Form::Http), http, "{api}/{name}: http");
    assert_eq!(
        from_http.to_value(Form::Cloud),
        cloud,
        "{api}/{name}: cloud"
    );
    assert_eq!(
        (T::INFO.convert)(&cloud, Form::Cloud, Form::Http).unwrap(),
        http
    );

    // Over HTTP: the request as it goes out, and its answer read.
    let answer_http = json_file(api, &format!("answers/{name}.http.json"));
    let answer_cloud = json_file(api, &format!("answers/{name}.cloud.json"));
    let (addr, recorded) = recorder(answer_http).await;
    let http_client = client(addr, Via::Http);
    let got_http = http_client
        .send(&from_http)
        .await
        .unwrap_or_else(|e| panic!("{api}/{name} over HTTP: {e}"));
    let sent = recorded.lock().unwrap().last().cloned().unwrap();
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
        Some("application/json") => {
            let sent_body: Value = serde_json::from_slice(&sent.body).unwrap();
            assert_eq!(
                sent_body,
                serde_json::from_str::<Value>(golden_body).unwrap()
            );
            assert_eq!(sent_body, http, "{api}/{name}: the body is the HTTP form");
        }
        Some(_) => assert_eq!(
            std::str::from_utf8(&sent.body).unwrap(),
            golden_body.trim_end(),
            "{api}/{name}: body"
        ),
        None => assert!(sent.body.is_empty(), "{api}/{name}: a GET has no body"),
    }

    // As a cloud call: the relay's event holds the cloud form, and the cloud
    // answer reads into the same value as the HTTP answer.
    let resp_data = json!({
        "errcode": 0,
        "errmsg": "ok",
        "resp_data": answer_cloud.to_string(),
    });
    let (addr, recorded) = recorder(resp_data).await;
    let cloud_client = client(addr, Via::Cloud(CloudFunction::new("env", "relay")));
    let got_cloud = cloud_client
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
}

fn client(addr: SocketAddr, via: Via) -> Client {
    Client::builder()
        .base_url(format!("http://{addr}"))
        .credentials("wx0123456789abcdef", "SECRET")
        .via(via)
        .build()
        .unwrap()
}

#[tokio::test]
async fn add_template_goes_out_as_a_form() {
    check::<AddTemplate>("add").await;
    let add: AddTemplate = AddTemplate::builder()
        .tid("401")
        .kid_list(vec![1, 2])
        .scene_desc("测试数据")
        .build();
    assert_eq!(
        add,
        AddTemplate::from_value(
            &json_file("subscribeMessage.addTemplate", "add.http.json"),
            Form::Http
        )
        .unwrap()
    );
}

#[tokio::test]
async fn delete_template() {
    check::<DeleteTemplate>("delete").await;
}

#[tokio::test]
async fn get_category() {
    check::<GetCategory>("get").await;
}

#[tokio::test]
async fn get_pub_template_keywords() {
    check::<GetPubTemplateKeywords>("get").await;
}

#[tokio::test]
async fn get_pub_template_titles_joins_the_ids_with_commas() {
    check::<GetPubTemplateTitles>("get").await;
    let titles = GetPubTemplateTitles::from_value(
        &json_file("subscribeMessage.getPubTemplateTitleList", "get.http.json"),
        Form::Http,
    )
    .unwrap();
    assert_eq!(titles.ids, vec![2, 616]);
    // A list in the JSON forms is an error that names the field.
    let err = GetPubTemplateTitles::from_value(
        &json!({"ids": [2, 616], "start": 0, "limit": 1}),
        Form::Cloud,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ids: expected a string of items joined by a separator, found an array"
    );
    let err = GetPubTemplateTitles::from_value(
        &json!({"ids": "2,x", "start": 0, "limit": 1}),
        Form::Http,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ids[1]: expected an integer, found a string"
    );
}

#[tokio::test]
async fn get_template_list() {
    check::<GetTemplateList>("get").await;
}

#[tokio::test]
async fn create_activity_id() {
    check::<CreateActivityId>("create").await;
}

#[tokio::test]
async fn set_updatable_msg() {
    check::<SetUpdatableMsg>("progress").await;
    // Its keys follow wx-server-sdk's rule, unlike template management's.
    let api = "updatableMessage.setUpdatableMsg";
    assert_eq!(
        sdk::cloud_to_http(&json_file(api, "progress.cloud.json")),
        json_file(api, "progress.http.json")
    );
}

/// The answers read into typed values with the fields WeChat sends.
#[test]
fn answers_are_typed() {
    use wechat_msg::Answer;
    let api = "subscribeMessage.getTemplateList";
    let list = <<GetTemplateList as Endpoint>::Answer as Answer>::from_json(
        &json_file(api, "answers/get.cloud.json"),
        Form::Cloud,
    )
    .unwrap();
    let template = &list.data[0];
    assert_eq!(
        template.pri_tmpl_id,
        "9Aw5ZV1j9xdWTFEkqCpZ7jWySL7aGN6rQom4gXINfJs"
    );
    assert_eq!(template.template_type, 2);
    assert!(template.content.contains("{{date2.DATA}}"));
    let enums = template.keyword_enum_value_list.as_ref().unwrap();
    assert_eq!(enums[0].keyword_code, "phrase3.DATA");
    assert_eq!(enums[0].enum_value_list, ["未发货", "已发货"]);

    let api = "subscribeMessage.getPubTemplateTitleList";
    let titles = <<GetPubTemplateTitles as Endpoint>::Answer as Answer>::from_json(
        &json_file(api, "answers/get.http.json"),
        Form::Http,
    )
    .unwrap();
    assert_eq!(titles.count, 55);
    assert_eq!(titles.data[0].category_id, "616");
}
