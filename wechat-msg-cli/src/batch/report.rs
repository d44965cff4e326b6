//! The local report: one process at a time (an OS lock held for the whole
//! run), read once at start, checked against the input's digests, then
//! appended by a thread of its own.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc as sync_mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::oneshot;

use super::lines::{Digest, Input, InputLine};
use super::{FINAL, Recorded, holder};
use crate::failure::Failure;
use crate::output::Foreign;

/// The report, locked by this process until it is dropped.
#[derive(Debug)]
pub struct LockedReport {
    /// The report, open for reading and appending; the lock is on it.
    file: File,
    path: PathBuf,
    /// The file naming the holder, beside the report.
    holder_path: PathBuf,
}

impl LockedReport {
    /// Opens (or creates) the report and takes its lock; refuses at once
    /// when another process holds it, naming that process.
    pub fn acquire(path: &Path) -> Result<LockedReport, Failure> {
        let name = Foreign(&path.to_string_lossy()).to_string();
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| Failure::invalid(format!("cannot open the report {name}: {e}")))?;
        let mut holder_path = path.as_os_str().to_owned();
        holder_path.push(".lock");
        let holder_path = PathBuf::from(holder_path);
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                // The holder names itself just after it takes the lock:
                // give it a moment to.
                let mut who = None;
                for _ in 0..25 {
                    who = std::fs::read_to_string(&holder_path)
                        .ok()
                        .filter(|text| !text.trim().is_empty());
                    if who.is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let who = who.map_or_else(
                    || "another process".to_owned(),
                    |text| Foreign(text.trim()).to_string(),
                );
                return Err(Failure::invalid(format!(
                    "the report {name} is in use by {who}: one send-batch at a time per report \
                     (wait for it to end, or give this run a report of its own)"
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Failure::invalid(format!(
                    "cannot lock the report {name}: {e}"
                )));
            }
        }
        // Best effort: the lock is what excludes; this only names us.
        let _ = std::fs::write(&holder_path, format!("{}\n", holder()));
        Ok(LockedReport {
            file,
            path: path.to_owned(),
            holder_path,
        })
    }

    /// What earlier runs recorded, by input line. A torn last record (the
    /// process killed mid-write) is ignored; any other unreadable record,
    /// or one without a line digest, is an error.
    pub fn read(&self) -> Result<Report, Failure> {
        let name = Foreign(&self.path.to_string_lossy()).to_string();
        let mut text = String::new();
        (&self.file)
            .read_to_string(&mut text)
            .map_err(|e| Failure::invalid(format!("cannot read the report {name}: {e}")))?;
        parse(&text, &name)
    }

    /// The appending thread, after cutting off a torn last record.
    pub fn journal(&self, complete_len: u64) -> Result<Journal, Failure> {
        let name = Foreign(&self.path.to_string_lossy()).to_string();
        let cannot = |e: io::Error| Failure::invalid(format!("cannot open the report {name}: {e}"));
        let file = self.file.try_clone().map_err(cannot)?;
        // A record torn by a kill (no newline at its end) is cut off, so the
        // next record starts on a line of its own.
        let len = file.metadata().map_err(cannot)?.len();
        if len > complete_len {
            file.set_len(complete_len).map_err(cannot)?;
        }
        let (sender, receiver) = sync_mpsc::channel();
        let thread = std::thread::spawn(move || journal_thread(file, receiver));
        Ok(Journal {
            path: self.path.clone(),
            sender,
            done: Arc::new(std::sync::Mutex::new(Some(thread))),
        })
    }
}

impl Drop for LockedReport {
    fn drop(&mut self) {
        // Still holding the lock: nobody else writes this file now.
        let _ = std::fs::remove_file(&self.holder_path);
    }
}

/// What earlier runs left in the report.
#[derive(Debug)]
pub struct Report {
    /// What they recorded last of each line, and the digest it had then.
    pub recorded: HashMap<usize, (Recorded, Digest)>,
    /// The length of the complete records: a torn last record is cut off
    /// before appending.
    pub complete_len: u64,
}

fn parse(text: &str, name: &str) -> Result<Report, Failure> {
    let mut recorded: HashMap<usize, (Recorded, Digest)> = HashMap::new();
    let torn_tail = !text.is_empty() && !text.ends_with('\n');
    let complete_len = text.rfind('\n').map_or(0, |i| i + 1) as u64;
    let count = text.lines().count();
    for (i, record) in text.lines().enumerate() {
        if record.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str::<Value>(record).ok();
        let parsed = value.as_ref().and_then(|v| {
            let line = usize::try_from(v.get("line")?.as_u64()?).ok()?;
            let outcome = v.get("outcome")?.as_str()?;
            let state = if outcome == "started" {
                Recorded::Started
            } else {
                Recorded::Final(FINAL.iter().find(|f| **f == outcome)?)
            };
            Some((line, state))
        });
        let Some((line, state)) = parsed else {
            if torn_tail && i + 1 == count {
                continue;
            }
            return Err(Failure::invalid(format!(
                "{name}:{}: not a send-batch report record: {}",
                i + 1,
                Foreign(record)
            )));
        };
        let digest = value
            .as_ref()
            .and_then(|v| v.get("digest"))
            .and_then(Value::as_str)
            .and_then(Digest::parse);
        let Some(digest) = digest else {
            return Err(Failure::invalid(format!(
                "{name}:{}: this record has no line digest: the report was written by an older \
                 wechat-msg, which did not record what each line was, so this one cannot tell \
                 whether the input changed since. Finish the batch with the version that \
                 started it, or start a new report (its lines would all be sent again)",
                i + 1
            )));
        };
        match (state, recorded.get(&line)) {
            // A later attempt of a line that was not sent is started again.
            (Recorded::Started, Some((Recorded::Final(outcome), _)))
                if *outcome != "not_sent" && *outcome != "invalid" => {}
            _ => {
                recorded.insert(line, (state, digest));
            }
        }
    }
    Ok(Report {
        recorded,
        complete_len,
    })
}

/// Refuses to go on when a line the report recorded as started or finished
/// (`not_sent` and `invalid` aside: nothing of those reached WeChat) is no
/// longer the same line in `input`, naming the first such line.
pub fn check_unchanged(
    recorded: &HashMap<usize, (Recorded, Digest)>,
    input: &Input,
    report_name: &str,
) -> Result<(), Failure> {
    let mut lines: Vec<(&usize, &(Recorded, Digest))> = recorded.iter().collect();
    lines.sort_unstable_by_key(|(line, _)| **line);
    for (&line, &(state, digest)) in lines {
        if let Some(problem) = changed(line, state, digest, input) {
            return Err(Failure::invalid(format!(
                "{problem} since the report {report_name} recorded it; refusing to resume, \
                 which could send a line twice or skip one. Restore the input, or start a new report"
            )));
        }
    }
    Ok(())
}

/// How `line` (recorded as `state` with `digest`) differs in `input` now,
/// when resuming must not go on.
pub fn changed(line: usize, state: Recorded, digest: Digest, input: &Input) -> Option<String> {
    let outcome = match state {
        Recorded::Started => "started",
        Recorded::Final(outcome) if outcome == "not_sent" || outcome == "invalid" => return None,
        Recorded::Final(outcome) => outcome,
    };
    match input.get(line) {
        Some(now) if now.digest == digest => None,
        Some(_) => Some(format!(
            "line {line} of {} ({outcome}) has changed",
            input.name
        )),
        None => Some(format!(
            "line {line} of {} ({outcome}) is gone (the input now has {} lines)",
            input.name, input.last_line
        )),
    }
}

pub fn report_error(path: &Path, e: &io::Error) -> Failure {
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
    Started(InputLine, oneshot::Sender<bool>),
}

/// The report, appended by a thread of its own. `started` records are
/// fsynced before their line is sent, several at a time when several lines
/// start together; final records are written at once and fsynced with the
/// next `started` batch, at least once a second, and at the end.
#[derive(Clone, Debug)]
pub struct Journal {
    path: PathBuf,
    sender: sync_mpsc::Sender<Entry>,
    done: Arc<std::sync::Mutex<Option<std::thread::JoinHandle<io::Result<()>>>>>,
}

impl Journal {
    /// Appends a final record.
    pub fn record(&self, record: &Value) -> Result<(), Failure> {
        self.sender
            .send(Entry::Record(record.to_string()))
            .map_err(|_| report_error(&self.path, &io::Error::other("the report writer stopped")))
    }

    /// Appends `started` for `line` durably; whether the line may be sent.
    pub async fn started(&self, line: InputLine) -> bool {
        let (ack, answer) = oneshot::channel();
        if self.sender.send(Entry::Started(line, ack)).is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }

    /// Writes what is left, fsyncs, and stops the thread.
    pub fn close(self) -> Result<(), Failure> {
        let Journal { sender, done, path } = self;
        drop(sender);
        let thread = done.lock().ok().and_then(|mut t| t.take());
        match thread {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the report writer failed")))
                .map_err(|e| report_error(&path, &e)),
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entry::Record(text) => f.debug_tuple("Record").field(text).finish(),
            Entry::Started(line, _) => f.debug_tuple("Started").field(line).finish(),
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
                    format!(
                        r#"{{"line":{},"digest":"{}","outcome":"started"}}"#,
                        line.line, line.digest
                    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_a_digest_is_refused_with_its_place() {
        let err = parse("{\"line\":1,\"outcome\":\"sent\"}\n", "r.jsonl").unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains("r.jsonl:1"), "{text}");
        assert!(text.contains("older"), "{text}");
    }

    #[test]
    fn a_line_started_again_after_not_sent_takes_its_new_digest() {
        let a = Digest::of_line(b"a");
        let b = Digest::of_line(b"b");
        let text = format!(
            "{{\"line\":1,\"digest\":\"{a}\",\"outcome\":\"not_sent\"}}\n\
             {{\"line\":1,\"digest\":\"{b}\",\"outcome\":\"started\"}}\n\
             {{\"line\":2,\"digest\":\"{a}\",\"outcome\":\"sent\"}}\n\
             {{\"line\":2,\"digest\":\"{a}\",\"outcome\":\"started\"}}\n"
        );
        let report = parse(&text, "r").unwrap();
        assert_eq!(report.recorded[&1], (Recorded::Started, b));
        assert_eq!(report.recorded[&2], (Recorded::Final("sent"), a));
    }
}
