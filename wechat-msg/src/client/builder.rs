//! Configuring and building a [`Client`]: the top of the client's layers.

use std::sync::Arc;
use std::time::Duration;

use super::call::Caller;
use super::rate::{Limiter, RateLimit};
use super::retry::RetryPolicy;
use super::send::{Client, Inner};
#[cfg(feature = "redis")]
use super::token::{Store, TokenStore};
use super::token::{TokenCache, TokenProvider, TokenSource};
use super::transport::{Joined, Transport};
use super::via::Via;
use reqwest::header::HeaderValue;

/// WeChat's API host.
pub const DEFAULT_BASE_URL: &str = "https://api.weixin.qq.com";

/// The `User-Agent` a client sends unless [`ClientBuilder::user_agent`] sets another.
pub const DEFAULT_USER_AGENT: &str = concat!("wechat-msg/", env!("CARGO_PKG_VERSION"));

/// Configures a [`Client`]; see [`Client::builder`].
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    base_url: String,
    token: Option<TokenSource>,
    connect_timeout: Duration,
    timeout: Duration,
    max_answer_bytes: usize,
    /// `None`: the default, [`DEFAULT_USER_AGENT`].
    user_agent: Option<String>,
    retry: RetryPolicy,
    refresh_margin: Duration,
    via: Via,
    rate: Option<RateLimit>,
    #[cfg(feature = "redis")]
    store: Option<TokenStore>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: DEFAULT_BASE_URL.to_owned(),
            token: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_answer_bytes: 16 * 1024 * 1024,
            user_agent: None,
            retry: RetryPolicy::default(),
            refresh_margin: Duration::from_secs(300),
            via: Via::Http,
            rate: None,
            #[cfg(feature = "redis")]
            store: None,
        }
    }
}

impl Client {
    /// A builder with the defaults: WeChat's base URL, 5 s to connect, 30 s a
    /// request, answers up to 16 MiB, [`RetryPolicy::default`], tokens
    /// refreshed 300 s early, sent over HTTP. A token source must be set.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client for `appid` with the stable token and every default.
    pub fn new(appid: impl Into<String>, secret: impl Into<String>) -> Result<Self, BuildError> {
        Client::builder().credentials(appid, secret).build()
    }
}

impl ClientBuilder {
    /// The URL WeChat's paths are joined to (default
    /// `https://api.weixin.qq.com`); point it at an emulator in tests.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The app's credentials, for the stable token ([`TokenSource::Stable`]).
    pub fn credentials(self, appid: impl Into<String>, secret: impl Into<String>) -> Self {
        self.token_source(TokenSource::stable(appid, secret))
    }

    /// Where access tokens come from. Required (or [`credentials`](Self::credentials)).
    pub fn token_source(mut self, source: TokenSource) -> Self {
        self.token = Some(source);
        self
    }

    /// Tokens from a source of your own.
    pub fn token_provider(self, provider: impl TokenProvider) -> Self {
        self.token_source(TokenSource::provider(provider))
    }

    /// How long to wait for a connection (default 5 s). A call whose
    /// connection could not be made was not sent, and is retried.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one request may take, from connecting to the answer's last
    /// byte (default 30 s). Past it, delivery is unknown.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest answer body read, in bytes (default 16 MiB); a longer one
    /// is a bad answer.
    pub fn max_answer_bytes(mut self, limit: usize) -> Self {
        self.max_answer_bytes = limit;
        self
    }

    /// The `User-Agent` header (default [`DEFAULT_USER_AGENT`], `wechat-msg/VERSION`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// How transient failures are retried, and the total deadline of a call
    /// (default: [`RetryPolicy::default`], 3 retries within 30 s).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long before its expiry a token is replaced (default 300 s). When a
    /// token lives no longer than the margin, it is replaced at half its life.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Shares the token with every instance of the app through Redis: one
    /// fetch for all of them, invalidation of a refused token only while it
    /// is current, and instances reading with [`TokenSource::stored`] that
    /// hold no AppSecret. Keys are named by the source's AppID.
    #[cfg(feature = "redis")]
    pub fn token_store(mut self, store: TokenStore) -> Self {
        self.store = Some(store);
        self
    }

    /// At most so many calls a second to each endpoint, every attempt
    /// counted; shared by every instance with `RateLimit::redis` (feature `redis`). None by
    /// default.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate = Some(limit);
        self
    }

    /// How [`Client::send`] sends (default [`Via::Http`]).
    pub fn via(mut self, via: Via) -> Self {
        self.via = via;
        self
    }

    /// The client.
    pub fn build(self) -> Result<Client, BuildError> {
        let base = reqwest::Url::parse(&self.base_url)
            .map_err(|_| BuildError::BaseUrl(self.base_url.clone()))?;
        if !matches!(base.scheme(), "http" | "https")
            || base.query().is_some()
            || base.cannot_be_a_base()
        {
            return Err(BuildError::BaseUrl(self.base_url));
        }
        let token = self.token.ok_or(BuildError::NoTokenSource)?;
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout.min(self.timeout))
            .timeout(self.timeout)
            .user_agent(match self.user_agent {
                // A static header value: reqwest copies the default headers
                // into every request, and a shared one would be counted
                // (an atomic increment and decrement) on each copy.
                None => HeaderValue::from_static(DEFAULT_USER_AGENT),
                Some(agent) => HeaderValue::try_from(agent).map_err(|_| {
                    BuildError::Http("the User-Agent is not a valid header value".to_owned())
                })?,
            })
            // Idle connections are dropped before servers usually close
            // them: a request written into a connection the server is
            // closing would end with its delivery unknown.
            .pool_idle_timeout(Duration::from_secs(20))
            // A redirect would carry the access_token to another URL.
            .redirect(reqwest::redirect::Policy::none())
            // Retries are the client's own (`RetryPolicy`). reqwest's retry
            // layer would only ever retry HTTP/2 and HTTP/3 refusals, which
            // an HTTP/1 client never sees, yet it copies every request
            // (headers, URL, body) in case it does.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .build()
            .map_err(|e| BuildError::Http(e.without_url().to_string()))?;
        let transport = Transport {
            http,
            base: Arc::from(base.as_str().trim_end_matches('/')),
            joined: Arc::new(Joined::new(base)),
            max_answer: self.max_answer_bytes,
        };
        let secret = token.secret().cloned();
        let rate = match self.rate {
            Some(limit) => Some(Limiter::new(limit, token.appid()).map_err(BuildError::RateLimit)?),
            None => None,
        };
        #[cfg(feature = "redis")]
        let store = match (self.store, &token) {
            (Some(store), source) => {
                let appid = match (store.appid.as_deref(), source.appid()) {
                    (Some(appid), _) | (None, Some(appid)) => appid.to_owned(),
                    (None, None) => {
                        return Err(BuildError::TokenStore(
                            "the store's keys need an AppID: use a stable, classic or stored \
                             source, or TokenStore::appid(..)"
                                .to_owned(),
                        ));
                    }
                };
                if appid.is_empty() || appid.chars().any(|c| c.is_whitespace() || c == ':') {
                    return Err(BuildError::TokenStore(
                        "the AppID that names the store's keys must be non-empty, without spaces or ':'"
                            .to_owned(),
                    ));
                }
                Some(Store::new(store, &appid).map_err(|e| BuildError::TokenStore(e.to_string()))?)
            }
            (None, TokenSource::Stored { .. }) => {
                return Err(BuildError::TokenStore(
                    "TokenSource::Stored reads a token store: set token_store(..)".to_owned(),
                ));
            }
            (None, _) => None,
        };
        let tokens = TokenCache::new(
            token,
            transport.clone(),
            self.retry.clone(),
            self.refresh_margin,
            self.timeout,
            #[cfg(feature = "redis")]
            store,
        );
        Ok(Client {
            inner: Arc::new(Inner {
                caller: Caller {
                    transport,
                    tokens,
                    retry: self.retry,
                    secret,
                    rate,
                },
                via: self.via,
            }),
        })
    }
}

/// A client configuration that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL is not an `http` or `https` URL without a query.
    #[error("invalid base URL {0:?}: expected an http or https URL without a query")]
    BaseUrl(String),
    /// No token source was set: call `credentials`, or `token_source`
    /// (with [`TokenSource::None`] in WeChat Cloud Hosting).
    #[error("no token source: set credentials(appid, secret) or token_source(..)")]
    NoTokenSource,
    /// The token store is misconfigured.
    #[cfg(feature = "redis")]
    #[error("token store: {0}")]
    TokenStore(String),
    /// The rate limit cannot work.
    #[error("rate limit: {0}")]
    RateLimit(String),
    /// The HTTP stack could not be set up.
    #[error("cannot set up HTTP: {0}")]
    Http(String),
}
