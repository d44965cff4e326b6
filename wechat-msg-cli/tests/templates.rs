//! `wechat-msg templates pull` as a real process, against the embedded
//! emulator and against one on its own address.

use std::path::Path;
use std::process::{Command, Output};

use wechat_msg_codegen::templates::parse_templates;
use wechat_msg_emulator::{Config, Emulator};

const BIN: &str = env!("CARGO_BIN_EXE_wechat-msg");

/// The command with no credentials inherited.
fn wechat_msg() -> Command {
    let mut command = Command::new(BIN);
    for var in ["WECHAT_APPID", "WECHAT_SECRET", "RUST_LOG"] {
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

/// The file the tests crate compiles with `templates!`: what `pull` prints
/// for the default emulator. `WECHAT_MSG_BLESS=1` rewrites it.
#[test]
fn pulling_the_embedded_emulator_gives_the_file_the_tests_compile() {
    let (code, stdout, stderr) = run(wechat_msg().args(["templates", "pull"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("embedded emulator"), "{stderr}");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/templates.toml");
    if std::env::var_os("WECHAT_MSG_BLESS").is_some() {
        std::fs::write(&golden, &stdout).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(stdout, expected, "run with WECHAT_MSG_BLESS=1 to accept");
    let parsed = parse_templates(&stdout, "pulled.toml").unwrap();
    let t = &parsed.templates[0];
    assert_eq!(t.id, "TEMPLATE_ID");
    let keys: Vec<(&str, &str)> = t
        .keywords
        .iter()
        .map(|k| (k.key.as_str(), k.ty.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("thing1", "thing"),
            ("time2", "time"),
            ("date3", "date"),
            ("character_string4", "character_string"),
            ("phrase5", "phrase")
        ]
    );
    assert!(t.keywords[4].values.is_some(), "phrase5 is an enum keyword");
}

#[test]
fn pull_reads_every_template_of_an_emulator_at_its_base_url() {
    let config = Config::from_toml(
        r#"
[known]
template_ids = ["BARE_ID"]

[[templates.private]]
id = "MEETING"
title = "Meeting reminder"
content = "会议名称:{{thing1.DATA}}\n会议时间:{{time2.DATA}}"

[[templates.private]]
id = "X\u001b[31m"
title = "会议\u202e提醒"
content = "备注:{{short_thing3.DATA}}\n状态:{{phrase4.DATA}}"
enums = { phrase4 = ["开", "关"] }
"#,
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let emulator = runtime.block_on(Emulator::start(config)).unwrap();
    let app = emulator.app().clone();
    let (code, stdout, stderr) = run(wechat_msg()
        .env("WECHAT_APPID", &app.appid)
        .env("WECHAT_SECRET", &app.secret)
        .args(["templates", "pull", "--base-url", &emulator.base_url()]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\u{202e}'),
        "{stdout}"
    );
    let parsed = parse_templates(&stdout, "pulled.toml").unwrap();
    let ids: Vec<&str> = parsed.templates.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["MEETING", "X\u{1b}[31m", "BARE_ID"], "{stdout}");
    assert_eq!(parsed.templates[0].rust, "MeetingReminder");
    assert_eq!(parsed.templates[1].rust, "Template2");
    // A template without keywords in its content is listed as it is.
    assert!(parsed.templates[2].keywords.is_empty());
    assert_eq!(parsed.templates[1].keywords[0].ty, "short_thing");
    assert_eq!(
        parsed.templates[1].keywords[1].values.as_deref(),
        Some(&["开".to_owned(), "关".to_owned()][..])
    );
    assert_eq!(
        parsed.templates[0].keywords[1].name.as_deref(),
        Some("会议时间")
    );

    // Credentials the emulator does not know: WeChat's error, exit 1, and
    // the secret never printed.
    let (code, stdout, stderr) = run(wechat_msg()
        .env("WECHAT_APPID", &app.appid)
        .env("WECHAT_SECRET", "not-the-secret-9f2c")
        .args(["templates", "pull", "--base-url", &emulator.base_url()]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(!stderr.contains("not-the-secret-9f2c"), "{stderr}");
    runtime.block_on(emulator.shutdown());
}

#[test]
fn nothing_listening_is_exit_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, stdout, stderr) = run(wechat_msg()
        .env("WECHAT_APPID", "wxA")
        .env("WECHAT_SECRET", "S")
        .args(["templates", "pull", "--base-url"])
        .arg(format!("http://127.0.0.1:{port}")));
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty());
}
