//! [`RedisDedupe`]: one deduplication store and nonce memory for every
//! instance of a push endpoint (features `push` and `redis`).
//!
//! A push's mark is `SET NX` with an expiry, keyed by the appid and the
//! push's key, so of several instances receiving WeChat's retries only the
//! first handles the push; a nonce is remembered with its body's digest the
//! same way, so a captured signature is refused on every instance.

use std::time::Duration;

use super::dedupe::{Dedupe, StoreError, StoreFuture};
use crate::client::shared::Redis;

/// Records the digest for a nonce unless one is there; answers whether the
/// digest there is this one.
const NONCE: &str = r"
local seen = redis.call('GET', KEYS[1])
if seen then
  if seen == ARGV[1] then return 1 else return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// Deduplication and nonce memory on Redis, shared by every instance of
/// one app's push endpoint.
///
/// ```no_run
/// use wechat_msg::push::{PushConfig, Receiver, RedisDedupe};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let shared = RedisDedupe::open("redis://127.0.0.1:6379/0", "wxAPPID")?;
/// let receiver = Receiver::new(PushConfig::new("TOKEN")?).dedupe(shared);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedisDedupe {
    redis: Redis,
    prefix: String,
    keep: Duration,
}

impl RedisDedupe {
    /// The store at `url` (`redis://[:PASSWORD@]HOST:PORT[/DB]`), for the
    /// pushes of `appid`; push keys are kept ten minutes. Connects on first
    /// use.
    pub fn open(url: &str, appid: &str) -> Result<Self, StoreError> {
        let redis = Redis::open(
            "push store",
            url,
            Duration::from_secs(2),
            Duration::from_secs(1),
        )
        .map_err(|e| StoreError::new(e.to_string()))?;
        Ok(RedisDedupe {
            redis,
            prefix: format!("wechat-msg:push:{appid}"),
            keep: Duration::from_secs(600),
        })
    }

    /// How long a push's mark is kept (WeChat retries for about 15 s).
    pub fn keep(mut self, keep: Duration) -> Self {
        self.keep = keep;
        self
    }

    fn millis(d: Duration) -> u64 {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
    }
}

fn store_error(e: crate::client::StoreError) -> StoreError {
    StoreError::new(e.to_string())
}

impl Dedupe for RedisDedupe {
    fn first_time<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut command = redis::cmd("SET");
            command
                .arg(format!("{}:seen:{key}", self.prefix))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(Self::millis(self.keep));
            let set: Option<String> = self
                .redis
                .query("marking a push", &command)
                .await
                .map_err(store_error)?;
            Ok(set.is_some())
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut command = redis::cmd("DEL");
            command.arg(format!("{}:seen:{key}", self.prefix));
            let _: i64 = self
                .redis
                .query("releasing a push", &command)
                .await
                .map_err(store_error)?;
            Ok(())
        })
    }

    fn nonce<'a>(
        &'a self,
        nonce: &'a str,
        digest: &'a str,
        keep: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let script = redis::Script::new(NONCE);
            let mut invocation = script.prepare_invoke();
            invocation
                .key(format!("{}:nonce:{nonce}", self.prefix))
                .arg(digest)
                .arg(Self::millis(keep));
            let fits: i64 = self
                .redis
                .run("remembering a nonce", &invocation)
                .await
                .map_err(store_error)?;
            Ok(fits == 1)
        })
    }
}
