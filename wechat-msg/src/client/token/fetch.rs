//! Fetching one fresh token from a source: WeChat's token endpoints (with
//! the client's retry policy) or a provider of your own.
//!
//! A token answer is secret until its fields are read: every byte of it
//! may be the token. Its problems are reported by status, kind and size,
//! never by excerpt, and its errmsg is scrubbed of any token it carries.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::answer::Rejection;
use crate::client::failure::{AnswerProblem, Failure, TransportError};
use crate::client::retry::RetryPolicy;
use crate::client::secrets::{AccessToken, AppSecret, Scrub};
use crate::client::transport::{OutBody, Outgoing, QueryPair, Received, Transport, read_json};
use crate::endpoint::{Errcode, Method};
use crate::wire::{Cx, Form, WireErrorKind};

use super::error::{TokenErrcode, TokenError, TokenErrorKind};
use super::source::{FreshToken, TokenSource};

/// The longest lifetime a token answer is believed: WeChat's tokens live
/// 7200 s; a larger `expires_in` (up to 2^64 - 1) is taken as a day.
pub(crate) const LONGEST_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// What fetching needs: the source, the HTTP side, the retry policy, and
/// how long a provider may take.
#[derive(Debug)]
pub(crate) struct Fetcher {
    pub(crate) source: TokenSource,
    pub(crate) transport: Transport,
    pub(crate) retry: RetryPolicy,
    pub(crate) provider_timeout: Duration,
}

impl Fetcher {
    /// A fresh token from the source.
    pub(crate) async fn fetch(&self) -> Result<FreshToken, TokenError> {
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
                        QueryPair::text("grant_type", "client_credential"),
                        QueryPair::text("appid", appid.clone()),
                        QueryPair::text("secret", secret.expose()),
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
            #[cfg(feature = "redis")]
            TokenSource::Stored { .. } => Err(TokenError::new(TokenErrorKind::Abandoned)),
        }
    }

    /// Fetches from a WeChat token endpoint; retries busy answers and
    /// connections not made, as the client's policy says (a token fetch
    /// sends no message, but the classic one rotates the token, so a fetch
    /// that may have happened is not repeated), within its deadline.
    async fn fetch_from_wechat(
        &self,
        out: &Outgoing,
        secret: &AppSecret,
    ) -> Result<FreshToken, TokenError> {
        let scrub = Scrub {
            token: None,
            secret: Some(secret.expose()),
            withhold_body: true,
        };
        let started = Instant::now();
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
            let wait = self.retry.backoff(retries);
            match retryable {
                (true, _)
                    if retries < self.retry.max_retries()
                        && !self.retry.past_deadline(started.elapsed(), wait) =>
                {
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
                (_, err) => return Err(err),
            }
        }
    }
}

/// How long a token of `lifetime` is used: its lifetime less the margin,
/// or half of it when the margin is longer.
pub(crate) fn usable(lifetime: Duration, margin: Duration) -> Duration {
    match lifetime.checked_sub(margin) {
        Some(usable) if !usable.is_zero() => usable,
        _ => lifetime / 2,
    }
}

/// Reads `{access_token, expires_in}` or `{errcode, errmsg}`. `scrub`
/// withholds the body.
fn read_token(received: &Received, scrub: &Scrub<'_>) -> Result<FreshToken, TokenError> {
    if !(200..300).contains(&received.status) {
        return Err(received.bad(AnswerProblem::Status, scrub).into());
    }
    let (status, value) = read_json(received, Form::Http, scrub).map_err(TokenError::from)?;
    let token = value.get("access_token").and_then(Value::as_str);
    // The answer may hold a token, even beside an errcode: keep it out of
    // the errmsg too.
    let scrub = scrub.and_token(token.filter(|t| !t.is_empty()));
    if let Some(refusal) = status {
        return Err(TokenError::new(TokenErrorKind::Rejected(Rejection::<
            TokenErrcode,
        >::new(
            refusal.code,
            &scrub.apply(&refusal.errmsg),
        ))));
    }
    let cx = Cx::new(Form::Http, false);
    let bad = |key: &str, kind: WireErrorKind| {
        let err = cx.error_at(key, kind);
        TokenError::from(received.bad(AnswerProblem::Fields(err), &scrub))
    };
    let token = match value.get("access_token") {
        Some(Value::String(token)) if !token.is_empty() => token,
        Some(found) => return Err(bad("access_token", wrong_type("a non-empty string", found))),
        None => return Err(bad("access_token", WireErrorKind::Missing)),
    };
    let expires_in = match value.get("expires_in") {
        Some(Value::Number(n)) => {
            lifetime(n).ok_or_else(|| bad("expires_in", WireErrorKind::OutOfRange))?
        }
        Some(found) => return Err(bad("expires_in", wrong_type("a positive integer", found))),
        None => return Err(bad("expires_in", WireErrorKind::Missing)),
    };
    Ok(FreshToken {
        token: AccessToken::new(token.as_str()),
        expires_in: Some(expires_in),
    })
}

/// A lifetime of `seconds`: at least a second, at most [`LONGEST_LIFETIME`]
/// (any larger number, however large, is that); `None` when not positive.
fn lifetime(seconds: &serde_json::Number) -> Option<Duration> {
    let seconds = match (seconds.as_u64(), seconds.as_f64()) {
        (Some(s), _) => s,
        // Beyond u64, or a fraction: `as` saturates.
        (None, Some(s)) if s >= 1.0 => s as u64,
        _ => 0,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds).min(LONGEST_LIFETIME))
}

fn wrong_type(expected: &'static str, found: &Value) -> WireErrorKind {
    let found = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    WireErrorKind::WrongType { expected, found }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_clamped_never_overflowing() {
        let n = |text: &str| serde_json::from_str::<serde_json::Number>(text).unwrap();
        assert_eq!(lifetime(&n("7200")), Some(Duration::from_secs(7200)));
        for huge in [
            "18446744073709551615",
            "9223372036854775808",
            "1e300",
            "1e19",
        ] {
            assert_eq!(lifetime(&n(huge)), Some(LONGEST_LIFETIME), "{huge}");
        }
        for bad in ["0", "-1", "-9223372036854775808", "0.5", "-1e300"] {
            assert_eq!(lifetime(&n(bad)), None, "{bad}");
        }
    }
}
