//! Access tokens: where they come from, how long they are kept, and how one
//! refresh serves every caller waiting for it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::answer::{Rejection, rid_of};
use crate::endpoint::{Errcode, ErrcodeInfo, ErrorClass, Method};
use crate::wire::{Cx, Form, WireErrorKind};

use super::error::{AnswerProblem, BadAnswer, DeliveryUnknown, Scrub, TransportError};
use super::retry::RetryPolicy;
use super::transport::{Failure, OutBody, Outgoing, Received, Transport, read_json};

/// An access_token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// Wraps a token string.
    pub fn new(token: impl Into<String>) -> Self {
        AccessToken(Arc::from(token.into()))
    }

    /// The token itself, to put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A Mini Program's AppSecret. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AppSecret(Arc<str>);

impl AppSecret {
    /// Wraps a secret string.
    pub fn new(secret: impl Into<String>) -> Self {
        AppSecret(Arc::from(secret.into()))
    }

    /// The secret itself, to put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecret(***)")
    }
}

impl fmt::Display for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A boxed future, as [`TokenProvider::fetch_token`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A boxed error, as a [`TokenProvider`] returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A fresh token and how long it lives.
#[derive(Clone, Debug)]
pub struct FreshToken {
    /// The token.
    pub token: AccessToken,
    /// Its lifetime from now; `None` keeps it until WeChat refuses it.
    pub expires_in: Option<Duration>,
}

/// A source of tokens of your own, such as a central token service shared by
/// every instance of an application.
///
/// The client caches what it returns like any token, and calls it again when
/// the token is due or refused.
///
/// ```
/// use std::time::Duration;
/// use wechat_msg::client::{AccessToken, BoxError, BoxFuture, FreshToken, TokenProvider};
///
/// struct Central;
///
/// impl TokenProvider for Central {
///     fn fetch_token(&self) -> BoxFuture<'_, Result<FreshToken, BoxError>> {
///         Box::pin(async {
///             // Ask the service here.
///             Ok(FreshToken {
///                 token: AccessToken::new("TOKEN"),
///                 expires_in: Some(Duration::from_secs(600)),
///             })
///         })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// Fetches a token. Called by one caller at a time.
    fn fetch_token(&self) -> BoxFuture<'_, Result<FreshToken, BoxError>>;
}

/// Where the client gets its access_token.
#[derive(Clone)]
#[non_exhaustive]
pub enum TokenSource {
    /// `POST /cgi-bin/stable_token` in normal mode (never `force_refresh`): it
    /// answers the current token without rotating it, so any number of
    /// instances can share an app. The default.
    Stable {
        /// The Mini Program's AppID.
        appid: String,
        /// Its AppSecret.
        secret: AppSecret,
    },
    /// `GET /cgi-bin/token`: each fetch rotates the token and invalidates the
    /// one other instances hold; use it only where a single instance fetches.
    Classic {
        /// The Mini Program's AppID.
        appid: String,
        /// Its AppSecret.
        secret: AppSecret,
    },
    /// A token given from outside, used as is and never refreshed.
    Fixed(AccessToken),
    /// No token at all: WeChat Cloud Hosting's open-API service accepts calls
    /// without one.
    None,
    /// A source of your own.
    Provider(Arc<dyn TokenProvider>),
}

impl TokenSource {
    /// The stable token of `appid`.
    pub fn stable(appid: impl Into<String>, secret: impl Into<String>) -> Self {
        TokenSource::Stable {
            appid: appid.into(),
            secret: AppSecret::new(secret),
        }
    }

    /// The classic token of `appid`.
    pub fn classic(appid: impl Into<String>, secret: impl Into<String>) -> Self {
        TokenSource::Classic {
            appid: appid.into(),
            secret: AppSecret::new(secret),
        }
    }

    /// A fixed token.
    pub fn fixed(token: impl Into<String>) -> Self {
        TokenSource::Fixed(AccessToken::new(token))
    }

    /// A source of your own.
    pub fn provider(provider: impl TokenProvider) -> Self {
        TokenSource::Provider(Arc::new(provider))
    }

    pub(crate) fn secret(&self) -> Option<&AppSecret> {
        match self {
            TokenSource::Stable { secret, .. } | TokenSource::Classic { secret, .. } => {
                Some(secret)
            }
            _ => None,
        }
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Stable { appid, secret } => f
                .debug_struct("Stable")
                .field("appid", appid)
                .field("secret", secret)
                .finish(),
            TokenSource::Classic { appid, secret } => f
                .debug_struct("Classic")
                .field("appid", appid)
                .field("secret", secret)
                .finish(),
            TokenSource::Fixed(token) => f.debug_tuple("Fixed").field(token).finish(),
            TokenSource::None => f.write_str("None"),
            TokenSource::Provider(_) => f.write_str("Provider(..)"),
        }
    }
}

/// The errcodes of the token endpoints (`/cgi-bin/stable_token`,
/// `/cgi-bin/token`). A code not listed is kept in `Unknown`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenErrcode {
    /// `-1`: system busy.
    SystemBusy,
    /// `40001`: the AppSecret is wrong.
    InvalidCredential,
    /// `40002`: invalid grant_type.
    InvalidGrantType,
    /// `40013`: invalid AppID.
    InvalidAppid,
    /// `40125`: invalid AppSecret.
    InvalidAppSecret,
    /// `40164`: the caller's IP is not on the app's allowlist.
    IpNotAllowed,
    /// `41002`: appid missing.
    AppidMissing,
    /// `41004`: secret missing.
    SecretMissing,
    /// `43002`: the request must be a POST.
    PostRequired,
    /// `45009`: the daily quota of token fetches is used up.
    DailyQuotaExceeded,
    /// `45011`: too many fetches this minute.
    RateLimited,
    /// `89503`: calls from this IP await the administrator's confirmation.
    IpAwaitingConfirmation,
    /// `89506`: the administrator refused this IP; retry in 24 hours.
    IpRefusedForADay,
    /// `89507`: the administrator refused this IP; retry in an hour.
    IpRefusedForAnHour,
    /// A code not listed above.
    Unknown {
        /// The code.
        code: i64,
        /// The errmsg.
        errmsg: String,
    },
}

const fn row(
    code: i64,
    name: &'static str,
    class: ErrorClass,
    description: &'static str,
) -> ErrcodeInfo {
    ErrcodeInfo {
        code,
        name,
        description,
        class,
    }
}

impl TokenErrcode {
    /// Every listed code, sorted by code.
    pub const TABLE: &'static [ErrcodeInfo] = &[
        row(
            -1,
            "SystemBusy",
            ErrorClass::Retry,
            "System is busy. Try again later.",
        ),
        row(
            40001,
            "InvalidCredential",
            ErrorClass::Permanent,
            "The AppSecret is wrong.",
        ),
        row(
            40002,
            "InvalidGrantType",
            ErrorClass::Permanent,
            "Invalid grant_type.",
        ),
        row(
            40013,
            "InvalidAppid",
            ErrorClass::Permanent,
            "Invalid AppID.",
        ),
        row(
            40125,
            "InvalidAppSecret",
            ErrorClass::Permanent,
            "Invalid AppSecret.",
        ),
        row(
            40164,
            "IpNotAllowed",
            ErrorClass::Permanent,
            "The caller's IP address is not on the allowlist.",
        ),
        row(
            41002,
            "AppidMissing",
            ErrorClass::Permanent,
            "The appid is missing.",
        ),
        row(
            41004,
            "SecretMissing",
            ErrorClass::Permanent,
            "The secret is missing.",
        ),
        row(
            43002,
            "PostRequired",
            ErrorClass::Permanent,
            "The request must use POST.",
        ),
        row(
            45009,
            "DailyQuotaExceeded",
            ErrorClass::Permanent,
            "The daily quota of token fetches is used up.",
        ),
        row(
            45011,
            "RateLimited",
            ErrorClass::Retry,
            "Too many token fetches this minute.",
        ),
        row(
            89503,
            "IpAwaitingConfirmation",
            ErrorClass::Permanent,
            "Calls from this IP address await the administrator's confirmation.",
        ),
        row(
            89506,
            "IpRefusedForADay",
            ErrorClass::Permanent,
            "The administrator refused calls from this IP address; retry in 24 hours.",
        ),
        row(
            89507,
            "IpRefusedForAnHour",
            ErrorClass::Permanent,
            "The administrator refused calls from this IP address; retry in an hour.",
        ),
    ];

    const VARIANTS: [TokenErrcode; 14] = [
        TokenErrcode::SystemBusy,
        TokenErrcode::InvalidCredential,
        TokenErrcode::InvalidGrantType,
        TokenErrcode::InvalidAppid,
        TokenErrcode::InvalidAppSecret,
        TokenErrcode::IpNotAllowed,
        TokenErrcode::AppidMissing,
        TokenErrcode::SecretMissing,
        TokenErrcode::PostRequired,
        TokenErrcode::DailyQuotaExceeded,
        TokenErrcode::RateLimited,
        TokenErrcode::IpAwaitingConfirmation,
        TokenErrcode::IpRefusedForADay,
        TokenErrcode::IpRefusedForAnHour,
    ];

    fn index(&self) -> Option<usize> {
        Self::VARIANTS.iter().position(|v| v == self)
    }
}

impl Errcode for TokenErrcode {
    fn from_code(code: i64, errmsg: &str) -> Self {
        match Self::TABLE.binary_search_by_key(&code, |row| row.code) {
            Ok(i) => Self::VARIANTS[i].clone(),
            Err(_) => TokenErrcode::Unknown {
                code,
                errmsg: errmsg.to_owned(),
            },
        }
    }

    fn code(&self) -> i64 {
        match self {
            TokenErrcode::Unknown { code, .. } => *code,
            known => known.index().map_or(0, |i| Self::TABLE[i].code),
        }
    }

    fn info(&self) -> Option<&'static ErrcodeInfo> {
        self.index().map(|i| &Self::TABLE[i])
    }
}

impl fmt::Display for TokenErrcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.info(), self) {
            (Some(info), _) => write!(f, "{} ({}): {}", info.name, info.code, info.description),
            (None, TokenErrcode::Unknown { code, errmsg }) => {
                write!(f, "unknown errcode {code}: {errmsg}")
            }
            (None, _) => f.write_str("errcode"),
        }
    }
}

/// No access token could be had. Cheap to clone: every caller waiting for
/// one refresh gets the same error.
#[derive(Clone, Debug)]
pub struct TokenError(Arc<TokenErrorKind>);

/// Why no access token could be had.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokenErrorKind {
    /// The token endpoint answered an errcode.
    Rejected(Rejection<TokenErrcode>),
    /// The token endpoint could not be reached, or broke off, or timed out.
    Transport(TransportError),
    /// The token endpoint's answer could not be read.
    BadAnswer(BadAnswer),
    /// A [`TokenProvider`] failed.
    Provider(BoxError),
    /// The refresh ended without a result (its task was stopped).
    Abandoned,
}

impl TokenError {
    fn new(kind: TokenErrorKind) -> Self {
        TokenError(Arc::new(kind))
    }

    /// Why.
    pub fn kind(&self) -> &TokenErrorKind {
        &self.0
    }

    /// The token endpoint's errcode, when it answered one.
    pub fn errcode(&self) -> Option<&TokenErrcode> {
        match &*self.0 {
            TokenErrorKind::Rejected(r) => Some(&r.errcode),
            _ => None,
        }
    }

    /// Whether fetching the token timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(&*self.0, TokenErrorKind::Transport(t) if t.is_timeout())
    }

    pub(crate) fn bad_answer(&self) -> Option<&BadAnswer> {
        match &*self.0 {
            TokenErrorKind::BadAnswer(b) => Some(b),
            _ => None,
        }
    }
}

impl From<Failure> for TokenError {
    fn from(failure: Failure) -> Self {
        TokenError::new(match failure {
            Failure::NotSent(t)
            | Failure::Unknown(DeliveryUnknown::Timeout(t))
            | Failure::Unknown(DeliveryUnknown::Interrupted(t)) => TokenErrorKind::Transport(t),
            Failure::Unknown(DeliveryUnknown::BadAnswer(b)) => TokenErrorKind::BadAnswer(b),
        })
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            TokenErrorKind::Rejected(r) => write!(
                f,
                "the token endpoint answered {} (errmsg: {:?})",
                r.errcode, r.errmsg
            ),
            TokenErrorKind::Transport(t) => write!(f, "the token endpoint failed: {t}"),
            TokenErrorKind::BadAnswer(b) => write!(f, "the token endpoint's answer: {b}"),
            TokenErrorKind::Provider(e) => write!(f, "the token provider failed: {e}"),
            TokenErrorKind::Abandoned => f.write_str("the token refresh was abandoned"),
        }
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            TokenErrorKind::Provider(e) => Some(&**e),
            _ => None,
        }
    }
}

/// A cached token and its generation: a refusal invalidates the cache only
/// if the cache still holds that generation.
#[derive(Clone, Debug)]
pub(crate) struct Lease {
    pub(crate) token: AccessToken,
    pub(crate) generation: u64,
}

type Flight = Option<Result<Lease, TokenError>>;

/// The token cache with single-flight refresh.
///
/// A refresh runs in a task of its own, not in the caller that started it:
/// dropping that caller neither cancels the refresh nor strands the callers
/// waiting on it (they watch the task's channel, which closes if the task
/// dies).
#[derive(Clone)]
pub(crate) struct TokenCache {
    shared: Arc<Shared>,
}

struct Shared {
    source: TokenSource,
    transport: Transport,
    retry: RetryPolicy,
    margin: Duration,
    provider_timeout: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    flight: Option<watch::Receiver<Flight>>,
    generation: u64,
}

struct Cached {
    lease: Lease,
    refresh_at: Option<Instant>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("source", &self.shared.source)
            .field("margin", &self.shared.margin)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub(crate) fn new(
        source: TokenSource,
        transport: Transport,
        retry: RetryPolicy,
        margin: Duration,
        provider_timeout: Duration,
    ) -> Self {
        TokenCache {
            shared: Arc::new(Shared {
                source,
                transport,
                retry,
                margin,
                provider_timeout,
                state: Mutex::new(State::default()),
            }),
        }
    }

    pub(crate) fn source(&self) -> &TokenSource {
        &self.shared.source
    }

    /// Whether a refused token can be replaced by fetching another.
    pub(crate) fn refreshable(&self) -> bool {
        !matches!(
            self.shared.source,
            TokenSource::None | TokenSource::Fixed(_)
        )
    }

    /// The token to use now (`None` when the source is [`TokenSource::None`]):
    /// the cached one while it is fresh, else the result of the one refresh
    /// in flight, started if none is.
    pub(crate) async fn get(&self) -> Result<Option<Lease>, TokenError> {
        match &self.shared.source {
            TokenSource::None => return Ok(None),
            TokenSource::Fixed(token) => {
                return Ok(Some(Lease {
                    token: token.clone(),
                    generation: 0,
                }));
            }
            _ => {}
        }
        let mut flight = {
            let mut state = self.shared.lock();
            let now = Instant::now();
            if let Some(cached) = &state.current
                && cached.refresh_at.is_none_or(|at| now < at)
            {
                return Ok(Some(cached.lease.clone()));
            }
            match &state.flight {
                // A live flight: its task still holds the sender.
                Some(flight) if flight.has_changed().is_ok() => flight.clone(),
                _ => {
                    let (sender, receiver) = watch::channel(None);
                    state.flight = Some(receiver.clone());
                    tokio::spawn(Shared::refresh(self.shared.clone(), sender));
                    receiver
                }
            }
        };
        let landed = flight
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|result| result.clone());
        match landed {
            Some(result) => result.map(Some),
            None => Err(TokenError::new(TokenErrorKind::Abandoned)),
        }
    }

    /// Drops the cached token if it is still generation `generation`: a
    /// refusal of an older token says nothing about the current one.
    pub(crate) fn invalidate(&self, generation: u64) {
        let mut state = self.shared.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|c| c.lease.generation == generation)
        {
            state.current = None;
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement: a panic elsewhere
        // while holding the lock leaves nothing half-done.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn refresh(self: Arc<Self>, sender: watch::Sender<Flight>) {
        let fetched = self.fetch().await;
        let result = {
            let mut state = self.lock();
            state.flight = None;
            match fetched {
                Ok(fresh) => {
                    state.generation += 1;
                    let lease = Lease {
                        token: fresh.token,
                        generation: state.generation,
                    };
                    let refresh_at = fresh
                        .expires_in
                        .map(|lifetime| Instant::now() + self.usable(lifetime));
                    state.current = Some(Cached {
                        lease: lease.clone(),
                        refresh_at,
                    });
                    tracing::debug!(
                        generation = lease.generation,
                        expires_in_s = fresh.expires_in.map(|d| d.as_secs()),
                        "access token refreshed"
                    );
                    Ok(lease)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "access token refresh failed");
                    Err(err)
                }
            }
        };
        sender.send_replace(Some(result));
    }

    /// How long a token of `lifetime` is used: its lifetime less the margin,
    /// or half of it when the margin is longer.
    fn usable(&self, lifetime: Duration) -> Duration {
        if lifetime > self.margin {
            lifetime - self.margin
        } else {
            lifetime / 2
        }
    }

    async fn fetch(&self) -> Result<FreshToken, TokenError> {
        match &self.source {
            TokenSource::Stable { appid, secret } => {
                let body = json!({
                    "grant_type": "client_credential",
                    "appid": appid,
                    "secret": secret.expose(),
                    "force_refresh": false,
                });
                let out = Outgoing {
                    method: Method::Post,
                    path: "/cgi-bin/stable_token",
                    query: Vec::new(),
                    body: OutBody::Json(Bytes::from(body.to_string())),
                };
                self.fetch_from_wechat(&out, secret).await
            }
            TokenSource::Classic { appid, secret } => {
                let out = Outgoing {
                    method: Method::Get,
                    path: "/cgi-bin/token",
                    query: vec![
                        ("grant_type".to_owned(), "client_credential".to_owned()),
                        ("appid".to_owned(), appid.clone()),
                        ("secret".to_owned(), secret.expose().to_owned()),
                    ],
                    body: OutBody::Empty,
                };
                self.fetch_from_wechat(&out, secret).await
            }
            TokenSource::Provider(provider) => {
                match tokio::time::timeout(self.provider_timeout, provider.fetch_token()).await {
                    Ok(Ok(fresh)) => Ok(fresh),
                    Ok(Err(err)) => Err(TokenError::new(TokenErrorKind::Provider(err))),
                    Err(_) => Err(TokenError::new(TokenErrorKind::Transport(
                        TransportError::timed_out("the token provider did not answer in time"),
                    ))),
                }
            }
            TokenSource::Fixed(token) => Ok(FreshToken {
                token: token.clone(),
                expires_in: None,
            }),
            TokenSource::None => Err(TokenError::new(TokenErrorKind::Abandoned)),
        }
    }

    /// Fetches from a WeChat token endpoint; retries busy answers and
    /// connections not made, as the client's policy says (a token fetch
    /// sends no message, but the classic one rotates the token, so a fetch
    /// that may have happened is not repeated).
    async fn fetch_from_wechat(
        &self,
        out: &Outgoing,
        secret: &AppSecret,
    ) -> Result<FreshToken, TokenError> {
        let scrub = Scrub {
            token: None,
            secret: Some(secret.expose()),
        };
        let mut retries = 0;
        loop {
            let retryable = match self.transport.exchange(out, None, &scrub).await {
                Ok(received) => match read_token(&received, &scrub) {
                    Ok(fresh) => return Ok(fresh),
                    Err(err) => {
                        let retryable = err.errcode().is_some_and(Errcode::is_retryable);
                        (retryable, err)
                    }
                },
                Err(failure) => {
                    let retryable = matches!(failure, Failure::NotSent(_));
                    (retryable, TokenError::from(failure))
                }
            };
            match retryable {
                (true, _) if retries < self.retry.max_retries() => {
                    tokio::time::sleep(self.retry.backoff(retries)).await;
                    retries += 1;
                }
                (_, err) => return Err(err),
            }
        }
    }
}

/// Reads `{access_token, expires_in}` or `{errcode, errmsg}`.
fn read_token(received: &Received, scrub: &Scrub<'_>) -> Result<FreshToken, TokenError> {
    if !(200..300).contains(&received.status) {
        return Err(received.bad(AnswerProblem::Status, scrub).into());
    }
    let (status, value) = read_json(received, Form::Http, scrub).map_err(TokenError::from)?;
    if let Some((code, errmsg)) = status {
        let errmsg = scrub.apply(&errmsg);
        return Err(TokenError::new(TokenErrorKind::Rejected(Rejection {
            errcode: TokenErrcode::from_code(code, &errmsg),
            rid: rid_of(&errmsg),
            errmsg,
        })));
    }
    let token = value.get("access_token").and_then(Value::as_str);
    // The answer holds the new token: keep it out of any excerpt.
    let scrub = Scrub {
        token: token.or(scrub.token),
        secret: scrub.secret,
    };
    let cx = Cx::new(Form::Http, false);
    let fields = |key: &str, kind: Option<&Value>| {
        let err = match kind {
            None => cx.missing(key),
            Some(found) => cx.error_at(
                key,
                WireErrorKind::WrongType {
                    expected: "a non-empty string or a positive integer",
                    found: json_type(found),
                },
            ),
        };
        TokenError::from(received.bad(AnswerProblem::Fields(err), &scrub))
    };
    let token = match token {
        Some(token) if !token.is_empty() => token,
        _ => return Err(fields("access_token", value.get("access_token"))),
    };
    let expires_in = match value.get("expires_in") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|s| s > 0) => n.as_u64().unwrap_or(0),
        other => return Err(fields("expires_in", other)),
    };
    Ok(FreshToken {
        token: AccessToken::new(token),
        expires_in: Some(Duration::from_secs(expires_in)),
    })
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
