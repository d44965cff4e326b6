//! Quotas and rids as WeChat runs them: calls counted per API per day
//! against the configured limits (45009 past one), getApiQuota's report
//! (76021, 76022), clearQuota and clear_quota/v2 (10 a calendar month, then
//! 48006; 40013, 41002, 41004), a rid at the end of every error's errmsg, and
//! getRidInfo's record of that call for 7 days on the emulator's clock
//! (76001, 76002, 76004), with the access_token redacted.

mod common;

use std::time::Duration;

use common::{Harness, errcode};
use serde_json::{Value, json};
use wechat_msg::Wire as _;
use wechat_msg_emulator::{Config, EndpointQuota};

const SEND_PATH: &str = "/cgi-bin/message/custom/send";

fn text(to: &str) -> Value {
    json!({"touser": to, "msgtype": "text", "text": {"content": "Hello World"}})
}

fn rid(answer: &Value) -> String {
    let msg = answer["errmsg"].as_str().unwrap_or_default();
    wechat_msg::meta::rid_of(msg).unwrap_or_else(|| panic!("no rid in {answer}"))
}

async fn quota(h: &Harness, path: &str) -> Value {
    h.send("openApi.getApiQuota", &json!({ "cgi_path": path }))
        .await
}

#[tokio::test]
async fn calls_are_counted_per_api_and_refused_past_the_daily_limit() {
    let mut config = Config::default();
    config.quotas.endpoints.insert(
        "customerServiceMessage.send".into(),
        EndpointQuota::new(Some(2), None),
    );
    let h = Harness::with(config).await;
    let answer = quota(&h, SEND_PATH).await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    assert_eq!(
        answer["quota"],
        json!({"daily_limit": 2, "used": 0, "remain": 2})
    );
    for _ in 0..2 {
        assert_eq!(
            errcode(&h.send("customerServiceMessage.send", &text("OPENID")).await),
            0
        );
    }
    assert_eq!(
        quota(&h, SEND_PATH).await["quota"],
        json!({"daily_limit": 2, "used": 2, "remain": 0})
    );
    let refused = h.send("customerServiceMessage.send", &text("OPENID")).await;
    assert_eq!(errcode(&refused), 45009, "{refused}");
    assert!(
        refused["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("reach max api daily quota limit rid: ")
    );
    // Another API has its own count (the global daily limit).
    let other = quota(&h, "/cgi-bin/message/subscribe/send").await;
    assert_eq!(other["quota"]["used"], 0);
    assert_eq!(other["quota"]["daily_limit"], 1_000_000);
}

#[tokio::test]
async fn the_daily_counts_start_again_the_next_day_on_the_emulators_clock() {
    let mut config = Config::default();
    config.quotas.endpoints.insert(
        "customerServiceMessage.send".into(),
        EndpointQuota::new(Some(1), None),
    );
    let h = Harness::with(config).await;
    assert_eq!(
        errcode(&h.send("customerServiceMessage.send", &text("OPENID")).await),
        0
    );
    let full = h.send("customerServiceMessage.send", &text("OPENID")).await;
    assert_eq!(errcode(&full), 45009, "{full}");
    h.emu.advance_clock(Duration::from_secs(86_400));
    assert_eq!(
        quota(&h, SEND_PATH).await["quota"],
        json!({"daily_limit": 1, "used": 0, "remain": 1})
    );
    // The reply window is not a quota: the user writes again.
    h.emu
        .user_acts("OPENID", json!({"MsgType": "text", "Content": "again"}))
        .await
        .unwrap();
    assert_eq!(
        errcode(&h.send("customerServiceMessage.send", &text("OPENID")).await),
        0
    );
}

#[tokio::test]
async fn an_unknown_or_foreign_cgi_path_is_refused() {
    let h = Harness::start().await;
    let answer = quota(&h, "/cgi-bin/nope").await;
    assert_eq!(errcode(&answer), 76021, "{answer}");
    assert!(
        answer["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("cgi_path not found, please check rid: ")
    );
    let answer = quota(&h, "/sns/jscode2session").await;
    assert_eq!(errcode(&answer), 76022, "{answer}");
    assert!(
        answer["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("could not use this cgi_path，no permission rid: ")
    );
    let answer = h.send("openApi.getApiQuota", &json!({})).await;
    assert_eq!(errcode(&answer), 76021, "{answer}");
}

/// One createActivityId call (an API without a per-user window, so only
/// the daily quota limits it).
async fn create_activity(h: &Harness, token: &str) -> Value {
    h.get(&format!(
        "/cgi-bin/message/wxopen/activityid/create?access_token={token}"
    ))
    .await
}

#[tokio::test]
async fn clearing_resets_the_counts_ten_times_a_month() {
    let mut config = Config::default();
    config.quotas.endpoints.insert(
        "updatableMessage.createActivityId".into(),
        EndpointQuota::new(Some(1), None),
    );
    let h = Harness::with(config).await;
    let token = h.token().await;
    let appid = h.emu.app().appid.clone();
    let secret = h.emu.app().secret.clone();
    let wrong = h
        .send("openApi.clearQuota", &json!({"appid": "wx-not-mine"}))
        .await;
    assert_eq!(errcode(&wrong), 40013, "{wrong}");
    let missing = h.send("openApi.clearQuota", &json!({})).await;
    assert_eq!(errcode(&missing), 41002, "{missing}");

    let mut cleared = 0;
    let mut refused = None;
    for round in 0..11 {
        assert_eq!(
            errcode(&create_activity(&h, &token).await),
            0,
            "round {round}"
        );
        let full = create_activity(&h, &token).await;
        assert_eq!(errcode(&full), 45009, "round {round}");
        // Half of the clears without a token, with the AppSecret.
        let answer = if round % 2 == 0 {
            h.send("openApi.clearQuota", &json!({ "appid": appid }))
                .await
        } else {
            h.post(
                &format!("/cgi-bin/clear_quota/v2?appid={appid}&appsecret={secret}"),
                &json!({}),
            )
            .await
        };
        if errcode(&answer) == 0 {
            cleared += 1;
        } else {
            refused = Some(answer);
            break;
        }
    }
    // Ten clears in a calendar month (UTC) on the emulator's clock.
    assert_eq!(cleared, 10);
    let refused = refused.expect("the eleventh clear is refused");
    assert_eq!(errcode(&refused), 48006, "{refused}");
    assert!(
        refused["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("forbid to clear quota because of reaching the limit rid: ")
    );
    // The counts stay used up; next month on the emulator's clock, a clear
    // is allowed again.
    assert_eq!(errcode(&create_activity(&h, &token).await), 45009);
    h.emu.advance_clock(Duration::from_secs(32 * 86_400));
    let token = h.token().await;
    let answer = h
        .send("openApi.clearQuota", &json!({ "appid": appid }))
        .await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    assert_eq!(errcode(&create_activity(&h, &token).await), 0);
}

#[tokio::test]
async fn clear_quota_v2_takes_the_credentials_in_the_query_or_the_body() {
    let h = Harness::start().await;
    let appid = h.emu.app().appid.clone();
    let secret = h.emu.app().secret.clone();
    let answer = h
        .post(
            "/cgi-bin/clear_quota/v2",
            &json!({"appid": appid, "appsecret": secret}),
        )
        .await;
    assert_eq!(errcode(&answer), 0, "{answer}");
    let answer = h.post("/cgi-bin/clear_quota/v2", &json!({})).await;
    assert_eq!(errcode(&answer), 41002, "{answer}");
    let answer = h
        .post(
            &format!("/cgi-bin/clear_quota/v2?appid={appid}"),
            &json!({}),
        )
        .await;
    assert_eq!(errcode(&answer), 41004, "{answer}");
    let answer = h
        .post(
            "/cgi-bin/clear_quota/v2?appid=wx-other&appsecret=x",
            &json!({}),
        )
        .await;
    assert_eq!(errcode(&answer), 40013, "{answer}");
    let answer = h
        .post(
            &format!("/cgi-bin/clear_quota/v2?appid={appid}&appsecret=wrong"),
            &json!({}),
        )
        .await;
    assert_eq!(errcode(&answer), 40125, "{answer}");
    // The AppSecret is not in the record of the refused call.
    let info = h
        .send("openApi.getRidInfo", &json!({"rid": rid(&answer)}))
        .await;
    assert_eq!(errcode(&info), 0, "{info}");
    let url = info["request"]["request_url"].as_str().unwrap();
    assert!(
        !url.contains("wrong") && url.contains("appsecret=***"),
        "{url}"
    );
}

#[tokio::test]
async fn a_failed_calls_rid_tells_what_was_sent_for_7_days() {
    let h = Harness::start().await;
    let token = h.token().await;
    let failed = h
        .send_with(&token, "customerServiceMessage.send", &text("NOBODY"))
        .await;
    assert_eq!(errcode(&failed), 40003, "{failed}");
    let rid = rid(&failed);

    let info = h.send("openApi.getRidInfo", &json!({ "rid": rid })).await;
    assert_eq!(errcode(&info), 0, "{info}");
    let request = &info["request"];
    assert_eq!(request["request_url"], "access_token=***");
    assert!(!info.to_string().contains(&token), "the token is redacted");
    let sent: Value = serde_json::from_str(request["request_body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, text("NOBODY"));
    let answered: Value = serde_json::from_str(request["response_body"].as_str().unwrap()).unwrap();
    assert_eq!(answered, failed);
    assert!(request["invoke_time"].as_u64().unwrap() > 1_600_000_000);
    assert!(request["cost_in_ms"].is_u64());
    assert!(request["client_ip"].is_string());
    // The typed answer of the spec reads it.
    let typed = <wechat_msg::RidQuery as wechat_msg::Endpoint>::Answer::from_json(
        &json!({"request": request}).to_string(),
        wechat_msg::Form::Http,
    )
    .unwrap();
    assert_eq!(typed.request.request_url, "access_token=***");

    // A cloud call's error has a rid too.
    let cloud = h
        .cloud("customerServiceMessage.send", &text("NOBODY"))
        .await;
    let cloud_rid = wechat_msg::meta::rid_of(cloud["errMsg"].as_str().unwrap()).unwrap();
    let info = h
        .send("openApi.getRidInfo", &json!({ "rid": cloud_rid }))
        .await;
    assert_eq!(errcode(&info), 0, "{info}");

    // 6 days later it is still there; 8 days later it is too old.
    h.emu.advance_clock(Duration::from_secs(6 * 86_400));
    let info = h.send("openApi.getRidInfo", &json!({ "rid": rid })).await;
    assert_eq!(errcode(&info), 0, "{info}");
    h.emu.advance_clock(Duration::from_secs(2 * 86_400));
    let old = h.send("openApi.getRidInfo", &json!({ "rid": rid })).await;
    assert_eq!(errcode(&old), 76004, "{old}");
    assert!(
        old["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("rid time is error rid: ")
    );
}

#[tokio::test]
async fn unknown_and_malformed_rids_are_refused() {
    let h = Harness::start().await;
    let unknown = h
        .send(
            "openApi.getRidInfo",
            &json!({"rid": "00000000-00000000-00000000"}),
        )
        .await;
    assert_eq!(errcode(&unknown), 76001, "{unknown}");
    assert!(
        unknown["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("rid not found rid: ")
    );
    for bad in ["", "not-a-rid", "650b8665-65fe50fc"] {
        let answer = h.send("openApi.getRidInfo", &json!({ "rid": bad })).await;
        assert_eq!(errcode(&answer), 76002, "{bad:?}: {answer}");
    }
    let missing = h.send("openApi.getRidInfo", &json!({})).await;
    assert_eq!(errcode(&missing), 76002, "{missing}");
}
