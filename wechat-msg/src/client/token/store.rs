//! A token store on Redis that every instance of an app shares: one fetch
//! across all of them (a lock with an expiry, and a generation number so a
//! late writer cannot overwrite a newer token), invalidation of the refused
//! token only, and instances that only read what a refresher keeps.
//!
//! Keys, namespaced by appid: `wechat-msg:{appid}:token` (a hash of the
//! token and its generation, expiring when it is due for refresh),
//! `wechat-msg:{appid}:lock` (the refresher's lock), `wechat-msg:{appid}:generation`
//! (the last generation handed out) and `wechat-msg:{appid}:written` (the
//! newest generation written).

use std::fmt;
use std::time::{Duration, Instant};

use crate::client::secrets::AccessToken;
use crate::client::shared::{Redis, StoreError};

use super::error::{TokenError, TokenErrorKind};
use super::fetch::{Fetcher, usable};
use super::source::TokenSource;

/// What to do when Redis cannot be reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreFallback {
    /// Fail the call with a [`TokenErrorKind::Store`] error. The default:
    /// fetching a classic token here would invalidate every other
    /// instance's.
    #[default]
    Fail,
    /// Fetch a token here, as a client without a store does (an instance
    /// reading with [`TokenSource::Stored`] cannot, and fails).
    FetchLocally,
}

/// A token store shared through Redis; see [`ClientBuilder::token_store`](crate::client::ClientBuilder::token_store).
///
/// ```no_run
/// use wechat_msg::Client;
/// use wechat_msg::client::{StoreFallback, TokenSource, TokenStore};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // Each instance: the classic token, fetched once for all of them.
/// let client = Client::builder()
///     .token_source(TokenSource::classic("APPID", "APPSECRET"))
///     .token_store(TokenStore::redis("redis://127.0.0.1:6379/0").fallback(StoreFallback::Fail))
///     .build()?;
/// // An instance that never holds the AppSecret: it reads what the others keep.
/// let reader = Client::builder()
///     .token_source(TokenSource::stored("APPID"))
///     .token_store(TokenStore::redis("redis://127.0.0.1:6379/0"))
///     .build()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TokenStore {
    pub(crate) url: String,
    pub(crate) appid: Option<String>,
    pub(crate) fallback: StoreFallback,
    pub(crate) connect_timeout: Duration,
    pub(crate) command_timeout: Duration,
    pub(crate) lock_ttl: Duration,
    pub(crate) wait: Duration,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password.
        f.debug_struct("TokenStore")
            .field("appid", &self.appid)
            .field("fallback", &self.fallback)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("lock_ttl", &self.lock_ttl)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl TokenStore {
    /// The store at `url` (`redis://[:PASSWORD@]HOST:PORT[/DB]`; TLS is not
    /// built in), with the defaults: fail when
    /// Redis is down, 2 s to connect, 2 s a command, a 10 s lock, and up to
    /// 30 s of waiting for another instance's refresh.
    pub fn redis(url: impl Into<String>) -> Self {
        TokenStore {
            url: url.into(),
            appid: None,
            fallback: StoreFallback::Fail,
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(2),
            lock_ttl: Duration::from_secs(10),
            wait: Duration::from_secs(30),
        }
    }

    /// The AppID that names the keys (`wechat-msg:{appid}:token`, ...);
    /// needed with a [`TokenSource::Provider`], taken from the source
    /// otherwise.
    pub fn appid(mut self, appid: impl Into<String>) -> Self {
        self.appid = Some(appid.into());
        self
    }

    /// What to do when Redis cannot be reached (default [`StoreFallback::Fail`]).
    pub fn fallback(mut self, fallback: StoreFallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// How long to wait for a connection to Redis, and for the answer to
    /// one command (default 2 s each).
    pub fn timeouts(mut self, connect: Duration, command: Duration) -> Self {
        self.connect_timeout = connect;
        self.command_timeout = command;
        self
    }

    /// How long the refresher's lock lives (default 10 s): an instance that
    /// dies while fetching holds the others up no longer than this.
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
    }

    /// How long to wait for another instance's refresh, or (reading with
    /// [`TokenSource::Stored`]) for a refresher to put a token there
    /// (default 30 s).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }
}

/// A token as the store holds it: the token and how long it may be used.
pub(crate) struct Held {
    pub(crate) token: AccessToken,
    pub(crate) refresh_in: Option<Duration>,
}

/// A connected store: the settings, the keys, and a connection that
/// reconnects after Redis comes back.
pub(crate) struct Store {
    settings: TokenStore,
    redis: Redis,
    token_key: String,
    lock_key: String,
    generation_key: String,
    written_key: String,
    holder: String,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("settings", &self.settings)
            .field("token_key", &self.token_key)
            .finish_non_exhaustive()
    }
}

/// Reads the token, dropping it first if it is the refused one; when there
/// is none and the caller may fetch, takes the lock and a new generation.
/// Answers `{1, token, pttl}`, `{2, '', generation}` or `{0, '', 0}`.
const ACQUIRE: &str = r"
local t = redis.call('HGET', KEYS[1], 'token')
if t and ARGV[1] ~= '' and t == ARGV[1] then
  redis.call('DEL', KEYS[1])
  t = false
end
if t then return {1, t, redis.call('PTTL', KEYS[1])} end
if ARGV[4] == '1' and redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  return {2, '', redis.call('INCR', KEYS[3])}
end
return {0, '', 0}
";

/// Writes a token of generation ARGV[1] unless a newer one was written;
/// releases the lock if the writer still holds it. Answers 1 if written.
const WRITE: &str = r"
if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
local newest = tonumber(redis.call('GET', KEYS[3]) or '0')
local generation = tonumber(ARGV[1])
if generation <= newest then return 0 end
redis.call('SET', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'generation', ARGV[1])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
";

/// Releases the lock if the caller still holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

enum Acquired {
    Token(Held),
    Lock(u64),
    Busy,
}

impl Store {
    pub(crate) fn new(settings: TokenStore, appid: &str) -> Result<Self, StoreError> {
        let redis = Redis::open(
            "token store",
            &settings.url,
            settings.connect_timeout,
            settings.command_timeout,
        )?;
        let prefix = format!("wechat-msg:{appid}");
        Ok(Store {
            settings,
            redis,
            token_key: format!("{prefix}:token"),
            lock_key: format!("{prefix}:lock"),
            generation_key: format!("{prefix}:generation"),
            written_key: format!("{prefix}:written"),
            holder: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)),
        })
    }

    async fn acquire(
        &self,
        refused: Option<&AccessToken>,
        may_fetch: bool,
    ) -> Result<Acquired, StoreError> {
        let script = redis::Script::new(ACQUIRE);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(&self.token_key)
            .key(&self.lock_key)
            .key(&self.generation_key)
            .arg(refused.map_or("", AccessToken::expose))
            .arg(&self.holder)
            .arg(millis(self.settings.lock_ttl).max(1))
            .arg(if may_fetch { "1" } else { "0" });
        let (kind, token, number): (i64, String, i64) =
            self.redis.run("reading the token", &invocation).await?;
        Ok(match kind {
            1 => Acquired::Token(Held {
                token: AccessToken::new(token),
                // -1: kept until refused; -2 (gone since): due now.
                refresh_in: match number {
                    -1 => None,
                    ms => Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
                },
            }),
            2 => Acquired::Lock(u64::try_from(number).unwrap_or(0)),
            _ => Acquired::Busy,
        })
    }

    async fn write(
        &self,
        generation: u64,
        token: &AccessToken,
        refresh_in: Option<Duration>,
    ) -> Result<bool, StoreError> {
        let script = redis::Script::new(WRITE);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(&self.token_key)
            .key(&self.lock_key)
            .key(&self.written_key)
            .arg(generation)
            .arg(token.expose())
            .arg(refresh_in.map_or(0, |d| millis(d).max(1)))
            .arg(&self.holder);
        let written: i64 = self.redis.run("writing the token", &invocation).await?;
        Ok(written == 1)
    }

    async fn release(&self) -> Result<(), StoreError> {
        let script = redis::Script::new(RELEASE);
        let mut invocation = script.prepare_invoke();
        invocation.key(&self.lock_key).arg(&self.holder);
        let _: i64 = self.redis.run("releasing the lock", &invocation).await?;
        Ok(())
    }

    /// The shared token: the stored one, else one this instance fetches
    /// under the lock, else the one another instance is fetching. A
    /// `refused` token is dropped from the store if it is still there.
    pub(crate) async fn get(
        &self,
        fetcher: &Fetcher,
        refused: Option<AccessToken>,
        margin: Duration,
    ) -> Result<Held, TokenError> {
        let may_fetch = !is_reader(&fetcher.source);
        match self
            .shared(fetcher, refused.as_ref(), margin, may_fetch)
            .await
        {
            Ok(held) => Ok(held),
            Err(Shared::Token(err)) => Err(err),
            Err(Shared::Store(err)) => match self.settings.fallback {
                StoreFallback::FetchLocally if may_fetch => {
                    tracing::warn!(error = %err, "token store unreachable; fetching locally");
                    let fresh = fetcher.fetch().await?;
                    Ok(Held {
                        token: fresh.token,
                        refresh_in: fresh.expires_in.map(|l| usable(l, margin)),
                    })
                }
                _ => {
                    tracing::warn!(error = %err, "token store unreachable");
                    Err(TokenError::new(TokenErrorKind::Store(err)))
                }
            },
        }
    }

    async fn shared(
        &self,
        fetcher: &Fetcher,
        refused: Option<&AccessToken>,
        margin: Duration,
        may_fetch: bool,
    ) -> Result<Held, Shared> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            match self.acquire(refused, may_fetch).await? {
                Acquired::Token(held) => return Ok(held),
                Acquired::Lock(generation) => {
                    let fetched = fetcher.fetch().await;
                    let fresh = match fetched {
                        Ok(fresh) => fresh,
                        Err(err) => {
                            if let Err(store) = self.release().await {
                                tracing::debug!(error = %store, "lock not released; it expires");
                            }
                            return Err(Shared::Token(err));
                        }
                    };
                    let refresh_in = fresh.expires_in.map(|l| usable(l, margin));
                    if self.write(generation, &fresh.token, refresh_in).await? {
                        tracing::debug!(generation, "access token fetched and stored");
                        return Ok(Held {
                            token: fresh.token,
                            refresh_in,
                        });
                    }
                    // A newer generation was written while this fetch ran
                    // (the lock had expired): the newer token is the one to
                    // use, and is read on the next turn.
                    tracing::info!(
                        generation,
                        "a newer token is in the store; this fetch is dropped"
                    );
                }
                Acquired::Busy => {
                    if started.elapsed() >= self.settings.wait {
                        let what = if may_fetch {
                            "another instance's refresh"
                        } else {
                            "a refresher (this instance holds no AppSecret)"
                        };
                        return Err(Shared::Store(StoreError::new(format!(
                            "token store held no token after waiting {} ms for {what}",
                            self.settings.wait.as_millis()
                        ))));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
            }
        }
    }
}

enum Shared {
    Token(TokenError),
    Store(StoreError),
}

impl From<StoreError> for Shared {
    fn from(err: StoreError) -> Self {
        Shared::Store(err)
    }
}

fn is_reader(source: &TokenSource) -> bool {
    matches!(source, TokenSource::Stored { .. })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
