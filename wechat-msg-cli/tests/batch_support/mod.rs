//! What the send-batch tests share: an emulator of their own, input files,
//! reading reports.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use wechat_msg_emulator::{Config, Emulator, Grant};

pub const BIN: &str = env!("CARGO_BIN_EXE_wechat-msg");

/// Subscribe messages need no reply window, only known users and template.
pub const API: &str = "subscribeMessage.send";

pub struct Standalone {
    runtime: tokio::runtime::Runtime,
    emulator: Option<Emulator>,
}

impl Standalone {
    /// An emulator that knows the users `USER_0` .. `USER_{users-1}`, each
    /// with a long-term subscription to `TEMPLATE_ID`.
    pub fn start(users: usize) -> Standalone {
        let mut config = Config::default();
        config.known.openids = (0..users).map(|i| format!("USER_{i}")).collect();
        config.subscriptions.granted = config
            .known
            .openids
            .iter()
            .map(|openid| Grant::long_term(openid, "TEMPLATE_ID"))
            .collect();
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

    pub fn emu(&self) -> &Emulator {
        self.emulator.as_ref().unwrap()
    }

    /// `wechat-msg send-batch` pointed at this emulator, with a report.
    pub fn command(&self, file: &Path, report: &Path, extra: &[&str]) -> Command {
        let mut command = self.batch(file);
        command.arg("--report").arg(report).args(extra);
        command
    }

    /// `wechat-msg send-batch --journal URL` pointed at this emulator.
    pub fn journal_command(&self, file: &Path, journal: &str, extra: &[&str]) -> Command {
        let mut command = self.batch(file);
        command.args(["--journal", journal]).args(extra);
        command
    }

    fn batch(&self, file: &Path) -> Command {
        let emu = self.emu();
        let mut command = Command::new(BIN);
        for var in ["WECHAT_CLOUD_ENV", "WECHAT_CLOUD_FUNCTION", "RUST_LOG"] {
            command.env_remove(var);
        }
        command
            .env("WECHAT_APPID", &emu.app().appid)
            .env("WECHAT_SECRET", &emu.app().secret)
            .args(["send-batch", API, "--base-url", &emu.base_url()])
            .arg(file);
        command
    }

    pub fn run(&self, file: &Path, report: &Path, extra: &[&str]) -> (i32, String) {
        let Output { status, stderr, .. } = self
            .command(file, report, extra)
            .output()
            .expect("the binary runs");
        (
            status.code().expect("an exit code"),
            String::from_utf8_lossy(&stderr).into_owned(),
        )
    }

    /// How many times the emulator accepted each content.
    pub fn accepted(&self) -> HashMap<String, usize> {
        let mut seen = HashMap::new();
        for message in self.emu().messages() {
            let text = message.body["data"]["thing1"]["value"]
                .as_str()
                .unwrap()
                .to_owned();
            *seen.entry(text).or_insert(0) += 1;
        }
        seen
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wechat-msg-batch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The body of input line `n` (from 1): a subscribe message naming `n`.
pub fn line(n: usize, users: usize) -> Value {
    json!({"touser": format!("USER_{}", n % users), "template_id": "TEMPLATE_ID",
           "data": {"thing1": {"value": format!("line {n}")}}})
}

pub fn write_input(dir: &Path, lines: &[String]) -> PathBuf {
    let path = dir.join("in.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

pub fn valid_lines(count: usize, users: usize) -> Vec<String> {
    (1..=count).map(|n| line(n, users).to_string()).collect()
}

/// The digest a report records for a line: the first 16 bytes of the
/// SHA-256 of its bytes, in hexadecimal.
pub fn digest(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One report record, newline included.
pub fn record(line: usize, digest: &str, outcome: &str) -> String {
    format!("{{\"line\":{line},\"digest\":\"{digest}\",\"outcome\":\"{outcome}\"}}\n")
}

/// Every record of the report, in order.
pub fn records(report: &Path) -> Vec<Value> {
    std::fs::read_to_string(report)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The last outcome other than `started` of each line.
pub fn finals(report: &Path) -> BTreeMap<u64, Value> {
    let mut out = BTreeMap::new();
    for record in records(report) {
        if record["outcome"] != "started" {
            out.insert(record["line"].as_u64().unwrap(), record);
        }
    }
    out
}
