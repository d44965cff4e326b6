//! Fetching one fresh token from a source: WeChat's token endpoints (with
//! the client's retry policy) or a provider of your own.
//!
//! A token answer is secret until its fields are read: every byte of it
//! may be the token. Its problems are reported by status, kind and size,
//! never by excerpt, and its errmsg is scrubbed of any token it carries.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::answer::Rejection;
use crate::api::{GrantType, StableTokenRequest, TokenAnswer, TokenRequest};
use crate::client::failure::{AnswerProblem, Failure, TransportError};
use crate::client::http;
use crate::client::retry::RetryPolicy;
use crate::client::secrets::{AccessToken, AppSecret, Scrub};
use crate::client::transport::{Received, Transport, read_json};
use crate::endpoint::{Answer, Endpoint, Errcode};
use crate::wire::{Cx, Form, WireErrorKind, Wired};

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
                let request = StableTokenRequest::builder()
                    .grant_type(GrantType::ClientCredential)
                    .appid(appid.as_str())
                    .secret(secret.expose())
                    .force_refresh(false)
                    .build();
                self.fetch_from_wechat(&request, secret).await
            }
            TokenSource::Classic { appid, secret } => {
                let request = TokenRequest::builder()
                    .grant_type(GrantType::ClientCredential)
                    .appid(appid.as_str())
                    .secret(secret.expose())
                    .build();
                self.fetch_from_wechat(&request, secret).await
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
    async fn fetch_from_wechat<R: Endpoint>(
        &self,
        request: &R,
        secret: &AppSecret,
    ) -> Result<FreshToken, TokenError> {
        let out = &http::outgoing(R::INFO, &Wired(Form::Http, request), &|key| {
            request.media(key)
        })
        .map_err(|err| TokenErrorKind::Transport(TransportError::unwritable(&err)))
        .map_err(TokenError::new)?;
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
    let (status, mut value) = read_json(received, Form::Http, scrub).map_err(TokenError::from)?;
    normalize_expiry(&mut value);
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
    let bad = |err| TokenError::from(received.bad(AnswerProblem::Fields(err), &scrub));
    let answer = <TokenAnswer as Answer>::from_json(&value, Form::Http).map_err(bad)?;
    if answer.access_token.is_empty() {
        return Err(bad(cx.error_at(
            "access_token",
            WireErrorKind::WrongType {
                expected: "a non-empty string",
                found: "an empty string",
            },
        )));
    }
    let expires_in = u64::try_from(answer.expires_in)
        .ok()
        .filter(|&s| s > 0)
        .map(|s| Duration::from_secs(s).min(LONGEST_LIFETIME))
        .ok_or_else(|| bad(cx.error_at("expires_in", WireErrorKind::OutOfRange)))?;
    Ok(FreshToken {
        token: AccessToken::new(answer.access_token),
        expires_in: Some(expires_in),
    })
}

/// Makes `expires_in` what the generated reader takes: a number beyond
/// `i64` or with a fraction becomes the whole seconds [`lifetime`] believes
/// (the longest lifetime, or 0 when it is below a second).
fn normalize_expiry(value: &mut Value) {
    if let Some(slot) = value.get_mut("expires_in")
        && let Value::Number(n) = slot
        && n.as_i64().is_none()
    {
        let seconds = lifetime(n).map_or(0, |d| d.as_secs());
        *slot = Value::from(seconds);
    }
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
