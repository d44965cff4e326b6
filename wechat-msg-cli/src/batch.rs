//! `wechat-msg send-batch`: one request body per line of a JSONL file, sent
//! with [`Client::send_all_with`](wechat_msg::client::Client::send_all_with),
//! each line's outcome appended to a report that makes the batch resumable.
//!
//! The report is JSONL too, one record per event, appended and never
//! rewritten:
//!
//! ```text
//! {"line":3,"outcome":"started"}                      before line 3 is sent (fsynced first)
//! {"line":3,"outcome":"sent"}                         and after
//! {"line":4,"outcome":"rejected","errcode":40003,"errmsg":"...","class":"permanent"}
//! {"line":5,"outcome":"invalid","error":"data: missing"}
//! {"line":6,"outcome":"delivery_unknown","error":"..."}
//! {"line":7,"outcome":"not_sent","error":"..."}
//! ```
//!
//! Run again with the same report, a line with a final record (`sent`,
//! `rejected`, `invalid`, `delivery_unknown`) is skipped; a line `started`
//! without one was cut off by a crash after its send may have gone out, so
//! it is recorded as `delivery_unknown` and not sent; a line with no record,
//! or only `not_sent` (nothing reached WeChat), is sent. A `kill -9` or
//! Ctrl-C therefore loses nothing and sends nothing twice.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as sync_mpsc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};
use wechat_msg::client::{BulkMessage, BulkOptions, ErrorKind, Outcome};
use wechat_msg::{EndpointInfo, Errcode, ErrorClass, Form};

use crate::output::{Foreign, Redactions};
use crate::send::{Connected, Target, connect};
use crate::{Failure, input};

/// How `send-batch` was asked to send.
#[derive(Debug)]
pub struct BatchArgs {
    /// The endpoint's cloud-call name.
    pub api: String,
    /// The JSONL file, one request body per line.
    pub file: PathBuf,
    /// The report, created or resumed.
    pub report: PathBuf,
    /// Sends started per second at most; no limit when absent.
    pub rate: Option<u32>,
    /// Sends in flight at most.
    pub concurrency: usize,
    /// The form of the input lines.
    pub from: Form,
    /// Where and how to send.
    pub target: Target,
}

/// The final outcomes a report line can record.
const FINAL: [&str; 5] = [
    "sent",
    "rejected",
    "invalid",
    "not_sent",
    "delivery_unknown",
];

/// What the report says of one input line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recorded {
    /// Started, no final record: its send may have gone out.
    Started,
    /// A final outcome (one of [`FINAL`]).
    Final(&'static str),
}

pub async fn run(args: BatchArgs) -> Result<(), Failure> {
    let info = input::endpoint(&args.api)?;
    let input_name = Foreign(&args.file.to_string_lossy()).to_string();
    let Report {
        recorded: earlier,
        complete_len,
    } = read_report(&args.report)?;
    let report = Journal::open(&args.report, complete_len)?;
    let mut outcomes: BTreeMap<usize, &'static str> = BTreeMap::new();
    let mut summary = Summary::default();
    for (&line, &recorded) in &earlier {
        if let Recorded::Final(outcome) = recorded {
            outcomes.insert(line, outcome);
        }
    }

    // First pass: every line validated; the lines to send listed.
    let mut to_send = Vec::new();
    let mut lines_total = 0;
    for_each_line(&args.file, &input_name, |line, text| {
        lines_total = line;
        let recorded = earlier.get(&line).copied();
        match recorded {
            Some(Recorded::Final(outcome)) if outcome != "not_sent" => return Ok(()),
            Some(Recorded::Started) => {
                let record = json!({"line": line, "outcome": "delivery_unknown",
                    "error": "started by an earlier run that ended before its outcome was recorded"});
                report.record(&record)?;
                outcomes.insert(line, "delivery_unknown");
                summary.count("delivery_unknown");
                return Ok(());
            }
            _ => {}
        }
        match validate(info, text, args.from) {
            Ok(_) => to_send.push(line),
            Err(error) => {
                report.record(&json!({"line": line, "outcome": "invalid", "error": error}))?;
                outcomes.insert(line, "invalid");
                summary.count("invalid");
            }
        }
        Ok(())
    })?;

    // Nothing left to send: no client, no token, no embedded emulator.
    if to_send.is_empty() {
        report.close().map_err(|e| report_error(&args.report, &e))?;
        print_summary(&outcomes, &summary, 0, lines_total);
        return exit_code(&outcomes, 0);
    }

    let Connected {
        client,
        via,
        embedded,
        redactions,
    } = connect(args.target).await?;
    let cancelled = Arc::new(AtomicBool::new(false));
    tokio::spawn({
        let cancelled = cancelled.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancelled.store(true, Ordering::SeqCst);
            }
        }
    });

    // Second pass: the lines to send, read again as they are needed.
    let to_send = Arc::new(to_send);
    let messages = read_lines(
        args.file.clone(),
        to_send.clone(),
        info,
        args.from,
        cancelled.clone(),
    );
    let gate = {
        let report = report.clone();
        let to_send = to_send.clone();
        let cancelled = cancelled.clone();
        move |index: usize| {
            let line = to_send[index];
            let report = report.clone();
            let cancelled = cancelled.clone();
            async move { !cancelled.load(Ordering::SeqCst) && report.started(line).await }
        }
    };
    let mut options = BulkOptions::default()
        .concurrency(args.concurrency)
        .via(via)
        .before_send(gate);
    if let Some(rate) = args.rate {
        options = options.rate_per_second(rate);
    }

    let progress = progress_bar(to_send.len());
    let mut results = client.send_all_with(messages, options);
    while let Some((index, outcome)) = results.next().await {
        let line = to_send[index];
        if let Some(record) = record_of(line, &outcome, &redactions) {
            report.record(&record)?;
            let name = record["outcome"].as_str().map_or("not_sent", final_name);
            outcomes.insert(line, name);
            summary.count(name);
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    let synced = report.close();
    if let Some(emulator) = embedded {
        emulator.shutdown().await;
    }
    synced.map_err(|e| report_error(&args.report, &e))?;

    let unfinished = to_send
        .iter()
        .filter(|line| !outcomes.contains_key(line))
        .count();
    print_summary(&outcomes, &summary, unfinished, lines_total);
    exit_code(&outcomes, unfinished)
}

/// The outcome name as a `&'static str`.
fn final_name(name: &str) -> &'static str {
    FINAL
        .iter()
        .find(|known| **known == name)
        .copied()
        .unwrap_or("not_sent")
}

/// Why a line is invalid, or its body.
fn validate(info: &'static EndpointInfo, text: &[u8], from: Form) -> Result<Value, String> {
    let body =
        wechat_msg::wire::parse_json(text).map_err(|e| Foreign(&e.to_string()).to_string())?;
    (info.convert)(&body, from, from).map_err(|e| Foreign(&e.to_string()).to_string())?;
    Ok(body)
}

/// The report record of a line's outcome; none for a withheld line (never
/// started: the next run sends it).
fn record_of(line: usize, outcome: &Outcome, redactions: &Redactions) -> Option<Value> {
    let mut record = Map::new();
    record.insert("line".to_owned(), json!(line));
    let name = match outcome {
        Outcome::Withheld => return None,
        Outcome::NotSent(err) if matches!(err.kind(), ErrorKind::InvalidRequest(_)) => "invalid",
        other => other.name(),
    };
    record.insert("outcome".to_owned(), json!(name));
    if let Some(err) = outcome.error() {
        if let Some(rejection) = err.rejection() {
            record.insert("errcode".to_owned(), json!(rejection.errcode.code()));
            record.insert(
                "errmsg".to_owned(),
                json!(redactions.text(&rejection.errmsg)),
            );
            if let Some(name) = rejection.errcode.name() {
                record.insert("name".to_owned(), json!(name));
            }
            let class = match rejection.errcode.class() {
                ErrorClass::Retry => "retry",
                ErrorClass::RefreshToken => "refresh_token",
                _ => "permanent",
            };
            record.insert("class".to_owned(), json!(class));
        } else {
            record.insert("error".to_owned(), json!(redactions.text(&err.to_string())));
        }
    }
    Some(Value::Object(record))
}

/// Calls `each(line_number, bytes)` for every non-blank line of `path`.
fn for_each_line(
    path: &Path,
    name: &str,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let file =
        File::open(path).map_err(|e| Failure::invalid(format!("cannot read {name}: {e}")))?;
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Failure::invalid(format!("cannot read {name}: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        line += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        each(line, &buf)?;
    }
}

/// The bodies of the lines `wanted` (in order), read from `path` on a
/// thread of their own as the bulk send asks for them; ends early once
/// `cancelled` is set.
fn read_lines(
    path: PathBuf,
    wanted: Arc<Vec<usize>>,
    info: &'static EndpointInfo,
    from: Form,
    cancelled: Arc<AtomicBool>,
) -> impl futures_util::Stream<Item = BulkMessage> + Send + 'static {
    let (sender, receiver) = mpsc::channel::<BulkMessage>(64);
    std::thread::spawn(move || {
        let mut next = wanted.iter().copied().peekable();
        let _ = for_each_line(&path, "", |line, text| {
            if next.peek() != Some(&line) {
                return Ok(());
            }
            next.next();
            // Validated in the first pass; a line changed since is sent as
            // Null, which the bulk send reports as invalid.
            let body = wechat_msg::wire::parse_json(text).unwrap_or(Value::Null);
            sender
                .blocking_send(BulkMessage::value(info, body, from))
                .map_err(|_| Failure::invalid(""))
        });
    });
    futures_util::stream::unfold(receiver, move |mut receiver| {
        let cancelled = cancelled.clone();
        async move {
            if cancelled.load(Ordering::SeqCst) {
                return None;
            }
            let message = receiver.recv().await?;
            Some((message, receiver))
        }
    })
}

/// What an earlier run recorded, by input line. A torn last record (the
/// process killed mid-write) is ignored; any other unreadable record is an
/// error.
fn read_report(path: &Path) -> Result<Report, Failure> {
    let name = Foreign(&path.to_string_lossy()).to_string();
    let mut text = String::new();
    match File::open(path) {
        Ok(mut file) => {
            file.read_to_string(&mut text)
                .map_err(|e| Failure::invalid(format!("cannot read the report {name}: {e}")))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Report {
                recorded: HashMap::new(),
                complete_len: 0,
            });
        }
        Err(e) => {
            return Err(Failure::invalid(format!(
                "cannot read the report {name}: {e}"
            )));
        }
    }
    let mut recorded = HashMap::new();
    let torn_tail = !text.is_empty() && !text.ends_with('\n');
    // Up to the end of the last complete record.
    let complete_len = text.rfind('\n').map_or(0, |i| i + 1) as u64;
    let count = text.lines().count();
    for (i, record) in text.lines().enumerate() {
        if record.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Value>(record).ok().and_then(|v| {
            let line = usize::try_from(v.get("line")?.as_u64()?).ok()?;
            let outcome = v.get("outcome")?.as_str()?;
            let state = if outcome == "started" {
                Recorded::Started
            } else {
                Recorded::Final(FINAL.iter().find(|f| **f == outcome)?)
            };
            Some((line, state))
        });
        match parsed {
            // A later attempt of a line that was not sent is started again.
            Some((line, Recorded::Started)) => match recorded.get(&line) {
                Some(Recorded::Final(outcome)) if *outcome != "not_sent" => {}
                _ => {
                    recorded.insert(line, Recorded::Started);
                }
            },
            Some((line, state)) => {
                recorded.insert(line, state);
            }
            None if torn_tail && i + 1 == count => {}
            None => {
                return Err(Failure::invalid(format!(
                    "{name}:{}: not a send-batch report record: {}",
                    i + 1,
                    Foreign(record)
                )));
            }
        }
    }
    Ok(Report {
        recorded,
        complete_len,
    })
}

/// What an earlier run left in the report.
struct Report {
    /// What it recorded, by input line.
    recorded: HashMap<usize, Recorded>,
    /// The length of its complete records: a torn last record is cut off
    /// before appending.
    complete_len: u64,
}

fn report_error(path: &Path, e: &io::Error) -> Failure {
    Failure::not_sent(format!(
        "cannot write the report {}: {e}",
        Foreign(&path.to_string_lossy())
    ))
}

/// What the journal thread is asked to do.
enum Entry {
    /// Append a final record.
    Record(String),
    /// Append `started` for a line, make it durable, then answer whether
    /// the line may be sent.
    Started(usize, oneshot::Sender<bool>),
}

/// The report, appended by a thread of its own. `started` records are
/// fsynced before their line is sent, several at a time when several lines
/// start together; final records are written at once and fsynced with the
/// next `started` batch, at least once a second, and at the end.
#[derive(Clone)]
struct Journal {
    path: PathBuf,
    sender: sync_mpsc::Sender<Entry>,
    done: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<io::Result<()>>>>>,
}

impl Journal {
    fn open(path: &Path, complete_len: u64) -> Result<Journal, Failure> {
        let name = Foreign(&path.to_string_lossy()).to_string();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Failure::invalid(format!("cannot open the report {name}: {e}")))?;
        // A record torn by a kill (no newline at its end) is cut off, so the
        // next record starts on a line of its own.
        let len = file
            .metadata()
            .map_err(|e| Failure::invalid(format!("cannot open the report {name}: {e}")))?
            .len();
        if len > complete_len {
            file.set_len(complete_len)
                .map_err(|e| Failure::invalid(format!("cannot open the report {name}: {e}")))?;
        }
        let (sender, receiver) = sync_mpsc::channel();
        let thread = std::thread::spawn(move || journal_thread(file, receiver));
        Ok(Journal {
            path: path.to_owned(),
            sender,
            done: Arc::new(std::sync::Mutex::new(Some(thread))),
        })
    }

    /// Appends a final record.
    fn record(&self, record: &Value) -> Result<(), Failure> {
        self.sender
            .send(Entry::Record(record.to_string()))
            .map_err(|_| report_error(&self.path, &io::Error::other("the report writer stopped")))
    }

    /// Appends `started` for `line` durably; whether the line may be sent.
    async fn started(&self, line: usize) -> bool {
        let (ack, answer) = oneshot::channel();
        if self.sender.send(Entry::Started(line, ack)).is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Writes what is left, fsyncs, and stops the thread.
    fn close(self) -> io::Result<()> {
        let Journal { sender, done, .. } = self;
        drop(sender);
        let thread = done.lock().ok().and_then(|mut t| t.take());
        match thread {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the report writer failed"))),
            None => Ok(()),
        }
    }
}

fn journal_thread(file: File, receiver: sync_mpsc::Receiver<Entry>) -> io::Result<()> {
    let mut out = io::BufWriter::new(file);
    let mut last_sync = Instant::now();
    let mut failed: Option<io::Error> = None;
    // Blocks for the first entry, then takes whatever else is waiting.
    while let Ok(first) = receiver.recv() {
        let mut acks = Vec::new();
        let mut batch = vec![first];
        batch.extend(receiver.try_iter().take(4096));
        for entry in batch {
            let text = match entry {
                Entry::Record(text) => text,
                Entry::Started(line, ack) => {
                    acks.push(ack);
                    format!(r#"{{"line":{line},"outcome":"started"}}"#)
                }
            };
            if failed.is_none()
                && let Err(e) = out
                    .write_all(text.as_bytes())
                    .and_then(|()| out.write_all(b"\n"))
            {
                failed = Some(e);
            }
        }
        if failed.is_none() {
            let sync = !acks.is_empty() || last_sync.elapsed() >= Duration::from_secs(1);
            let written = out.flush().and_then(|()| {
                if sync {
                    last_sync = Instant::now();
                    out.get_ref().sync_data()
                } else {
                    Ok(())
                }
            });
            if let Err(e) = written {
                failed = Some(e);
            }
        }
        for ack in acks {
            let _ = ack.send(failed.is_none());
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush()?;
    out.get_ref().sync_all()
}

/// This run's counts.
#[derive(Debug, Default)]
struct Summary {
    counts: BTreeMap<&'static str, usize>,
}

impl Summary {
    fn count(&mut self, outcome: &'static str) {
        *self.counts.entry(outcome).or_default() += 1;
    }
}

fn progress_bar(len: usize) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} lines, {per_sec}, {eta} left")
    {
        bar.set_style(style);
    }
    bar
}

/// The counts of every outcome the report now holds, this run's, and the
/// lines whose delivery is unknown, on standard error.
fn print_summary(
    outcomes: &BTreeMap<usize, &'static str>,
    summary: &Summary,
    unfinished: usize,
    lines_total: usize,
) {
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for outcome in outcomes.values() {
        *totals.entry(outcome).or_default() += 1;
    }
    let show = |counts: &BTreeMap<&str, usize>| {
        FINAL
            .iter()
            .map(|name| format!("{} {name}", counts.get(name).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "send-batch: {} of {lines_total} lines have an outcome: {}",
        outcomes.len(),
        show(&totals)
    );
    let this_run: BTreeMap<&str, usize> = summary.counts.iter().map(|(k, v)| (*k, *v)).collect();
    eprintln!("this run: {}", show(&this_run));
    let unknown: BTreeSet<usize> = outcomes
        .iter()
        .filter(|(_, outcome)| **outcome == "delivery_unknown")
        .map(|(line, _)| *line)
        .collect();
    if !unknown.is_empty() {
        let list: Vec<String> = unknown.iter().map(usize::to_string).collect();
        eprintln!(
            "delivery unknown (may have been delivered; not resent): lines {}",
            list.join(", ")
        );
    }
    if unfinished > 0 {
        eprintln!(
            "{unfinished} lines not sent (interrupted); run again with the same report to send them"
        );
    }
}

/// 3 when a line is not sent or its delivery unknown (or the run was cut
/// short), else 2 when a line is invalid, else 1 when WeChat rejected a
/// line, else 0.
fn exit_code(outcomes: &BTreeMap<usize, &'static str>, unfinished: usize) -> Result<(), Failure> {
    let has = |name: &str| outcomes.values().any(|o| *o == name);
    if unfinished > 0 || has("not_sent") || has("delivery_unknown") {
        Err(Failure::not_sent(
            "some lines were not sent or their delivery is unknown (see the report)",
        ))
    } else if has("invalid") {
        Err(Failure::invalid("some lines are invalid (see the report)"))
    } else if has("rejected") {
        Err(Failure::answered(
            "WeChat rejected some lines (see the report)",
        ))
    } else {
        Ok(())
    }
}
