//! The push store on a real `redis-server`: marks shared by instances,
//! released marks, nonces remembered with their body, event keys, and a
//! store that is down answered 503 (WeChat retries).

#[path = "client_support/redis_server.rs"]
mod redis_server;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use wechat_msg::Push;
use wechat_msg::push::body::Encoding;
use wechat_msg::push::{
    Dedupe, PushConfig, PushMessage, PushQuery, PushSigner, Receiver, RedisDedupe, Refusal,
};

const TOKEN: &str = "REDIS-PUSH-TOKEN";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn map(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marks_and_nonces_are_shared_by_instances() {
    let redis = redis_server::RedisServer::start();
    let one = RedisDedupe::open(&redis.url(), "wxAPP1").unwrap();
    let two = RedisDedupe::open(&redis.url(), "wxAPP1").unwrap();
    let other_app = RedisDedupe::open(&redis.url(), "wxAPP2").unwrap();
    assert!(one.first_time("msg:1").await.unwrap());
    assert!(!two.first_time("msg:1").await.unwrap());
    assert!(
        other_app.first_time("msg:1").await.unwrap(),
        "keyed by appid"
    );
    two.release("msg:1").await.unwrap();
    assert!(one.first_time("msg:1").await.unwrap());
    let keep = Duration::from_secs(60);
    assert!(one.nonce("1:n", "aa", keep).await.unwrap());
    assert!(two.nonce("1:n", "aa", keep).await.unwrap());
    assert!(!two.nonce("1:n", "bb", keep).await.unwrap());
    // Marks expire.
    let brief = RedisDedupe::open(&redis.url(), "wxAPP3")
        .unwrap()
        .keep(Duration::from_millis(200));
    assert!(brief.first_time("msg:2").await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(brief.first_time("msg:2").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_behind_one_store_handle_a_push_once_and_a_dead_store_asks_for_a_retry() {
    let mut redis = redis_server::RedisServer::start();
    let receiver = |appid: &str| {
        Receiver::new(PushConfig::new(TOKEN).unwrap())
            .dedupe(RedisDedupe::open(&redis.url(), appid).unwrap())
    };
    let (a, b) = (receiver("wxAPP"), receiver("wxAPP"));
    let push = map(
        json!({"ToUserName":"gh","FromUserName":"U","CreateTime":now(),"MsgType":"text","Content":"hi","MsgId":5}),
    );
    let signed = PushSigner::new(TOKEN)
        .unwrap()
        .sign(&push, Encoding::Json, &[], now(), "77");
    let query = PushQuery::parse(&signed.query).unwrap();
    assert!(!a.open(&query, &signed.body).await.unwrap().duplicate);
    assert!(b.open(&query, &signed.body).await.unwrap().duplicate);
    let other = serde_json::to_vec(&map(json!({"ToUserName":"gh","FromUserName":"U","CreateTime":now(),"MsgType":"text","Content":"forged","MsgId":6}))).unwrap();
    assert_eq!(b.open(&query, &other).await.unwrap_err(), Refusal::Replayed);
    // Redis gone: 503, so WeChat retries; nothing secret in the reason.
    redis.stop();
    let signed = PushSigner::new(TOKEN)
        .unwrap()
        .sign(&push, Encoding::Json, &[], now(), "78");
    let refusal = a
        .open(&PushQuery::parse(&signed.query).unwrap(), &signed.body)
        .await
        .unwrap_err();
    assert_eq!(refusal.status(), 503, "{refusal}");
    assert!(!refusal.to_string().contains(TOKEN));
}

#[test]
fn event_keys_name_the_event_and_the_trace_id() {
    let at = 1_700_000_000;
    let key = |v: Value| Push::from_push_form(map(v)).unwrap().dedupe_key().unwrap();
    let enter = key(
        json!({"ToUserName":"gh","FromUserName":"U","CreateTime":at,"MsgType":"event","Event":"user_enter_tempsession"}),
    );
    let popup = key(
        json!({"ToUserName":"gh","FromUserName":"U","CreateTime":at,"MsgType":"event","Event":"subscribe_msg_popup_event","List":{"TemplateId":"T","SubscribeStatusString":"accept"}}),
    );
    assert_ne!(enter, popup, "two events of one user in one second");
    // Media-check results: many a second for one user, one trace id each.
    let check = |trace: &str| {
        key(
            json!({"ToUserName":"gh","FromUserName":"U","CreateTime":at,"MsgType":"event","Event":"wxa_media_check","trace_id":trace,"appid":"wx"}),
        )
    };
    assert_ne!(check("t1"), check("t2"));
    assert_eq!(check("t1"), check("t1"));
    assert!(check("t1").contains("wxa_media_check") && check("t1").ends_with(":t1"));
    let traced = key(
        json!({"ToUserName":"gh","FromUserName":"U","CreateTime":at,"MsgType":"event","Event":"wxa_media_check","TraceId":"T9"}),
    );
    assert!(traced.ends_with(":T9"), "{traced}");
}
