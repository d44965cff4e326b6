//! The call loop every send goes through, whatever the endpoint and the
//! transport: token, attempt, errcode class, retry, within the deadline.
//! Errcodes are raw here; the public error maps them to the endpoint's enum.

use std::time::{Duration, Instant};

use tracing::Instrument as _;
use tracing::field::Empty;

use crate::Form;
use crate::answer::{ERRMSG_KEPT, Rejection, bounded, rid_of};
use crate::endpoint::{EndpointInfo, ErrorClass};

use super::failure::Failure;
use super::kind::ErrorKind;
use super::rate::Limiter;
use super::retry::RetryPolicy;
use super::secrets::{AccessToken, AppSecret, Scrub};
use super::token::{Lease, TokenCache};
use super::transport::{Outgoing, Payload, Reply, Transport};
use super::via::Via;

/// What a call needs: the HTTP side, the tokens, the retry policy.
#[derive(Debug)]
pub(crate) struct Caller {
    pub(crate) transport: Transport,
    pub(crate) tokens: TokenCache,
    pub(crate) retry: RetryPolicy,
    /// Kept to scrub it from anything WeChat echoes back.
    pub(crate) secret: Option<AppSecret>,
    /// Calls per second per endpoint, waited for before each attempt.
    pub(crate) rate: Option<Limiter>,
}

/// A call WeChat answered without an errcode; its payload scrubbed of the
/// token and the secret.
pub(crate) struct Done {
    pub(crate) reply: Reply,
    pub(crate) attempts: u32,
    pub(crate) token: Option<AccessToken>,
}

/// A call that failed.
pub(crate) struct Failed {
    pub(crate) kind: ErrorKind<i64>,
    pub(crate) attempts: u32,
    /// The deadline, when reaching it stopped a retry.
    pub(crate) deadline: Option<Duration>,
}

/// What to do after an attempt.
enum Next {
    Done(Reply),
    Fail(ErrorKind<i64>),
    /// Try again after `wait`, if the deadline allows; `kind` is the
    /// failure reported if it does not. `retry` counts against the retries.
    Again {
        wait: Duration,
        kind: ErrorKind<i64>,
        retry: bool,
    },
}

impl Caller {
    /// The token lease a call of `info` is made with: none for an endpoint
    /// that takes no access_token.
    async fn lease_for(
        &self,
        info: &'static EndpointInfo,
    ) -> Result<Option<Lease>, super::token::TokenError> {
        if info.auth == crate::endpoint::Auth::None {
            return Ok(None);
        }
        self.tokens.get().await
    }

    /// What to scrub from what comes back of a call made with `token`.
    pub(crate) fn scrub<'a>(&'a self, token: Option<&'a AccessToken>) -> Scrub<'a> {
        Scrub {
            token: token.map(AccessToken::expose),
            secret: self.secret.as_ref().map(AppSecret::expose),
            withhold_body: false,
        }
    }

    /// Sends `out` (made by `via` for `info`) until it is answered, fails,
    /// or may not be tried again.
    ///
    /// One state machine inside the span, not an `async fn` around an
    /// instrumented block: each level of future is copied when it is made
    /// and resumed on every poll of a send.
    pub(crate) fn call<'a>(
        &'a self,
        info: &'static EndpointInfo,
        via: &'a Via,
        out: Outgoing,
    ) -> impl Future<Output = Result<Done, Failed>> + 'a {
        let span = tracing::info_span!(
            "wechat_msg.call",
            endpoint = info.name,
            via = via.form().as_str(),
            attempt = Empty,
            errcode = Empty,
            latency_ms = Empty,
        );
        async move {
            let started = Instant::now();
            let mut attempts = 0u32;
            let mut retries = 0u32;
            let mut refreshed = false;
            let result = loop {
                // An endpoint that takes no access_token (`auth = "none"`:
                // clear_quota/v2, called when token fetches are what ran
                // out) is sent without one, and fetches none.
                let lease = match self.lease_for(info).await {
                    Ok(lease) => lease,
                    Err(err) => {
                        break Err(Failed {
                            kind: ErrorKind::Token(err),
                            attempts,
                            deadline: None,
                        });
                    }
                };
                if let Some(rate) = &self.rate {
                    rate.ready(info.name).await;
                }
                attempts += 1;
                tracing::Span::current().record("attempt", attempts);
                let token = lease.as_ref().map(|l| &l.token);
                let scrub = self.scrub(token);
                let answered = match self.transport.exchange(&out, token, &scrub).await {
                    Ok(received) => via.read(info, received, &scrub),
                    Err(failure) => Err(failure),
                };
                match self.judge(info, answered, &lease, &scrub, retries, &mut refreshed) {
                    Next::Done(mut reply) => {
                        if let Payload::Json(value) = reply.payload {
                            reply.payload = Payload::Json(scrub.apply_json(value));
                        }
                        break Ok(Done {
                            reply,
                            attempts,
                            token: lease.map(|l| l.token),
                        });
                    }
                    Next::Fail(kind) => {
                        break Err(Failed {
                            kind,
                            attempts,
                            deadline: None,
                        });
                    }
                    Next::Again { wait, kind, retry } => {
                        if self.retry.past_deadline(started.elapsed(), wait) {
                            tracing::debug!("deadline reached; not trying again");
                            break Err(Failed {
                                kind,
                                attempts,
                                deadline: Some(self.retry.deadline()),
                            });
                        }
                        if retry {
                            tokio::time::sleep(wait).await;
                            retries += 1;
                        }
                    }
                }
            };
            tracing::Span::current().record(
                "latency_ms",
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            );
            if let Err(failed) = &result {
                match &failed.kind {
                    ErrorKind::DeliveryUnknown(reason) => {
                        tracing::warn!(%reason, "delivery unknown; not retried")
                    }
                    ErrorKind::Rejected(r) => tracing::info!(errcode = r.errcode, "rejected"),
                    kind => tracing::info!(kind = kind.name(), "failed"),
                }
            }
            result
        }
        .instrument(span)
    }

    /// What to do after an attempt.
    fn judge(
        &self,
        info: &'static EndpointInfo,
        answered: Result<Reply, Failure>,
        lease: &Option<Lease>,
        scrub: &Scrub<'_>,
        retries: u32,
        refreshed: &mut bool,
    ) -> Next {
        let may_retry = retries < self.retry.max_retries();
        let reply = match answered {
            Ok(reply) => reply,
            Err(Failure::NotSent(t)) if may_retry => {
                tracing::debug!(error = %t, "not sent; retrying");
                return Next::Again {
                    wait: self.retry.backoff(retries),
                    kind: ErrorKind::NotSent(t),
                    retry: true,
                };
            }
            Err(Failure::NotSent(t)) => return Next::Fail(ErrorKind::NotSent(t)),
            Err(Failure::Unknown(d)) => return Next::Fail(ErrorKind::DeliveryUnknown(d)),
        };
        let Some(refusal) = &reply.status else {
            return Next::Done(reply);
        };
        let code = refusal.code;
        tracing::Span::current().record("errcode", code);
        let full = scrub.apply(&refusal.errmsg);
        let rejected = ErrorKind::Rejected(Rejection {
            errcode: code,
            rid: rid_of(&full),
            errmsg: bounded(&full, ERRMSG_KEPT),
        });
        let class = match info
            .errcode(code)
            .map_or(ErrorClass::Permanent, |row| row.class)
        {
            // An errcode inside a cloud call's resp_data is the relay's:
            // a token error there is about the relay's own credentials,
            // which a new token of ours cannot fix.
            ErrorClass::RefreshToken if reply.form == Form::Cloud => ErrorClass::Permanent,
            class => class,
        };
        match (class, lease) {
            (ErrorClass::RefreshToken, Some(lease)) if !*refreshed && self.tokens.refreshable() => {
                tracing::debug!(errcode = code, "token refused; refreshing once");
                *refreshed = true;
                self.tokens.invalidate(lease.generation);
                Next::Again {
                    wait: Duration::ZERO,
                    kind: rejected,
                    retry: false,
                }
            }
            (ErrorClass::Retry, _) if may_retry => {
                tracing::debug!(errcode = code, "transient errcode; retrying");
                Next::Again {
                    wait: self.retry.backoff(retries),
                    kind: rejected,
                    retry: true,
                }
            }
            _ => Next::Fail(rejected),
        }
    }
}
