//! The receive path: sealed (safe mode) JSON text pushes POSTed by 32
//! concurrent senders to a `PushService` served by `wechat_msg::push::serve`
//! on loopback, each push new (its own MsgId, timestamp and nonce), every
//! answer checked to be `success`.
//!
//! - `memory`: answered at once, in-memory deduplication, a handler that
//!   does nothing;
//! - `redis_inbox`: `RedisDedupe` and the durable inbox on a real
//!   `redis-server` (started here on a free port): each push is marked and
//!   appended to the stream before `success`, and a consumer in the same
//!   process handles them meanwhile.
//!
//! Criterion reports pushes a second (the sealing of each push by the
//! sender is inside the measured time, the same for both). A load run then
//! sends 4000 pushes per mode and prints the p50 / p99 / max time to answer.
//!
//! Run: `cargo bench -p wechat-msg-tests --bench receive`; the last results
//! are in BENCHMARKS.md. Needs `redis-server` on the PATH for `redis_inbox`.

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use wechat_msg::Push;
use wechat_msg::push::body::Encoding;
use wechat_msg::push::{Inbox, PushConfig, PushService, PushSigner, Receiver, RedisDedupe};

const SENDERS: u64 = 32;
const TOKEN: &str = "BENCH-PUSH-TOKEN";
const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ";
const APPID: &str = "wx0123456789abcdef";
const LOAD_RUN: u64 = 4000;

static MSG_ID: AtomicI64 = AtomicI64::new(1);

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A sender: seals a new push and POSTs it; its time to answer.
#[derive(Clone)]
struct Sender {
    http: reqwest::Client,
    url: Arc<str>,
    signer: Arc<PushSigner>,
}

impl Sender {
    async fn one(&self) -> Duration {
        let id = MSG_ID.fetch_add(1, Ordering::Relaxed);
        let push: Map<String, Value> = json!({
            "ToUserName": "gh_0123456789ab", "FromUserName": format!("USER{}", id % 97),
            "CreateTime": now(), "MsgType": "text", "Content": "hello", "MsgId": id,
        })
        .as_object()
        .unwrap()
        .clone();
        let signed = self
            .signer
            .sign(&push, Encoding::Json, &[], now(), &id.to_string());
        let started = Instant::now();
        let answer = self
            .http
            .post(format!("{}?{}", self.url, signed.query))
            .body(signed.body)
            .send()
            .await
            .expect("post");
        let status = answer.status();
        let text = answer.text().await.expect("answer");
        assert!(status.is_success() && text == "success", "{status} {text}");
        started.elapsed()
    }
}

/// Sends `n` pushes over [`SENDERS`] tasks: the wall time and every time
/// to answer.
async fn batch(n: u64, sender: &Sender) -> (Duration, Vec<Duration>) {
    let start = Instant::now();
    let tasks: Vec<_> = (0..SENDERS)
        .map(|i| {
            let count = n / SENDERS + u64::from(i < n % SENDERS);
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    times.push(sender.one().await);
                }
                times
            })
        })
        .collect();
    let mut times = Vec::with_capacity(n as usize);
    for task in tasks {
        times.extend(task.await.expect("a sender panicked"));
    }
    (start.elapsed(), times)
}

struct RedisServer(Child, u16);

impl RedisServer {
    fn start() -> Option<RedisServer> {
        let port = StdListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = RedisServer(child, port);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.1)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(service: PushService) -> String {
    let app = axum::Router::new().nest_service("/wechat/push", service.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(wechat_msg::push::serve(
        listener,
        app,
        std::future::pending(),
    ));
    format!("http://{addr}/wechat/push")
}

fn receiver() -> Receiver {
    Receiver::new(
        PushConfig::new(TOKEN)
            .unwrap()
            .encrypted(KEY, APPID)
            .unwrap(),
    )
}

fn receive(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let signer = Arc::new(
        PushSigner::new(TOKEN)
            .unwrap()
            .encrypted(KEY, APPID)
            .unwrap(),
    );
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut modes = Vec::new();
    let memory = rt.block_on(serve(
        PushService::new(receiver()).on_push(|_push: Push| async {}),
    ));
    modes.push(("memory", memory));
    let redis = RedisServer::start();
    match &redis {
        Some(redis) => {
            let url = rt.block_on(async {
                let service = PushService::new(
                    receiver().dedupe(RedisDedupe::open(&redis.url(), APPID).unwrap()),
                )
                .on_push(|_push: Push| async {})
                .durable(Inbox::open(&redis.url()).unwrap());
                tokio::spawn(service.handle_inbox(std::future::pending()));
                serve(service).await
            });
            modes.push(("redis_inbox", url));
        }
        None => eprintln!("redis-server not found: redis_inbox is skipped"),
    }
    let senders: Vec<(&str, Sender)> = modes
        .into_iter()
        .map(|(name, url)| {
            (
                name,
                Sender {
                    http: http.clone(),
                    url: url.into(),
                    signer: signer.clone(),
                },
            )
        })
        .collect();
    // Every mode answers before anything is measured.
    for (_, sender) in &senders {
        rt.block_on(sender.one());
    }

    let mut group = c.benchmark_group("receive/safe/text");
    group.throughput(Throughput::Elements(1));
    for (name, sender) in &senders {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| rt.block_on(batch(iters, sender)).0)
        });
    }
    group.finish();

    for (name, sender) in &senders {
        let (wall, mut times) = rt.block_on(batch(LOAD_RUN, sender));
        times.sort_unstable();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        println!(
            "load run {name}: {LOAD_RUN} pushes, {SENDERS} senders: {:.0} pushes/s, answer p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            LOAD_RUN as f64 / wall.as_secs_f64(),
            at(0.50).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
        );
    }
    if let Some(redis) = &redis {
        // How long the consumer takes to finish what the senders left.
        let inbox = Inbox::open(&redis.url()).unwrap();
        let started = Instant::now();
        let (left, handled) = rt.block_on(async {
            let stats = inbox.stats().await.unwrap();
            loop {
                let now = inbox.stats().await.unwrap();
                if now.queued == 0 || started.elapsed() > Duration::from_secs(120) {
                    return (stats.queued, now.handled);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        println!(
            "redis_inbox: {left} pushes queued when the senders stopped, drained in {:.2} s; {handled} handled in all",
            started.elapsed().as_secs_f64()
        );
    }
    drop(redis);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = receive
}
criterion_main!(benches);
