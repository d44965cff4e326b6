//! `wechat-msg send-batch` as a real process against an emulator running in
//! the test: the report, invalid lines, resuming, a SIGKILL mid-run, the
//! report's lock and its line digests.

mod batch_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use batch_support::*;
use serde_json::{Value, json};
use wechat_msg_emulator::Faults;

#[test]
fn sends_every_line_once_and_reports_each() {
    let emulator = Standalone::start(4);
    let dir = temp_dir("happy");
    let input = write_input(&dir, &valid_lines(30, 4));
    let report = dir.join("report.jsonl");

    let (code, stderr) = emulator.run(&input, &report, &["--concurrency", "4", "--rate", "500"]);
    assert_eq!(code, 0, "{stderr}");
    let finals = finals(&report);
    assert_eq!(finals.len(), 30);
    assert!(
        finals.values().all(|r| r["outcome"] == "sent"),
        "{finals:?}"
    );
    // Each line was started before it was sent.
    let all = records(&report);
    for n in 1..=30u64 {
        let started = all
            .iter()
            .position(|r| r["line"] == n && r["outcome"] == "started");
        let sent = all
            .iter()
            .position(|r| r["line"] == n && r["outcome"] == "sent");
        assert!(started.unwrap() < sent.unwrap(), "line {n}");
    }
    let accepted = emulator.accepted();
    assert_eq!(accepted.len(), 30);
    assert!(accepted.values().all(|c| *c == 1));
    assert!(stderr.contains("30 sent"), "{stderr}");
    // Not a terminal: no progress bar.
    assert!(!stderr.contains('\r'), "{stderr:?}");
}

#[test]
fn invalid_lines_are_reported_with_their_field_and_not_sent() {
    let emulator = Standalone::start(2);
    let dir = temp_dir("invalid");
    let mut lines = valid_lines(4, 2);
    lines.insert(1, r#"{"touser": "USER_0", "data": {}}"#.to_owned());
    lines.insert(3, "not json".to_owned());
    lines.push(r#"{"touser": "USER_1", "template_id": "NOPE", "data": {}}"#.to_owned());
    let input = write_input(&dir, &lines);
    let report = dir.join("report.jsonl");

    let (code, stderr) = emulator.run(&input, &report, &[]);
    assert_eq!(code, 2, "{stderr}");
    let finals = finals(&report);
    assert_eq!(finals.len(), 7, "{finals:?}");
    assert_eq!(finals[&2]["outcome"], "invalid");
    assert!(
        finals[&2]["error"]
            .as_str()
            .unwrap()
            .contains("template_id"),
        "{:?}",
        finals[&2]
    );
    assert_eq!(finals[&4]["outcome"], "invalid");
    assert_eq!(finals[&7]["outcome"], "rejected");
    assert_eq!(finals[&7]["errcode"], 40037);
    assert_eq!(finals[&7]["class"], "permanent");
    // Invalid lines were never started.
    assert!(
        !records(&report)
            .iter()
            .any(|r| (r["line"] == 2 || r["line"] == 4) && r["outcome"] == "started")
    );
    assert_eq!(emulator.accepted().len(), 4);
    assert!(stderr.contains("2 invalid"), "{stderr}");
}

#[test]
fn a_resumed_batch_skips_done_lines_and_never_resends_a_started_one() {
    let emulator = Standalone::start(3);
    let dir = temp_dir("resume");
    let input = write_input(&dir, &valid_lines(10, 3));
    let report = dir.join("report.jsonl");
    // As a killed run leaves it: 1 and 2 sent, 3 started only, 4 not sent,
    // and a torn last record.
    let d = |n: usize| digest(&line(n, 3).to_string());
    std::fs::write(
        &report,
        [
            record(1, &d(1), "started"),
            record(1, &d(1), "sent"),
            record(2, &d(2), "started"),
            record(2, &d(2), "sent"),
            record(4, &d(4), "started"),
            record(4, &d(4), "not_sent"),
            record(3, &d(3), "started"),
            format!("{{\"line\":3,\"digest\":\"{}\",\"outc", d(3)),
        ]
        .join(""),
    )
    .unwrap();

    let (code, stderr) = emulator.run(&input, &report, &[]);
    assert_eq!(code, 3, "{stderr}");
    let finals = finals(&report);
    assert_eq!(finals.len(), 10, "{finals:?}");
    assert_eq!(finals[&3]["outcome"], "delivery_unknown");
    for n in [1, 2, 4, 5, 6, 7, 8, 9, 10] {
        assert_eq!(finals[&n]["outcome"], "sent", "line {n}");
    }
    assert!(stderr.contains("lines 3"), "{stderr}");
    // The torn record was cut off: every record is whole.
    let text = std::fs::read_to_string(&report).unwrap();
    for record in text.lines() {
        serde_json::from_str::<Value>(record).unwrap_or_else(|e| panic!("{record}: {e}"));
    }
    let accepted = emulator.accepted();
    let mut lines: Vec<&str> = accepted.keys().map(String::as_str).collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "line 10", "line 4", "line 5", "line 6", "line 7", "line 8", "line 9"
        ]
    );

    // A third run has nothing left to send.
    let before = emulator.emu().messages().len();
    let (code, stderr) = emulator.run(&input, &report, &[]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(emulator.emu().messages().len(), before);
    assert!(stderr.contains("this run: 0 sent"), "{stderr}");
    assert!(!stderr.contains("embedded emulator"), "{stderr}");
}

#[test]
fn killed_mid_run_and_resumed_every_line_is_accepted_once_or_listed_unknown() {
    const LINES: usize = 400;
    let emulator = Standalone::start(25);
    // Slow answers, so the kill lands while sends are in flight.
    emulator.emu().set_faults(Faults {
        latency_ms: 50,
        ..Faults::none()
    });
    let dir = temp_dir("kill");
    let input = write_input(&dir, &valid_lines(LINES, 25));
    let report = dir.join("report.jsonl");

    let mut child = emulator
        .command(&input, &report, &["--concurrency", "8"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let sent = records(&report)
            .iter()
            .filter(|r| r["outcome"] == "sent")
            .count();
        if sent >= 40 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(finals(&report).len() < LINES, "the kill came after the end");

    emulator.emu().set_faults(Faults::none());
    let (code, stderr) = emulator.run(&input, &report, &["--concurrency", "8"]);
    assert!(code == 0 || code == 3, "{code}: {stderr}");

    let finals = finals(&report);
    assert_eq!(finals.len(), LINES);
    let accepted = emulator.accepted();
    let mut unknown = Vec::new();
    for n in 1..=LINES as u64 {
        let count = accepted.get(&format!("line {n}")).copied().unwrap_or(0);
        match finals[&n]["outcome"].as_str().unwrap() {
            "sent" => assert_eq!(count, 1, "line {n} sent {count} times"),
            "delivery_unknown" => {
                assert!(count <= 1, "line {n} sent {count} times");
                unknown.push(n);
            }
            other => panic!("line {n}: {other}"),
        }
    }
    eprintln!("delivery unknown after the kill: lines {unknown:?}");
    assert_eq!(code == 3, !unknown.is_empty(), "{stderr}");
    if !unknown.is_empty() {
        let list: Vec<String> = unknown.iter().map(u64::to_string).collect();
        assert!(
            stderr.contains(&format!("lines {}", list.join(", "))),
            "{stderr}"
        );
    }
}

#[test]
fn interrupted_lets_sends_in_flight_finish_and_the_rest_goes_on_resume() {
    const LINES: usize = 300;
    let emulator = Standalone::start(20);
    emulator.emu().set_faults(Faults {
        latency_ms: 50,
        ..Faults::none()
    });
    let dir = temp_dir("interrupt");
    let input = write_input(&dir, &valid_lines(LINES, 20));
    let report = dir.join("report.jsonl");

    let mut child = emulator
        .command(&input, &report, &["--concurrency", "8"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while records(&report)
        .iter()
        .filter(|r| r["outcome"] == "sent")
        .count()
        < 30
    {
        assert!(child.try_wait().unwrap().is_none(), "finished too soon");
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Ctrl-C, as a terminal sends it.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    // Every line it started got its outcome: none is left unknown.
    let all = records(&report);
    let first = finals(&report);
    for record in all.iter().filter(|r| r["outcome"] == "started") {
        let line = record["line"].as_u64().unwrap();
        assert_eq!(first[&line]["outcome"], "sent", "line {line}");
    }
    assert!(first.len() < LINES, "the interrupt came after the end");

    emulator.emu().set_faults(Faults::none());
    let (code, stderr) = emulator.run(&input, &report, &["--concurrency", "8"]);
    assert_eq!(code, 0, "{stderr}");
    let finals = finals(&report);
    assert_eq!(finals.len(), LINES);
    assert!(finals.values().all(|r| r["outcome"] == "sent"));
    let accepted = emulator.accepted();
    assert_eq!(accepted.len(), LINES);
    assert!(accepted.values().all(|c| *c == 1), "a line was sent twice");
}

#[test]
fn cloud_form_lines_with_from_cloud() {
    let emulator = Standalone::start(2);
    let dir = temp_dir("cloud");
    let lines: Vec<String> = (1..=4)
        .map(|n| {
            json!({"touser": format!("USER_{}", n % 2), "templateId": "TEMPLATE_ID",
                   "data": {"thing1": {"value": format!("line {n}")}}})
            .to_string()
        })
        .collect();
    let input = write_input(&dir, &lines);
    let report = dir.join("report.jsonl");
    // In the HTTP form, `templateId` is the cloud form's name: invalid.
    let (code, stderr) = emulator.run(&input, &report, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(finals(&report).values().all(|r| r["outcome"] == "invalid"));
    assert!(emulator.accepted().is_empty());

    let report = dir.join("report-cloud.jsonl");
    let (code, stderr) = emulator.run(&input, &report, &["--from", "cloud"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(emulator.accepted().len(), 4);
}

#[test]
fn a_second_process_on_the_same_report_refuses_and_names_the_holder() {
    const LINES: usize = 200;
    let emulator = Standalone::start(20);
    emulator.emu().set_faults(Faults {
        latency_ms: 30,
        ..Faults::none()
    });
    let dir = temp_dir("locked");
    let input = write_input(&dir, &valid_lines(LINES, 20));
    let report = dir.join("report.jsonl");

    let first = emulator
        .command(&input, &report, &["--concurrency", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while records(&report).is_empty() {
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (code, stderr) = emulator.run(&input, &report, &["--concurrency", "4"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("in use by"), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {} on ", first.id())),
        "{stderr}"
    );
    assert!(stderr.contains("report.jsonl"), "{stderr}");

    let output = first.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let accepted = emulator.accepted();
    assert_eq!(accepted.len(), LINES);
    assert!(accepted.values().all(|c| *c == 1), "a line was sent twice");
}

#[test]
fn two_processes_started_together_send_every_line_once() {
    const LINES: usize = 300;
    let emulator = Standalone::start(30);
    emulator.emu().set_faults(Faults {
        latency_ms: 5,
        ..Faults::none()
    });
    let dir = temp_dir("together");
    let input = write_input(&dir, &valid_lines(LINES, 30));
    let report = dir.join("report.jsonl");
    let spawn = || {
        emulator
            .command(&input, &report, &["--concurrency", "8"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let mut codes: Vec<i32> = outputs.iter().map(|o| o.status.code().unwrap()).collect();
    codes.sort_unstable();
    let stderr: Vec<String> = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    // One sends; the other refuses, or (started after the first ended)
    // finds nothing left.
    assert!(codes == [0, 2] || codes == [0, 0], "{codes:?} {stderr:?}");
    if codes == [0, 0] {
        assert!(
            stderr.iter().any(|s| s.contains("this run: 0 sent")),
            "{stderr:?}"
        );
    } else {
        assert!(
            stderr.iter().any(|s| s.contains("in use by pid ")),
            "{stderr:?}"
        );
    }
    let accepted = emulator.accepted();
    assert_eq!(accepted.len(), LINES);
    assert!(accepted.values().all(|c| *c == 1), "a line was sent twice");
}

#[test]
fn an_edited_input_is_refused_naming_the_first_changed_line_and_appended_lines_go() {
    let emulator = Standalone::start(5);
    let dir = temp_dir("edited");
    let all = valid_lines(10, 5);
    let input = write_input(&dir, &all[..5]);
    let report = dir.join("report.jsonl");
    let (code, stderr) = emulator.run(&input, &report, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(emulator.accepted().len(), 5);

    // The whole batch, reversed: line 1 is now the old line 10.
    let reversed: Vec<String> = all.iter().rev().cloned().collect();
    let input = write_input(&dir, &reversed);
    let before = std::fs::read_to_string(&report).unwrap();
    let (code, stderr) = emulator.run(&input, &report, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("line 1 of "), "{stderr}");
    assert!(stderr.contains("(sent) has changed"), "{stderr}");
    assert_eq!(emulator.emu().messages().len(), 5, "nothing sent");
    assert_eq!(std::fs::read_to_string(&report).unwrap(), before);

    // A line removed is named too.
    let input = write_input(&dir, &all[..3]);
    let (code, stderr) = emulator.run(&input, &report, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("line 4 of "), "{stderr}");
    assert!(stderr.contains("is gone"), "{stderr}");

    // The first five unchanged and five appended: only the new ones go.
    let input = write_input(&dir, &all);
    let (code, stderr) = emulator.run(&input, &report, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("this run: 5 sent"), "{stderr}");
    let accepted = emulator.accepted();
    assert_eq!(accepted.len(), 10);
    assert!(accepted.values().all(|c| *c == 1), "a line was sent twice");
}

#[test]
fn a_fixed_invalid_line_is_sent_and_a_report_without_digests_is_refused() {
    let emulator = Standalone::start(2);
    let dir = temp_dir("fixed");
    let mut lines = valid_lines(3, 2);
    lines[1] = r#"{"touser": "USER_0", "data": {}}"#.to_owned();
    let input = write_input(&dir, &lines);
    let report = dir.join("report.jsonl");
    let (code, stderr) = emulator.run(&input, &report, &[]);
    assert_eq!(code, 2, "{stderr}");
    // Nothing of an invalid line reached WeChat: fixing it is no change
    // that could send twice.
    let input = write_input(&dir, &valid_lines(3, 2));
    let (code, stderr) = emulator.run(&input, &report, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("this run: 1 sent"), "{stderr}");
    assert_eq!(emulator.accepted().len(), 3);

    let old = dir.join("old.jsonl");
    std::fs::write(&old, "{\"line\":1,\"outcome\":\"sent\"}\n").unwrap();
    let (code, stderr) = emulator.run(&input, &old, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("old.jsonl:1"), "{stderr}");
    assert!(stderr.contains("older wechat-msg"), "{stderr}");
    assert_eq!(emulator.accepted().len(), 3, "nothing sent");
}
