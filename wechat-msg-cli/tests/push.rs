//! `wechat-msg listen` and `wechat-msg push` against each other, as real
//! processes, in every mode and both encodings.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

#[path = "../../wechat-msg/tests/client_support/redis_server.rs"]
mod redis_server;

const BIN: &str = env!("CARGO_BIN_EXE_wechat-msg");
const TOKEN: &str = "LISTEN-TOKEN-77a1";
const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ";
const APPID: &str = "wx0123456789abcdef";

struct Listener {
    child: Child,
    url: String,
    lines: mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Listener {
    fn start(extra: &[&str]) -> Listener {
        let mut child = Command::new(BIN)
            .args(["listen", "--listen", "127.0.0.1:0", "--token", TOKEN])
            .args(extra)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("listen starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        stderr.read_line(&mut first).unwrap();
        let addr = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            sink.lock().unwrap().push_str(&rest);
        });
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Listener {
            child,
            url: format!("{addr}/any/path/at/all"),
            lines: rx,
            stderr: seen,
        }
    }

    fn next(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a push line on standard output");
        serde_json::from_str(&line).expect("one JSON line")
    }

    fn nothing_more(&self) {
        assert!(
            self.lines.recv_timeout(Duration::from_millis(300)).is_err(),
            "an unexpected line on standard output"
        );
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn push(url: &str, args: &[&str], body: &Value) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .arg("push")
        .arg(url)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn text(msg_id: i64) -> Value {
    json!({"ToUserName":"gh_0123456789ab","FromUserName":"OPENID","CreateTime":now(),
           "MsgType":"text","Content":"hi <b> & ]]>","MsgId":msg_id})
}

#[test]
fn listen_prints_what_push_sends_in_every_mode_and_encoding() {
    let safe = Listener::start(&["--aes-key", KEY, "--appid", APPID]);
    let plain = Listener::start(&[]);
    let mut id = 1000;
    for encoding in ["json", "xml"] {
        for (listener, keys) in [
            (&plain, vec![]),
            (&safe, vec!["--aes-key", KEY, "--appid", APPID]),
        ] {
            id += 1;
            let mut args = vec!["--token", TOKEN, "--encoding", encoding];
            args.extend(&keys);
            let sent = text(id);
            let (code, stdout, stderr) = push(&listener.url, &args, &sent);
            assert_eq!(code, 0, "{stderr}");
            assert_eq!(stdout.trim(), "success");
            assert_eq!(listener.next(), sent, "{encoding} {keys:?}");
        }
        // An event with a list of two, whose numbers arrive as strings.
        // (One sender per encoding: an event is deduplicated by sender and time.)
        let popup = json!({"ToUserName":"gh_1","FromUserName":format!("U-{encoding}"),"CreateTime":now().to_string(),
            "MsgType":"event","Event":"subscribe_msg_popup_event",
            "List":[{"TemplateId":"T1","SubscribeStatusString":"accept","PopupScene":"0"},
                    {"TemplateId":"T2","SubscribeStatusString":"reject","PopupScene":"0"}]});
        let (code, _, stderr) = push(
            &safe.url,
            &[
                "--token",
                TOKEN,
                "--aes-key",
                KEY,
                "--appid",
                APPID,
                "--encoding",
                encoding,
            ],
            &popup,
        );
        assert_eq!(code, 0, "{stderr}");
        let got = safe.next();
        assert_eq!(got["List"][1]["TemplateId"], "T2");
        assert_eq!(got["List"][0]["PopupScene"], 0);
        assert_eq!(
            got["CreateTime"],
            json!(
                popup["CreateTime"]
                    .as_str()
                    .unwrap()
                    .parse::<i64>()
                    .unwrap()
            )
        );
    }
}

#[test]
fn refused_pushes_print_nothing_and_say_why() {
    let safe = Listener::start(&["--aes-key", KEY, "--appid", APPID]);
    // A wrong Token: 401, exit 1.
    let (code, _, stderr) = push(&safe.url, &["--token", "WRONG-TOKEN"], &text(1));
    assert_eq!(code, 1, "{stderr}");
    // Sealed for another app: 403.
    let (code, _, _) = push(
        &safe.url,
        &[
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--appid",
            "wxANOTHERAPP",
        ],
        &text(2),
    );
    assert_eq!(code, 1);
    // A wrong key: 400.
    let (code, _, _) = push(
        &safe.url,
        &[
            "--token",
            TOKEN,
            "--aes-key",
            &"B".repeat(43),
            "--appid",
            APPID,
        ],
        &text(3),
    );
    assert_eq!(code, 1);
    safe.nothing_more();
    // An invalid push is refused before sending; nothing listens there.
    let (code, _, stderr) = push(
        "http://127.0.0.1:9",
        &["--token", TOKEN],
        &json!({"MsgType":"text"}),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("ToUserName: missing"), "{stderr}");
    // Nobody listening: exit 3.
    let (code, _, _) = push("http://127.0.0.1:9", &["--token", TOKEN], &text(4));
    assert_eq!(code, 3);
    // A retry of the same push is answered, printed once.
    let sealed = ["--token", TOKEN, "--aes-key", KEY, "--appid", APPID];
    let sent = text(5);
    assert_eq!(push(&safe.url, &sealed, &sent).0, 0);
    assert_eq!(safe.next(), sent);
    assert_eq!(push(&safe.url, &sealed, &sent).0, 0);
    safe.nothing_more();
    // With a key configured, a plaintext push (signed with `signature`
    // only, which does not cover the body) is refused: 401, exit 1.
    let (code, _, stderr) = push(&safe.url, &["--token", TOKEN], &text(6));
    assert_eq!(code, 1, "{stderr}");
    safe.nothing_more();
    // Each refusal was said on standard error, without the secrets.
    let stderr = safe.stderr.clone();
    drop(safe);
    // The reader thread takes what remains once the process is gone.
    let mut said = String::new();
    for _ in 0..100 {
        said = stderr.lock().unwrap().clone();
        if said.contains("refused (400)") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for status in ["401", "403", "400"] {
        assert!(said.contains(&format!("refused ({status})")), "{said}");
    }
    assert!(!said.contains(TOKEN) && !said.contains(KEY), "{said}");
}

#[test]
fn listen_receives_what_the_emulators_users_do() {
    let listener = Listener::start(&["--aes-key", KEY, "--appid", "wx5e1c0a7d3f2b4c68"]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let emu = wechat_msg_emulator::Emulator::start(wechat_msg_emulator::Config::default())
            .await
            .unwrap();
        assert_eq!(emu.app().appid, "wx5e1c0a7d3f2b4c68");
        for encoding in ["xml", "json"] {
            emu.set_push(Some(wechat_msg_emulator::PushTarget {
                url: listener.url.clone(),
                urls: Vec::new(),
                token: TOKEN.into(),
                aes_key: Some(KEY.into()),
                encoding: encoding.into(),
            }))
            .unwrap();
            let delivery = emu
                .user_acts(
                    "OPENID",
                    json!({"MsgType": "text", "Content": format!("hi in {encoding}")}),
                )
                .await
                .unwrap();
            assert!(delivery.delivered, "{delivery:?}");
            let printed = listener.next();
            assert_eq!(printed["Content"], format!("hi in {encoding}"));
            assert_eq!(printed["FromUserName"], "OPENID");
            assert_eq!(printed, delivery.push);
        }
        emu.shutdown().await;
    });
}

/// One request on a connection of its own; the status and the body.
fn post_raw(url: &str, query: &str, body: &[u8]) -> (u16, String) {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /{path}?{query} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn stderr_of(listener: Listener, until: &str) -> String {
    let stderr = listener.stderr.clone();
    drop(listener);
    let mut said = String::new();
    for _ in 0..100 {
        said = stderr.lock().unwrap().clone();
        if said.contains(until) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    said
}

#[test]
fn a_captured_signature_cannot_carry_another_body() {
    let plain = Listener::start(&[]);
    let signer = wechat_msg::push::PushSigner::new(TOKEN).unwrap();
    let sent = text(7001);
    let form = sent.as_object().unwrap().clone();
    let signed = signer.sign(
        &form,
        wechat_msg::push::body::Encoding::Json,
        &[],
        now(),
        "424242",
    );
    assert_eq!(post_raw(&plain.url, &signed.query, &signed.body).0, 200);
    assert_eq!(plain.next(), sent);
    // WeChat's retry: the same bytes under the same nonce pass.
    assert_eq!(post_raw(&plain.url, &signed.query, &signed.body).0, 200);
    // The captured signature, timestamp and nonce with a forged body: 401.
    let mut forged = form.clone();
    forged.insert("MsgId".into(), json!(7002));
    forged.insert("Content".into(), json!("forged"));
    let forged = serde_json::to_vec(&forged).unwrap();
    let (status, _) = post_raw(&plain.url, &signed.query, &forged);
    assert_eq!(status, 401);
    plain.nothing_more();
}

#[test]
fn stalled_request_heads_are_closed_after_the_header_deadline() {
    let plain = Listener::start(&[]);
    let host = plain
        .url
        .trim_start_matches("http://")
        .split_once('/')
        .unwrap()
        .0
        .to_owned();
    let started = std::time::Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..200 {
        let mut stream = std::net::TcpStream::connect(&host).unwrap();
        stream
            .write_all(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Le")
            .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stalled.push(stream);
    }
    for mut stream in stalled {
        // Closed by the server: end of stream (perhaps after a 408), or a
        // reset; never still waiting when the read timeout fires.
        let mut buf = Vec::new();
        match stream.read_to_end(&mut buf) {
            Ok(_) => {}
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "a stalled connection was still open after {:?}",
                started.elapsed()
            ),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // And the listener still serves.
    let sent = text(7100);
    let (code, _, stderr) = push(&plain.url, &["--token", TOKEN], &sent);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(plain.next(), sent);
}

#[test]
fn controls_from_outside_reach_the_terminal_escaped() {
    let plain = Listener::start(&[]);
    // A bidi override in the user's text: escaped the JSON way on stdout.
    let mut sent = text(7200);
    sent["Content"] = json!("abc\u{202e}fed\u{2066}x");
    let (code, _, stderr) = push(&plain.url, &["--token", TOKEN], &sent);
    assert_eq!(code, 0, "{stderr}");
    let line = plain
        .lines
        .recv_timeout(Duration::from_secs(30))
        .expect("a push line");
    assert!(
        !line.contains('\u{202e}') && !line.contains('\u{2066}'),
        "{line:?}"
    );
    assert!(line.contains("\\u202e"), "{line}");
    assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), sent);
    // An XML body whose parse error quotes an ESC: the refusal on stderr is
    // escaped.
    let signer = wechat_msg::push::PushSigner::new(TOKEN).unwrap();
    let query = signer
        .sign(
            &serde_json::Map::new(),
            wechat_msg::push::body::Encoding::Xml,
            &[],
            now(),
            "77",
        )
        .query;
    let (status, _) = post_raw(&plain.url, &query, b"<xml><a>x</a\x1b[31mred></xml>");
    assert_eq!(status, 400);
    let said = stderr_of(plain, "refused (400)");
    assert!(said.contains("refused (400)"), "{said:?}");
    assert!(!said.contains('\u{1b}'), "{said:?}");
    // The parser's error did quote it: shown escaped.
    assert!(said.contains("\\u{1b}"), "{said:?}");
}

#[test]
fn two_listens_behind_one_store_print_each_push_once() {
    let redis = redis_server::RedisServer::start();
    let store = redis.url();
    let a = Listener::start(&["--store", &store]);
    let b = Listener::start(&["--store", &store]);
    let signer = wechat_msg::push::PushSigner::new(TOKEN).unwrap();
    let mut sent = Vec::new();
    for id in 0..10 {
        let push = text(8000 + id);
        let signed = signer.sign(
            push.as_object().unwrap(),
            wechat_msg::push::body::Encoding::Json,
            &[],
            now(),
            &format!("{}", 90_000 + id),
        );
        // WeChat's first attempt on one instance, its retry on the other
        // (a load balancer), and a third on the first again.
        let (first, second) = if id % 2 == 0 { (&a, &b) } else { (&b, &a) };
        for listener in [first, second, first] {
            assert_eq!(post_raw(&listener.url, &signed.query, &signed.body).0, 200);
        }
        sent.push((push, signed));
    }
    let mut printed = Vec::new();
    for listener in [&a, &b] {
        while let Ok(line) = listener.lines.recv_timeout(Duration::from_millis(500)) {
            printed.push(
                serde_json::from_str::<Value>(&line).unwrap()["MsgId"]
                    .as_i64()
                    .unwrap(),
            );
        }
    }
    printed.sort_unstable();
    assert_eq!(printed, (8000..8010).collect::<Vec<_>>());
    // A nonce seen by one is known to the other: a forged body under a
    // signature captured from `a` is refused by `b`.
    let (push, signed) = &sent[0];
    let mut forged = push.clone();
    forged["Content"] = json!("forged");
    forged["MsgId"] = json!(8999);
    let (status, _) = post_raw(&b.url, &signed.query, &serde_json::to_vec(&forged).unwrap());
    assert_eq!(status, 401);
    b.nothing_more();
    // A store URL that is not one: a clear error, exit 2.
    let out = Command::new(BIN)
        .args([
            "listen",
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--store",
            "mysql://x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--store"), "{stderr}");
}
