//! The durable inbox (features `push` and `redis`): nothing lost after
//! `success`.
//!
//! A push is appended to a Redis Stream before WeChat is answered, once per
//! dedupe key, whichever instance receives it. Handlers run from the stream
//! as a consumer group, on any number of instances:
//!
//! - a push is marked *started* before its handler runs, and removed from
//!   the stream when it is *done*;
//! - a push read by a consumer that died before starting it is claimed by
//!   another after [`Inbox::claim_after`] (`XAUTOCLAIM`) and handled there;
//! - a push started and never finished (its consumer died mid-handler) is
//!   listed as *delivery unknown* and never re-run automatically: the
//!   handler may have done its work (sent a reply) before dying, the rule
//!   `send-batch` follows too. [`Inbox::retry`] re-queues it on purpose;
//! - a handler error is retried with a doubling backoff up to
//!   [`Inbox::max_attempts`], then parked in a dead-letter list.
//!
//! A consumer handles the pushes it reads in one round (up to 80)
//! concurrently: the order of one user's pushes is not kept.
//!
//! One inbox per Redis database: give each app its own database.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::Value as RedisValue;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::dedupe::StoreError;
use super::form::PushMessage;
use crate::client::shared::Redis;

const PREFIX: &str = "wechat-msg:inbox";
const GROUP: &str = "handlers";

/// Appends a push unless one with its dedupe key was appended already.
const APPEND: &str = r"
if ARGV[1] ~= '' then
  if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return 0 end
end
redis.call('XADD', KEYS[2], '*', 'key', ARGV[1], 'push', ARGV[2], 'attempt', '1')
redis.call('HINCRBY', KEYS[3], 'appended', 1)
return 1
";

/// Marks an entry started by this consumer; 0 when it was started before.
const START: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
";

/// Done: off the stream, its started mark gone, counted.
const FINISH: &str = r"
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('HINCRBY', KEYS[3], 'handled', 1)
return 1
";

/// Off the stream and parked: in the retry schedule (ARGV[4] = due time),
/// or in the dead-letter or delivery-unknown list (ARGV[4] = '').
const PARK: &str = r"
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3])
else
  redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
end
redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
return 1
";

/// Moves the retries that are due back onto the stream.
const DUE: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 16)
for _, r in ipairs(due) do
  local p = cjson.decode(r)
  redis.call('XADD', KEYS[2], '*', 'key', p.key, 'push', p.push, 'attempt', tostring(p.attempt))
  redis.call('ZREM', KEYS[1], r)
end
return #due
";

/// Re-queues a parked push (dead or delivery unknown) as a first attempt.
const RETRY: &str = r"
local from = KEYS[1]
local parked = redis.call('HGET', KEYS[1], ARGV[1])
if not parked then
  from = KEYS[2]
  parked = redis.call('HGET', KEYS[2], ARGV[1])
end
if not parked then return false end
local p = cjson.decode(parked)
local id = redis.call('XADD', KEYS[3], '*', 'key', p.key, 'push', p.push, 'attempt', '1')
redis.call('HDEL', from, ARGV[1])
return id
";

/// A push parked off the stream: in the dead-letter list, the delivery
/// unknown list, or the retry schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Parked {
    /// The stream id it had (the id [`Inbox::retry`] takes).
    #[serde(default)]
    pub id: String,
    /// Its dedupe key (empty when the push has none).
    pub key: String,
    /// The push, in WeChat's JSON push form, as a JSON string.
    pub push: String,
    /// The attempt it was on.
    pub attempt: u32,
    /// Why it is parked: the handler's last error, or what is unknown.
    pub reason: String,
    /// The consumer that held it.
    pub consumer: String,
}

/// What the inbox holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InboxStats {
    /// Pushes on the stream (waiting or in a handler).
    pub queued: u64,
    /// Of those, read by a consumer and not finished.
    pub in_progress: u64,
    /// Waiting for a retry after a handler error.
    pub retrying: u64,
    /// Started and never finished: delivery unknown.
    pub unknown: u64,
    /// Parked after their last attempt failed.
    pub dead: u64,
    /// Appended since the inbox was made (retries of the same push once).
    pub appended: u64,
    /// Handled to the end.
    pub handled: u64,
}

/// A durable inbox on Redis, shared by every instance of a push endpoint.
///
/// ```no_run
/// use wechat_msg::Push;
/// use wechat_msg::push::{Inbox, PushConfig, PushService, Receiver};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let inbox = Inbox::open("redis://127.0.0.1:6379/0")?;
/// let service = PushService::new(Receiver::new(PushConfig::new("TOKEN")?))
///     .try_on_push(|push: Push| async move { Ok::<(), String>(()) })
///     .durable(inbox);
/// // Handlers run here, from the stream; the router only appends.
/// tokio::spawn(service.handle_inbox(std::future::pending()));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Inbox {
    append: Redis,
    consume: Redis,
    consumer: String,
    claim_after: Duration,
    max_attempts: u32,
    backoff: Duration,
    keep_marks: Duration,
}

fn store(e: crate::client::StoreError) -> StoreError {
    StoreError::new(e.to_string())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn key(name: &str) -> String {
    format!("{PREFIX}:{name}")
}

impl Inbox {
    /// The inbox at `url` (`redis://[:PASSWORD@]HOST:PORT[/DB]`). This
    /// process consumes as a consumer of its own name; a push it read and
    /// did not start is claimed by others 10 s after it went quiet; a
    /// failing handler gets 5 attempts, 1 s apart and doubling. Connects on
    /// first use.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let open = |role| {
            Redis::open(role, url, Duration::from_secs(2), Duration::from_secs(1)).map_err(store)
        };
        Ok(Inbox {
            append: open("inbox")?,
            consume: open("inbox consumer")?,
            consumer: format!("consumer-{}-{:08x}", std::process::id(), fastrand::u32(..)),
            claim_after: Duration::from_secs(10),
            max_attempts: 5,
            backoff: Duration::from_secs(1),
            keep_marks: Duration::from_secs(24 * 3600),
        })
    }

    /// This consumer's name in the group (unique per process by default).
    pub fn consumer(mut self, name: impl Into<String>) -> Self {
        self.consumer = name.into();
        self
    }

    /// A push read by a consumer that has been quiet this long (it died, or
    /// stalled before starting the push) is claimed by another. A consumer
    /// running a handler keeps its pushes fresh meanwhile.
    pub fn claim_after(mut self, quiet: Duration) -> Self {
        self.claim_after = quiet.max(Duration::from_millis(10));
        self
    }

    /// Attempts a push gets when its handler fails, before it is parked in
    /// the dead-letter list.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the second attempt; doubled for each further one.
    pub fn backoff(mut self, first: Duration) -> Self {
        self.backoff = first;
        self
    }

    /// Appends `push` unless a push of this dedupe key was appended within
    /// a day; true when appended. Answer WeChat `success` only after this
    /// returns. A push without a dedupe key (no MsgId, sender or time) is
    /// appended every time it comes.
    pub async fn append<P: PushMessage>(
        &self,
        dedupe_key: Option<&str>,
        push: &P,
    ) -> Result<bool, StoreError> {
        let body = serde_json::to_string(&push.to_push_form())
            .map_err(|e| StoreError::new(format!("cannot write the push: {e}")))?;
        let dedupe_key = dedupe_key.unwrap_or_default();
        let script = redis::Script::new(APPEND);
        let mut call = script.prepare_invoke();
        call.key(key(&format!("appended:{dedupe_key}")))
            .key(key("stream"))
            .key(key("stats"))
            .arg(dedupe_key)
            .arg(body)
            .arg(millis(self.keep_marks));
        let appended: i64 = self
            .append
            .run("appending a push", &call)
            .await
            .map_err(store)?;
        Ok(appended == 1)
    }

    /// Runs `handler` on the inbox's pushes as this consumer until `stop`
    /// completes (the push in a handler then finishes first).
    pub async fn consume<P, F, Fut, E>(&self, handler: F, stop: impl Future<Output = ()>)
    where
        P: PushMessage,
        F: Fn(P) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let mut stop = pin!(stop);
        let mut grouped = false;
        loop {
            let round = async {
                if !grouped {
                    self.group().await?;
                    grouped = true;
                }
                self.due().await?;
                let mut entries = self.claimed().await?;
                let claimed = entries.len();
                entries.extend(self.fresh().await?);
                let found = entries.len();
                // The round's pushes (up to 80) are handled concurrently.
                let handled = futures_util::future::join_all(
                    entries
                        .into_iter()
                        .enumerate()
                        .map(|(i, entry)| self.process(entry, i < claimed, &handler)),
                )
                .await;
                handled
                    .into_iter()
                    .collect::<Result<Vec<()>, StoreError>>()?;
                Ok::<usize, StoreError>(found)
            };
            let idle = match round.await {
                // More may be waiting: go on at once.
                Ok(found) if found > 0 => Duration::ZERO,
                Ok(_) => Duration::from_millis(20),
                Err(e) => {
                    tracing::warn!(error = %e, "inbox: Redis failed; trying again");
                    Duration::from_millis(500)
                }
            };
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(idle) => {}
            }
        }
    }

    async fn group(&self) -> Result<(), StoreError> {
        let mut create = redis::cmd("XGROUP");
        create
            .arg("CREATE")
            .arg(key("stream"))
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM");
        match self
            .consume
            .query::<RedisValue>("creating the consumer group", &create)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("BUSYGROUP") => Ok(()),
            Err(e) => Err(store(e)),
        }
    }

    async fn due(&self) -> Result<(), StoreError> {
        let script = redis::Script::new(DUE);
        let mut call = script.prepare_invoke();
        call.key(key("retry")).key(key("stream")).arg(now_millis());
        let _: i64 = self
            .consume
            .run("moving due retries", &call)
            .await
            .map_err(store)?;
        Ok(())
    }

    /// Pushes of consumers quiet for longer than `claim_after`.
    async fn claimed(&self) -> Result<Vec<StreamId>, StoreError> {
        let mut claim = redis::cmd("XAUTOCLAIM");
        claim
            .arg(key("stream"))
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(millis(self.claim_after))
            .arg("0-0")
            .arg("COUNT")
            .arg(16);
        let reply: StreamAutoClaimReply = self
            .consume
            .query("claiming pushes", &claim)
            .await
            .map_err(store)?;
        Ok(reply.claimed)
    }

    async fn fresh(&self) -> Result<Vec<StreamId>, StoreError> {
        let mut read = redis::cmd("XREADGROUP");
        read.arg("GROUP")
            .arg(GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(64)
            .arg("STREAMS")
            .arg(key("stream"))
            .arg(">");
        let reply: Option<StreamReadReply> = self
            .consume
            .query("reading pushes", &read)
            .await
            .map_err(store)?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect())
    }

    async fn process<P, F, Fut, E>(
        &self,
        entry: StreamId,
        claimed: bool,
        handler: &F,
    ) -> Result<(), StoreError>
    where
        P: PushMessage,
        F: Fn(P) -> Fut,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let field = |name: &str| entry.get::<String>(name).unwrap_or_default();
        let mut parked = Parked {
            id: entry.id.clone(),
            key: field("key"),
            push: field("push"),
            attempt: field("attempt").parse().unwrap_or(1),
            reason: String::new(),
            consumer: self.consumer.clone(),
        };
        if !self.start(&entry.id).await? {
            // Claimed from a consumer that started it and went quiet: its
            // handler may have done its work. Never run it again by itself.
            parked.reason = "started by a consumer that never finished it".to_owned();
            return self.park(&parked, None, "unknown").await;
        }
        if claimed {
            tracing::info!(id = %entry.id, "inbox: a push its consumer never started is handled here");
        }
        let push = serde_json::from_str::<Map<String, Value>>(&parked.push)
            .map_err(|e| e.to_string())
            .and_then(|form| P::from_push_form(form).map_err(|e| e.to_string()));
        let push = match push {
            Ok(push) => push,
            Err(e) => {
                parked.reason = format!("the stored push cannot be read: {e}");
                return self.park(&parked, None, "dead").await;
            }
        };
        let outcome = self.run_fresh(&entry.id, handler(push)).await;
        match outcome {
            Ok(()) => self.finish(&entry.id).await,
            Err(reason) => {
                parked.reason = reason;
                if parked.attempt < self.max_attempts {
                    let wait = self
                        .backoff
                        .saturating_mul(1 << (parked.attempt - 1).min(16));
                    parked.attempt += 1;
                    let due = now_millis().saturating_add(millis(wait));
                    self.park(&parked, Some(due), "retried").await
                } else {
                    tracing::warn!(id = %entry.id, reason = %parked.reason, "inbox: a push is parked in the dead-letter list");
                    self.park(&parked, None, "dead").await
                }
            }
        }
    }

    /// Runs the handler on a task, keeping its push fresh in the group (so
    /// no other consumer claims it) until it ends.
    async fn run_fresh<Fut, E>(&self, id: &str, handling: Fut) -> Result<(), String>
    where
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let task = tokio::spawn(async move { handling.await.map_err(|e| e.to_string()) });
        let mut task = pin!(task);
        loop {
            tokio::select! {
                ended = &mut task => {
                    return match ended {
                        Ok(result) => result,
                        Err(_) => Err("the handler panicked".to_owned()),
                    };
                }
                () = tokio::time::sleep(self.claim_after / 3) => {
                    let mut touch = redis::cmd("XCLAIM");
                    touch.arg(key("stream")).arg(GROUP).arg(&self.consumer).arg(0).arg(id).arg("JUSTID");
                    if let Err(e) = self.consume.query::<RedisValue>("keeping a push", &touch).await {
                        tracing::warn!(error = %e, "inbox: cannot keep a push in progress");
                    }
                }
            }
        }
    }

    async fn start(&self, id: &str) -> Result<bool, StoreError> {
        let script = redis::Script::new(START);
        let mut call = script.prepare_invoke();
        call.key(key(&format!("started:{id}")))
            .arg(&self.consumer)
            .arg(millis(self.keep_marks));
        let started: i64 = self
            .consume
            .run("marking a push started", &call)
            .await
            .map_err(store)?;
        Ok(started == 1)
    }

    async fn finish(&self, id: &str) -> Result<(), StoreError> {
        let script = redis::Script::new(FINISH);
        let mut call = script.prepare_invoke();
        call.key(key("stream"))
            .key(key(&format!("started:{id}")))
            .key(key("stats"))
            .arg(GROUP)
            .arg(id);
        let _: i64 = self
            .consume
            .run("marking a push done", &call)
            .await
            .map_err(store)?;
        Ok(())
    }

    async fn park(&self, parked: &Parked, due: Option<u64>, list: &str) -> Result<(), StoreError> {
        let record = serde_json::to_string(parked)
            .map_err(|e| StoreError::new(format!("cannot write a parked push: {e}")))?;
        let target = match (due, list) {
            (Some(_), _) => key("retry"),
            (None, "unknown") => key("unknown"),
            (None, _) => key("dead"),
        };
        let script = redis::Script::new(PARK);
        let mut call = script.prepare_invoke();
        call.key(key("stream"))
            .key(key(&format!("started:{}", parked.id)))
            .key(key("stats"))
            .key(target)
            .arg(GROUP)
            .arg(&parked.id)
            .arg(record)
            .arg(due.map(|d| d.to_string()).unwrap_or_default())
            .arg(list);
        let _: i64 = self
            .consume
            .run("parking a push", &call)
            .await
            .map_err(store)?;
        Ok(())
    }

    /// What the inbox holds.
    pub async fn stats(&self) -> Result<InboxStats, StoreError> {
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN")
            .arg(key("stream"))
            .cmd("ZCARD")
            .arg(key("retry"))
            .cmd("HLEN")
            .arg(key("unknown"))
            .cmd("HLEN")
            .arg(key("dead"))
            .cmd("HGETALL")
            .arg(key("stats"));
        let mut pending = redis::cmd("XPENDING");
        pending.arg(key("stream")).arg(GROUP);
        let in_progress = match self
            .append
            .query::<RedisValue>("reading the inbox", &pending)
            .await
        {
            Ok(RedisValue::Array(items)) => match items.first() {
                Some(RedisValue::Int(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            },
            _ => 0,
        };
        let (queued, retrying, unknown, dead, counts): (u64, u64, u64, u64, HashMap<String, u64>) =
            self.append
                .pipeline("reading the inbox", &pipe)
                .await
                .map_err(store)?;
        Ok(InboxStats {
            queued,
            in_progress,
            retrying,
            unknown,
            dead,
            appended: counts.get("appended").copied().unwrap_or(0),
            handled: counts.get("handled").copied().unwrap_or(0),
        })
    }

    /// The pushes of unknown delivery: started, never finished.
    pub async fn unknown(&self) -> Result<Vec<Parked>, StoreError> {
        self.parked("unknown").await
    }

    /// The pushes parked after their last attempt failed.
    pub async fn dead(&self) -> Result<Vec<Parked>, StoreError> {
        self.parked("dead").await
    }

    async fn parked(&self, list: &str) -> Result<Vec<Parked>, StoreError> {
        let mut all = redis::cmd("HGETALL");
        all.arg(key(list));
        let records: HashMap<String, String> = self
            .append
            .query("reading the inbox", &all)
            .await
            .map_err(store)?;
        let mut parked: Vec<Parked> = records
            .into_iter()
            .filter_map(|(id, record)| {
                let mut parked: Parked = serde_json::from_str(&record).ok()?;
                parked.id = id;
                Some(parked)
            })
            .collect();
        parked.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(parked)
    }

    /// Re-queues the parked push `id` (dead or of unknown delivery) as a
    /// first attempt, on purpose; its new stream id, `None` when no parked
    /// push has that id.
    pub async fn retry(&self, id: &str) -> Result<Option<String>, StoreError> {
        let script = redis::Script::new(RETRY);
        let mut call = script.prepare_invoke();
        call.key(key("dead"))
            .key(key("unknown"))
            .key(key("stream"))
            .arg(id);
        self.append
            .run("re-queueing a push", &call)
            .await
            .map_err(store)
    }
}
