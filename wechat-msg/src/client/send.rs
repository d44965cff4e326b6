//! The client: sending typed requests and requests known only at run
//! time through the call loop, and reading their answers.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::answer::errcode_of;
use crate::endpoint::{Answer, AnyErrcode, Endpoint, EndpointInfo, Errcode};
use crate::protocol;
use crate::wire::{Form, WireError, WireErrorKind, Wired};

use super::call::Caller;
use super::error::Error;
use super::failure::{AnswerProblem, BadAnswer};
use super::kind::ErrorKind;
use super::secrets::{AccessToken, Scrub};
use super::token::{TokenError, TokenSource};
use super::transport::{Outgoing, Payload, Reply};
use super::via::Via;

/// An async client for every endpoint of the spec.
///
/// Cheap to clone (an `Arc` inside): clones share the connection pool and
/// the token cache. Build one per app with [`Client::builder`].
///
/// ```no_run
/// use wechat_msg::Client;
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
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) caller: Caller,
    /// How [`Client::send`] sends.
    pub(crate) via: Via,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let caller = &self.inner.caller;
        f.debug_struct("Client")
            .field("base_url", &caller.transport.base)
            .field("tokens", &caller.tokens)
            .field("retry", &caller.retry)
            .field("via", &self.inner.via)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Sends `request` the way the client is configured to ([`ClientBuilder::via`](super::ClientBuilder::via)):
    /// [`Client::send_via`] with that way.
    pub fn send<'a, E: Endpoint>(
        &'a self,
        request: &'a E,
    ) -> impl Future<Output = Result<E::Answer, Error<E::Errcode>>> + 'a {
        // Not an `async fn` of its own: a future around `send_via`'s would
        // be one more state machine to copy and to resume on every poll.
        self.send_via(request, &self.inner.via)
    }

    /// Sends `request` over `via`. Both ways give the same answer type and
    /// the same errcode enum. A request that breaks a rule its JSON shape
    /// cannot express (a template keyword's value, see
    /// [`Wire::validate`](crate::Wire::validate)) is
    /// [`ErrorKind::InvalidRequest`] and not sent.
    pub async fn send_via<E: Endpoint>(
        &self,
        request: &E,
        via: &Via,
    ) -> Result<E::Answer, Error<E::Errcode>> {
        let info = E::INFO;
        self.exchange(
            info,
            via,
            // What the JSON shape cannot say (keyword values) is checked
            // before anything leaves: an invalid request is refused as not
            // sent.
            |via, form| {
                request.validate(form)?;
                via.outgoing(info, &Wired(form, request), &|key| request.media(key))
                    .map_err(|err| unwritable(&err))
            },
            errcode_of::<E::Errcode>,
            |reply, scrub| match reply.payload {
                Payload::Json(value) => E::Answer::from_json(&value, reply.form).map_err(|err| {
                    let body = value.to_string();
                    off_spec(err, body.as_bytes(), scrub)
                }),
                Payload::Text(text) => E::Answer::from_checked_text(&text, reply.form)
                    .map_err(|err| off_spec(err, text.as_bytes(), scrub)),
                Payload::Binary(media) => {
                    let head = media.bytes.get(..64).unwrap_or(&media.bytes).to_vec();
                    let content_type = media.content_type.clone();
                    E::Answer::from_bytes(&media.content_type, media.bytes).ok_or_else(|| {
                        BadAnswer::new(
                            200,
                            Some(&content_type),
                            AnswerProblem::UnexpectedShape,
                            &head,
                            scrub,
                        )
                    })
                }
            },
        )
        .await
    }

    /// Sends a request known only at run time: `body`, in form `from`, to
    /// the endpoint `info`, over `via`. The body is validated with the
    /// endpoint's parser first (an invalid one is [`ErrorKind::InvalidRequest`],
    /// not sent); then it goes through the same call path as [`Client::send`].
    ///
    /// The answer comes back as JSON in form `from`: WeChat's answer object
    /// (errcode and errmsg included) with its keys named as in `from` at
    /// every depth ([`EndpointInfo::convert_answer`]: the spec's names, and
    /// wx-server-sdk's rule for keys the spec does not name); an answer that
    /// does not have the spec's shape is [`ErrorKind::BadAnswer`], as for
    /// [`Client::send`]; a binary answer as `{"content_type"|"contentType": ..., "buffer": "<base64>"}`.
    ///
    /// ```no_run
    /// use wechat_msg::Form;
    /// use wechat_msg::{Client, Via};
    ///
    /// # async fn run(client: Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let info = wechat_msg::meta::endpoint("customerServiceMessage.send").ok_or("unknown API")?;
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
        self.exchange(
            info,
            via,
            |via, form| {
                let request = (info.parse)(body, from)?;
                via.outgoing(info, &*request.in_form(form), &|key| request.media(key))
                    .map_err(|err| unwritable(&err))
            },
            |code, _| AnyErrcode::new(info, code),
            |reply, scrub| answer_value(info, reply, from, scrub),
        )
        .await
    }

    /// What [`Client::send_via`] and [`Client::send_value`] share: `via`
    /// narrowed to what `info` allows; the request written for it by
    /// `write`, which checks it first (an error of either is
    /// [`ErrorKind::InvalidRequest`], and nothing is sent); the call loop,
    /// whose refusals name their errcode by `errcode`; and the answer read
    /// by `read` ([`ErrorKind::BadAnswer`] when it does not fit).
    async fn exchange<C: Errcode, A>(
        &self,
        info: &'static EndpointInfo,
        via: &Via,
        write: impl FnOnce(&Via, Form) -> Result<Outgoing, WireError>,
        errcode: impl FnOnce(i64, &str) -> C,
        read: impl FnOnce(Reply, &Scrub<'_>) -> Result<A, BadAnswer>,
    ) -> Result<A, Error<C>> {
        let via = via.for_endpoint(info);
        let form = via.form();
        let out = write(via, form)
            .map_err(|err| Error::new(info.name, form, 0, ErrorKind::InvalidRequest(err)))?;
        let done = self
            .inner
            .caller
            .call(info, via, out)
            .await
            .map_err(|failed| Error::failed(info.name, form, failed).with_errcode(errcode))?;
        let scrub = self.inner.caller.scrub(done.token.as_ref());
        read(done.reply, &scrub)
            .map_err(|bad| Error::new(info.name, form, done.attempts, ErrorKind::BadAnswer(bad)))
    }

    /// The access token the client would use now, fetching one if needed;
    /// `None` with [`TokenSource::None`].
    pub async fn access_token(&self) -> Result<Option<AccessToken>, TokenError> {
        Ok(self
            .inner
            .caller
            .tokens
            .get()
            .await?
            .map(|lease| lease.token))
    }

    /// The token source the client was built with.
    pub fn token_source(&self) -> &TokenSource {
        self.inner.caller.tokens.source()
    }
}

/// A successful answer (`body`) whose fields do not match the spec.
fn off_spec(err: WireError, body: &[u8], scrub: &Scrub<'_>) -> BadAnswer {
    BadAnswer::new(200, None, AnswerProblem::Fields(err), body, scrub)
}

/// A request its wire form cannot hold (a joined list's item that contains
/// the separator), as the error of an invalid request.
fn unwritable(err: &serde_json::Error) -> WireError {
    WireError::at_root(WireErrorKind::Unwritable(err.to_string()))
}

/// A dynamic answer in form `to`: a JSON answer converted at every depth by
/// the endpoint's generated answer conversion; an answer that does not have
/// the spec's shape is a [`BadAnswer`], as it is for [`Client::send`].
fn answer_value(
    info: &'static EndpointInfo,
    reply: Reply,
    to: Form,
    scrub: &Scrub<'_>,
) -> Result<Value, BadAnswer> {
    let value = match reply.payload {
        Payload::Binary(media) => {
            return Ok(protocol::buffer_value(to, media.content_type, &media.bytes));
        }
        Payload::Json(value) => value,
        // Checked as JSON when it was kept as text, and free of secrets.
        Payload::Text(text) => crate::wire::parse_json(text.as_bytes())
            .map_err(|err| off_spec(err, text.as_bytes(), scrub))?,
    };
    if reply.form == to {
        return Ok(value);
    }
    (info.convert_answer)(&value, reply.form, to).map_err(|err| {
        let body = value.to_string();
        off_spec(err, body.as_bytes(), scrub)
    })
}
