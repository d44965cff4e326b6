//! `wechat-msg send-batch --journal redis://...`: many worker processes on
//! one batch in a real `redis-server`, against one emulator: every line
//! accepted once, workers killed with SIGKILL and started again, Redis
//! stalled mid-run, the shared rate limit, and an edited input.

mod batch_support;
#[path = "../../wechat-msg/tests/client_support/redis_server.rs"]
mod redis_server;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use batch_support::*;
use redis_server::RedisServer;
use serde_json::Value;
use wechat_msg_emulator::Faults;

fn spawn(mut command: Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

fn finish(child: Child) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    (
        status.code().expect("an exit code"),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// The batch's records as a worker writes them out with `--report`
/// (a run with nothing left to send).
fn exported(emulator: &Standalone, input: &Path, url: &str, dir: &Path) -> BTreeMap<u64, Value> {
    let report = dir.join("exported.jsonl");
    let (code, _, stderr) = finish(spawn(emulator.journal_command(
        input,
        url,
        &["--report", report.to_str().unwrap()],
    )));
    assert!(code == 0 || code == 3, "{code}: {stderr}");
    assert!(stderr.contains("this run: 0 sent"), "{stderr}");
    finals(&report)
}

/// Each line accepted once when `sent`, at most once when
/// `delivery_unknown`; no other outcome. The unknown lines.
fn check_once(emulator: &Standalone, lines: usize, finals: &BTreeMap<u64, Value>) -> Vec<u64> {
    assert_eq!(finals.len(), lines, "every line has an outcome");
    let accepted = emulator.accepted();
    let mut unknown = Vec::new();
    for n in 1..=lines as u64 {
        let count = accepted.get(&format!("line {n}")).copied().unwrap_or(0);
        match finals[&n]["outcome"].as_str().unwrap() {
            "sent" => assert_eq!(count, 1, "line {n} accepted {count} times"),
            "delivery_unknown" => {
                assert!(count <= 1, "line {n} accepted {count} times");
                unknown.push(n);
            }
            other => panic!("line {n}: {other}"),
        }
        assert!(finals[&n]["digest"].as_str().is_some_and(|d| d.len() == 32));
    }
    unknown
}

#[test]
fn four_workers_share_one_batch_and_every_line_is_accepted_once() {
    const LINES: usize = 400;
    let redis = RedisServer::start();
    let url = redis.url();
    let emulator = Standalone::start(40);
    emulator.emu().set_faults(Faults {
        latency_ms: 5,
        ..Faults::none()
    });
    let dir = temp_dir("journal-four");
    let input = write_input(&dir, &valid_lines(LINES, 40));

    let workers: Vec<Child> = (0..4)
        .map(|_| spawn(emulator.journal_command(&input, &url, &["--concurrency", "4"])))
        .collect();
    let mut sent_by_worker = Vec::new();
    for worker in workers {
        let (code, _, stderr) = finish(worker);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{LINES} of {LINES} lines have an outcome: {LINES} sent"
            )),
            "{stderr}"
        );
        let this_run = stderr
            .lines()
            .find_map(|l| l.strip_prefix("this run: "))
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap();
        sent_by_worker.push(this_run);
    }
    assert_eq!(
        sent_by_worker.iter().sum::<usize>(),
        LINES,
        "{sent_by_worker:?}"
    );
    let unknown = check_once(&emulator, LINES, &exported(&emulator, &input, &url, &dir));
    assert!(unknown.is_empty());

    // --status counts without sending.
    let (code, stdout, stderr) =
        finish(spawn(emulator.journal_command(&input, &url, &["--status"])));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("\nsent {LINES}\n")), "{stdout}");
    assert!(stdout.contains("\nnot_started 0\n"), "{stdout}");
    assert!(stdout.contains("subscribeMessage.send"), "{stdout}");
    assert_eq!(emulator.emu().messages().len(), LINES);

    // The same batch under another API is refused.
    let mut other = emulator.journal_command(&input, &url, &[]);
    let args: Vec<String> = other
        .get_args()
        .map(|a| {
            a.to_string_lossy()
                .replace(API, "customerServiceMessage.send")
        })
        .collect();
    other = Command::new(BIN);
    other.args(&args);
    let (code, _, stderr) = finish(spawn(other));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("was started with api subscribeMessage.send"),
        "{stderr}"
    );

    // --forget removes it: the next run would be a new batch.
    let (code, _, stderr) = finish(spawn(emulator.journal_command(&input, &url, &["--forget"])));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("forgotten"), "{stderr}");
    let (_, stdout, _) = finish(spawn(emulator.journal_command(&input, &url, &["--status"])));
    assert!(
        stdout.contains(&format!("\nnot_started {LINES}\n")),
        "{stdout}"
    );
}

#[test]
fn workers_killed_mid_run_and_started_again_lose_nothing_and_send_nothing_twice() {
    const LINES: usize = 600;
    let redis = RedisServer::start();
    let url = redis.url();
    let emulator = Standalone::start(60);
    // Slow answers, so the kills land while sends are in flight.
    emulator.emu().set_faults(Faults {
        latency_ms: 40,
        ..Faults::none()
    });
    let dir = temp_dir("journal-kill");
    let input = write_input(&dir, &valid_lines(LINES, 60));
    let args = ["--concurrency", "4", "--lease", "2"];
    let mut workers: Vec<Child> = (0..4)
        .map(|_| spawn(emulator.journal_command(&input, &url, &args)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while emulator.emu().messages().len() < 100 {
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    for worker in &mut workers[..2] {
        worker.kill().unwrap(); // SIGKILL
        worker.wait().unwrap();
    }
    assert!(
        emulator.emu().messages().len() < LINES,
        "the kills came after the end"
    );
    let restarted: Vec<Child> = (0..2)
        .map(|_| spawn(emulator.journal_command(&input, &url, &args)))
        .collect();
    let mut codes = Vec::new();
    for worker in workers.drain(2..).chain(restarted) {
        let (code, _, stderr) = finish(worker);
        assert!(code == 0 || code == 3, "{code}: {stderr}");
        codes.push((code, stderr));
    }
    emulator.emu().set_faults(Faults::none());
    let finals = exported(&emulator, &input, &url, &dir);
    let unknown = check_once(&emulator, LINES, &finals);
    eprintln!("delivery unknown after the kills: lines {unknown:?}");
    // Every worker that finished saw the whole batch settled.
    for (code, stderr) in &codes {
        assert_eq!(*code == 3, !unknown.is_empty(), "{stderr}");
        assert!(
            stderr.contains(&format!("{LINES} of {LINES} lines have an outcome")),
            "{stderr}"
        );
    }
}

#[test]
fn redis_stalled_mid_run_stops_every_worker_and_nothing_was_sent_unclaimed() {
    const LINES: usize = 400;
    let redis = RedisServer::start();
    let url = redis.url();
    let emulator = Standalone::start(40);
    emulator.emu().set_faults(Faults {
        latency_ms: 30,
        ..Faults::none()
    });
    let dir = temp_dir("journal-stall");
    let input = write_input(&dir, &valid_lines(LINES, 40));
    let args = ["--concurrency", "4", "--lease", "2"];
    let workers: Vec<Child> = (0..2)
        .map(|_| spawn(emulator.journal_command(&input, &url, &args)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while emulator.emu().messages().len() < 50 {
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = redis.pid().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let stalled_at = Instant::now();
    for worker in workers {
        let (code, _, stderr) = finish(worker);
        assert_eq!(code, 3, "{stderr}");
        assert!(
            stderr.contains("the journal at redis://127.0.0.1:"),
            "{stderr}"
        );
        assert!(
            stderr.contains("no line was started without its claim"),
            "{stderr}"
        );
    }
    assert!(stalled_at.elapsed() < Duration::from_secs(60));
    let accepted_while_stalled = emulator.emu().messages().len();
    assert!(
        accepted_while_stalled < LINES,
        "the stall came after the end"
    );
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .unwrap()
            .success()
    );

    // Back: a worker settles the stopped workers' lines once their leases
    // end and sends the rest. A line sent without its claim would be sent
    // again here.
    emulator.emu().set_faults(Faults::none());
    let (code, _, stderr) = finish(spawn(emulator.journal_command(&input, &url, &args)));
    assert!(code == 0 || code == 3, "{code}: {stderr}");
    let finals = exported(&emulator, &input, &url, &dir);
    check_once(&emulator, LINES, &finals);
}

#[test]
fn the_rate_limit_holds_for_all_workers_together() {
    const LINES: usize = 30;
    let redis = RedisServer::start();
    let url = redis.url();
    let emulator = Standalone::start(30);
    let dir = temp_dir("journal-rate");
    let input = write_input(&dir, &valid_lines(LINES, 30));
    let started = Instant::now();
    let workers: Vec<Child> = (0..3)
        .map(|_| spawn(emulator.journal_command(&input, &url, &["--rate", "10"])))
        .collect();
    for worker in workers {
        let (code, _, stderr) = finish(worker);
        assert_eq!(code, 0, "{stderr}");
    }
    // 10 a second for all three: 30 lines take about 3 s, never less than
    // 2.5 s (each alone at 10 a second would take 1).
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(2500), "{elapsed:?}");
    assert_eq!(emulator.accepted().len(), LINES);
}

#[test]
fn a_named_batch_refuses_an_edited_input_and_sends_appended_lines() {
    let redis = RedisServer::start();
    let url = redis.url();
    let emulator = Standalone::start(5);
    let dir = temp_dir("journal-edit");
    let all = valid_lines(10, 5);
    let input = write_input(&dir, &all[..5]);
    let named = ["--batch", "spring-sale"];
    let (code, _, stderr) = finish(spawn(emulator.journal_command(&input, &url, &named)));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("batch spring-sale"), "{stderr}");

    let reversed: Vec<String> = all.iter().rev().cloned().collect();
    let input = write_input(&dir, &reversed);
    let (code, _, stderr) = finish(spawn(emulator.journal_command(&input, &url, &named)));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("line 1 of "), "{stderr}");
    assert!(stderr.contains("(sent) has changed"), "{stderr}");
    assert_eq!(emulator.emu().messages().len(), 5, "nothing sent");

    let input = write_input(&dir, &all);
    let (code, _, stderr) = finish(spawn(emulator.journal_command(&input, &url, &named)));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("this run: 5 sent"), "{stderr}");
    let accepted = emulator.accepted();
    assert_eq!(accepted.len(), 10);
    assert!(accepted.values().all(|c| *c == 1));

    // A bad name, and a journal nobody answers.
    let (code, _, stderr) = finish(spawn(emulator.journal_command(
        &input,
        &url,
        &["--batch", "a b\u{1b}"],
    )));
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    let (code, _, stderr) = finish(spawn(emulator.journal_command(
        &input,
        "redis://127.0.0.1:1/0",
        &[],
    )));
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("cannot reach the journal at redis://127.0.0.1:1/0"),
        "{stderr}"
    );
}
