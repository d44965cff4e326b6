//! A scriptable stand-in for WeChat on loopback, shared by the client tests:
//! an axum server that records every request and answers through a closure
//! given by the test, and a raw TCP server for faults axum cannot make
//! (dripping bytes, resets).
#![allow(dead_code)]

pub mod logs;
pub mod redis_server;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use wechat_msg::Client;
use wechat_msg::client::{ClientBuilder, RetryPolicy, TokenSource};

pub const APPID: &str = "wx0123456789abcdef";
pub const SECRET: &str = "SECRET-5f4dcc3b5aa765d61d8327deb882cf99";

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    pub body: Bytes,
    /// Multipart parts: (name, file name, content type, bytes).
    pub parts: Vec<(String, Option<String>, Option<String>, Bytes)>,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn token(&self) -> Option<&str> {
        self.query.get("access_token").map(String::as_str)
    }
}

pub type Reply = Pin<Box<dyn Future<Output = Response> + Send>>;
type Handler = Arc<dyn Fn(Hit) -> Reply + Send + Sync>;

/// A running stand-in server.
#[derive(Clone)]
pub struct Fake {
    pub addr: SocketAddr,
    pub hits: Arc<Mutex<Vec<Hit>>>,
}

impl Fake {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// How many requests reached `path`.
    pub fn count(&self, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .count()
    }

    pub fn to(&self, path: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path == path).collect()
    }
}

/// Serves `handler` on a loopback port.
pub async fn serve<F, Fut>(handler: F) -> Fake
where
    F: Fn(Hit) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let handler: Handler = Arc::new(move |hit| Box::pin(handler(hit)));
    let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
    let recorded = hits.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let handler = handler.clone();
        let recorded = recorded.clone();
        async move {
            let hit = read_hit(request).await;
            recorded.lock().unwrap().push(hit.clone());
            handler(hit).await
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Fake { addr, hits }
}

async fn read_hit(request: Request) -> Hit {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (decode(k), decode(v)))
                .collect()
        })
        .unwrap_or_default();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut parts = Vec::new();
    let mut body = Bytes::new();
    if content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("multipart/form-data"))
    {
        let mut multipart = Multipart::from_request(request, &()).await.unwrap();
        while let Some(field) = multipart.next_field().await.unwrap() {
            let name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let ct = field.content_type().map(str::to_owned);
            let bytes = field.bytes().await.unwrap();
            parts.push((name, file_name, ct, bytes));
        }
    } else {
        body = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .unwrap();
    }
    Hit {
        method,
        path,
        query,
        content_type,
        user_agent,
        body,
        parts,
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON answer with status 200.
pub fn json(value: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

/// An answer with any status, content type and body.
pub fn raw(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

pub fn ok() -> Response {
    json(serde_json::json!({"errcode": 0, "errmsg": "ok"}))
}

pub fn errcode(code: i64, errmsg: &str) -> Response {
    json(serde_json::json!({"errcode": code, "errmsg": errmsg}))
}

/// Issues `TOKEN-1`, `TOKEN-2`, ... from the stable and classic token
/// endpoints, each living `expires_in` seconds. Returns `None` for other paths.
#[derive(Clone, Default)]
pub struct Tokens {
    issued: Arc<AtomicUsize>,
}

impl Tokens {
    pub fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// The `n`th token issued (from 1).
    pub fn nth(n: usize) -> String {
        format!("TOKEN-{n}-9f86d081884c7d65")
    }

    pub fn answer(&self, hit: &Hit, expires_in: u64) -> Option<Response> {
        if hit.path != "/cgi-bin/stable_token" && hit.path != "/cgi-bin/token" {
            return None;
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        Some(json(serde_json::json!({
            "access_token": Tokens::nth(n),
            "expires_in": expires_in,
        })))
    }
}

/// A client builder for `fake` with short timeouts and fast retries.
pub fn builder(base_url: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base_url)
        .token_source(TokenSource::stable(APPID, SECRET))
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy::new(
            3,
            Duration::from_millis(5),
            Duration::from_millis(20),
        ))
}

pub fn text_message(touser: &str) -> wechat_msg::CustomerServiceMessage {
    wechat_msg::CustomerServiceMessage::builder()
        .touser(touser)
        .body(wechat_msg::Text::builder().content("hello").build())
        .build()
}

/// What the raw server does after reading a request.
#[derive(Clone, Debug)]
pub enum Script {
    /// Writes these bytes and closes.
    Write(Vec<u8>),
    /// Writes `head`, then the bytes of `body` one at a time every `every`.
    Drip {
        head: Vec<u8>,
        body: Vec<u8>,
        every: Duration,
    },
    /// Writes `head` and resets the connection (RST).
    Reset { head: Vec<u8> },
}

/// A raw HTTP/1.1 server on loopback running `script` for every request;
/// counts the requests read.
pub async fn raw_server(script: Script) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let script = script.clone();
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut stream = stream;
                if read_request(&mut stream).await {
                    counted.fetch_add(1, Ordering::SeqCst);
                    run_script(stream, script).await;
                }
            });
        }
    });
    (addr, count)
}

async fn read_request(stream: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return false;
        };
        if n == 0 {
            return false;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let Ok(n) = stream.read(&mut chunk).await else {
                    return false;
                };
                if n == 0 {
                    return false;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return true;
        }
    }
}

async fn run_script(mut stream: TcpStream, script: Script) {
    match script {
        Script::Write(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Script::Drip { head, body, every } => {
            if stream.write_all(&head).await.is_err() {
                return;
            }
            for byte in body {
                tokio::time::sleep(every).await;
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
            }
        }
        Script::Reset { head } => {
            let _ = stream.write_all(&head).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            // SO_LINGER 0: close sends RST instead of FIN.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
    }
}

/// An HTTP/1.1 answer head with a Content-Length.
pub fn head(status: &str, content_type: &str, length: usize) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
    )
    .into_bytes()
}
