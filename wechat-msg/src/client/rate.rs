//! The rate limit: at most a number of calls per second to each endpoint,
//! in this process (governor's GCRA, no burst), or, with the `redis`
//! feature, across every instance sharing one Redis (a counter per endpoint
//! and second of Redis's clock).

use std::fmt;
use std::num::NonZeroU32;
#[cfg(feature = "redis")]
use std::time::Duration;

use governor::clock::DefaultClock;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};

#[cfg(feature = "redis")]
use super::shared::Redis;

/// A limit on calls per second to each endpoint; see
/// [`ClientBuilder::rate_limit`](crate::client::ClientBuilder::rate_limit).
///
/// Every attempt counts, retries included: the limit is what WeChat sees.
///
/// ```
/// use wechat_msg::Client;
/// use wechat_msg::client::RateLimit;
///
/// let client = Client::builder()
///     .credentials("APPID", "APPSECRET")
///     .rate_limit(RateLimit::per_second(20))
///     .build()
///     .unwrap();
/// ```
#[derive(Clone)]
pub struct RateLimit {
    pub(crate) per_second: u32,
    #[cfg(feature = "redis")]
    pub(crate) redis: Option<SharedRate>,
}

#[cfg(feature = "redis")]
#[derive(Clone)]
pub(crate) struct SharedRate {
    pub(crate) url: String,
    pub(crate) appid: Option<String>,
    pub(crate) timeout: Duration,
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("RateLimit");
        s.field("per_second", &self.per_second);
        // The URL may carry a password.
        #[cfg(feature = "redis")]
        s.field("shared", &self.redis.is_some());
        s.finish()
    }
}

impl RateLimit {
    /// At most `calls` a second to each endpoint, in this process. Zero is
    /// refused when the client is built.
    pub fn per_second(calls: u32) -> Self {
        RateLimit {
            per_second: calls,
            #[cfg(feature = "redis")]
            redis: None,
        }
    }

    /// Shares the limit with every instance using the same Redis
    /// (`redis://HOST:PORT[/DB]`): together they make at most the limit's
    /// calls in each second of Redis's clock. Keys:
    /// `wechat-msg:{appid}:rate:{endpoint}:{unix second}`, living 5 s. When
    /// Redis cannot be reached, each instance keeps to the limit on its own.
    #[cfg(feature = "redis")]
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.redis = Some(SharedRate {
            url: url.into(),
            appid: None,
            timeout: Duration::from_secs(2),
        });
        self
    }

    /// The AppID that names the shared keys, when the token source has none
    /// (a [`TokenSource::Provider`](crate::client::TokenSource::Provider)).
    #[cfg(feature = "redis")]
    pub fn appid(mut self, appid: impl Into<String>) -> Self {
        if let Some(shared) = &mut self.redis {
            shared.appid = Some(appid.into());
        }
        self
    }

    /// How long to wait for Redis to connect or answer (default 2 s).
    #[cfg(feature = "redis")]
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        if let Some(shared) = &mut self.redis {
            shared.timeout = timeout;
        }
        self
    }
}

/// The limiter a client runs.
pub(crate) struct Limiter {
    local: RateLimiter<&'static str, HashMapStateStore<&'static str>, DefaultClock>,
    #[cfg(feature = "redis")]
    shared: Option<(Redis, String)>,
    per_second: u32,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("per_second", &self.per_second)
            .finish_non_exhaustive()
    }
}

/// Takes a call in this second's window if it has room: 0; else the
/// milliseconds until the next second of Redis's clock.
#[cfg(feature = "redis")]
const TAKE: &str = r"
local now = redis.call('TIME')
local key = KEYS[1] .. ':' .. now[1]
local taken = tonumber(redis.call('GET', key) or '0')
if taken < tonumber(ARGV[1]) then
  redis.call('INCR', key)
  redis.call('PEXPIRE', key, 5000)
  return 0
end
return 1000 - math.floor(tonumber(now[2]) / 1000)
";

impl Limiter {
    /// The limiter for `limit`; `appid` names the shared keys. An error
    /// says what is wrong with the limit.
    pub(crate) fn new(limit: RateLimit, appid: Option<&str>) -> Result<Self, String> {
        let per_second = NonZeroU32::new(limit.per_second)
            .ok_or_else(|| "the rate limit must allow at least 1 call a second".to_owned())?;
        // No burst: calls are spaced 1/n s apart.
        let quota = Quota::per_second(per_second).allow_burst(NonZeroU32::MIN);
        #[cfg(feature = "redis")]
        let shared = match limit.redis {
            None => None,
            Some(shared) => {
                let appid = shared.appid.as_deref().or(appid).ok_or_else(|| {
                    "a shared rate limit needs an AppID: use a stable, classic or stored \
                     source, or RateLimit::appid(..)"
                        .to_owned()
                })?;
                let redis = Redis::open("rate limit", &shared.url, shared.timeout, shared.timeout)
                    .map_err(|e| e.to_string())?;
                Some((redis, format!("wechat-msg:{appid}:rate")))
            }
        };
        #[cfg(not(feature = "redis"))]
        let _ = appid;
        Ok(Limiter {
            local: RateLimiter::hashmap(quota),
            #[cfg(feature = "redis")]
            shared,
            per_second: limit.per_second,
        })
    }

    /// Waits until a call to `endpoint` may go.
    pub(crate) async fn ready(&self, endpoint: &'static str) {
        #[cfg(feature = "redis")]
        if let Some((redis, prefix)) = &self.shared {
            let key = format!("{prefix}:{endpoint}");
            loop {
                let script = redis::Script::new(TAKE);
                let mut invocation = script.prepare_invoke();
                invocation.key(&key).arg(self.per_second);
                match redis.run::<u64>("taking a call", &invocation).await {
                    Ok(0) => return,
                    Ok(wait) => {
                        tracing::trace!(endpoint, wait_ms = wait, "rate limit reached; waiting");
                        tokio::time::sleep(Duration::from_millis(wait.clamp(1, 1000))).await;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "shared rate limit unreachable; limiting in this process");
                        break;
                    }
                }
            }
        }
        self.local.until_key_ready(&endpoint).await;
    }
}
