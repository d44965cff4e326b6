//! `wechat-msg rid` and `wechat-msg quota` as real processes against the
//! emulator run as a real process (`wechat-msg emulator`): a failed send's
//! rid looked up (its token never printed), a malformed and an unknown rid,
//! a rid from 8 days ago (the emulator's clock advanced through its control
//! API), and an API's quota before and after sends.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

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

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wechat-msg-cli-diagnose-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    // Tests running at once write the same file: each writes its own and
    // renames it into place, so none reads another's half-written one.
    let own = dir.join(format!("{name}.{:?}", std::thread::current().id()));
    std::fs::write(&own, text).unwrap();
    std::fs::rename(&own, &path).unwrap();
    path
}

/// `wechat-msg emulator` running, killed when dropped.
struct EmulatorProcess {
    child: Child,
    base_url: String,
    appid: String,
    secret: String,
}

impl EmulatorProcess {
    fn start(config: &str) -> EmulatorProcess {
        let config = temp_file("emulator.toml", config);
        let mut child = wechat_msg()
            .args(["emulator", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
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
        // Keep reading its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        EmulatorProcess {
            child,
            base_url,
            appid,
            secret,
        }
    }

    /// `wechat-msg ARGS --base-url ...` with the emulator's credentials.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = wechat_msg();
        command
            .env("WECHAT_APPID", &self.appid)
            .env("WECHAT_SECRET", &self.secret)
            .env("WECHAT_CLOUD_ENV", "test")
            .args(args)
            .args(["--base-url", &self.base_url]);
        command
    }

    /// Moves the emulator's clock through its control API.
    fn advance_clock(&self, secs: u64) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let status = runtime.block_on(async {
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap()
                .post(format!("{}/_emulator/clock/advance", self.base_url))
                .header("content-type", "application/json")
                .body(json!({ "secs": secs }).to_string())
                .send()
                .await
                .unwrap()
                .status()
        });
        assert_eq!(status, 200);
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const CONFIG: &str = "[app]\nappid = \"wxdiag\"\nsecret = \"diag-secret-not-shown\"\n[quotas.endpoints.\"customerServiceMessage.send\"]\ndaily = 5\n";

/// Sends a text to a user the emulator does not know: 40003, and its rid.
fn failed_send(emu: &EmulatorProcess, via: &str) -> String {
    let body = temp_file(
        "stranger.json",
        r#"{"touser":"NOBODY","msgtype":"text","text":{"content":"hi there"}}"#,
    );
    let (code, _, stderr) = run(emu
        .command(&["send", "customerServiceMessage.send", "--via", via])
        .arg(&body));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("errcode 40003"), "{stderr}");
    let (_, rest) = stderr.rsplit_once("rid: ").expect("a rid in the error");
    rest.chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect()
}

#[test]
fn a_failed_sends_rid_prints_what_was_sent_and_answered() {
    let emu = EmulatorProcess::start(CONFIG);
    for via in ["http", "cloud"] {
        let rid = failed_send(&emu, via);
        let (code, stdout, stderr) = run(&mut emu.command(&["rid", &rid, "--via", via]));
        assert_eq!(code, 0, "{stderr}");
        let record: Value = serde_json::from_str(&stdout).expect("JSON");
        let request = &record["request"];
        assert!(
            request["invoke_time"].as_u64().unwrap() > 1_600_000_000,
            "{stdout}"
        );
        assert!(request["cost_in_ms"].is_u64(), "{stdout}");
        assert!(
            request["request_body"].as_str().unwrap().contains("NOBODY"),
            "{stdout}"
        );
        assert!(
            request["response_body"].as_str().unwrap().contains("40003"),
            "{stdout}"
        );
        let url = request["request_url"].as_str().unwrap();
        assert!(url.contains("access_token=***"), "{url}");
        // Neither the token nor the secret is printed anywhere.
        assert!(
            !stdout.contains("diag-secret-not-shown") && !stderr.contains("diag-secret-not-shown")
        );
        for pair in url.split('&') {
            if let Some(token) = pair.strip_prefix("access_token=") {
                assert_eq!(token, "***", "{url}");
            }
        }
    }
}

#[test]
fn a_bad_an_unknown_and_an_old_rid_are_exit_1_with_wechats_errcode() {
    let emu = EmulatorProcess::start(CONFIG);
    let (code, stdout, stderr) = run(&mut emu.command(&["rid", "not-a-rid"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("errcode 76002"), "{stderr}");
    let (code, _, stderr) = run(&mut emu.command(&["rid", "00000000-00000000-00000000"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("errcode 76001"), "{stderr}");
    assert!(stderr.contains("RidNotFound"), "{stderr}");

    // A rid from 8 days ago on the emulator's clock is too old.
    let rid = failed_send(&emu, "http");
    emu.advance_clock(8 * 86_400);
    let (code, stdout, stderr) = run(&mut emu.command(&["rid", &rid]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("errcode 76004"), "{stderr}");

    // A hostile rid is shown escaped on one line.
    let (code, _, stderr) = run(&mut emu.command(&["rid", "x\u{1b}[31m\nerror: forged"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("error: forged")),
        "{stderr}"
    );
}

#[test]
fn quota_prints_the_limit_use_and_remainder_of_one_api() {
    let emu = EmulatorProcess::start(CONFIG);
    let path = "/cgi-bin/message/custom/send";
    let (code, stdout, stderr) = run(&mut emu.command(&["quota", path]));
    assert_eq!(code, 0, "{stderr}");
    let answer: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        answer["quota"],
        json!({"daily_limit": 5, "used": 0, "remain": 5})
    );
    failed_send(&emu, "http");
    let body = temp_file(
        "known.json",
        r#"{"touser":"OPENID","msgtype":"text","text":{"content":"hi"}}"#,
    );
    let (code, _, stderr) = run(emu
        .command(&["send", "customerServiceMessage.send"])
        .arg(&body));
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(&mut emu.command(&["quota", path, "--via", "cloud"]));
    assert_eq!(code, 0, "{stderr}");
    let answer: Value = serde_json::from_str(&stdout).expect("JSON");
    // Only accepted calls count, as WeChat counts them.
    assert_eq!(
        answer["quota"],
        json!({"daily_limit": 5, "used": 1, "remain": 4})
    );

    let (code, stdout, stderr) = run(&mut emu.command(&["quota", "/cgi-bin/nope"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("errcode 76021"), "{stderr}");
}

#[test]
fn without_credentials_the_embedded_emulator_answers() {
    let (code, stdout, stderr) =
        run(wechat_msg().args(["quota", "/cgi-bin/message/subscribe/send"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("embedded emulator"), "{stderr}");
    let answer: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(answer["quota"]["used"], 0);
    let (code, _, stderr) = run(wechat_msg().args(["rid", "650b8665-65fe50fc-076f7520"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("errcode 76001"), "{stderr}");
}

#[test]
fn endpoints_lists_the_checks_and_marks_the_https_only_diagnostics() {
    let (code, stdout, stderr) = run(wechat_msg().arg("endpoints"));
    assert_eq!(code, 0, "{stderr}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}:\n{stdout}"))
            .to_owned()
    };
    for name in [
        "openApi.getApiQuota",
        "openApi.clearQuota",
        "openApi.getRidInfo",
    ] {
        assert!(
            line(name).ends_with("[HTTPS only: no cloud call]"),
            "{}",
            line(name)
        );
    }
    for name in ["security.msgSecCheck", "security.mediaCheckAsync"] {
        assert!(!line(name).contains('['), "{}", line(name));
    }
    assert!(line("openApi.clearQuotaByAppSecret").contains("no access_token, no cloud call"));
    assert!(line("uniformMessage.send").contains("deprecated since 2023-09-20"));
}
