//! `wechat-msg send --token-source classic --token-store redis://...` as
//! real processes sharing one real `redis-server` and one emulator.

#[path = "../../wechat-msg/tests/client_support/redis_server.rs"]
mod redis_server;

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use redis_server::RedisServer;
use wechat_msg_emulator::{Config, Counters, Emulator};

const BIN: &str = env!("CARGO_BIN_EXE_wechat-msg");
const TEXT: &str = r#"{"touser":"OPENID","msgtype":"text","text":{"content":"hi"}}"#;
const PROCESSES: usize = 8;

struct Standalone {
    runtime: tokio::runtime::Runtime,
    emulator: Emulator,
}

/// An emulator where a rotated classic token stops working at once, and
/// OPENID's reply window takes every message of the test.
fn emulator() -> Standalone {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut config = Config::default();
    config.tokens.grace = Duration::ZERO;
    config.conversation.message_window_count = 1000;
    let emulator = runtime.block_on(Emulator::start(config)).unwrap();
    Standalone { runtime, emulator }
}

/// The body file, written once for every test of this process.
fn body() -> PathBuf {
    static BODY: OnceLock<PathBuf> = OnceLock::new();
    BODY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("wechat-msg-cli-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("text.json");
        std::fs::write(&path, TEXT).unwrap();
        path
    })
    .clone()
}

fn send(emu: &Emulator, store: Option<&str>, extra: &[&str]) -> Child {
    let mut command = Command::new(BIN);
    for var in ["WECHAT_CLOUD_ENV", "WECHAT_CLOUD_FUNCTION", "RUST_LOG"] {
        command.env_remove(var);
    }
    command
        .env("WECHAT_APPID", &emu.app().appid)
        .env("WECHAT_SECRET", &emu.app().secret)
        .args(["send", "customerServiceMessage.send"])
        .args(["--token-source", "classic", "--base-url", &emu.base_url()])
        .args(extra)
        .arg(body())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = store {
        command.args(["--token-store", url]);
    }
    command.spawn().expect("the binary runs")
}

/// Waits for `child`, killing it and failing past a generous bound.
fn finish(mut child: Child) -> (i32, String) {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("wechat-msg send did not end within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let Output { status, stderr, .. } = child.wait_with_output().unwrap();
    (
        status.code().expect("an exit code"),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// Runs `PROCESSES` sends at once; the emulator's counters after them.
fn eight_at_once(store: Option<&str>) -> (Counters, Vec<(i32, String)>) {
    let standalone = emulator();
    let emu = &standalone.emulator;
    let children: Vec<Child> = (0..PROCESSES).map(|_| send(emu, store, &[])).collect();
    let outcomes: Vec<(i32, String)> = children.into_iter().map(finish).collect();
    let counters = emu.counters();
    drop(standalone);
    (counters, outcomes)
}

#[test]
fn eight_processes_fetch_the_classic_token_once_through_redis() {
    let redis = RedisServer::start();
    let (shared, outcomes) = eight_at_once(Some(&redis.url()));
    for (code, stderr) in &outcomes {
        assert_eq!(*code, 0, "{stderr}");
    }
    let (alone, _) = eight_at_once(None);
    println!(
        "{PROCESSES} processes, classic token: {} fetch(es) and {} 40001 rejection(s) through Redis; \
         {} fetches and {} 40001 rejections without",
        shared.token_fetches,
        shared.errors.get(&40001).copied().unwrap_or(0),
        alone.token_fetches,
        alone.errors.get(&40001).copied().unwrap_or(0),
    );
    assert_eq!(shared.token_fetches, 1, "{shared:?}");
    assert_eq!(shared.errors.get(&40001), None, "{shared:?}");
    assert_eq!(shared.accepted, PROCESSES as u64);
    assert!(alone.token_fetches > 1, "{alone:?}");
}

#[test]
fn redis_stopped_and_restarted_between_processes_fails_clearly_then_recovers() {
    let mut redis = RedisServer::start();
    let standalone = emulator();
    let emu = &standalone.emulator;
    let url = redis.url();
    let (code, stderr) = finish(send(emu, Some(&url), &[]));
    assert_eq!(code, 0, "{stderr}");

    redis.stop();
    let (code, stderr) = finish(send(emu, Some(&url), &[]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("not sent"), "{stderr}");
    assert!(stderr.contains("the Redis token store"), "{stderr}");
    assert!(!stderr.contains(&emu.app().secret), "{stderr}");

    redis.restart();
    let (code, stderr) = finish(send(emu, Some(&url), &[]));
    assert_eq!(code, 0, "{stderr}");
    // The restarted store was empty: one more fetch, and no rejection.
    let counters = emu.counters();
    assert_eq!(counters.token_fetches, 2, "{counters:?}");
    assert_eq!(counters.errors.get(&40001), None, "{counters:?}");
    drop(standalone);
}

#[test]
fn a_token_store_that_is_not_a_redis_url_is_refused() {
    let standalone = emulator();
    let (code, stderr) = finish(send(&standalone.emulator, Some("http://127.0.0.1:1"), &[]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--token-store: expected redis://HOST:PORT[/DB]"),
        "{stderr}"
    );
    let _ = &standalone.runtime;
}

#[test]
fn send_batch_takes_the_same_token_flags() {
    let standalone = emulator();
    let dir = std::env::temp_dir().join(format!("wechat-msg-batch-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lines = dir.join("lines.jsonl");
    std::fs::write(
        &lines,
        "{\"touser\":\"OPENID\",\"msgtype\":\"text\",\"text\":{\"content\":\"hi\"}}\n",
    )
    .unwrap();
    let run = |store: &str| {
        Command::new(BIN)
            .env_remove("RUST_LOG")
            .env("WECHAT_APPID", &standalone.emulator.app().appid)
            .env("WECHAT_SECRET", &standalone.emulator.app().secret)
            .args(["send-batch", "customerServiceMessage.send"])
            .arg(&lines)
            .arg("--report")
            .arg(dir.join(format!("report-{}.jsonl", store.len())))
            .args(["--base-url", &standalone.emulator.base_url()])
            .args(["--token-source", "classic", "--token-store", store])
            .output()
            .unwrap()
    };
    let out = run("http://127.0.0.1:1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--token-store: expected redis://HOST:PORT[/DB]"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = &standalone.runtime;
}
