//! `wechat-msg send` and `wechat-msg emulator` as real processes.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use wechat_msg_emulator::{Config, Emulator, Faults};

const BIN: &str = env!("CARGO_BIN_EXE_wechat-msg");

/// The command with no credentials or cloud settings inherited.
fn wechat_msg() -> Command {
    let mut command = Command::new(BIN);
    for var in [
        "WECHAT_APPID",
        "WECHAT_SECRET",
        "WECHAT_CLOUD_ENV",
        "WECHAT_CLOUD_FUNCTION",
        "RUST_LOG",
    ] {
        command.env_remove(var);
    }
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("the binary runs");
    (
        status.code().expect("an exit code"),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

/// The documentation's examples: (api, file) for `form`.
fn doc_examples(form: &str) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for api in std::fs::read_dir(golden()).unwrap().flatten() {
        for file in std::fs::read_dir(api.path()).unwrap().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.ends_with(&format!(".{form}.json")) {
                out.push((api.file_name().to_string_lossy().into_owned(), file.path()));
            }
        }
    }
    out.sort();
    assert!(out.len() >= 6, "the golden examples are missing");
    out
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wechat-msg-cli-send-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const TEXT: &str = r#"{"touser":"OPENID","msgtype":"text","text":{"content":"hi"}}"#;

#[test]
fn every_doc_example_is_sent_over_both_transports_to_the_embedded_emulator() {
    for from in ["http", "cloud"] {
        for (api, file) in doc_examples(from) {
            for via in ["http", "cloud"] {
                let (code, stdout, stderr) = run(wechat_msg()
                    .args(["send", &api, "--from", from, "--via", via])
                    .arg(&file));
                assert_eq!(code, 0, "{api} {file:?} --via {via}: {stderr}");
                let answer: Value = serde_json::from_str(&stdout).expect("the answer as JSON");
                let binary = wechat_msg::meta::endpoint(&api).map(|e| e.answer)
                    == Some(wechat_msg::meta::AnswerKind::Binary);
                if binary {
                    // A download answers the file: its type and base64 bytes.
                    let content_type = if from == "http" {
                        "content_type"
                    } else {
                        "contentType"
                    };
                    assert!(answer[content_type].is_string(), "{stdout}");
                    assert!(answer["buffer"].is_string(), "{stdout}");
                } else {
                    let errcode = if from == "http" { "errcode" } else { "errCode" };
                    assert_eq!(answer[errcode], 0, "{stdout}");
                }
                assert!(stderr.contains("embedded emulator"), "{stderr}");
            }
        }
    }
}

#[test]
fn the_body_can_come_from_standard_input() {
    let mut child = wechat_msg()
        .args(["send", "customerServiceMessage.send"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(TEXT.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn invalid_input_is_exit_2() {
    let bad_json = temp_file("bad.json", "{");
    let long_thing = temp_file(
        "long_thing.json",
        &format!(
            r#"{{"touser":"OPENID","template_id":"TEMPLATE_ID","data":{{"thing1":{{"value":"{}"}}}}}}"#,
            "x".repeat(23)
        ),
    );
    let missing = temp_file("missing.json", r#"{"touser":"OPENID","msgtype":"text"}"#);
    let text = temp_file("text.json", TEXT);
    let cases: Vec<(Vec<&str>, &Path, &str)> = vec![
        (vec!["send", "nope.send"], &text, "unknown API"),
        (
            vec!["send", "customerServiceMessage.send"],
            &bad_json,
            "invalid JSON",
        ),
        (
            vec!["send", "customerServiceMessage.send"],
            &missing,
            "text: missing",
        ),
        (
            vec!["send", "customerServiceMessage.send", "--from", "cloud"],
            &missing,
            "text: missing",
        ),
        (
            vec!["send", "subscribeMessage.send"],
            &long_thing,
            "data.thing1.value: longer than 20 characters (23)",
        ),
        (
            vec!["send", "subscribeMessage.send", "--via", "cloud"],
            &long_thing,
            "data.thing1.value: longer than 20 characters (23)",
        ),
        (
            vec!["send", "customerServiceMessage.send", "--appid", "wxA"],
            &text,
            "secret",
        ),
        (
            vec![
                "send",
                "customerServiceMessage.send",
                "--base-url",
                "http://127.0.0.1:9",
            ],
            &text,
            "credentials",
        ),
        (
            vec![
                "send",
                "customerServiceMessage.send",
                "--via",
                "cloud",
                "--appid",
                "wxA",
                "--secret",
                "S",
                "--base-url",
                "http://127.0.0.1:9",
            ],
            &text,
            "WECHAT_CLOUD_ENV",
        ),
    ];
    for (args, file, needle) in cases {
        let (code, stdout, stderr) = run(wechat_msg().args(&args).arg(file));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stdout.is_empty());
    }
    let (code, _, stderr) =
        run(wechat_msg().args(["send", "customerServiceMessage.send", "/no/such/file"]));
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn wechat_errors_are_exit_1_with_errcode_and_errmsg() {
    let stranger = temp_file(
        "stranger.json",
        r#"{"touser":"STRANGER","msgtype":"text","text":{"content":"hi"}}"#,
    );
    for via in ["http", "cloud"] {
        let (code, stdout, stderr) = run(wechat_msg()
            .args(["send", "customerServiceMessage.send", "--via", via])
            .arg(&stranger));
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("errcode 40003"), "{stderr}");
        assert!(stderr.contains("invalid openid"), "{stderr}");
        assert!(stderr.contains("rid:"), "{stderr}");
        assert!(stdout.is_empty());
    }
}

/// An emulator in this test process, for the paths that need state across
/// sends or faults.
struct Standalone {
    runtime: tokio::runtime::Runtime,
    emulator: Option<Emulator>,
}

impl Standalone {
    fn start(config: Config) -> Standalone {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let emulator = runtime.block_on(Emulator::start(config)).unwrap();
        Standalone {
            runtime,
            emulator: Some(emulator),
        }
    }

    fn emu(&self) -> &Emulator {
        self.emulator.as_ref().unwrap()
    }

    /// `wechat-msg send` pointed at this emulator with its credentials.
    fn send(&self, api: &str, via: &str, file: &Path) -> (i32, String, String) {
        let emu = self.emu();
        run(wechat_msg()
            .env("WECHAT_APPID", &emu.app().appid)
            .env("WECHAT_SECRET", &emu.app().secret)
            .env("WECHAT_CLOUD_ENV", "test")
            .args(["send", api, "--via", via, "--base-url", &emu.base_url()])
            .arg(file))
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

#[test]
fn a_reused_form_id_is_exit_1() {
    let standalone = Standalone::start(Config::default());
    let template = temp_file(
        "template.json",
        r#"{"touser":"OPENID","template_id":"TEMPLATE_ID","form_id":"FORMID"}"#,
    );
    let (code, _, stderr) = standalone.send("templateMessage.send", "http", &template);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("embedded"), "{stderr}");
    for via in ["http", "cloud"] {
        let (code, _, stderr) = standalone.send("templateMessage.send", via, &template);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("errcode 41029"), "{stderr}");
    }
    assert_eq!(standalone.emu().messages().len(), 1);
}

#[test]
fn an_exhausted_quota_is_exit_1() {
    let mut config = Config::default();
    config.quotas.daily = Some(1);
    let standalone = Standalone::start(config);
    let text = temp_file("quota.json", TEXT);
    let (code, _, _) = standalone.send("customerServiceMessage.send", "http", &text);
    assert_eq!(code, 0);
    let (code, _, stderr) = standalone.send("customerServiceMessage.send", "cloud", &text);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("errcode 45009"), "{stderr}");
}

#[test]
fn wrong_credentials_are_exit_1_and_never_printed() {
    let standalone = Standalone::start(Config::default());
    let text = temp_file("creds.json", TEXT);
    let emu = standalone.emu();
    let secret = "a-secret-that-must-not-show";
    let (code, stdout, stderr) = run(wechat_msg()
        .env("WECHAT_APPID", &emu.app().appid)
        .env("WECHAT_SECRET", secret)
        .env("RUST_LOG", "trace")
        .args([
            "send",
            "customerServiceMessage.send",
            "--base-url",
            &emu.base_url(),
        ])
        .arg(&text));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("40125"), "{stderr}");
    assert!(
        !stderr.contains(secret) && !stdout.contains(secret),
        "{stderr}"
    );
    assert!(emu.messages().is_empty());
}

#[test]
fn nothing_listening_is_exit_3_not_sent() {
    // A port that was free a moment ago and is closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = temp_file("closed.json", TEXT);
    let (code, _, stderr) = run(wechat_msg()
        .env("WECHAT_APPID", "wxA")
        .env("WECHAT_SECRET", "S")
        .args(["send", "customerServiceMessage.send", "--base-url"])
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(&text));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("not sent"), "{stderr}");
}

#[test]
fn an_unreadable_answer_is_exit_3_delivery_unknown() {
    let standalone = Standalone::start(Config::default());
    let text = temp_file("unknown.json", TEXT);
    for (faults, via) in [
        (
            Faults {
                truncate: 1,
                ..Faults::none()
            },
            "http",
        ),
        (
            Faults {
                reset: 1,
                ..Faults::none()
            },
            "cloud",
        ),
        (
            Faults {
                server_error: 1,
                server_error_html: true,
                ..Faults::none()
            },
            "http",
        ),
    ] {
        // A fresh process fetches its token first; faults spare token fetches.
        standalone.emu().set_faults(faults.clone());
        let (code, stdout, stderr) = standalone.send("customerServiceMessage.send", via, &text);
        assert_eq!(code, 3, "{faults:?}: {stderr}");
        assert!(stderr.contains("delivery unknown"), "{faults:?}: {stderr}");
        assert!(stdout.is_empty());
    }
    // The truncated and the reset ones went through; the gateway error did not.
    assert_eq!(standalone.emu().messages().len(), 2);
}

#[test]
fn system_busy_is_retried_by_send() {
    let standalone = Standalone::start(Config::default());
    let text = temp_file("busy.json", TEXT);
    standalone.emu().set_faults(Faults {
        system_busy: 1,
        ..Faults::none()
    });
    let (code, _, stderr) = standalone.send("customerServiceMessage.send", "http", &text);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(standalone.emu().counters().calls, 2);
}

#[cfg(unix)]
#[test]
fn the_emulator_command_prints_its_address_and_credentials_and_stops_on_sigterm() {
    let config = temp_file(
        "emulator.toml",
        "[known]\nopenids = [\"ALICE\"]\n[conversation]\nopen = [\"ALICE\"]\n[app]\nappid = \"wxcli\"\nsecret = \"cli-secret\"\n",
    );
    let mut child = wechat_msg()
        .args(["emulator", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut field = |name: &str| {
        let line = lines.next().expect("a line").expect("text");
        line.strip_prefix(&format!("{name}: "))
            .unwrap_or_else(|| panic!("expected `{name}: ...`, got {line:?}"))
            .to_owned()
    };
    let base_url = field("base_url");
    let appid = field("appid");
    let secret = field("secret");
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    assert_eq!((appid.as_str(), secret.as_str()), ("wxcli", "cli-secret"));

    let alice = temp_file(
        "alice.json",
        r#"{"touser":"ALICE","msgtype":"text","text":{"content":"hi"}}"#,
    );
    for via in ["http", "cloud"] {
        let (code, _, stderr) = run(wechat_msg()
            .env("WECHAT_APPID", &appid)
            .env("WECHAT_SECRET", &secret)
            .env("WECHAT_CLOUD_ENV", "any")
            .args([
                "send",
                "customerServiceMessage.send",
                "--via",
                via,
                "--base-url",
                &base_url,
            ])
            .arg(&alice));
        assert_eq!(code, 0, "{stderr}");
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "a clean stop");
}

#[test]
fn a_bad_emulator_config_is_exit_2() {
    let config = temp_file("bad.toml", "lisen = 1\n");
    let (code, _, stderr) = run(wechat_msg().args(["emulator", "--config"]).arg(&config));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("lisen"), "{stderr}");
}

/// Starts `wechat-msg emulator --state FILE`; the child and its base URL.
fn emulator_with_state(state: &std::path::Path) -> (std::process::Child, String) {
    let mut child = wechat_msg()
        .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base_url = lines.next().unwrap().unwrap();
    let base_url = base_url.strip_prefix("base_url: ").unwrap().to_owned();
    let printed: Vec<String> = lines.take(3).map(|l| l.unwrap()).collect();
    assert_eq!(printed[2], format!("ui: {base_url}/_emulator/ui/"));
    (child, base_url)
}

fn stop(child: std::process::Child) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    stderr
}

#[test]
fn the_emulator_saves_its_state_on_exit_and_loads_it_at_start() {
    let state =
        std::env::temp_dir().join(format!("wechat-msg-cli-state-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&state);
    let (child, base_url) = emulator_with_state(&state);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // `curl`'s arguments: [-X POST] URL [-d BODY].
    let curl = |args: &[&str]| {
        let http = reqwest::Client::new();
        let request = match args {
            ["-X", "POST", url, "-d", body] => http.post(*url).body(body.to_string()),
            [url] => http.get(*url),
            other => panic!("{other:?}"),
        };
        runtime.block_on(async {
            let answer = request.send().await.unwrap();
            assert!(
                answer.status().is_success(),
                "{args:?}: {}",
                answer.status()
            );
            answer.text().await.unwrap()
        })
    };
    curl(&[
        "-X",
        "POST",
        &format!("{base_url}/_emulator/users/CAROL/messages"),
        "-d",
        r#"{"MsgType":"text","Content":"remember me"}"#,
    ]);
    curl(&[
        "-X",
        "POST",
        &format!("{base_url}/_emulator/users/CAROL/subscriptions"),
        "-d",
        r#"{"template_id":"TEMPLATE_ID","times":3}"#,
    ]);
    let stderr = stop(child);
    assert!(stderr.contains("state saved"), "{stderr}");
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(saved["version"], 1);

    let (child, base_url) = emulator_with_state(&state);
    let user: serde_json::Value =
        serde_json::from_str(&curl(&[&format!("{base_url}/_emulator/users/CAROL")])).unwrap();
    assert_eq!(user["window"]["replies_left"], 5, "{user}");
    assert_eq!(user["subscriptions"][0]["times"], 3, "{user}");
    let pushes: serde_json::Value =
        serde_json::from_str(&curl(&[&format!("{base_url}/_emulator/pushes")])).unwrap();
    assert_eq!(pushes[0]["push"]["Content"], "remember me", "{pushes}");
    stop(child);

    // A file that is no snapshot is refused with its name, exit 2.
    std::fs::write(&state, r#"{"version": 1, "users": [{"openid": ""}]}"#).unwrap();
    let (code, _, stderr) = run(wechat_msg()
        .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("users[0].openid"), "{stderr}");
    let _ = std::fs::remove_file(&state);
}
