//! `Client::send_all`: against the emulator in this process, against a
//! server that refuses overlapping calls for one user (as WeChat answers
//! 43108), and against a raw server that never answers.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wechat_msg::Client;
use wechat_msg::client::{BulkMessage, BulkOptions, Outcome, TokenSource};
use wechat_msg::{Errcode, ErrorClass, Form, SubscribeKeyword, SubscribeMessage};
use wechat_msg_emulator::{Config, Emulator, Grant};

fn subscribe() -> &'static wechat_msg::meta::EndpointInfo {
    wechat_msg::meta::endpoint("subscribeMessage.send").unwrap()
}

/// A subscribe message to `touser` whose content names `n`.
fn body(touser: &str, n: usize) -> Value {
    json!({"touser": touser, "template_id": "TEMPLATE_ID", "data": {"thing1": {"value": format!("message {n}")}}})
}

fn client_of(emulator: &Emulator) -> Client {
    let app = emulator.app();
    Client::builder()
        .base_url(emulator.base_url())
        .credentials(app.appid.clone(), app.secret.clone())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn users(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("USER_{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_typed_and_dynamic_messages_once_each_with_an_outcome_per_item() {
    let mut config = Config::default();
    config.known.openids = users(5);
    config.subscriptions.granted = users(5)
        .into_iter()
        .map(|openid| Grant::long_term(openid, "TEMPLATE_ID"))
        .collect();
    let emulator = Emulator::start(config).await.unwrap();
    let client = client_of(&emulator);

    let mut input = Vec::new();
    for n in 0..40 {
        let touser = format!("USER_{}", n % 5);
        input.push(if n % 2 == 0 {
            let typed = SubscribeMessage::builder()
                .touser(touser)
                .template_id("TEMPLATE_ID")
                .data(BTreeMap::from([(
                    "thing1".to_owned(),
                    SubscribeKeyword::builder()
                        .value(format!("message {n}"))
                        .build(),
                )]))
                .build();
            BulkMessage::new(&typed)
        } else {
            BulkMessage::value(subscribe(), body(&touser, n), Form::Http)
        });
    }
    // One the emulator rejects (unknown template), one the spec rejects.
    input.push(BulkMessage::value(
        subscribe(),
        json!({"touser": "USER_0", "template_id": "NOPE", "data": {}}),
        Form::Http,
    ));
    input.push(BulkMessage::value(
        subscribe(),
        json!({"touser": "USER_0", "data": {}}),
        Form::Http,
    ));
    let options = BulkOptions::default().concurrency(4).rate_per_second(1000);
    let outcomes = client
        .send_all_with(stream::iter(input), options)
        .collect_in_order()
        .await;

    assert_eq!(outcomes.len(), 42);
    for (n, outcome) in outcomes[..40].iter().enumerate() {
        assert!(matches!(outcome, Outcome::Sent(_)), "{n}: {outcome:?}");
    }
    let Outcome::Rejected(err) = &outcomes[40] else {
        panic!("{:?}", outcomes[40]);
    };
    assert_eq!(err.errcode().map(Errcode::code), Some(40037));
    assert_eq!(err.class(), Some(ErrorClass::Permanent));
    let Outcome::NotSent(err) = &outcomes[41] else {
        panic!("{:?}", outcomes[41]);
    };
    assert!(err.to_string().contains("template_id"), "{err}");

    // Each message exactly once, by content.
    let mut seen = HashMap::new();
    for message in emulator.messages() {
        let text = message.body["data"]["thing1"]["value"]
            .as_str()
            .unwrap()
            .to_owned();
        *seen.entry(text).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 40);
    assert!(seen.values().all(|count| *count == 1), "{seen:?}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_gate_withholds_the_message() {
    let emulator = Emulator::start(Config::default()).await.unwrap();
    let client = client_of(&emulator);
    let input = (0..6).map(|n| BulkMessage::value(subscribe(), body("OPENID", n), Form::Http));
    let options = BulkOptions::default().before_send(|index| async move { index % 2 == 0 });
    let outcomes = client
        .send_all_with(stream::iter(input.collect::<Vec<_>>()), options)
        .collect_in_order()
        .await;
    let names: Vec<&str> = outcomes.iter().map(Outcome::name).collect();
    assert_eq!(
        names,
        ["sent", "withheld", "sent", "withheld", "sent", "withheld"]
    );
    assert_eq!(emulator.messages().len(), 3);
    emulator.shutdown().await;
}

/// What the strict server saw.
#[derive(Default)]
struct Seen {
    in_flight: Mutex<HashMap<String, usize>>,
    overall: AtomicUsize,
    max_overall: AtomicUsize,
    refused: AtomicUsize,
    accepted: Mutex<Vec<String>>,
}

/// Answers 43108 when a call for a user overlaps another for the same user,
/// as WeChat does; holds each call for a while so overlaps would show.
async fn strict(State(seen): State<Arc<Seen>>, Json(body): Json<Value>) -> Json<Value> {
    let touser = body["touser"].as_str().unwrap_or_default().to_owned();
    let overlapping = {
        let mut in_flight = seen.in_flight.lock().unwrap();
        let count = in_flight.entry(touser.clone()).or_insert(0);
        *count += 1;
        *count > 1
    };
    let now = seen.overall.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_overall.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    seen.overall.fetch_sub(1, Ordering::SeqCst);
    *seen.in_flight.lock().unwrap().get_mut(&touser).unwrap() -= 1;
    if overlapping {
        seen.refused.fetch_add(1, Ordering::SeqCst);
        return Json(json!({"errcode": 43108, "errmsg": "concurrent calls for one openid"}));
    }
    let content = body["data"]["thing1"]["value"].as_str().unwrap_or_default();
    seen.accepted.lock().unwrap().push(content.to_owned());
    Json(json!({"errcode": 0, "errmsg": "ok"}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_send_at_a_time_per_user_within_the_concurrency_bound() {
    let seen = Arc::new(Seen::default());
    let app = axum::Router::new()
        .route(subscribe().path, post(strict))
        .with_state(seen.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .token_source(TokenSource::None)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // Runs of messages to the same user, so a careless scheduler overlaps them.
    let input: Vec<BulkMessage> = (0..36)
        .map(|n| BulkMessage::value(subscribe(), body(&format!("U{}", n / 6 % 3), n), Form::Http))
        .collect();
    let outcomes = client
        .send_all_with(stream::iter(input), BulkOptions::default().concurrency(3))
        .collect_in_order()
        .await;

    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Sent(_))),
        "{outcomes:?}"
    );
    assert_eq!(seen.refused.load(Ordering::SeqCst), 0);
    assert_eq!(seen.accepted.lock().unwrap().len(), 36);
    let max = seen.max_overall.load(Ordering::SeqCst);
    assert!(max <= 3, "at most 3 at once, saw {max}");
    // Three users, three slots, each call held 100 ms: they did overlap.
    assert!(max >= 2, "the users' sends never overlapped");
    // Per user, the input order is kept.
    let accepted = seen.accepted.lock().unwrap().clone();
    for user in 0..3 {
        let mine: Vec<usize> = accepted
            .iter()
            .map(|text| {
                text.trim_start_matches("message ")
                    .parse::<usize>()
                    .unwrap()
            })
            .filter(|n| n / 6 % 3 == user)
            .collect();
        let mut sorted = mine.clone();
        sorted.sort_unstable();
        assert_eq!(mine, sorted);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_without_an_answer_is_delivery_unknown_and_not_sent_again() {
    // Reads each request whole, then closes the connection without a word.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stream.read(&mut chunk).await {
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            counted.fetch_add(1, Ordering::SeqCst);
                            let _ = stream.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .token_source(TokenSource::None)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let input: Vec<BulkMessage> = (0..4)
        .map(|n| BulkMessage::value(subscribe(), body(&format!("U{n}"), n), Form::Http))
        .collect();
    let mut outcomes = client.send_all(stream::iter(input));
    let mut seen = Vec::new();
    while let Some((index, outcome)) = outcomes.next().await {
        assert!(
            matches!(outcome, Outcome::DeliveryUnknown(_)),
            "{index}: {outcome:?}"
        );
        seen.push(index);
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3]);
    // One request each: none was sent again.
    assert_eq!(requests.load(Ordering::SeqCst), 4);
}
