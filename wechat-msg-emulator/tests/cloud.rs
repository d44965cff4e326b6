//! `POST /tcb/invokecloudfunction`: the relay function of cloud calls.

mod common;

use common::{Harness, doc_examples, err_code, errcode};
use serde_json::{Value, json};
use wechat_msg::Form;
use wechat_msg_emulator::{Config, Via};

fn text_data(to: &str) -> Value {
    json!({"touser": to, "msgtype": "text", "text": {"content": "Hello World"}})
}

fn err_msg(inner: &Value) -> &str {
    inner["errMsg"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn every_doc_example_succeeds_as_a_cloud_call() {
    let h = Harness::start().await;
    for (api, name, data) in doc_examples("cloud") {
        h.emu.reset();
        let inner = h.cloud(&api, &data).await;
        assert_eq!(
            inner,
            json!({"errCode": 0, "errMsg": format!("openapi.{api}:ok")}),
            "{api} {name}"
        );
        let messages = h.emu.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].via, Via::Cloud);
        // Recorded in the HTTP form.
        let info = wechat_msg::meta::endpoint(&api).unwrap();
        let http = (info.convert)(&data, Form::Cloud, Form::Http).unwrap();
        assert_eq!(messages[0].body, http, "{api} {name}");
        assert!(http.get("touser").is_some());
    }
}

#[tokio::test]
async fn the_outer_answer_wraps_resp_data_as_a_string() {
    let h = Harness::start().await;
    let token = h.token().await;
    let event = json!({"api": "customerServiceMessage.send", "data": text_data("OPENID")});
    let (outer, _) = h.cloud_with(&token, &event).await;
    assert_eq!(outer["errcode"], 0);
    assert_eq!(outer["errmsg"], "ok");
    assert!(outer["resp_data"].is_string(), "{outer}");
}

#[tokio::test]
async fn api_errors_come_back_inside_resp_data() {
    let h = Harness::start().await;
    let inner = h
        .cloud("customerServiceMessage.send", &text_data("STRANGER"))
        .await;
    assert_eq!(err_code(&inner), 40003);
    let msg = err_msg(&inner);
    assert!(
        msg.starts_with("openapi.customerServiceMessage.send:fail invalid openid"),
        "{msg}"
    );
    assert!(msg.contains(" rid: "), "{msg}");

    let template = json!({"touser": "OPENID", "templateId": "TEMPLATE_ID", "formId": "FORMID"});
    assert_eq!(
        err_code(&h.cloud("templateMessage.send", &template).await),
        0
    );
    assert_eq!(
        err_code(&h.cloud("templateMessage.send", &template).await),
        41029
    );
    let unknown = json!({"touser": "OPENID", "templateId": "TEMPLATE_ID", "formId": "NOPE"});
    assert_eq!(
        err_code(&h.cloud("templateMessage.send", &unknown).await),
        41028
    );
    let bad_template = json!({"touser": "OPENID", "templateId": "X", "formId": "NOPE"});
    assert_eq!(
        err_code(&h.cloud("templateMessage.send", &bad_template).await),
        40037
    );
    let image = json!({"touser": "OPENID", "msgtype": "image", "image": {"mediaId": "NOPE"}});
    assert_eq!(
        err_code(&h.cloud("customerServiceMessage.send", &image).await),
        40007
    );
}

#[tokio::test]
async fn invalid_data_is_47001_naming_the_cloud_field() {
    let h = Harness::start().await;
    let data = json!({"touser": "OPENID", "msgtype": "link", "link": {"title": "t", "description": "d", "url": "u"}});
    let inner = h.cloud("customerServiceMessage.send", &data).await;
    assert_eq!(err_code(&inner), 47001);
    assert!(
        err_msg(&inner).contains("link.thumbUrl: missing"),
        "{inner}"
    );
    // A wrong camelCase name (msgType becomes msg_type under the SDK's rule).
    let data = json!({"touser": "OPENID", "msgType": "text", "text": {"content": "x"}});
    assert_eq!(
        err_code(&h.cloud("customerServiceMessage.send", &data).await),
        47001
    );
    // Data that is not an object, or none: the relay passes `{}`.
    let inner = h.cloud("customerServiceMessage.send", &json!("x")).await;
    assert_eq!(err_code(&inner), 47001);
    assert!(err_msg(&inner).contains("touser: missing"), "{inner}");
    let token = h.token().await;
    let (_, inner) = h
        .cloud_with(&token, &json!({"api": "customerServiceMessage.send"}))
        .await;
    assert_eq!(err_code(&inner), 47001);
    assert!(h.emu.messages().is_empty());
}

#[tokio::test]
async fn snake_case_keys_pass_as_the_sdk_passes_them() {
    let h = Harness::start().await;
    let data = json!({
        "touser": "OPENID",
        "msgtype": "miniprogrampage",
        "miniprogrampage": {"title": "t", "pagepath": "p", "thumb_media_id": "thumb_media_id"}
    });
    let inner = h.cloud("customerServiceMessage.send", &data).await;
    assert_eq!(err_code(&inner), 0, "{inner}");
}

#[tokio::test]
async fn template_keyword_keys_are_kept_as_given() {
    let h = Harness::start().await;
    let data = json!({
        "touser": "OPENID",
        "templateId": "TEMPLATE_ID",
        "formId": "FORMID",
        "data": {"orderNo": {"value": "1"}, "Keyword_2": {"value": "2"}}
    });
    assert_eq!(err_code(&h.cloud("templateMessage.send", &data).await), 0);
    let body = &h.emu.messages()[0].body;
    assert_eq!(
        body["data"],
        json!({"orderNo": {"value": "1"}, "Keyword_2": {"value": "2"}})
    );
    assert_eq!(body["template_id"], "TEMPLATE_ID");
}

#[tokio::test]
async fn an_api_the_spec_lacks_has_no_permission() {
    let h = Harness::start().await;
    let inner = h.cloud("wxacode.get", &json!({})).await;
    assert_eq!(err_code(&inner), -604101);
    assert!(
        err_msg(&inner).starts_with("openapi.wxacode.get:fail"),
        "{inner}"
    );
    let token = h.token().await;
    for event in [
        json!({"data": {}}),
        json!({"api": "send"}),
        json!({"api": 5}),
        json!([1]),
    ] {
        let (_, inner) = h.cloud_with(&token, &event).await;
        assert_eq!(err_code(&inner), -604100, "{event}: {inner}");
    }
}

#[tokio::test]
async fn the_outer_call_checks_the_token() {
    let h = Harness::start().await;
    let event = json!({"api": "customerServiceMessage.send", "data": text_data("OPENID")});
    let (outer, inner) = h.cloud_with("bogus", &event).await;
    assert_eq!(errcode(&outer), 40001, "{outer}");
    assert_eq!(inner, Value::Null);
    let answer = h
        .post("/tcb/invokecloudfunction?env=e&name=f", &event)
        .await;
    assert_eq!(errcode(&answer), 41001);
    let token = h.token().await;
    h.emu.expire_tokens();
    let (outer, _) = h.cloud_with(&token, &event).await;
    assert_eq!(errcode(&outer), 42001);
    let token = h.token().await;
    let answer = h
        .post_text(
            &format!("/tcb/invokecloudfunction?access_token={token}&env=e&name=f"),
            "{",
        )
        .await;
    assert_eq!(errcode(&answer), 47001);
    assert!(h.emu.messages().is_empty());
}

#[tokio::test]
async fn env_and_function_can_be_restricted() {
    let mut config = Config::default();
    config.cloud.envs = vec!["prod-1".into()];
    config.cloud.functions = vec!["relay".into()];
    let h = Harness::with(config).await;
    let token = h.token().await;
    let event = json!({"api": "customerServiceMessage.send", "data": text_data("OPENID")});
    for (query, code) in [
        ("env=prod-1&name=relay", 0),
        ("env=other&name=relay", -501000),
        ("env=prod-1&name=other", -501000),
        ("name=relay", -501000),
        ("env=prod-1", -501000),
    ] {
        let answer = h
            .post(
                &format!("/tcb/invokecloudfunction?access_token={token}&{query}"),
                &event,
            )
            .await;
        assert_eq!(errcode(&answer), code, "{query}: {answer}");
    }
}

#[tokio::test]
async fn a_cloud_call_counts_under_its_api() {
    let h = Harness::start().await;
    h.cloud("customerServiceMessage.send", &text_data("OPENID"))
        .await;
    h.cloud("customerServiceMessage.send", &text_data("STRANGER"))
        .await;
    let counters = h.emu.counters();
    assert_eq!(counters.calls, 2);
    assert_eq!(counters.calls_by_endpoint["customerServiceMessage.send"], 2);
    assert_eq!(counters.accepted, 1);
    assert_eq!(counters.errors[&40003], 1);
}

#[tokio::test]
async fn a_cloud_answer_is_converted_at_every_depth_by_the_spec() {
    let h = Harness::start().await;
    let token = h.token().await;
    let http = h
        .get(&format!("/wxaapi/newtmpl/gettemplate?access_token={token}"))
        .await;
    assert_eq!(errcode(&http), 0, "{http}");
    let cloud = h
        .cloud("subscribeMessage.getTemplateList", &json!({}))
        .await;
    assert_eq!(err_code(&cloud), 0, "{cloud}");
    assert_eq!(
        cloud["errMsg"], "openapi.subscribeMessage.getTemplateList:ok",
        "{cloud}"
    );
    assert!(cloud.get("errcode").is_none(), "{cloud}");
    // Nested keys are the spec's: the same in both forms for these
    // (`priTmplId`, `keywordCode`), where the SDK's rule run backwards would
    // have made `pri_tmpl_id` of them.
    let item = &cloud["data"][0];
    assert_eq!(item["priTmplId"], "TEMPLATE_ID", "{cloud}");
    let enums = &item["keywordEnumValueList"][0];
    assert_eq!(enums["keywordCode"], "phrase5.DATA", "{cloud}");
    assert_eq!(
        enums["enumValueList"],
        json!(["待开始", "进行中", "已结束"]),
        "{cloud}"
    );
    assert_eq!(cloud["data"], http["data"]);

    let titles = h
        .cloud(
            "subscribeMessage.getPubTemplateTitleList",
            &json!({"ids": "2,616", "start": 0, "limit": 30}),
        )
        .await;
    assert_eq!(err_code(&titles), 0, "{titles}");
    assert_eq!(titles["count"], 2, "{titles}");
    assert_eq!(titles["data"][0]["categoryId"], "616", "{titles}");
    assert_eq!(titles["data"][0]["type"], 2, "{titles}");
}

#[tokio::test]
async fn query_and_form_values_are_read_as_their_fields_kinds() {
    let h = Harness::start().await;
    let token = h.token().await;
    let titles =
        |query: &str| format!("/wxaapi/newtmpl/getpubtemplatetitles?access_token={token}&{query}");
    // Integers in the query, and a joined list of integers.
    let answer = h.get(&titles("ids=2,616&start=0&limit=30")).await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    assert_eq!(answer["count"], 2, "{answer}");
    assert_eq!(answer["data"].as_array().map(Vec::len), Some(2), "{answer}");
    // A value that is no integer stays text, and the parser names it.
    for (query, errmsg) in [
        (
            "ids=2&start=zero&limit=30",
            "data format error: start: expected an integer, found a string",
        ),
        (
            "ids=2&start=0&limit=true",
            "data format error: limit: expected an integer, found a boolean",
        ),
        (
            "ids=2,x&start=0&limit=30",
            "data format error: ids[1]: expected an integer, found a string",
        ),
    ] {
        let answer = h.get(&titles(query)).await;
        assert_eq!(errcode(&answer), 47001, "{query}: {answer}");
        let text = answer["errmsg"].as_str().unwrap_or_default();
        assert!(text.starts_with(errmsg), "{query}: {text}");
    }
    // A form body: each item of a repeated key read as an integer.
    let add = format!("/wxaapi/newtmpl/addtemplate?access_token={token}");
    let form = |body: &'static str| {
        h.http
            .post(h.url(&add))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let answer = common::json_of(form("tid=401&kidList=3&kidList=2").await.unwrap()).await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    let answer = common::json_of(form("tid=401&kidList=3&kidList=two").await.unwrap()).await;
    assert_eq!(errcode(&answer), 47001, "{answer}");
    let text = answer["errmsg"].as_str().unwrap_or_default();
    assert!(
        text.starts_with("data format error: kidList[1]: expected an integer, found a string"),
        "{text}"
    );
    assert_eq!(
        h.emu.messages().last().map(|m| m.body.clone()),
        Some(json!({"tid": "401", "kidList": [3, 2]}))
    );
}
