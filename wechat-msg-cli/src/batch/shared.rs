//! `send-batch --journal redis://HOST:PORT/DB`: one batch shared by any
//! number of processes on any machines.
//!
//! The batch lives under `wechat-msg:batch:{ID}:` (the braces make every
//! key of a batch hash to one Redis Cluster slot), where ID is `--batch
//! NAME` or the first 32 hexadecimal digits of the input's SHA-256:
//!
//! | key        | what it holds |
//! |------------|---------------|
//! | `meta`     | hash: the API, the input form, the input's digest |
//! | `lines`    | hash: line number → its record, as a local report writes it, plus `worker` |
//! | `cursor`   | the last line number handed out |
//! | `lease:W`  | worker W's lease (`pid .. on HOST`), renewed while it runs |
//! | `workers`  | set: the workers that ever ran |
//! | `rate`     | the shared rate limit's next free time (`--rate`) |
//!
//! Every change is a Lua script, so each is atomic. A worker claims a line
//! (writes `started` with its name) only while its own lease is alive and
//! only when nobody has; it sends the line only after the claim is stored,
//! then records the outcome. A line `started` by a worker whose lease has
//! expired becomes `delivery_unknown`, never sent again; a line nobody
//! claimed is taken by whoever comes next. Lines are handed out in chunks
//! by the cursor, then every worker sweeps the input for lines left over
//! (a worker killed between taking a chunk and claiming it).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde_json::{Value, json};
use wechat_msg::meta::EndpointInfo;

use super::lines::{Digest, Input, InputLine};
use super::report::changed;
use super::{
    BatchArgs, FINAL, Ledger, Recorded, Sender, Summary, exit_code, holder, host_name,
    print_summary, show_counts, unknown_lines, validate_line,
};
use crate::failure::Failure;
use crate::output::Foreign;

/// Line numbers handed out by the cursor at a time.
const CHUNK: usize = 32;
/// Records read at a time by a sweep.
const SWEEP: usize = 256;
/// How long one Redis command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);

/// Claims a line for a worker. KEYS: lines, this worker's lease. ARGV:
/// line, digest, worker, the `started` record, the lease key prefix.
/// Answers `claimed`, `lease_lost`, `changed:OUTCOME`, or the outcome of
/// a line someone else has (`started` while its worker lives).
const CLAIM: &str = r#"
if redis.call('EXISTS', KEYS[2]) == 0 then return 'lease_lost' end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local record = cjson.decode(current)
  local outcome = record.outcome
  if outcome == 'started' and record.worker ~= ARGV[3]
     and redis.call('EXISTS', ARGV[5] .. record.worker) == 0 then
    redis.call('HSET', KEYS[1], ARGV[1], '{"line":' .. ARGV[1] .. ',"digest":' .. cjson.encode(record.digest)
      .. ',"outcome":"delivery_unknown","worker":' .. cjson.encode(record.worker)
      .. ',"error":"started by a worker whose lease expired before it recorded an outcome"}')
    if record.digest ~= ARGV[2] then return 'changed:started' end
    return 'delivery_unknown'
  end
  local retry = outcome == 'not_sent' or (outcome == 'invalid' and record.digest ~= ARGV[2])
  if not retry then
    if record.digest ~= ARGV[2] then return 'changed:' .. outcome end
    return outcome
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 'claimed'
"#;

/// Records the outcome of a line this worker started. KEYS: lines. ARGV:
/// line, worker, record. 1 when stored.
const FINISH: &str = r"
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
local record = cjson.decode(current)
if record.worker == ARGV[2] and (record.outcome == 'started' or record.outcome == 'delivery_unknown') then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
";

/// Records an invalid line unless it has a record of another kind.
/// KEYS: lines. ARGV: line, record.
const INVALID: &str = r"
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local outcome = cjson.decode(current).outcome
  if outcome ~= 'not_sent' and outcome ~= 'invalid' then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
";

/// Turns lines `started` by workers whose lease expired into
/// `delivery_unknown`. KEYS: lines. ARGV: the lease key prefix, then line
/// numbers. Answers how many are still started by a live worker.
const REAP: &str = r#"
local live = 0
for i = 2, #ARGV do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if current then
    local record = cjson.decode(current)
    if record.outcome == 'started' then
      if redis.call('EXISTS', ARGV[1] .. record.worker) == 0 then
        redis.call('HSET', KEYS[1], ARGV[i], '{"line":' .. ARGV[i] .. ',"digest":' .. cjson.encode(record.digest)
          .. ',"outcome":"delivery_unknown","worker":' .. cjson.encode(record.worker)
          .. ',"error":"started by a worker whose lease expired before it recorded an outcome"}')
      else
        live = live + 1
      end
    end
  end
end
return live
"#;

/// The shared rate limit, a GCRA on Redis's clock: 0 when a send may start
/// now (and its slot is taken), else the microseconds to wait. KEYS: rate.
/// ARGV: microseconds between sends, microseconds of burst allowed.
const RATE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allow_at = tat - tonumber(ARGV[2])
if now < allow_at then return allow_at - now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.floor((next_tat - now) / 1000) + 1000)
return 0
";

/// Why a run on the journal stopped early.
#[derive(Debug, Clone)]
enum Stop {
    /// Redis failed: nothing more is started.
    Redis(String),
    /// A line recorded earlier is no longer the same line.
    Changed(String),
}

/// One batch in the journal, as one worker sees it.
#[derive(Clone)]
struct Journal {
    redis: ConnectionManager,
    /// `wechat-msg:batch:{ID}:`
    prefix: String,
    /// The journal's URL without its password, for messages.
    shown: String,
    /// This worker's name: `HOST:PID:RANDOM`.
    worker: String,
    lease: Duration,
    stop: Arc<Mutex<Option<Stop>>>,
    rate: Option<(u64, u64)>,
}

impl Journal {
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn lease_prefix(&self) -> String {
        self.key("lease:")
    }

    fn lease_key(&self) -> String {
        format!("{}{}", self.lease_prefix(), self.worker)
    }

    /// Runs `what` with a bound on its time; a Redis failure is named.
    async fn query<T: redis::FromRedisValue>(
        &self,
        doing: &str,
        what: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, String> {
        match tokio::time::timeout(COMMAND_TIMEOUT * 2, what).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(format!(
                "the journal at {} failed while {doing}: {e}",
                self.shown
            )),
            Err(_) => Err(format!(
                "the journal at {} did not answer within {} s while {doing}",
                self.shown,
                (COMMAND_TIMEOUT * 2).as_secs()
            )),
        }
    }

    async fn cmd<T: redis::FromRedisValue>(
        &self,
        doing: &str,
        cmd: &redis::Cmd,
    ) -> Result<T, String> {
        let mut redis = self.redis.clone();
        self.query(doing, async move { cmd.query_async(&mut redis).await })
            .await
    }

    /// Every worker that joined the batch, running or gone.
    async fn workers(&self) -> Result<Vec<String>, String> {
        self.cmd(
            "reading the workers",
            redis::cmd("SMEMBERS").arg(self.key("workers")),
        )
        .await
    }

    async fn script<T: redis::FromRedisValue>(
        &self,
        doing: &str,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, String> {
        let mut redis = self.redis.clone();
        self.query(
            doing,
            async move { invocation.invoke_async(&mut redis).await },
        )
        .await
    }

    fn fail(&self, stop: Stop) {
        if let Ok(mut slot) = self.stop.lock() {
            slot.get_or_insert(stop);
        }
    }

    fn stopped(&self) -> Option<Stop> {
        self.stop.lock().ok().and_then(|slot| slot.clone())
    }

    /// Every record of the batch, by line.
    async fn records(&self) -> Result<BTreeMap<usize, Value>, String> {
        self.read_lines(|record| serde_json::from_str(record).ok())
            .await
    }

    /// What every record of the batch says, by line: its state, digest and
    /// worker (the rest of each record is not kept).
    async fn states(&self) -> Result<BTreeMap<usize, Entry>, String> {
        self.read_lines(|record| {
            let raw = serde_json::from_str::<RawEntry<'_>>(record).ok()?;
            Some(Entry {
                state: recorded_of_name(raw.outcome)?,
                digest: raw.digest.and_then(Digest::parse),
                worker: raw.worker.map(str::to_owned),
            })
        })
        .await
    }

    /// Every record of the batch read by `read`, by line; a record it
    /// cannot read is an error naming its line.
    async fn read_lines<T>(
        &self,
        read: impl Fn(&str) -> Option<T>,
    ) -> Result<BTreeMap<usize, T>, String> {
        let all: HashMap<String, String> = self
            .cmd(
                "reading the batch",
                redis::cmd("HGETALL").arg(self.key("lines")),
            )
            .await?;
        let mut out = BTreeMap::new();
        for (line, record) in all {
            let (Ok(number), Some(value)) = (line.parse(), read(&record)) else {
                return Err(format!(
                    "the journal at {} holds a record that is not send-batch's: line {}",
                    self.shown,
                    Foreign(&line)
                ));
            };
            out.insert(number, value);
        }
        Ok(out)
    }

    /// Waits until the shared rate limit lets one more send start.
    async fn pace(&self) -> Result<(), String> {
        let Some((interval, burst)) = self.rate else {
            return Ok(());
        };
        loop {
            let script = redis::Script::new(RATE);
            let mut invocation = script.prepare_invoke();
            invocation.key(self.key("rate")).arg(interval).arg(burst);
            let wait: u64 = self.script("pacing the sends", invocation).await?;
            if wait == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_micros(wait)).await;
        }
    }

    /// Claims `line`: whether this worker may send it now.
    async fn claim(&self, line: InputLine) -> Result<bool, Stop> {
        self.pace().await.map_err(Stop::Redis)?;
        let started = json!({"line": line.line, "digest": line.digest.to_string(),
            "outcome": "started", "worker": self.worker})
        .to_string();
        let script = redis::Script::new(CLAIM);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key("lines"))
            .key(self.lease_key())
            .arg(line.line)
            .arg(line.digest.to_string())
            .arg(&self.worker)
            .arg(started)
            .arg(self.lease_prefix());
        let answer: String = self
            .script("claiming a line", invocation)
            .await
            .map_err(Stop::Redis)?;
        match answer.as_str() {
            "claimed" => Ok(true),
            "lease_lost" => Err(Stop::Redis(format!(
                "this worker's lease in the journal at {} expired (it was paused, or Redis \
                 was unreachable, for longer than --lease): it starts no more lines",
                self.shown
            ))),
            other => match other.strip_prefix("changed:") {
                Some(outcome) => Err(Stop::Changed(format!(
                    "line {} ({outcome}) has changed since the journal recorded it; this worker \
                     stops, which could otherwise send a line twice or skip one",
                    line.line
                ))),
                None => Ok(false),
            },
        }
    }

    /// Takes the lease, renews it every third of its life until `stop` is
    /// set, and records a failure to renew.
    async fn hold_lease(&self) -> Result<tokio::task::JoinHandle<()>, String> {
        let millis = u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX);
        let _: () = self
            .cmd(
                "taking a lease",
                redis::cmd("SET")
                    .arg(self.lease_key())
                    .arg(holder())
                    .arg("PX")
                    .arg(millis),
            )
            .await?;
        let _: () = self
            .cmd(
                "taking a lease",
                redis::cmd("SADD")
                    .arg(self.key("workers"))
                    .arg(&self.worker),
            )
            .await?;
        let journal = self.clone();
        Ok(tokio::spawn(async move {
            loop {
                tokio::time::sleep(journal.lease / 3).await;
                let renewed: Result<i64, String> = journal
                    .cmd(
                        "renewing the lease",
                        redis::cmd("PEXPIRE").arg(journal.lease_key()).arg(millis),
                    )
                    .await;
                match renewed {
                    Ok(1) => {}
                    Ok(_) => {
                        journal.fail(Stop::Redis(format!(
                            "this worker's lease in the journal at {} expired before it was \
                             renewed: it starts no more lines",
                            journal.shown
                        )));
                        return;
                    }
                    Err(e) => {
                        journal.fail(Stop::Redis(e));
                        return;
                    }
                }
            }
        }))
    }

    /// Gives the lease back: lines still `started` by this worker then
    /// become `delivery_unknown` at once.
    async fn release_lease(&self) {
        let _: Result<(), String> = self
            .cmd(
                "releasing the lease",
                redis::cmd("DEL").arg(self.lease_key()),
            )
            .await;
    }

    /// Turns lines of dead workers into `delivery_unknown`; how many are
    /// still in flight on live workers.
    async fn reap(&self, lines: &[usize]) -> Result<usize, String> {
        let mut live = 0;
        for chunk in lines.chunks(SWEEP) {
            let script = redis::Script::new(REAP);
            let mut invocation = script.prepare_invoke();
            invocation.key(self.key("lines")).arg(self.lease_prefix());
            for line in chunk {
                invocation.arg(*line);
            }
            let n: usize = self
                .script("settling lines of ended workers", invocation)
                .await?;
            live += n;
        }
        Ok(live)
    }
}

impl Ledger for Journal {
    async fn start(&self, line: InputLine) -> bool {
        match self.claim(line).await {
            Ok(claimed) => claimed,
            Err(stop) => {
                self.fail(stop);
                false
            }
        }
    }

    async fn finish(&self, line: InputLine, mut record: Value) -> Result<(), Failure> {
        record["worker"] = json!(self.worker);
        let script = redis::Script::new(FINISH);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.key("lines"))
            .arg(line.line)
            .arg(&self.worker)
            .arg(record.to_string());
        match self.script::<i64>("recording an outcome", invocation).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // The line stays `started`: once this worker's lease ends it
                // is `delivery_unknown`, never sent again.
                self.fail(Stop::Redis(e));
                Ok(())
            }
        }
    }

    fn failed(&self) -> bool {
        self.stopped().is_some()
    }
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: only the shown form.
        f.debug_struct("Journal")
            .field("shown", &self.shown)
            .field("prefix", &self.prefix)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

/// `redis://HOST:PORT/DB` without a user or password.
fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Foreign(url).to_string();
    };
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    Foreign(&format!("{scheme}://{rest}")).to_string()
}

/// The batch's ID: `--batch NAME`, or the input's digest.
fn batch_id(name: Option<&str>, input: &Input) -> Result<String, Failure> {
    match name {
        None => Ok(input.digest[..32].to_owned()),
        Some(name)
            if !name.is_empty()
                && name.len() <= 128
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) =>
        {
            Ok(name.to_owned())
        }
        Some(name) => Err(Failure::invalid(format!(
            "--batch {}: a batch name is 1 to 128 letters, digits, `.`, `_` or `-`",
            Foreign(name)
        ))),
    }
}

async fn connect_journal(url: &str) -> Result<ConnectionManager, Failure> {
    let shown = shown_url(url);
    let client = redis::Client::open(url).map_err(|_| {
        Failure::invalid(format!("--journal {shown}: expected redis://HOST:PORT/DB"))
    })?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(COMMAND_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500));
    match tokio::time::timeout(
        COMMAND_TIMEOUT * 2,
        ConnectionManager::new_with_config(client, config),
    )
    .await
    {
        Ok(Ok(redis)) => Ok(redis),
        Ok(Err(e)) => Err(Failure::not_sent(format!(
            "cannot reach the journal at {shown}: {e}"
        ))),
        Err(_) => Err(Failure::not_sent(format!(
            "cannot reach the journal at {shown}: no connection within {} s",
            (COMMAND_TIMEOUT * 2).as_secs()
        ))),
    }
}

pub(super) async fn run(info: &'static EndpointInfo, args: BatchArgs) -> Result<(), Failure> {
    let url = args.journal.clone().unwrap_or_default();
    let input = Input::scan(&args.file)?;
    let id = batch_id(args.batch.as_deref(), &input)?;
    let redis = connect_journal(&url).await?;
    let journal = Journal {
        redis,
        prefix: format!("wechat-msg:batch:{{{id}}}:"),
        shown: shown_url(&url),
        worker: format!(
            "{}:{}:{:08x}",
            host_name(),
            std::process::id(),
            fastrand::u32(..)
        ),
        lease: args.lease,
        stop: Arc::default(),
        rate: args.rate.map(|rate| {
            // As the local limit: a burst of 10 ms worth, and a steady pace
            // that keeps any second within `rate`.
            let burst = u64::from((rate / 100).max(1));
            let steady = u64::from(rate) - burst + 1;
            let interval = 1_000_000 / steady.max(1);
            (interval, interval * (burst - 1))
        }),
    };
    let failed = |e: String| Failure::not_sent(e);
    if args.forget {
        return forget(&journal, &id).await;
    }
    let meta = journal.key("meta");
    let existing: HashMap<String, String> = journal
        .cmd("reading the batch", redis::cmd("HGETALL").arg(&meta))
        .await
        .map_err(failed)?;
    if args.status {
        return status(&journal, &id, &input, &existing).await;
    }
    check_meta(&existing, &args, &id)?;
    if existing.is_empty() {
        let _: () = journal
            .cmd(
                "creating the batch",
                redis::cmd("HSET")
                    .arg(&meta)
                    .arg("api")
                    .arg(&args.api)
                    .arg("from")
                    .arg(args.from.as_str())
                    .arg("input")
                    .arg(&input.digest),
            )
            .await
            .map_err(failed)?;
    }
    eprintln!(
        "send-batch: batch {id} in the journal at {}, worker {}",
        journal.shown,
        Foreign(&journal.worker)
    );

    // Refuse before anything is sent when a recorded line has changed.
    let records = journal.states().await.map_err(failed)?;
    for (line, entry) in &records {
        let Some(digest) = entry.digest else {
            return Err(Failure::invalid(format!(
                "the journal at {} holds a record of line {line} without a line digest",
                journal.shown
            )));
        };
        let state = entry.state;
        if let Some(problem) = changed(*line, state, digest, &input) {
            return Err(Failure::invalid(format!(
                "{problem} since the journal (batch {id}) recorded it; refusing to go on, which \
                 could send a line twice or skip one. Restore the input, or name a new batch"
            )));
        }
    }

    // Invalid lines recorded; the rest are this worker's candidates.
    let mut summary = Summary::default();
    let mut candidates = Vec::new();
    for line in &input.lines {
        let known = records.get(&line.line).map(|entry| entry.state);
        if matches!(known, Some(Recorded::Final(o)) if o != "not_sent" && o != "invalid")
            || known == Some(Recorded::Started)
        {
            candidates.push(*line);
            continue;
        }
        match validate_line(info, &input, line, args.from) {
            Ok(()) => candidates.push(*line),
            Err(error) => {
                let record = json!({"line": line.line, "digest": line.digest.to_string(),
                    "outcome": "invalid", "error": error, "worker": journal.worker});
                let script = redis::Script::new(INVALID);
                let mut invocation = script.prepare_invoke();
                invocation
                    .key(journal.key("lines"))
                    .arg(line.line)
                    .arg(record.to_string());
                let stored: i64 = journal
                    .script("recording an invalid line", invocation)
                    .await
                    .map_err(failed)?;
                if stored == 1 {
                    summary.count("invalid");
                }
            }
        }
    }

    let renewal = journal.hold_lease().await.map_err(failed)?;
    let result = send(&journal, info, args, Arc::new(input), candidates, summary).await;
    renewal.abort();
    journal.release_lease().await;
    result
}

/// The API and form a batch was started with must be this run's.
fn check_meta(
    existing: &HashMap<String, String>,
    args: &BatchArgs,
    id: &str,
) -> Result<(), Failure> {
    let mismatch = |key: &str, now: &str| {
        existing
            .get(key)
            .filter(|then| then.as_str() != now)
            .map(|then| (key.to_owned(), then.clone(), now.to_owned()))
    };
    let found = mismatch("api", &args.api).or_else(|| mismatch("from", args.from.as_str()));
    match found {
        Some((key, then, now)) => Err(Failure::invalid(format!(
            "the batch {id} in the journal was started with {key} {}, not {}: name another \
             batch with --batch, or --forget this one",
            Foreign(&then),
            Foreign(&now)
        ))),
        None => Ok(()),
    }
}

/// What a journal record says.
fn recorded_of(record: &Value) -> Option<Recorded> {
    recorded_of_name(record.get("outcome")?.as_str()?)
}

/// The state an outcome's name stands for.
fn recorded_of_name(outcome: &str) -> Option<Recorded> {
    match outcome {
        "started" => Some(Recorded::Started),
        outcome => FINAL
            .iter()
            .find(|f| **f == outcome)
            .map(|f| Recorded::Final(f)),
    }
}

/// A journal record as read, borrowing its text.
#[derive(serde::Deserialize)]
struct RawEntry<'a> {
    outcome: &'a str,
    #[serde(default)]
    digest: Option<&'a str>,
    #[serde(default)]
    worker: Option<&'a str>,
}

/// What send-batch keeps of a journal record.
#[derive(Debug)]
struct Entry {
    state: Recorded,
    digest: Option<Digest>,
    worker: Option<String>,
}

/// The lines this worker tries: the cursor's chunks, then a sweep of
/// whatever nobody claimed.
fn lines_to_try(
    journal: Journal,
    input: Arc<Input>,
    candidates: Arc<Vec<InputLine>>,
) -> impl futures_util::Stream<Item = InputLine> + Send + 'static {
    struct State {
        journal: Journal,
        input: Arc<Input>,
        candidates: Arc<Vec<InputLine>>,
        pending: VecDeque<InputLine>,
        tried: HashSet<usize>,
        /// Where the sweep is in `candidates`; none while the cursor hands out lines.
        sweep: Option<usize>,
    }
    let state = State {
        journal,
        input,
        candidates,
        pending: VecDeque::new(),
        tried: HashSet::new(),
        sweep: None,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        loop {
            if state.journal.failed() {
                return None;
            }
            if let Some(line) = state.pending.pop_front() {
                state.tried.insert(line.line);
                return Some((line, state));
            }
            match state.sweep {
                None => {
                    let end: usize = match state
                        .journal
                        .cmd(
                            "taking lines",
                            redis::cmd("INCRBY")
                                .arg(state.journal.key("cursor"))
                                .arg(CHUNK),
                        )
                        .await
                    {
                        Ok(end) => end,
                        Err(e) => {
                            state.journal.fail(Stop::Redis(e));
                            return None;
                        }
                    };
                    let start = end.saturating_sub(CHUNK) + 1;
                    if start > state.input.last_line {
                        state.sweep = Some(0);
                        continue;
                    }
                    let wanted: HashSet<usize> = (start..=end).collect();
                    state.pending.extend(
                        state
                            .candidates
                            .iter()
                            .filter(|l| wanted.contains(&l.line))
                            .copied(),
                    );
                }
                Some(at) if at >= state.candidates.len() => return None,
                Some(at) => {
                    let chunk: Vec<InputLine> =
                        state.candidates[at..].iter().take(SWEEP).copied().collect();
                    state.sweep = Some(at + chunk.len());
                    let numbers: Vec<usize> = chunk.iter().map(|l| l.line).collect();
                    let found: Result<Vec<Option<String>>, String> = state
                        .journal
                        .cmd(
                            "sweeping for lines left over",
                            redis::cmd("HMGET")
                                .arg(state.journal.key("lines"))
                                .arg(&numbers),
                        )
                        .await;
                    let found = match found {
                        Ok(found) => found,
                        Err(e) => {
                            state.journal.fail(Stop::Redis(e));
                            return None;
                        }
                    };
                    for (line, record) in chunk.into_iter().zip(found) {
                        let open = match record {
                            None => true,
                            Some(text) => {
                                serde_json::from_str::<Value>(&text)
                                    .ok()
                                    .as_ref()
                                    .and_then(recorded_of)
                                    == Some(Recorded::Final("not_sent"))
                            }
                        };
                        if open && !state.tried.contains(&line.line) {
                            state.pending.push_back(line);
                        }
                    }
                }
            }
        }
    })
}

/// Sends this worker's share, waits for the lines other workers have in
/// flight, prints the batch's counts, and writes `--report` when asked.
async fn send(
    journal: &Journal,
    info: &'static EndpointInfo,
    args: BatchArgs,
    input: Arc<Input>,
    candidates: Vec<InputLine>,
    mut summary: Summary,
) -> Result<(), Failure> {
    // The journal's rate is shared by every worker: none of this one's own.
    let (sender, embedded) = Sender::connect(
        args.target,
        info,
        args.from,
        args.concurrency,
        None,
        input.clone(),
    )
    .await?;
    let cancelled = sender.cancelled.clone();
    let candidates = Arc::new(candidates);
    let lines = lines_to_try(journal.clone(), input.clone(), candidates.clone());
    let skipped = sender
        .send(lines, journal.clone(), candidates.len(), |_, name| {
            summary.count(name);
        })
        .await;
    if let Some(emulator) = embedded {
        emulator.shutdown().await;
    }
    let skipped = skipped?;
    for problem in &skipped {
        eprintln!("{}", Foreign(problem));
    }
    match journal.stopped() {
        Some(Stop::Redis(e)) => {
            eprintln!("this worker: {}", show_counts(&counts_of(&summary)));
            return Err(Failure::new(
                3,
                vec![
                    e,
                    "no line was started without its claim stored first; lines this worker had \
                     in flight keep `started` and become delivery_unknown when its lease ends"
                        .to_owned(),
                ],
            ));
        }
        Some(Stop::Changed(e)) => return Err(Failure::invalid(e)),
        None => {}
    }
    if cancelled.load(Ordering::SeqCst) {
        eprintln!("this worker: {}", show_counts(&counts_of(&summary)));
        return Err(Failure::not_sent(
            "interrupted: this worker started no more lines; run again to go on",
        ));
    }

    // Every line is claimed by now: wait for those other workers hold.
    let numbers: Vec<usize> = candidates.iter().map(|l| l.line).collect();
    let mut told = false;
    loop {
        let live = journal.reap(&numbers).await.map_err(Failure::not_sent)?;
        if live == 0 || cancelled.load(Ordering::SeqCst) {
            break;
        }
        if !told {
            eprintln!("send-batch: waiting for {live} lines in flight on other workers");
            told = true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let states = journal.states().await.map_err(Failure::not_sent)?;
    let outcomes = finals_of(&states);
    let unfinished = candidates
        .iter()
        .filter(|l| !outcomes.contains_key(&l.line))
        .count();
    print_summary(&outcomes, &summary, unfinished, input.last_line);
    if let Some(path) = &args.report {
        let records = journal.records().await.map_err(Failure::not_sent)?;
        write_report(path, &records)?;
    }
    exit_code(&outcomes, unfinished)
}

fn counts_of(summary: &Summary) -> BTreeMap<&str, usize> {
    summary.counts.iter().map(|(k, v)| (*k, *v)).collect()
}

/// The final outcome of each line that has one.
fn finals_of(states: &BTreeMap<usize, Entry>) -> BTreeMap<usize, &'static str> {
    states
        .iter()
        .filter_map(|(line, entry)| match entry.state {
            Recorded::Final(outcome) => Some((*line, outcome)),
            Recorded::Started => None,
        })
        .collect()
}

/// Writes the journal's records out as a report (replacing the file whole).
fn write_report(path: &std::path::Path, records: &BTreeMap<usize, Value>) -> Result<(), Failure> {
    let name = Foreign(&path.to_string_lossy()).to_string();
    let mut text = String::new();
    for record in records.values() {
        text.push_str(&record.to_string());
        text.push('\n');
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = std::path::PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| Failure::not_sent(format!("cannot write the report {name}: {e}")))
}

/// `--status`: the batch's counts by outcome, on standard output.
async fn status(
    journal: &Journal,
    id: &str,
    input: &Input,
    meta: &HashMap<String, String>,
) -> Result<(), Failure> {
    let records = journal.states().await.map_err(Failure::not_sent)?;
    let workers = journal.workers().await.map_err(Failure::not_sent)?;
    let mut live = HashSet::new();
    for worker in &workers {
        let exists: i64 = journal
            .cmd(
                "reading the workers",
                redis::cmd("EXISTS").arg(format!("{}{worker}", journal.lease_prefix())),
            )
            .await
            .map_err(Failure::not_sent)?;
        if exists == 1 {
            live.insert(worker.as_str());
        }
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut outcomes = finals_of(&records);
    for (line, entry) in &records {
        if entry.state == Recorded::Started {
            let worker = entry.worker.as_deref().unwrap_or("");
            if live.contains(worker) {
                *counts.entry("in_flight").or_default() += 1;
            } else {
                // Its worker is gone: unknown, whoever settles it first.
                outcomes.insert(*line, "delivery_unknown");
            }
        }
    }
    for outcome in outcomes.values() {
        *counts.entry(outcome).or_default() += 1;
    }
    let not_started = input
        .lines
        .iter()
        .filter(|l| !records.contains_key(&l.line))
        .count();
    let api = meta.get("api").map_or("(no run yet)", String::as_str);
    println!(
        "batch {id} ({}), {} lines in {}",
        Foreign(api),
        input.lines.len(),
        input.name
    );
    for name in FINAL.iter().copied().chain(["in_flight"]) {
        println!("{name} {}", counts.get(name).copied().unwrap_or(0));
    }
    println!("not_started {not_started}");
    let unknown = unknown_lines(&outcomes);
    if !unknown.is_empty() {
        println!("delivery unknown (may have been delivered; not resent): lines {unknown}");
    }
    for worker in &live {
        println!("worker running: {}", Foreign(worker));
    }
    Ok(())
}

/// `--forget`: removes the batch, unless a worker still runs on it.
async fn forget(journal: &Journal, id: &str) -> Result<(), Failure> {
    let workers = journal.workers().await.map_err(Failure::not_sent)?;
    for worker in &workers {
        let holder: Option<String> = journal
            .cmd(
                "reading the workers",
                redis::cmd("GET").arg(format!("{}{worker}", journal.lease_prefix())),
            )
            .await
            .map_err(Failure::not_sent)?;
        if let Some(holder) = holder {
            return Err(Failure::invalid(format!(
                "the batch {id} has a worker running ({}): forgetting it now would let its \
                 lines be sent again; wait for it to end",
                Foreign(&holder)
            )));
        }
    }
    let keys = ["meta", "lines", "cursor", "workers", "rate"].map(|k| journal.key(k));
    let removed: i64 = journal
        .cmd("forgetting the batch", redis::cmd("DEL").arg(&keys))
        .await
        .map_err(Failure::not_sent)?;
    if removed == 0 {
        eprintln!(
            "send-batch: the journal at {} has no batch {id}",
            journal.shown
        );
    } else {
        eprintln!("send-batch: batch {id} forgotten");
    }
    Ok(())
}
