//! The durable inbox end to end, with real processes: two echo bots behind
//! the emulator's `urls`, one killed with SIGKILL and restarted while users
//! write, a real `redis-server`, and `wechat-msg inbox` reading what is left.

#[path = "../../wechat-msg/tests/client_support/redis_server.rs"]
mod redis_server;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wechat_msg_emulator::{Config, Emulator, PushTarget};

const BIN: &str = env!("CARGO_BIN_EXE_wechat-msg");
const PUSH_TOKEN: &str = "ECHO-BOT-TOKEN-1";

/// The echo bot, built with the inbox (`redis`) feature.
fn echo_bot() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "wechat-msg", "--example", "echo-bot"])
        .args(["--features", "client,push,redis"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the echo bot builds");
    let deps = std::env::current_exe().unwrap();
    let profile = deps.parent().unwrap().parent().unwrap();
    profile.join("examples").join("echo-bot")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Bot {
    child: Child,
}

impl Bot {
    fn start(bin: &PathBuf, port: u16, emu: &Emulator, redis: &str) -> Bot {
        let app = emu.app();
        let mut child = Command::new(bin)
            .env("PUSH_LISTEN", format!("127.0.0.1:{port}"))
            .env("WECHAT_BASE_URL", emu.base_url())
            .env("WECHAT_APPID", &app.appid)
            .env("WECHAT_SECRET", &app.secret)
            .env("PUSH_TOKEN", PUSH_TOKEN)
            .env("REDIS_URL", redis)
            .env_remove("PUSH_AES_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the echo bot starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        stderr.read_line(&mut first).unwrap();
        assert!(first.contains("pushes at"), "{first}");
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                eprintln!("echo-bot :{port}: {line}");
            }
        });
        Bot { child }
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn inbox(store: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(["inbox", "--store", store])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn two_echo_bots_one_killed_answer_every_message_once() {
    let bin = echo_bot();
    let redis = redis_server::RedisServer::start();
    let store = redis.url();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emu = Emulator::start(Config::default()).await.unwrap();
        let (port_a, port_b) = (free_port(), free_port());
        let mut a = Bot::start(&bin, port_a, &emu, &store);
        let _b = Bot::start(&bin, port_b, &emu, &store);
        emu.set_push(Some(PushTarget {
            url: String::new(),
            urls: vec![
                format!("http://127.0.0.1:{port_a}/wechat/push"),
                format!("http://127.0.0.1:{port_b}/wechat/push"),
            ],
            token: PUSH_TOKEN.into(),
            aes_key: None,
            encoding: "json".into(),
        }))
        .unwrap();
        // Replies take a while (each answer of the emulator's API comes
        // 150 ms late), so bot A has replies in flight when it is killed.
        emu.set_faults(wechat_msg_emulator::Faults {
            latency_ms: 150,
            ..wechat_msg_emulator::Faults::none()
        });
        // Eight users write five messages each at once (so no user needs
        // more than the 5 replies a message allows); bot A is killed (SIGKILL) while they do,
        // with pushes in flight, and restarted on the same port later.
        let emu = std::sync::Arc::new(emu);
        let delivered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut writers = Vec::new();
        for u in 0..8 {
            let (emu, delivered) = (emu.clone(), delivered.clone());
            writers.push(tokio::spawn(async move {
                let mut sent = Vec::new();
                for i in 0..5 {
                    let content = format!("u{u}-m{i}");
                    let delivery = emu
                        .user_acts(
                            &format!("USER{u}"),
                            json!({"MsgType": "text", "Content": content}),
                        )
                        .await
                        .unwrap();
                    assert!(delivery.delivered, "{content}: {delivery:?}");
                    delivered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    sent.push((format!("msg:{}", delivery.push["MsgId"]), content));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                sent
            }));
        }
        let reached = |n: usize| {
            let delivered = delivered.clone();
            async move {
                while delivered.load(std::sync::atomic::Ordering::SeqCst) < n {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        };
        reached(12).await;
        a.kill();
        reached(26).await;
        a = Bot::start(&bin, port_a, &emu, &store);
        let mut content_of = HashMap::new();
        for writer in writers {
            content_of.extend(writer.await.unwrap());
        }
        assert_eq!(content_of.len(), 40);
        // Every message echoed once, or listed as delivery unknown (then at
        // most once). Pushes bot A read and never started are claimed by
        // the others after 10 s.
        let echoes = |emu: &Emulator| {
            let mut count: HashMap<String, usize> = HashMap::new();
            for m in emu.messages() {
                if let Some(text) = m.body["text"]["content"].as_str()
                    && let Some(content) = text.strip_prefix("echo: ")
                {
                    *count.entry(content.to_owned()).or_default() += 1;
                }
            }
            count
        };
        let unknown = || -> HashSet<String> {
            let (code, stdout, stderr) = inbox(&store, &["unknown"]);
            assert_eq!(code, 0, "{stderr}");
            let listed: Vec<Value> = serde_json::from_str(&stdout).unwrap();
            listed
                .iter()
                .map(|p| p["key"].as_str().unwrap().to_owned())
                .collect()
        };
        let started = Instant::now();
        loop {
            let count = echoes(&emu);
            let unknown_keys = unknown();
            let unknown_contents: HashSet<&String> = unknown_keys
                .iter()
                .filter_map(|k| content_of.get(k))
                .collect();
            let settled = content_of
                .values()
                .all(|c| count.get(c).copied().unwrap_or(0) == 1 || unknown_contents.contains(c));
            if settled || started.elapsed() > Duration::from_secs(60) {
                if !settled {
                    eprintln!(
                        "inbox: {:?} dead: {:?} unknown: {:?}",
                        inbox(&store, &["stats"]),
                        inbox(&store, &["dead"]),
                        inbox(&store, &["unknown"])
                    );
                }
                for c in content_of.values() {
                    let n = count.get(c).copied().unwrap_or(0);
                    if unknown_contents.contains(c) {
                        assert!(n <= 1, "{c} of unknown delivery echoed {n} times");
                    } else {
                        assert_eq!(n, 1, "{c} echoed {n} times; counts {count:?}");
                    }
                }
                eprintln!(
                    "{} messages, {} of unknown delivery, settled in {:?}",
                    content_of.len(),
                    unknown_contents.len(),
                    started.elapsed()
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let (code, stdout, stderr) = inbox(&store, &["stats"]);
        assert_eq!(code, 0, "{stderr}");
        let stats: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(stats["appended"], 40, "{stats}");
        assert_eq!(stats["dead"], 0, "{stats}");
        let (code, stdout, _) = inbox(&store, &["dead"]);
        assert_eq!((code, stdout.trim()), (0, "[]"));
        drop(a);
        if let Ok(emu) = std::sync::Arc::try_unwrap(emu) {
            emu.shutdown().await;
        }
    });
}

#[test]
fn inbox_says_what_is_wrong() {
    let redis = redis_server::RedisServer::start();
    let store = redis.url();
    let (code, stdout, stderr) = inbox(&store, &["stats"]);
    assert_eq!(code, 0, "{stderr}");
    let stats: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(stats["queued"], 0);
    let (code, _, stderr) = inbox(&store, &["retry", "1-1"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no dead or unknown push"), "{stderr}");
    let (code, _, stderr) = inbox("http://x", &["stats"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--store"), "{stderr}");
    let out = Command::new(BIN).args(["inbox", "stats"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Nothing listening there: exit 3.
    let port = free_port();
    let (code, _, stderr) = inbox(&format!("redis://127.0.0.1:{port}/0"), &["stats"]);
    assert_eq!(code, 3, "{stderr}");
}
