//! Every endpoint of the spec over real HTTP: the documentation's examples
//! succeed, and every error the emulator answers is reached.

mod common;

use common::{Harness, doc_examples, errcode};
use serde_json::{Value, json};
use wechat_msg_emulator::{Config, EndpointQuota, Registration, Via};

fn text(to: &str) -> Value {
    json!({"touser": to, "msgtype": "text", "text": {"content": "Hello World"}})
}

fn template(form_id: &str) -> Value {
    json!({"touser": "OPENID", "template_id": "TEMPLATE_ID", "form_id": form_id, "page": "index"})
}

fn errmsg(answer: &Value) -> &str {
    answer["errmsg"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn every_doc_example_succeeds_as_written() {
    let h = Harness::start().await;
    for (api, name, body) in doc_examples("http") {
        h.emu.reset();
        let answer = h.send(&api, &body).await;
        assert_eq!(
            answer,
            json!({"errcode": 0, "errmsg": "ok"}),
            "{api} {name}"
        );
        let messages = h.emu.messages();
        assert_eq!(messages.len(), 1, "{api} {name}");
        assert_eq!(messages[0].endpoint, api);
        assert_eq!(messages[0].via, Via::Http);
        assert_eq!(messages[0].body, body, "{api} {name}: recorded as sent");
    }
}

#[tokio::test]
async fn accepted_messages_are_recorded_in_order() {
    let h = Harness::start().await;
    let token = h.token().await;
    for i in 0..5 {
        let mut body = text("OPENID");
        body["text"]["content"] = json!(format!("message {i}"));
        let answer = h
            .send_with(&token, "customerServiceMessage.send", &body)
            .await;
        assert_eq!(errcode(&answer), 0);
    }
    let messages = h.emu.messages();
    let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m.body["text"]["content"], format!("message {i}"));
    }
    let over_http = h.get("/_emulator/messages").await;
    assert_eq!(over_http.as_array().unwrap().len(), 5);
    assert_eq!(over_http[4]["body"]["text"]["content"], "message 4");
    assert_eq!(over_http[4]["via"], "http");
    let counters = h.emu.counters();
    assert_eq!(counters.accepted, 5);
    assert_eq!(counters.calls, 5);
    assert_eq!(counters.calls_by_endpoint["customerServiceMessage.send"], 5);
}

#[tokio::test]
async fn an_empty_body_is_44002() {
    let h = Harness::start().await;
    let token = h.token().await;
    for body in ["", "  \n"] {
        let answer = h
            .post_text(
                &format!("/cgi-bin/message/custom/send?access_token={token}"),
                body,
            )
            .await;
        assert_eq!(errcode(&answer), 44002, "{body:?}");
    }
}

#[tokio::test]
async fn an_invalid_body_is_47001_naming_the_field() {
    let h = Harness::start().await;
    let token = h.token().await;
    let cases = [
        (
            json!({"touser": "OPENID", "msgtype": "link", "link": {"title": "t", "description": "d", "url": "u"}}),
            "link.thumb_url: missing",
        ),
        (
            json!({"touser": "OPENID", "msgtype": "text"}),
            "text: missing",
        ),
        (
            json!({"touser": "OPENID", "msgtype": "video", "video": {}}),
            "video",
        ),
        (
            json!({"touser": 5, "msgtype": "text", "text": {"content": "x"}}),
            "touser: expected a string",
        ),
        (
            json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "x"}, "extra": 1}),
            "extra: unknown field",
        ),
        (
            json!({"touser": "OPENID", "msgType": "text", "text": {"content": "x"}}),
            "msgType",
        ),
        (json!(["not", "an", "object"]), "body: expected an object"),
    ];
    for (body, needle) in cases {
        let answer = h
            .send_with(&token, "customerServiceMessage.send", &body)
            .await;
        assert_eq!(errcode(&answer), 47001, "{body}: {answer}");
        assert!(errmsg(&answer).contains(needle), "{body}: {answer}");
        assert!(errmsg(&answer).contains(" rid: "), "{answer}");
    }
    let malformed = h
        .post_text(
            &format!("/cgi-bin/message/custom/send?access_token={token}"),
            "{\"touser\":",
        )
        .await;
    assert_eq!(errcode(&malformed), 47001);
    assert!(errmsg(&malformed).contains("invalid JSON"), "{malformed}");
    // A key given twice is not "last one wins": nothing goes to ATTACKER.
    let twice = h
        .post_text(
            &format!("/cgi-bin/message/custom/send?access_token={token}"),
            r#"{"touser":"OPENID","touser":"ATTACKER","msgtype":"text","text":{"content":"hi"}}"#,
        )
        .await;
    assert_eq!(errcode(&twice), 47001, "{twice}");
    assert!(
        errmsg(&twice).contains("touser: duplicate field"),
        "{twice}"
    );
    let twice = h
        .post_text(
            &format!("/tcb/invokecloudfunction?access_token={token}&env=e&name=f"),
            r#"{"api":"customerServiceMessage.send","api":"subscribeMessage.send","data":{}}"#,
        )
        .await;
    assert_eq!(errcode(&twice), 47001, "{twice}");
    assert!(errmsg(&twice).contains("api: duplicate field"), "{twice}");
    assert!(h.emu.messages().is_empty());
}

#[tokio::test]
async fn unknown_openids_and_templates_are_refused() {
    let h = Harness::start().await;
    let answer = h
        .send("customerServiceMessage.send", &text("STRANGER"))
        .await;
    assert_eq!(errcode(&answer), 40003, "{answer}");
    let mut body = template("FORMID");
    body["template_id"] = json!("NO_SUCH_TEMPLATE");
    let answer = h.send("templateMessage.send", &body).await;
    assert_eq!(errcode(&answer), 40037, "{answer}");
    // Nested roles: uniformMessage's mp_template_msg.template_id.
    let mut uniform = doc_examples("http")
        .into_iter()
        .find(|(api, _, _)| api == "uniformMessage.send")
        .unwrap()
        .2;
    uniform["mp_template_msg"]["template_id"] = json!("NOPE");
    let answer = h.send("uniformMessage.send", &uniform).await;
    assert_eq!(errcode(&answer), 40037, "{answer}");
    assert!(
        errmsg(&answer).contains("mp_template_msg.template_id"),
        "{answer}"
    );
    // A rejection consumed nothing: the form_id still works.
    assert_eq!(
        errcode(&h.send("templateMessage.send", &template("FORMID")).await),
        0
    );
}

#[tokio::test]
async fn registered_ids_are_accepted() {
    let h = Harness::start().await;
    assert_eq!(
        errcode(&h.send("customerServiceMessage.send", &text("U2")).await),
        40003
    );
    h.emu.add_openid("U2");
    // Known, but a reply needs the user to have written first.
    assert_eq!(
        errcode(&h.send("customerServiceMessage.send", &text("U2")).await),
        45015
    );
    h.emu
        .user_acts("U2", json!({"MsgType": "text", "Content": "hi"}))
        .await
        .unwrap();
    assert_eq!(
        errcode(&h.send("customerServiceMessage.send", &text("U2")).await),
        0
    );
    let answer = h
        .post(
            "/_emulator/known",
            &json!({"openids": ["U3"], "template_ids": ["T3"], "form_ids": ["F3"]}),
        )
        .await;
    assert_eq!(answer["ok"], true);
    let body = json!({"touser": "U3", "template_id": "T3", "form_id": "F3"});
    assert_eq!(errcode(&h.send("templateMessage.send", &body).await), 0);
    let bad = h.post("/_emulator/known", &json!({"openids": "U4"})).await;
    assert_eq!(bad["ok"], false);
}

#[tokio::test]
async fn a_form_id_is_single_use() {
    let h = Harness::start().await;
    assert_eq!(
        errcode(&h.send("templateMessage.send", &template("FORMID")).await),
        0
    );
    let reused = h.send("templateMessage.send", &template("FORMID")).await;
    assert_eq!(errcode(&reused), 41029, "{reused}");
    let unknown = h
        .send("templateMessage.send", &template("NEVER_ISSUED"))
        .await;
    assert_eq!(errcode(&unknown), 41028, "{unknown}");
    assert_eq!(h.emu.messages().len(), 1);
}

#[tokio::test]
async fn a_form_id_expires() {
    let mut config = Config::default();
    config.known.form_id_lifetime = std::time::Duration::from_secs(60);
    let h = Harness::with(config).await;
    h.emu.advance_clock(std::time::Duration::from_secs(61));
    let answer = h.send("templateMessage.send", &template("FORMID")).await;
    assert_eq!(errcode(&answer), 41028, "{answer}");
    h.emu.add_form_id("FRESH");
    assert_eq!(
        errcode(&h.send("templateMessage.send", &template("FRESH")).await),
        0
    );
}

#[tokio::test]
async fn media_ids_must_be_known() {
    let h = Harness::start().await;
    let image =
        |id: &str| json!({"touser": "OPENID", "msgtype": "image", "image": {"media_id": id}});
    assert_eq!(
        errcode(
            &h.send("customerServiceMessage.send", &image("MEDIA_ID"))
                .await
        ),
        0
    );
    let answer = h
        .send("customerServiceMessage.send", &image("UNKNOWN"))
        .await;
    assert_eq!(errcode(&answer), 40007, "{answer}");
    h.emu.add_media("MINE", "image/png", b"png");
    assert_eq!(
        errcode(&h.send("customerServiceMessage.send", &image("MINE")).await),
        0
    );
    // Media registered with a lifetime expire with the clock.
    let mut known = Registration::default();
    known.media.push({
        let mut m = wechat_msg_emulator::RegisteredMedia::new("BRIEF", "image/png", b"x");
        m.lifetime_secs = Some(10.0);
        m
    });
    h.emu.register(&known).unwrap();
    assert_eq!(
        errcode(&h.send("customerServiceMessage.send", &image("BRIEF")).await),
        0
    );
    h.emu.advance_clock(std::time::Duration::from_secs(11));
    assert_eq!(
        errcode(&h.send("customerServiceMessage.send", &image("BRIEF")).await),
        40007
    );
}

#[tokio::test]
async fn the_per_user_limit_is_45047() {
    let mut config = Config::default();
    config.quotas.endpoints.insert(
        "customerServiceMessage.send".into(),
        EndpointQuota::new(None, Some(3)),
    );
    config.known.openids.push("OTHER".into());
    config.conversation.open.push("OTHER".into());
    let h = Harness::with(config).await;
    let token = h.token().await;
    for _ in 0..3 {
        let answer = h
            .send_with(&token, "customerServiceMessage.send", &text("OPENID"))
            .await;
        assert_eq!(errcode(&answer), 0);
    }
    let answer = h
        .send_with(&token, "customerServiceMessage.send", &text("OPENID"))
        .await;
    assert_eq!(errcode(&answer), 45047, "{answer}");
    // Another user has their own count.
    let answer = h
        .send_with(&token, "customerServiceMessage.send", &text("OTHER"))
        .await;
    assert_eq!(errcode(&answer), 0);
    // A new day starts the counts again.
    let day = h.post("/_emulator/new_day", &json!({})).await;
    assert_eq!(day["ok"], true);
    let answer = h
        .send_with(&token, "customerServiceMessage.send", &text("OPENID"))
        .await;
    assert_eq!(errcode(&answer), 0);
    assert_eq!(h.emu.counters().errors[&45047], 1);
}

#[tokio::test]
async fn the_daily_quota_is_45009() {
    let mut config = Config::default();
    config.quotas.daily = Some(2);
    let h = Harness::with(config).await;
    let token = h.token().await;
    for form_id in ["F1", "F2", "F3", "F4"] {
        h.emu.add_form_id(form_id);
    }
    assert_eq!(
        errcode(
            &h.send_with(&token, "templateMessage.send", &template("F1"))
                .await
        ),
        0
    );
    assert_eq!(
        errcode(
            &h.send_with(&token, "templateMessage.send", &template("F2"))
                .await
        ),
        0
    );
    let answer = h
        .send_with(&token, "templateMessage.send", &template("F3"))
        .await;
    assert_eq!(errcode(&answer), 45009, "{answer}");
    // Quotas are per endpoint.
    let answer = h
        .send_with(&token, "customerServiceMessage.send", &text("OPENID"))
        .await;
    assert_eq!(errcode(&answer), 0);
    // The refused call did not use its form_id.
    h.emu.new_day();
    assert_eq!(
        errcode(
            &h.send_with(&token, "templateMessage.send", &template("F3"))
                .await
        ),
        0
    );
}

#[tokio::test]
async fn retired_endpoints_can_answer_45103() {
    let mut config = Config::default();
    config.retired_unsupported = true;
    let h = Harness::with(config).await;
    for info in wechat_msg::ENDPOINTS {
        if info.deprecated.is_none() {
            continue;
        }
        let answer = h.send(info.name, &json!({})).await;
        // uniformMessage.send was withdrawn with its own code (below).
        let expected = if info.name == "uniformMessage.send" {
            45109
        } else {
            45103
        };
        assert_eq!(errcode(&answer), expected, "{}: {answer}", info.name);
    }
}

#[tokio::test]
async fn a_withdrawn_uniform_message_answers_45109_as_wechat_did() {
    let mut config = Config::default();
    config.retired_unsupported = true;
    let h = Harness::with(config).await;
    let body = serde_json::from_str::<Value>(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/uniform.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let answer = h.send("uniformMessage.send", &body).await;
    assert_eq!(errcode(&answer), 45109, "{answer}");
    let msg = errmsg(&answer);
    assert!(
        msg.starts_with(
            "This API has been unsupported. For more details, please view https://developers.weixin.qq.com/community/develop/doc/000ae8d6348af08e7030bc2546bc01?blockType=1 rid: "
        ),
        "{msg}"
    );
    assert!(wechat_msg::meta::rid_of(msg).is_some());
    // The same as a cloud call, and templateMessage.send's 45103.
    let cloud = h.cloud("uniformMessage.send", &json!({})).await;
    assert_eq!(cloud["errCode"], 45109, "{cloud}");
    let template = h.send("templateMessage.send", &template("F1")).await;
    assert_eq!(errcode(&template), 45103, "{template}");
    assert!(errmsg(&template).starts_with("This API has been unsupported rid: "));
    // Nothing was accepted.
    assert!(h.emu.messages().is_empty());
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_404() {
    let h = Harness::start().await;
    let response = h.http.post(h.url("/cgi-bin/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let answer = common::json_of(response).await;
    assert_eq!(errcode(&answer), 40066);
    let response = h
        .http
        .get(h.url("/cgi-bin/message/custom/send"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn reset_restores_the_configured_state() {
    let h = Harness::start().await;
    let token = h.token().await;
    assert_eq!(
        errcode(
            &h.send_with(&token, "templateMessage.send", &template("FORMID"))
                .await
        ),
        0
    );
    h.emu.set_faults(wechat_msg_emulator::Faults {
        system_busy: 5,
        ..Default::default()
    });
    let answer = h.post("/_emulator/reset", &json!({})).await;
    assert_eq!(answer["ok"], true);
    assert!(h.emu.messages().is_empty());
    assert_eq!(h.emu.counters().calls, 0);
    assert_eq!(h.emu.faults(), wechat_msg_emulator::Faults::default());
    // The form_id is fresh again and the token survived.
    assert_eq!(
        errcode(
            &h.send_with(&token, "templateMessage.send", &template("FORMID"))
                .await
        ),
        0
    );
}

#[tokio::test]
async fn counters_are_served_over_http() {
    let h = Harness::start().await;
    h.send("customerServiceMessage.send", &text("STRANGER"))
        .await;
    h.send("customerServiceMessage.send", &text("OPENID")).await;
    let counters = h.get("/_emulator/counters").await;
    assert_eq!(counters["token_fetches"], 2);
    assert_eq!(counters["calls"], 2);
    assert_eq!(counters["accepted"], 1);
    assert_eq!(counters["errors"]["40003"], 1);
    let index = h.get("/_emulator/").await;
    assert_eq!(
        index["endpoints"].as_array().unwrap().len(),
        wechat_msg::ENDPOINTS.len()
    );
}
