//! `wechat-msg` against a hostile WeChat and hostile input, as a real
//! process: a raw TCP server in the test answers the token request and then
//! whatever the case scripts; what the command prints must never carry a
//! terminal escape, a forged line, an unbounded text or a secret.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_wechat-msg");
const APPID: &str = "wx0123456789abcdef";
const SECRET: &str = "SECRET-hostile-5f4dcc3b5aa765d61d8327deb882cf99";
const TOKEN: &str = "TOKEN-hostile-0123456789abcdef0123456789abcdef";
const TEXT: &str = r#"{"touser":"OPENID","msgtype":"text","text":{"content":"hi"}}"#;

/// A fake WeChat on a loopback port: `/cgi-bin/stable_token` hands out
/// [`TOKEN`]; every other request is answered `status` with `body`. One
/// connection at a time, each closed after its answer.
fn fake_wechat(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let body = body.clone();
            thread::spawn(move || {
                let _ = answer(stream, &body);
            });
        }
    });
    format!("http://{addr}")
}

fn answer(mut stream: TcpStream, body: &[u8]) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut request_body = vec![0; length];
    reader.read_exact(&mut request_body)?;
    let token_answer = format!(r#"{{"access_token":"{TOKEN}","expires_in":7200}}"#);
    let body = if request_line.contains("/cgi-bin/stable_token") {
        token_answer.as_bytes()
    } else {
        body
    };
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

fn body_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wechat-msg-cli-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `wechat-msg send customerServiceMessage.send` to `base_url`: exit code,
/// standard output and standard error as bytes.
fn send_to(base_url: &str) -> (i32, Vec<u8>, Vec<u8>) {
    let file = body_file("text.json", TEXT);
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(BIN)
        .env_remove("RUST_LOG")
        .env("WECHAT_APPID", APPID)
        .env("WECHAT_SECRET", SECRET)
        .args([
            "send",
            "customerServiceMessage.send",
            "--base-url",
            base_url,
        ])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    (status.code().expect("an exit code"), stdout, stderr)
}

fn errmsg_answer(errcode: i64, errmsg: &str) -> Vec<u8> {
    serde_json::json!({"errcode": errcode, "errmsg": errmsg})
        .to_string()
        .into_bytes()
}

/// No byte of a terminal escape, no C1 control, no bidi override.
#[track_caller]
fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: unsafe characters {bad:?} in:\n{text}"
    );
}

#[test]
fn an_errmsg_with_escapes_and_newlines_is_shown_escaped_on_its_own_line() {
    let errmsg = "\u{1b}[31mred\u{1b}[0m\nerror: forged\r\u{9b}2J \u{202e}desrever rid: 1";
    let base_url = fake_wechat(errmsg_answer(40003, errmsg));
    let (code, stdout, stderr) = send_to(&base_url);
    let shown = String::from_utf8_lossy(&stderr);
    assert_eq!(code, 1, "{shown}");
    assert!(stdout.is_empty());
    assert_terminal_safe("stderr", &stderr);
    assert!(!stderr.contains(&0x1b), "{shown}");
    let error_lines: Vec<&str> = shown.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{shown}");
    assert!(error_lines[0].contains("errcode 40003"), "{shown}");
    // The text is all there, visibly escaped.
    assert!(shown.contains("\\u{1b}[31mred"), "{shown}");
    assert!(shown.contains("\\u{a}error: forged"), "{shown}");
    assert!(shown.contains("\\u{202e}desrever"), "{shown}");
}

#[test]
fn a_ten_megabyte_errmsg_is_cut_once_with_a_note() {
    let errmsg = format!("start {}", "A".repeat(10 * 1024 * 1024));
    let base_url = fake_wechat(errmsg_answer(40003, &errmsg));
    let (code, stdout, stderr) = send_to(&base_url);
    let shown = String::from_utf8_lossy(&stderr);
    assert_eq!(code, 1, "{}", &shown[..shown.len().min(4096)]);
    assert!(stdout.is_empty());
    assert!(
        stderr.len() < 8 * 1024,
        "{} bytes of stderr, starting:\n{}",
        stderr.len(),
        &shown[..shown.len().min(4096)]
    );
    assert_eq!(shown.matches("start AAAA").count(), 1, "{shown}");
    assert!(shown.contains("more bytes cut"), "{shown}");
}

#[test]
fn a_success_echoing_the_token_and_the_secret_shows_neither() {
    let answer = serde_json::json!({
        "errcode": 0,
        "errmsg": "ok",
        "echo": format!("{TOKEN} {SECRET}"),
        "access_token": "another-token-issued-elsewhere",
    });
    let base_url = fake_wechat(answer.to_string().into_bytes());
    let (code, stdout, stderr) = send_to(&base_url);
    let (out, err) = (
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr),
    );
    assert_eq!(code, 0, "{err}");
    for secret in [TOKEN, SECRET, "another-token-issued-elsewhere"] {
        assert!(!out.contains(secret), "{secret} on stdout:\n{out}");
        assert!(!err.contains(secret), "{secret} on stderr:\n{err}");
    }
    let printed: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(printed["errcode"], 0, "{out}");
    assert_eq!(printed["echo"], "*** ***", "{out}");
}

#[test]
fn a_success_with_unsafe_characters_prints_the_same_json_escaped() {
    let answer = serde_json::json!({"errcode": 0, "errmsg": "ok\u{9b}2J\u{202e}x"});
    let base_url = fake_wechat(answer.to_string().into_bytes());
    let (code, stdout, stderr) = send_to(&base_url);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr));
    assert_terminal_safe("stdout", &stdout);
    let printed: serde_json::Value = serde_json::from_slice(&stdout).expect("JSON on stdout");
    assert_eq!(printed["errmsg"], "ok\u{9b}2J\u{202e}x");
}

/// `wechat-msg render` with `stdin`: exit code and standard error.
fn render(args: &[&str], stdin: &str) -> (i32, Vec<u8>, Vec<u8>) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap(), out.stdout, out.stderr)
}

#[test]
fn hostile_input_keys_and_names_stay_on_one_escaped_line() {
    let key = format!(
        "\u{1b}]0;owned\u{7}\nerror: forged\u{202e}{}",
        "k".repeat(5000)
    );
    let body =
        serde_json::json!({"touser": "O", "msgtype": "text", "text": {"content": "x"}, key: 1});
    let cases = [
        (
            vec!["render", "customerServiceMessage.send"],
            body.to_string(),
        ),
        (
            vec![
                "render",
                "customerServiceMessage.send\n\u{1b}[2Jerror: forged",
            ],
            TEXT.to_owned(),
        ),
        (
            vec![
                "render",
                "customerServiceMessage.send",
                "/no/such\n\u{1b}[2Jerror: forged.json",
            ],
            String::new(),
        ),
    ];
    for (args, stdin) in cases {
        let (code, stdout, stderr) = render(&args, &stdin);
        let shown = String::from_utf8_lossy(&stderr);
        assert_eq!(code, 2, "{args:?}: {shown}");
        assert!(stdout.is_empty(), "{args:?}");
        assert_terminal_safe("stderr", &stderr);
        assert_eq!(shown.lines().count(), 1, "{args:?}: {shown}");
        assert!(shown.starts_with("error: "), "{args:?}: {shown}");
        assert!(
            shown.contains("error: forged"),
            "{args:?}: the text is kept, escaped: {shown}"
        );
        assert!(
            stderr.len() < 2 * 1024 + 200,
            "{args:?}: {} bytes",
            stderr.len()
        );
    }
}

#[test]
fn a_key_given_twice_is_rejected_not_last_one_wins() {
    for (body, named) in [
        (
            r#"{"touser":"OPENID","touser":"ATTACKER","msgtype":"text","text":{"content":"hi"}}"#,
            "touser: duplicate field",
        ),
        (
            r#"{"touser":"OPENID","msgtype":"image","msgtype":"text","text":{"content":"hi"}}"#,
            "msgtype: duplicate field",
        ),
        (
            r#"{"touser":"OPENID","msgtype":"text","text":{"content":"a","content":"b"}}"#,
            "text.content: duplicate field",
        ),
    ] {
        for command in ["render", "send"] {
            let (code, stdout, stderr) = render(&[command, "customerServiceMessage.send"], body);
            let shown = String::from_utf8_lossy(&stderr);
            assert_eq!(code, 2, "{command} {body}: {shown}");
            assert!(stdout.is_empty(), "{command} {body}");
            assert!(shown.contains(named), "{command} {body}: {shown}");
        }
    }
}
