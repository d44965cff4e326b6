//! The async client: sends any request of the spec over HTTPS or as a cloud
//! call, with access tokens, retries and errors that say whether the message
//! may have been delivered.
//!
//! One code path serves every endpoint and both transports: a request is
//! turned into its wire value ([`Wire::to_value`](crate::Wire::to_value) for typed requests, the
//! endpoint's `convert` for [`Client::send_value`]), sent by the call loop
//! (token, attempt, errcode class, retry), and its answer read back.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use wechat_msg::client::{Client, CloudFunction, Delivery, Via};
//! use wechat_msg::{CustomerServiceMessage, CustomerServiceMessageSendErrcode, Text};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // One client per app: it caches the (stable) access token and shares it.
//! let client = Client::builder()
//!     .credentials("APPID", "APPSECRET")
//!     // .base_url("http://127.0.0.1:8080") to send to the local emulator
//!     .timeout(Duration::from_secs(10))
//!     .build()?;
//!
//! let message = CustomerServiceMessage::builder()
//!     .touser("OPENID")
//!     .body(Text::builder().content("Hello World").build())
//!     .build();
//!
//! match client.send(&message).await {
//!     Ok(_) => println!("sent"),
//!     Err(err) if err.errcode() == Some(&CustomerServiceMessageSendErrcode::ReplyWindowClosed) => {
//!         println!("the user has not written recently; try a subscribe message");
//!     }
//!     // A timeout or a broken answer after the request went out: the
//!     // message may have arrived, so it is not resent automatically.
//!     Err(err) if err.delivery() == Delivery::Unknown => eprintln!("maybe sent: {err}"),
//!     Err(err) => return Err(err.into()),
//! }
//!
//! // The same message as a cloud call, through the relay in `cloud-relay/`.
//! let relay = Via::Cloud(CloudFunction::new("ENV_ID", "wechat-msg-relay"));
//! client.send_via(&message, &relay).await?;
//! # Ok(())
//! # }
//! ```

mod builder;
mod cloud;
mod error;
mod retry;
mod token;
mod transport;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::answer::{Rejection, rid_of};
use crate::endpoint::{Answer, AnswerKind, Endpoint, EndpointInfo, Errcode, ErrorClass};
use crate::media::encode_base64;
use crate::wire::Form;

pub use builder::{BuildError, ClientBuilder, DEFAULT_BASE_URL};
pub use cloud::CloudFunction;
pub use error::{
    AnswerProblem, AnyErrcode, BadAnswer, Delivery, DeliveryUnknown, Error, ErrorKind,
    TransportError,
};
pub use retry::RetryPolicy;
pub use token::{
    AccessToken, AppSecret, BoxError, BoxFuture, FreshToken, TokenErrcode, TokenError,
    TokenErrorKind, TokenProvider, TokenSource,
};

use error::Scrub;
use token::{Lease, TokenCache};
use transport::{Failure, Payload, Reply, Transport};

/// An async client for every endpoint of the spec.
///
/// Cheap to clone (an `Arc` inside): clones share the connection pool and
/// the token cache. Build one per app with [`Client::builder`].
///
/// ```no_run
/// use wechat_msg::client::Client;
/// use wechat_msg::{CustomerServiceMessage, Text};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder().credentials("APPID", "APPSECRET").build()?;
/// let message = CustomerServiceMessage::builder()
///     .touser("OPENID")
///     .body(Text::builder().content("Hello World").build())
///     .build();
/// match client.send(&message).await {
///     Ok(_ack) => println!("sent"),
///     Err(err) if err.is_delivery_unknown() => eprintln!("maybe sent, do not resend blindly: {err}"),
///     Err(err) => eprintln!("not delivered: {err}"),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    tokens: TokenCache,
    retry: RetryPolicy,
    via: Via,
    /// Kept to scrub it from anything WeChat echoes back.
    secret: Option<AppSecret>,
}

/// How a request travels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Via {
    /// The HTTPS API, in the HTTP form.
    #[default]
    Http,
    /// A cloud call in the camelCase form, through the relay function
    /// (`cloud-relay/`) and `POST /tcb/invokecloudfunction`.
    Cloud(CloudFunction),
}

impl Via {
    /// The wire form a request travels in.
    pub fn form(&self) -> Form {
        match self {
            Via::Http => Form::Http,
            Via::Cloud(_) => Form::Cloud,
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.transport.base)
            .field("tokens", &self.inner.tokens)
            .field("retry", &self.inner.retry)
            .field("via", &self.inner.via)
            .finish_non_exhaustive()
    }
}

/// A call WeChat answered without an errcode.
struct Done {
    reply: Reply,
    attempts: u32,
    token: Option<AccessToken>,
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

    /// Sends `request` the way the client is configured to ([`ClientBuilder::via`]).
    pub async fn send<E: Endpoint>(&self, request: &E) -> Result<E::Answer, Error<E::Errcode>> {
        self.send_via(request, &self.inner.via).await
    }

    /// Sends `request` over `via`. Both ways give the same answer type and
    /// the same errcode enum.
    pub async fn send_via<E: Endpoint>(
        &self,
        request: &E,
        via: &Via,
    ) -> Result<E::Answer, Error<E::Errcode>> {
        let info = E::INFO;
        let form = via.form();
        let done = self
            .call(info, via, request.to_value(form))
            .await
            .map_err(|err| err.map_errcode(|code, errmsg| E::Errcode::from_code(*code, errmsg)))?;
        let scrub = self.scrub(done.token.as_ref());
        let answer = match done.reply.payload {
            Payload::Json(value) => E::Answer::from_json(&value, done.reply.form).map_err(|err| {
                let body = value.to_string();
                BadAnswer::new(
                    200,
                    None,
                    AnswerProblem::Fields(err),
                    body.as_bytes(),
                    &scrub,
                )
            }),
            Payload::Binary(media) => {
                let head = media.bytes.get(..64).unwrap_or(&media.bytes).to_vec();
                let content_type = media.content_type.clone();
                E::Answer::from_bytes(&media.content_type, media.bytes).ok_or_else(|| {
                    BadAnswer::new(
                        200,
                        Some(&content_type),
                        AnswerProblem::UnexpectedShape,
                        &head,
                        &scrub,
                    )
                })
            }
        };
        answer.map_err(|bad| Error::new(info.name, form, done.attempts, ErrorKind::BadAnswer(bad)))
    }

    /// Sends a request known only at run time: `body`, in form `from`, to
    /// the endpoint `info`, over `via`. The body is validated with the
    /// endpoint's parser first (an invalid one is [`ErrorKind::InvalidRequest`],
    /// not sent); then it goes through the same call path as [`Client::send`].
    ///
    /// The answer comes back as JSON in form `from`: WeChat's answer object
    /// (errcode and errmsg included) with its top-level keys named as in
    /// `from`; a binary answer as `{"content_type"|"contentType": ..., "buffer": "<base64>"}`.
    ///
    /// ```no_run
    /// use wechat_msg::Form;
    /// use wechat_msg::client::{Client, Via};
    ///
    /// # async fn run(client: Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let info = wechat_msg::endpoint("customerServiceMessage.send").ok_or("unknown API")?;
    /// let body = serde_json::json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "hi"}});
    /// let answer = client.send_value(info, &body, Form::Http, &Via::Http).await?;
    /// println!("{answer}");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_value(
        &self,
        info: &'static EndpointInfo,
        body: &Value,
        from: Form,
        via: &Via,
    ) -> Result<Value, Error<AnyErrcode>> {
        let form = via.form();
        let value = (info.convert)(body, from, form)
            .map_err(|err| Error::new(info.name, form, 0, ErrorKind::InvalidRequest(err)))?;
        let done = self
            .call(info, via, value)
            .await
            .map_err(|err| err.map_errcode(|code, _| AnyErrcode::new(info, *code)))?;
        Ok(answer_value(info, done.reply, from))
    }

    /// The access token the client would use now, fetching one if needed;
    /// `None` with [`TokenSource::None`].
    pub async fn access_token(&self) -> Result<Option<AccessToken>, TokenError> {
        Ok(self.inner.tokens.get().await?.map(|lease| lease.token))
    }

    fn scrub<'a>(&'a self, token: Option<&'a AccessToken>) -> Scrub<'a> {
        Scrub {
            token: token.map(AccessToken::expose),
            secret: self.inner.secret.as_ref().map(AppSecret::expose),
        }
    }

    /// The call loop every send goes through: token, attempt, errcode class,
    /// retry. Errcodes are raw here; the callers map them to their enums.
    async fn call(
        &self,
        info: &'static EndpointInfo,
        via: &Via,
        value: Value,
    ) -> Result<Done, Error<i64>> {
        let form = via.form();
        let out = match via {
            Via::Http => transport::http_outgoing(info, value),
            Via::Cloud(function) => cloud::outgoing(info, value, function),
        };
        let span = tracing::info_span!(
            "wechat_msg.call",
            endpoint = info.name,
            via = form.as_str(),
            attempt = Empty,
            errcode = Empty,
            latency_ms = Empty,
        );
        let started = Instant::now();
        let result = async {
            let mut attempts = 0u32;
            let mut retries = 0u32;
            let mut refreshed = false;
            loop {
                let lease = self
                    .inner
                    .tokens
                    .get()
                    .await
                    .map_err(|err| (attempts, ErrorKind::Token(err)))?;
                attempts += 1;
                tracing::Span::current().record("attempt", attempts);
                let token = lease.as_ref().map(|l| &l.token);
                let scrub = self.scrub(token);
                let answered = match self.inner.transport.exchange(&out, token, &scrub).await {
                    Ok(received) => match via {
                        Via::Http => transport::read_http(received, info.answer, &scrub),
                        Via::Cloud(_) => cloud::read(received, &scrub),
                    },
                    Err(failure) => Err(failure),
                };
                let next = self.judge(info, answered, &lease, &scrub, retries, &mut refreshed);
                match next {
                    Next::Done(reply) => {
                        return Ok(Done {
                            reply,
                            attempts,
                            token: lease.map(|l| l.token),
                        });
                    }
                    Next::Fail(kind) => return Err((attempts, kind)),
                    Next::Refresh => {}
                    Next::Retry => {
                        tokio::time::sleep(self.inner.retry.backoff(retries)).await;
                        retries += 1;
                    }
                }
            }
        }
        .instrument(span.clone())
        .await;
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        result.map_err(|(attempts, kind)| {
            let _entered = span.enter();
            match &kind {
                ErrorKind::DeliveryUnknown(reason) => {
                    tracing::warn!(%reason, "delivery unknown; not retried")
                }
                ErrorKind::Rejected(r) => tracing::info!(errcode = r.errcode, "rejected"),
                _ => tracing::info!(kind = kind_name(&kind), "failed"),
            }
            Error::new(info.name, form, attempts, kind)
        })
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
        let may_retry = retries < self.inner.retry.max_retries();
        let reply = match answered {
            Ok(reply) => reply,
            Err(Failure::NotSent(t)) if may_retry => {
                tracing::debug!(error = %t, "not sent; retrying");
                return Next::Retry;
            }
            Err(Failure::NotSent(t)) => return Next::Fail(ErrorKind::NotSent(t)),
            Err(Failure::Unknown(d)) => return Next::Fail(ErrorKind::DeliveryUnknown(d)),
        };
        let Some((code, errmsg)) = &reply.status else {
            return Next::Done(reply);
        };
        tracing::Span::current().record("errcode", code);
        let class = info
            .errcode(*code)
            .map_or(ErrorClass::Permanent, |row| row.class);
        match (class, lease) {
            (ErrorClass::RefreshToken, Some(lease))
                if !*refreshed && self.inner.tokens.refreshable() =>
            {
                tracing::debug!(errcode = code, "token refused; refreshing once");
                *refreshed = true;
                self.inner.tokens.invalidate(lease.generation);
                Next::Refresh
            }
            (ErrorClass::Retry, _) if may_retry => {
                tracing::debug!(errcode = code, "transient errcode; retrying");
                Next::Retry
            }
            _ => {
                let errmsg = scrub.apply(errmsg);
                Next::Fail(ErrorKind::Rejected(Rejection {
                    errcode: *code,
                    rid: rid_of(&errmsg),
                    errmsg,
                }))
            }
        }
    }

    /// The token source the client was built with.
    pub fn token_source(&self) -> &TokenSource {
        self.inner.tokens.source()
    }
}

enum Next {
    Done(Reply),
    Fail(ErrorKind<i64>),
    Refresh,
    Retry,
}

fn kind_name<C>(kind: &ErrorKind<C>) -> &'static str {
    match kind {
        ErrorKind::Rejected(_) => "rejected",
        ErrorKind::DeliveryUnknown(_) => "delivery_unknown",
        ErrorKind::NotSent(_) => "not_sent",
        ErrorKind::BadAnswer(_) => "bad_answer",
        ErrorKind::Token(_) => "token",
        ErrorKind::InvalidRequest(_) => "invalid_request",
    }
}

/// A dynamic answer, its top-level keys named as in form `to`.
fn answer_value(info: &'static EndpointInfo, reply: Reply, to: Form) -> Value {
    match reply.payload {
        Payload::Binary(media) => {
            let type_key = match to {
                Form::Http => "content_type",
                Form::Cloud => "contentType",
            };
            let mut object = Map::new();
            object.insert(type_key.to_owned(), Value::from(media.content_type));
            object.insert(
                "buffer".to_owned(),
                Value::from(encode_base64(&media.bytes)),
            );
            Value::Object(object)
        }
        Payload::Json(Value::Object(object)) if reply.form != to => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| (rename(info, key, reply.form), value))
                .collect(),
        ),
        Payload::Json(value) => value,
    }
}

/// The name in the other form of a top-level answer key, when known.
fn rename(info: &'static EndpointInfo, key: String, from: Form) -> String {
    let binary = (info.answer == AnswerKind::Binary).then_some(("content_type", "contentType"));
    let pairs = [("errcode", "errCode"), ("errmsg", "errMsg")]
        .into_iter()
        .chain(binary)
        .chain(info.answer_fields.iter().map(|f| (f.http, f.cloud)));
    for (http, cloud) in pairs {
        let (source, target) = match from {
            Form::Http => (http, cloud),
            Form::Cloud => (cloud, http),
        };
        if key == source {
            return target.to_owned();
        }
    }
    key
}
