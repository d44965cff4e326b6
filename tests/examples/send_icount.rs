//! Sends N text messages to a loopback server answering a constant
//! `{"errcode":0,"errmsg":"ok"}`, from 32 concurrent senders, either with
//! `Client::send` (a fixed token) or with raw reqwest posting the same
//! precomputed bytes (`raw`: `reqwest::Client::new()`; `raw_timeouts`: set
//! up as `Client::builder()` sets up its own, with a per-request timeout
//! and no redirects): the send benchmark's sides, for counting
//! instructions under valgrind, which other load on the machine does not
//! change:
//!
//! ```text
//! cargo build --release -p wechat-msg-tests --example send_icount
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/send_icount client 3200
//! ```
//!
//! `scripts/send-icount.sh` runs every side and prints the instructions per
//! message (user space: the kernel's share, the same for both, is not counted).

use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::post;
use wechat_msg::client::TokenSource;
use wechat_msg::{Client, CustomerServiceMessage, Form, Wire};

#[path = "../benches/hand/mod.rs"]
mod hand;

const SENDERS: u64 = 32;
const PATH: &str = "/cgi-bin/message/custom/send";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: send_icount client|raw|raw_timeouts N";
    let [side, n] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let (Ok(n), true) = (
        n.parse::<u64>(),
        matches!(side.as_str(), "client" | "raw" | "raw_timeouts"),
    ) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let client_side = side == "client";
    let side = side.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let app = Router::new().route(
            PATH,
            post(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"errcode":0,"errmsg":"ok"}"#,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let base = format!("http://{addr}");
        let text = r#"{"touser":"OPENID","msgtype":"text","text":{"content":"Hello World"}}"#;
        let message =
            Arc::new(CustomerServiceMessage::from_json(text, Form::Http).expect("a body"));
        let body: &'static [u8] = message.to_json_vec(Form::Http).leak();
        let client = Client::builder()
            .base_url(&base)
            .token_source(TokenSource::fixed("BENCH_TOKEN"))
            .build()
            .expect("a client");
        let raw = if side == "raw_timeouts" {
            hand::reqwest_with_the_clients_settings()
        } else {
            reqwest::Client::new()
        };
        let url: Arc<str> = format!("{base}{PATH}?access_token=BENCH_TOKEN").into();
        let tasks: Vec<_> = (0..SENDERS)
            .map(|i| {
                let count = n / SENDERS + u64::from(i < n % SENDERS);
                let (client, message, raw, url) =
                    (client.clone(), message.clone(), raw.clone(), url.clone());
                tokio::spawn(async move {
                    for _ in 0..count {
                        if client_side {
                            client.send(&*message).await.expect("send");
                        } else {
                            let answer = raw
                                .post(&*url)
                                .header(reqwest::header::CONTENT_TYPE, "application/json")
                                .body(body)
                                .send()
                                .await
                                .expect("post");
                            answer.bytes().await.expect("answer");
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a sender");
        }
    });
    ExitCode::SUCCESS
}
