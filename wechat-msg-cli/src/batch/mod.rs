//! `wechat-msg send-batch`: one request body per line of a JSONL file, sent
//! with [`Client::send_all_with`](wechat_msg::Client::send_all_with),
//! each line's outcome recorded so that the batch is resumable, by one
//! process with a local report or by many with a shared journal.
//!
//! The report is JSONL too, one record per event, appended and never
//! rewritten; each record carries the digest of its line's bytes
//! ([`lines::Digest`]):
//!
//! ```text
//! {"line":3,"digest":"..","outcome":"started"}        before line 3 is sent (fsynced first)
//! {"line":3,"digest":"..","outcome":"sent"}           and after
//! {"line":4,"digest":"..","outcome":"rejected","errcode":40003,"errmsg":"...","class":"permanent"}
//! {"line":5,"digest":"..","outcome":"invalid","error":"data: missing"}
//! {"line":6,"digest":"..","outcome":"delivery_unknown","error":"..."}
//! {"line":7,"digest":"..","outcome":"not_sent","error":"..."}
//! ```
//!
//! Run again with the same report, a line with a final record (`sent`,
//! `rejected`, `invalid`, `delivery_unknown`) is skipped; a line `started`
//! without one was cut off by a crash after its send may have gone out, so
//! it is recorded as `delivery_unknown` and not sent; a line with no record,
//! or only `not_sent` (nothing reached WeChat), is sent. A `kill -9` or
//! Ctrl-C therefore loses nothing and sends nothing twice.
//!
//! The report is locked for the whole run ([`report::LockedReport`]): a
//! second process refuses at once. A line that started or finished and has
//! changed since (its digest differs) stops the run before anything is
//! sent; lines appended since are sent. With `--journal redis://...`, the
//! same records live in Redis and any number of processes share the batch
//! ([`shared`]).

mod lines;
mod report;
mod shared;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value, json};
use wechat_msg::client::{BulkMessage, BulkOptions, ErrorKind, Outcome};
use wechat_msg::meta::EndpointInfo;
use wechat_msg::{Client, Via};
use wechat_msg::{Errcode, Form};

use self::lines::{Input, InputLine};
use crate::failure::Failure;
use crate::input;
use crate::output::{Foreign, Redactions};
use crate::target::{Connected, Target, connect};

/// How `send-batch` was asked to send.
#[derive(Debug)]
pub struct BatchArgs {
    /// The endpoint's cloud-call name.
    pub api: String,
    /// The JSONL file, one request body per line.
    pub file: PathBuf,
    /// The report: created or resumed, or with a journal, written at the end.
    pub report: Option<PathBuf>,
    /// The shared journal's Redis URL.
    pub journal: Option<String>,
    /// The batch's name in the journal; the input's digest when absent.
    pub batch: Option<String>,
    /// Print the journal's counts, send nothing.
    pub status: bool,
    /// Remove the batch from the journal.
    pub forget: bool,
    /// How long a worker's claim on its lines outlives its last renewal.
    pub lease: Duration,
    /// Sends started per second at most (by all workers, with a journal).
    pub rate: Option<u32>,
    /// Sends in flight at most.
    pub concurrency: usize,
    /// The form of the input lines.
    pub from: Form,
    /// Where and how to send.
    pub target: Target,
}

/// The final outcomes a line can have.
const FINAL: [&str; 5] = [
    "sent",
    "rejected",
    "invalid",
    "not_sent",
    "delivery_unknown",
];

/// What a report or journal says of one input line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Started, no final record: its send may have gone out.
    Started,
    /// A final outcome (one of [`FINAL`]).
    Final(&'static str),
}

pub async fn run(args: BatchArgs) -> Result<(), Failure> {
    let info = input::endpoint(&args.api)?;
    if args.journal.is_some() {
        return shared::run(info, args).await;
    }
    if args.status || args.forget || args.batch.is_some() {
        return Err(Failure::invalid(
            "--status, --forget and --batch work on a shared journal: give --journal redis://HOST:PORT/DB",
        ));
    }
    run_local(info, args).await
}

/// One process, one local report.
async fn run_local(info: &'static EndpointInfo, args: BatchArgs) -> Result<(), Failure> {
    let Some(report_path) = args.report.clone() else {
        return Err(Failure::invalid(
            "send-batch needs --report FILE (or --journal redis://HOST:PORT/DB)",
        ));
    };
    let report_name = Foreign(&report_path.to_string_lossy()).to_string();
    // Locked before it is read: what this run reads stays true while it runs.
    let locked = report::LockedReport::acquire(&report_path)?;
    let input = Input::scan(&args.file)?;
    let report::Report {
        recorded: earlier,
        complete_len,
    } = locked.read()?;
    report::check_unchanged(&earlier, &input, &report_name)?;
    let journal = locked.journal(complete_len)?;

    let mut outcomes: BTreeMap<usize, &'static str> = BTreeMap::new();
    let mut summary = Summary::default();
    let current = |line: usize, digest| input.get(line).is_some_and(|l| l.digest == digest);
    for (&line, &(recorded, digest)) in &earlier {
        if let Recorded::Final(outcome) = recorded
            && current(line, digest)
        {
            outcomes.insert(line, outcome);
        }
    }

    // Every line to send validated first; the lines to send listed.
    let mut to_send = Vec::new();
    for line in &input.lines {
        match earlier.get(&line.line).copied() {
            Some((Recorded::Final(outcome), digest))
                if outcome != "not_sent" && digest == line.digest =>
            {
                continue;
            }
            Some((Recorded::Started, _)) => {
                let record = json!({"line": line.line, "digest": line.digest.to_string(),
                    "outcome": "delivery_unknown",
                    "error": "started by an earlier run that ended before its outcome was recorded"});
                journal.record(&record)?;
                outcomes.insert(line.line, "delivery_unknown");
                summary.count("delivery_unknown");
                continue;
            }
            _ => {}
        }
        match validate_line(info, &input, line, args.from) {
            Ok(()) => to_send.push(*line),
            Err(error) => {
                journal.record(
                    &json!({"line": line.line, "digest": line.digest.to_string(),
                    "outcome": "invalid", "error": error}),
                )?;
                outcomes.insert(line.line, "invalid");
                summary.count("invalid");
            }
        }
    }

    // Nothing left to send: no client, no token, no embedded emulator.
    if to_send.is_empty() {
        journal.close()?;
        print_summary(&outcomes, &summary, 0, input.last_line);
        return exit_code(&outcomes, 0);
    }

    let lines_total = input.last_line;
    let (sender, embedded) = Sender::connect(
        args.target,
        info,
        args.from,
        args.concurrency,
        args.rate,
        Arc::new(input),
    )
    .await?;
    let count = to_send.len();
    let lines = futures_util::stream::iter(to_send.clone());
    let ledger = LocalLedger {
        journal: journal.clone(),
    };
    let sent = sender
        .send(lines, ledger, count, |line, name| {
            outcomes.insert(line, name);
            summary.count(name);
        })
        .await;
    let synced = journal.close();
    if let Some(emulator) = embedded {
        emulator.shutdown().await;
    }
    synced?;
    let skipped = sent?;
    for problem in &skipped {
        eprintln!("{}", Foreign(problem));
    }
    let unfinished = to_send
        .iter()
        .filter(|line| !outcomes.contains_key(&line.line))
        .count();
    print_summary(&outcomes, &summary, unfinished, lines_total);
    drop(locked);
    exit_code(&outcomes, unfinished)
}

/// A flag set on the first Ctrl-C.
fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let cancelled = Arc::new(AtomicBool::new(false));
    tokio::spawn({
        let cancelled = cancelled.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancelled.store(true, Ordering::SeqCst);
            }
        }
    });
    cancelled
}

/// Why `line` is invalid.
fn validate_line(
    info: &'static EndpointInfo,
    input: &Input,
    line: &InputLine,
    from: Form,
) -> Result<(), String> {
    let text = input.read(line)?;
    validate(info, &text, from).map(drop)
}

/// Why a line is invalid, or its body.
fn validate(info: &'static EndpointInfo, text: &[u8], from: Form) -> Result<Value, String> {
    let body =
        wechat_msg::meta::parse_json(text).map_err(|e| Foreign(&e.to_string()).to_string())?;
    (info.convert)(&body, from, from).map_err(|e| Foreign(&e.to_string()).to_string())?;
    Ok(body)
}

/// Where a run records its lines: the local report or the shared journal.
trait Ledger: Clone + Send + Sync + 'static {
    /// Marks `line` started, durably, just before it is sent: whether it may be.
    fn start(&self, line: InputLine) -> impl Future<Output = bool> + Send;
    /// Records the final outcome of a line that was started.
    fn finish(
        &self,
        line: InputLine,
        record: Value,
    ) -> impl Future<Output = Result<(), Failure>> + Send;
    /// Whether a failure of the ledger itself stops the run (no more lines
    /// started); the run's outcome still records what was in flight.
    fn failed(&self) -> bool {
        false
    }
}

/// The local report as a [`Ledger`].
#[derive(Clone)]
struct LocalLedger {
    journal: report::Journal,
}

impl Ledger for LocalLedger {
    async fn start(&self, line: InputLine) -> bool {
        self.journal.started(line).await
    }

    async fn finish(&self, _line: InputLine, record: Value) -> Result<(), Failure> {
        self.journal.record(&record)
    }
}

/// What every run sends with.
struct Sender {
    client: Client,
    via: Via,
    concurrency: usize,
    /// This process's own rate limit (without a journal).
    local_rate: Option<u32>,
    info: &'static EndpointInfo,
    from: Form,
    input: Arc<Input>,
    cancelled: Arc<AtomicBool>,
    redactions: Redactions,
}

impl Sender {
    /// The client `target` describes (and the emulator started in this
    /// process, if any: shut it down when done), sending lines of `input`;
    /// Ctrl-C sets its `cancelled`.
    async fn connect(
        target: Target,
        info: &'static EndpointInfo,
        from: Form,
        concurrency: usize,
        local_rate: Option<u32>,
        input: Arc<Input>,
    ) -> Result<(Sender, Option<wechat_msg_emulator::Emulator>), Failure> {
        let Connected {
            client,
            via,
            embedded,
            redactions,
        } = connect(target).await?;
        let sender = Sender {
            client,
            via,
            concurrency,
            local_rate,
            info,
            from,
            input,
            cancelled: cancel_on_ctrl_c(),
            redactions,
        };
        Ok((sender, embedded))
    }

    /// Sends `lines` (read from the input as they are needed), each started
    /// through `ledger` first and its outcome recorded there after;
    /// `each(line, outcome)` for every outcome recorded. Returns the lines
    /// skipped because the input changed under the run.
    async fn send<L: Ledger>(
        &self,
        lines: impl Stream<Item = InputLine> + Send + 'static,
        ledger: L,
        progress_len: usize,
        mut each: impl FnMut(usize, &'static str),
    ) -> Result<Vec<String>, Failure> {
        let by_index: Arc<Mutex<Vec<InputLine>>> = Arc::default();
        let skipped: Arc<Mutex<Vec<String>>> = Arc::default();
        let messages = {
            let by_index = by_index.clone();
            let skipped = skipped.clone();
            let input = self.input.clone();
            let cancelled = self.cancelled.clone();
            let ledger = ledger.clone();
            let (info, from) = (self.info, self.from);
            lines
                .take_while(move |_| {
                    let stop = cancelled.load(Ordering::SeqCst) || ledger.failed();
                    std::future::ready(!stop)
                })
                .filter_map(move |line| {
                    let message = match input.read(&line) {
                        Ok(text) => {
                            by_index.lock().map(|mut v| v.push(line)).ok();
                            // Validated before: a body that no longer parses
                            // is sent as Null, which the bulk send reports
                            // as invalid.
                            let body = wechat_msg::meta::parse_json(&text).unwrap_or(Value::Null);
                            Some(BulkMessage::value(info, body, from))
                        }
                        Err(problem) => {
                            skipped
                                .lock()
                                .map(|mut v| v.push(format!("{problem}: not sent")))
                                .ok();
                            None
                        }
                    };
                    std::future::ready(message)
                })
        };
        let line_of = {
            let by_index = by_index.clone();
            move |index: usize| by_index.lock().ok().and_then(|v| v.get(index).copied())
        };
        let gate = {
            let ledger = ledger.clone();
            let cancelled = self.cancelled.clone();
            let line_of = line_of.clone();
            move |index: usize| {
                let ledger = ledger.clone();
                let cancelled = cancelled.clone();
                let line = line_of(index);
                async move {
                    match line {
                        Some(line) if !cancelled.load(Ordering::SeqCst) && !ledger.failed() => {
                            ledger.start(line).await
                        }
                        _ => false,
                    }
                }
            }
        };
        let mut options = BulkOptions::default()
            .concurrency(self.concurrency)
            .via(self.via.clone())
            .before_send(gate);
        if let Some(rate) = self.local_rate {
            options = options.rate_per_second(rate);
        }

        let progress = progress_bar(progress_len);
        let mut results = self.client.send_all_with(messages, options);
        let mut failure = None;
        while let Some((index, outcome)) = results.next().await {
            progress.inc(1);
            let Some(line) = line_of(index) else { continue };
            let Some(record) = record_of(&line, &outcome, &self.redactions) else {
                continue;
            };
            let name = record["outcome"].as_str().map_or("not_sent", final_name);
            match ledger.finish(line, record).await {
                Ok(()) => each(line.line, name),
                Err(e) => {
                    // The rest still gets its outcome where it can.
                    failure.get_or_insert(e);
                }
            }
        }
        progress.finish_and_clear();
        if let Some(failure) = failure {
            return Err(failure);
        }
        let skipped = skipped.lock().map(|v| v.clone()).unwrap_or_default();
        Ok(skipped)
    }
}

/// The outcome name as a `&'static str`.
fn final_name(name: &str) -> &'static str {
    FINAL
        .iter()
        .find(|known| **known == name)
        .copied()
        .unwrap_or("not_sent")
}

/// The record of a line's outcome; none for a withheld line (never
/// started: the next run sends it).
fn record_of(line: &InputLine, outcome: &Outcome, redactions: &Redactions) -> Option<Value> {
    let mut record = Map::new();
    record.insert("line".to_owned(), json!(line.line));
    record.insert("digest".to_owned(), json!(line.digest.to_string()));
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
            let class = rejection.errcode.class().as_str();
            record.insert("class".to_owned(), json!(class));
        } else {
            record.insert("error".to_owned(), json!(redactions.text(&err.to_string())));
        }
    }
    Some(Value::Object(record))
}

/// This process, as a lock or a lease names it: `pid 1234 on host-name`.
fn holder() -> String {
    format!("pid {} on {}", std::process::id(), host_name())
}

/// The machine's name, as the kernel has it.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "an unnamed host".to_owned())
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

/// The counts of every outcome recorded, this run's, and the lines whose
/// delivery is unknown, on standard error.
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
    eprintln!(
        "send-batch: {} of {lines_total} lines have an outcome: {}",
        outcomes.len(),
        show_counts(&totals)
    );
    let this_run: BTreeMap<&str, usize> = summary.counts.iter().map(|(k, v)| (*k, *v)).collect();
    eprintln!("this run: {}", show_counts(&this_run));
    let unknown = unknown_lines(outcomes);
    if !unknown.is_empty() {
        eprintln!(
            "delivery unknown (may have been delivered; not resent): lines {}",
            unknown
        );
    }
    if unfinished > 0 {
        eprintln!(
            "{unfinished} lines not sent (interrupted); run again with the same report to send them"
        );
    }
}

/// `3 sent, 0 rejected, ...` in the order of [`FINAL`].
fn show_counts(counts: &BTreeMap<&str, usize>) -> String {
    FINAL
        .iter()
        .map(|name| format!("{} {name}", counts.get(name).copied().unwrap_or(0)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lines whose delivery is unknown, `3, 17, 40`; empty when none.
fn unknown_lines(outcomes: &BTreeMap<usize, &'static str>) -> String {
    let unknown: BTreeSet<usize> = outcomes
        .iter()
        .filter(|(_, outcome)| **outcome == "delivery_unknown")
        .map(|(line, _)| *line)
        .collect();
    unknown
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
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
