//! Slow and stalled clients over raw TCP: a request head or body that never
//! completes gets its connection closed after the configured timeout, and
//! shutdown completes in bounded time with such connections open.

use std::io::ErrorKind;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wechat_msg_emulator::{Config, Emulator};

/// How long a test waits for what should happen within seconds, so that a
/// loaded machine never fails it; an emulator that never closes fails it.
const PATIENCE: Duration = Duration::from_secs(60);

const HALF_HEAD: &[u8] = b"POST /cgi-bin/message/custom/send?access_token=T HTTP/1.1\r\nHost: emulator\r\nContent-Type: appl";

const SHORT_BODY: &[u8] = b"POST /cgi-bin/message/custom/send?access_token=T HTTP/1.1\r\nHost: emulator\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"touser\":";

async fn connect(emu: &Emulator, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(emu.addr()).await.expect("connects");
    stream.write_all(bytes).await.expect("writes");
    stream
}

/// Everything the server sends until it closes the connection; `None` when
/// it is still open after [`PATIENCE`].
async fn until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
                Err(e) => panic!("read: {e}"),
            }
        }
    })
    .await;
    read.ok().map(|()| answer)
}

fn short_timeouts() -> Config {
    let mut config = Config::default();
    config.header_read_timeout = Duration::from_millis(500);
    config.body_read_timeout = Duration::from_millis(500);
    config
}

#[tokio::test]
async fn half_request_heads_are_closed_after_the_header_timeout() {
    let emu = Emulator::start(short_timeouts()).await.unwrap();
    let mut streams = Vec::new();
    for _ in 0..50 {
        streams.push(connect(&emu, HALF_HEAD).await);
    }
    for (i, stream) in streams.iter_mut().enumerate() {
        let answer = until_closed(stream)
            .await
            .unwrap_or_else(|| panic!("connection {i} is still open"));
        // Closed without an answer, or with a 408.
        let text = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
    // The emulator still serves.
    let mut stream = connect(
        &emu,
        b"GET /_emulator/counters HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n",
    )
    .await;
    let answer = until_closed(&mut stream).await.expect("answered");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed_after_the_header_timeout() {
    let emu = Emulator::start(short_timeouts()).await.unwrap();
    // Connected, nothing sent.
    let mut silent = connect(&emu, b"").await;
    // One request answered, then nothing on the kept-alive connection.
    let mut idle = connect(&emu, b"GET /_emulator/counters HTTP/1.1\r\nHost: e\r\n\r\n").await;
    assert!(
        until_closed(&mut silent).await.is_some(),
        "silent: still open"
    );
    let answer = until_closed(&mut idle).await.expect("idle: still open");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_body_short_of_its_length_gets_408_after_the_body_timeout() {
    let emu = Emulator::start(short_timeouts()).await.unwrap();
    let mut streams = Vec::new();
    for _ in 0..50 {
        streams.push(connect(&emu, SHORT_BODY).await);
    }
    for (i, stream) in streams.iter_mut().enumerate() {
        let answer = until_closed(stream)
            .await
            .unwrap_or_else(|| panic!("connection {i} is still open"));
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(
            text.to_ascii_lowercase().contains("connection: close"),
            "{text}"
        );
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
        assert_eq!(body["errcode"], -1, "{body}");
        assert!(body["errmsg"].as_str().unwrap().contains("body"), "{body}");
    }
    // A stalled body is not a call.
    assert_eq!(emu.counters().calls, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_slow_but_steady_body_is_still_cut_at_the_deadline() {
    // The deadline covers the whole body, not each piece of it.
    let emu = Emulator::start(short_timeouts()).await.unwrap();
    let mut stream = connect(&emu, SHORT_BODY).await;
    let drip = async {
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if stream.write_all(b" ").await.is_err() {
                return;
            }
        }
    };
    drip.await;
    let answer = until_closed(&mut stream).await.expect("closed");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_without_waiting_for_it() {
    let mut config = Config::default();
    config.max_body_bytes = 1024;
    config.body_read_timeout = Duration::from_secs(3600);
    let emu = Emulator::start(config).await.unwrap();
    let mut head = b"POST /cgi-bin/message/custom/send?access_token=T HTTP/1.1\r\nHost: e\r\nContent-Length: 1000000\r\n\r\n".to_vec();
    head.extend_from_slice(&[b' '; 2048]);
    let mut stream = connect(&emu, &head).await;
    let answer = until_closed(&mut stream).await.expect("closed");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(body["errcode"], 47001, "{body}");
    assert!(
        body["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("data format error: body: larger than 1024 bytes"),
        "{body}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn shutdown_completes_with_stalled_connections_open() {
    // Timeouts far longer than the test: only the shutdown deadline can end
    // these connections.
    let mut config = Config::default();
    config.header_read_timeout = Duration::from_secs(3600);
    config.body_read_timeout = Duration::from_secs(3600);
    config.shutdown_grace = Duration::from_millis(500);
    let emu = Emulator::start(config).await.unwrap();
    let mut streams = Vec::new();
    for i in 0..50 {
        let bytes = if i % 2 == 0 { HALF_HEAD } else { SHORT_BODY };
        streams.push(connect(&emu, bytes).await);
    }
    // A request that finished makes the server busy with it for sure.
    let mut done = connect(
        &emu,
        b"GET /_emulator/counters HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(until_closed(&mut done).await.is_some());
    tokio::time::timeout(PATIENCE, emu.shutdown())
        .await
        .expect("shutdown completes with stalled connections open");
    for (i, stream) in streams.iter_mut().enumerate() {
        assert!(
            until_closed(stream).await.is_some(),
            "connection {i} is still open after shutdown"
        );
    }
}

#[tokio::test]
async fn the_default_timeouts_are_sane() {
    let config = Config::default();
    assert_eq!(config.header_read_timeout, Duration::from_secs(10));
    assert_eq!(config.body_read_timeout, Duration::from_secs(30));
    assert!(config.shutdown_grace <= Duration::from_secs(10));
    let config = Config::from_toml(
        "header_read_timeout_secs = 1.5\nbody_read_timeout_secs = 2\nshutdown_grace_secs = 0.25\n",
    )
    .unwrap();
    assert_eq!(config.header_read_timeout, Duration::from_millis(1500));
    assert_eq!(config.body_read_timeout, Duration::from_secs(2));
    assert_eq!(config.shutdown_grace, Duration::from_millis(250));
    let err = Config::from_toml("header_read_timeout_secs = 0").unwrap_err();
    assert!(err.0.contains("header_read_timeout_secs"), "{err}");
}
