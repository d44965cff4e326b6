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
    // Media-check results: many a second for one user, one trace id each
    // (the spec's `wxa_media_check` push is keyed by its trace id).
    let check = |trace: &str| {
        key(
            json!({"ToUserName":"gh","FromUserName":"U","CreateTime":at,"MsgType":"event","Event":"wxa_media_check","trace_id":trace,"appid":"wx","errcode":0}),
        )
    };
    assert_ne!(check("t1"), check("t2"));
    assert_eq!(check("t1"), check("t1"));
    assert!(check("t1").ends_with(":t1"), "{}", check("t1"));
    // An event the spec does not describe keeps its name and trace id.
    let traced = key(
        json!({"ToUserName":"gh","FromUserName":"U","CreateTime":at,"MsgType":"event","Event":"some_future_check","TraceId":"T9"}),
    );
    assert!(
        traced.contains("some_future_check") && traced.ends_with(":T9"),
        "{traced}"
    );
}

fn text(id: i64) -> Push {
    Push::from_push_form(map(json!({"ToUserName":"gh","FromUserName":format!("U{id}"),"CreateTime":now(),"MsgType":"text","Content":format!("m{id}"),"MsgId":id}))).unwrap()
}

fn msg_id(push: &Push) -> i64 {
    match push {
        Push::Text(t) => t.msg_id,
        other => panic!("{other:?}"),
    }
}

/// Runs `inbox.consume` with `handler` until `done` says so (or 20 s).
async fn consume_until<F, Fut>(inbox: &wechat_msg::push::Inbox, handler: F, done: impl Fn() -> bool)
where
    F: Fn(Push) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let started = std::time::Instant::now();
    let stop = async {
        while !done() && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    inbox.consume(handler, stop).await;
    assert!(done(), "not done after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_appends_once_and_recovers_what_a_dead_consumer_left() {
    use std::sync::{Arc, Mutex};
    use wechat_msg::push::Inbox;
    let redis = redis_server::RedisServer::start();
    let inbox = Inbox::open(&redis.url())
        .unwrap()
        .claim_after(Duration::from_millis(300))
        .max_attempts(3)
        .backoff(Duration::from_millis(50));
    // Once per dedupe key, whichever instance appends.
    let other = Inbox::open(&redis.url()).unwrap();
    assert!(inbox.append(Some("msg:1"), &text(1)).await.unwrap());
    assert!(!other.append(Some("msg:1"), &text(1)).await.unwrap());
    assert!(other.append(Some("msg:2"), &text(2)).await.unwrap());
    assert_eq!(inbox.stats().await.unwrap().appended, 2);

    let handled = Arc::new(Mutex::new(Vec::new()));
    let sink = handled.clone();
    let record = move |push: Push| {
        let sink = sink.clone();
        async move {
            sink.lock().unwrap().push(msg_id(&push));
            Ok::<(), String>(())
        }
    };
    consume_until(&inbox, record.clone(), || {
        handled.lock().unwrap().len() == 2
    })
    .await;
    // Handled concurrently: in any order.
    let mut both = handled.lock().unwrap().clone();
    both.sort_unstable();
    assert_eq!(both, vec![1, 2]);

    // A consumer that read two pushes and died: one before starting it
    // (handled by another), one after (delivery unknown, not re-run).
    assert!(inbox.append(Some("msg:3"), &text(3)).await.unwrap());
    assert!(inbox.append(Some("msg:4"), &text(4)).await.unwrap());
    let read = redis
        .cli(&[
            "XREADGROUP",
            "GROUP",
            "handlers",
            "ghost",
            "COUNT",
            "2",
            "STREAMS",
            "wechat-msg:inbox:stream",
            ">",
        ])
        .unwrap();
    let ids: Vec<&str> = read
        .lines()
        .filter(|l| l.contains('-') && l.chars().next().unwrap().is_ascii_digit())
        .collect();
    assert_eq!(ids.len(), 2, "{read}");
    let started = ids[1].to_owned();
    redis
        .cli(&[
            "SET",
            &format!("wechat-msg:inbox:started:{started}"),
            "ghost",
        ])
        .unwrap();
    consume_until(&inbox, record.clone(), || {
        handled.lock().unwrap().contains(&3)
    })
    .await;
    // Give the claim of the started one a moment to be classified.
    let started_at = std::time::Instant::now();
    while inbox.stats().await.unwrap().unknown == 0
        && started_at.elapsed() < Duration::from_secs(10)
    {
        consume_until(&inbox, record.clone(), || true).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !handled.lock().unwrap().contains(&4),
        "a started push ran again"
    );
    let unknown = inbox.unknown().await.unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].id, started);
    assert_eq!(unknown[0].key, "msg:4");
    // Re-queued on purpose: handled then.
    assert!(inbox.retry(&started).await.unwrap().is_some());
    assert!(inbox.retry("0-1").await.unwrap().is_none());
    consume_until(&inbox, record.clone(), || {
        handled.lock().unwrap().contains(&4)
    })
    .await;
    assert!(inbox.unknown().await.unwrap().is_empty());

    // A failing handler: retried with backoff, then dead-lettered.
    let tries = Arc::new(Mutex::new(0));
    let count = tries.clone();
    assert!(inbox.append(Some("msg:5"), &text(5)).await.unwrap());
    consume_until(
        &inbox,
        move |_push: Push| {
            let count = count.clone();
            async move {
                *count.lock().unwrap() += 1;
                Err::<(), String>("the database is down".into())
            }
        },
        || {
            *tries.lock().unwrap() == 3
                && redis.cli(&["HLEN", "wechat-msg:inbox:dead"]).as_deref() == Some("1")
        },
    )
    .await;
    let dead = inbox.dead().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempt, 3);
    assert!(dead[0].reason.contains("database is down"));
    let stats = inbox.stats().await.unwrap();
    assert_eq!(
        (stats.dead, stats.unknown, stats.queued),
        (1, 0, 0),
        "{stats:?}"
    );
}

/// The durable mode over HTTP: `success` only once the push is in the
/// inbox, a retry appended once, handlers run from the inbox, 503 while
/// Redis is down (so WeChat retries).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_durable_service_answers_after_appending() {
    use std::sync::{Arc, Mutex};
    use wechat_msg::push::{Inbox, PushService};
    let mut redis = redis_server::RedisServer::start();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let sink = handled.clone();
    let service = PushService::new(Receiver::new(PushConfig::new(TOKEN).unwrap()))
        .try_on_push(move |push: Push| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(msg_id(&push));
                Ok::<(), String>(())
            }
        })
        .durable(Inbox::open(&redis.url()).unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let consumer = tokio::spawn(service.handle_inbox(async {
        let _ = stopped.await;
    }));
    let app = axum::Router::new().nest_service("/p", service.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(wechat_msg::push::serve(
        listener,
        app,
        std::future::pending(),
    ));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let push = map(
        json!({"ToUserName":"gh","FromUserName":"U","CreateTime":now(),"MsgType":"text","Content":"hi","MsgId":77}),
    );
    let signed = PushSigner::new(TOKEN)
        .unwrap()
        .sign(&push, Encoding::Json, &[], now(), "d1");
    for _ in 0..2 {
        let answer = http
            .post(format!("http://{addr}/p?{}", signed.query))
            .body(signed.body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.text().await.unwrap(), "success");
    }
    let started = std::time::Instant::now();
    while handled.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*handled.lock().unwrap(), vec![77]);
    let stats = Inbox::open(&redis.url()).unwrap().stats().await.unwrap();
    assert_eq!((stats.appended, stats.handled), (1, 1), "{stats:?}");
    let _ = stop.send(());
    consumer.await.unwrap();
    // Redis gone: not `success` but 503, so WeChat tries again.
    redis.stop();
    let signed = PushSigner::new(TOKEN)
        .unwrap()
        .sign(&push, Encoding::Json, &[], now(), "d2");
    let answer = http
        .post(format!("http://{addr}/p?{}", signed.query))
        .body(signed.body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
}

#[test]
fn a_password_in_the_store_url_is_never_shown() {
    let url = "redis://:S3CRET-PASSWORD@127.0.0.1:1/0";
    let dedupe = RedisDedupe::open(url, "wxAPP").unwrap();
    let inbox = wechat_msg::push::Inbox::open(url).unwrap();
    let service =
        wechat_msg::push::PushService::new(Receiver::new(PushConfig::new(TOKEN).unwrap()))
            .durable(wechat_msg::push::Inbox::open(url).unwrap());
    let shown = format!("{dedupe:?} {inbox:?} {service:?}");
    assert!(
        !shown.contains("S3CRET") && !shown.contains(TOKEN),
        "{shown}"
    );
    let err = RedisDedupe::open("redis://:S3CRET@[bad", "wxAPP").unwrap_err();
    assert!(!err.to_string().contains("S3CRET"), "{err}");
}
