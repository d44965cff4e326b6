//! `Client::send` against raw reqwest posting precomputed bytes, both to
//! the same loopback axum server answering a constant
//! `{"errcode":0,"errmsg":"ok"}`, from 32 concurrent senders.
//!
//! The client is given a fixed token (`TokenSource::fixed`), so no token
//! is fetched: the difference is what `send` adds to one POST (serializing,
//! checking, building the URL, reading and classifying the answer). Each
//! sample sends its iterations spread over 32 tasks on a two-worker
//! runtime; criterion reports the throughput (messages a second).
//!
//! Run: `cargo bench -p wechat-msg-tests --bench send`; the last results
//! are in BENCHMARKS.md.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::routing::post;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wechat_msg::client::TokenSource;
use wechat_msg::{Client, CustomerServiceMessage, Form, Wire};

mod hand;

const SENDERS: u64 = 32;
const PATH: &str = "/cgi-bin/message/custom/send";
const TOKEN: &str = "BENCH_TOKEN";

/// Runs `iters` calls of `one` spread over [`SENDERS`] tasks and returns
/// the wall time of the whole batch.
async fn batch<F, Fut>(iters: u64, one: Arc<F>) -> Duration
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let start = Instant::now();
    let tasks: Vec<_> = (0..SENDERS)
        .map(|i| {
            let n = iters / SENDERS + u64::from(i < iters % SENDERS);
            let one = Arc::clone(&one);
            tokio::spawn(async move {
                for _ in 0..n {
                    one().await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a sender panicked");
    }
    start.elapsed()
}

fn send(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let base = rt.block_on(async {
        let app = Router::new().route(
            PATH,
            post(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"errcode":0,"errmsg":"ok"}"#,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    });

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden/customerServiceMessage.send/text.http.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let message = Arc::new(CustomerServiceMessage::from_json(&text, Form::Http).unwrap());
    let body: &'static [u8] = message.to_json_vec(Form::Http).leak();

    let client = Client::builder()
        .base_url(&base)
        .token_source(TokenSource::fixed(TOKEN))
        .build()
        .unwrap();
    let raw = reqwest::Client::new();
    // Set up as `Client::builder()` sets up its own: what of the difference
    // is those settings rather than `send`'s work.
    let raw_timeouts = hand::reqwest_with_the_clients_settings();
    let url: Arc<str> = format!("{base}{PATH}?access_token={TOKEN}").into();

    // Both reach the server and are answered before anything is measured.
    rt.block_on(async {
        client.send(&*message).await.expect("the client's send");
        let answer = raw.post(&*url).body(body).send().await.unwrap();
        assert!(answer.status().is_success());
    });

    let mut group = c.benchmark_group("send/customerServiceMessage.send/text");
    group.throughput(Throughput::Elements(1));
    group.bench_function("client_send", |b| {
        let one = Arc::new({
            let (client, message) = (client.clone(), Arc::clone(&message));
            move || {
                let (client, message) = (client.clone(), Arc::clone(&message));
                async move {
                    client.send(&*message).await.expect("send");
                }
            }
        });
        b.iter_custom(|iters| rt.block_on(batch(iters, Arc::clone(&one))))
    });
    for (label, raw) in [
        ("raw_reqwest", &raw),
        ("raw_reqwest_timeouts", &raw_timeouts),
    ] {
        group.bench_function(label, |b| {
            let one = Arc::new({
                let (raw, url) = (raw.clone(), Arc::clone(&url));
                move || {
                    let (raw, url) = (raw.clone(), Arc::clone(&url));
                    async move {
                        let answer = raw
                            .post(&*url)
                            .header(reqwest::header::CONTENT_TYPE, "application/json")
                            .body(body)
                            .send()
                            .await
                            .expect("post");
                        assert!(answer.status().is_success());
                        answer.bytes().await.expect("answer");
                    }
                }
            });
            b.iter_custom(|iters| rt.block_on(batch(iters, Arc::clone(&one))))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = send
}
criterion_main!(benches);
