//! Bulk send: many messages through one client, with bounded concurrency,
//! a rate limit, at most one send in flight per user, and an outcome per
//! message.
//!
//! WeChat answers 43108 to concurrent calls for one openid, so messages to
//! the same user are sent one after the other, in input order; messages to
//! different users go out concurrently. The user of a message is the value
//! of the field the spec gives [`Role::Openid`], wherever it is in the body.
//!
//! Every message gets exactly one attempt through the call loop (which
//! retries what is safe to retry, `-1` system busy, and never a send whose
//! delivery is unknown): no outcome leads to a resend.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::Form;
use crate::endpoint::{Endpoint, EndpointInfo, Role};

use super::error::Error;
use super::kind::{Delivery, ErrorKind};
use super::send::Client;
use super::via::Via;

/// One message of a bulk send: an endpoint and its body, typed or known
/// only at run time.
#[derive(Clone, Debug)]
pub struct BulkMessage {
    info: &'static EndpointInfo,
    body: Value,
    from: Form,
}

impl BulkMessage {
    /// A typed request.
    pub fn new<E: Endpoint>(request: &E) -> Self {
        BulkMessage {
            info: E::INFO,
            body: request.to_value(Form::Http),
            from: Form::Http,
        }
    }

    /// A body known only at run time, in form `from`, for the endpoint
    /// `info` (as [`Client::send_value`] takes it). It is validated before
    /// it is sent; an invalid one is [`Outcome::NotSent`] with
    /// [`ErrorKind::InvalidRequest`].
    pub fn value(info: &'static EndpointInfo, body: Value, from: Form) -> Self {
        BulkMessage { info, body, from }
    }

    /// The endpoint it goes to.
    pub fn endpoint(&self) -> &'static EndpointInfo {
        self.info
    }
}

/// What became of one message of a bulk send.
#[derive(Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// WeChat accepted it: its answer, in the HTTP form.
    Sent(Value),
    /// WeChat answered an errcode ([`Error::errcode`], [`Error::class`]);
    /// retryable codes were retried first.
    Rejected(Error),
    /// Nothing reached WeChat: an invalid body, no connection, no token.
    /// Sending it again is safe.
    NotSent(Error),
    /// The request may have reached WeChat and no usable answer came back.
    /// It is never sent again by the bulk send; sending it again may
    /// deliver it twice.
    DeliveryUnknown(Error),
    /// The [`before_send`](BulkOptions::before_send) gate declined it:
    /// nothing was sent.
    Withheld,
}

impl Outcome {
    /// `"sent"`, `"rejected"`, `"not_sent"`, `"delivery_unknown"` or `"withheld"`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Sent(_) => "sent",
            Outcome::Rejected(_) => "rejected",
            Outcome::NotSent(_) => "not_sent",
            Outcome::DeliveryUnknown(_) => "delivery_unknown",
            Outcome::Withheld => "withheld",
        }
    }

    /// The error, for the outcomes that have one.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Rejected(e) | Outcome::NotSent(e) | Outcome::DeliveryUnknown(e) => Some(e),
            Outcome::Sent(_) | Outcome::Withheld => None,
        }
    }

    /// The outcome of one send.
    fn of(result: Result<Value, Error>) -> Self {
        match result {
            Ok(answer) => Outcome::Sent(answer),
            Err(err) if matches!(err.kind(), ErrorKind::Rejected(_)) => Outcome::Rejected(err),
            Err(err) if err.delivery() == Delivery::NotSent => Outcome::NotSent(err),
            // Unknown, or a success whose answer cannot be read: either way
            // it may have been delivered, so it must not be sent again.
            Err(err) => Outcome::DeliveryUnknown(err),
        }
    }
}

/// Decides, just before a message is sent, whether it may be: given the
/// message's index, it resolves to `true` to send it, `false` to withhold
/// it. A journal writes "started" here, durably, before the send.
pub type BeforeSend =
    Arc<dyn Fn(usize) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// How a bulk send runs.
///
/// ```
/// use wechat_msg::client::BulkOptions;
///
/// let options = BulkOptions::default().concurrency(8).rate_per_second(100);
/// ```
#[derive(Clone)]
pub struct BulkOptions {
    concurrency: usize,
    rate: Option<NonZeroU32>,
    via: Option<Via>,
    before_send: Option<BeforeSend>,
}

impl Default for BulkOptions {
    /// 16 sends at a time, no rate limit, the client's transport.
    fn default() -> Self {
        BulkOptions {
            concurrency: 16,
            rate: None,
            via: None,
            before_send: None,
        }
    }
}

impl fmt::Debug for BulkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkOptions")
            .field("concurrency", &self.concurrency)
            .field("rate", &self.rate)
            .field("via", &self.via)
            .field("before_send", &self.before_send.is_some())
            .finish()
    }
}

impl BulkOptions {
    /// At most `n` sends in flight at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// At most `n` sends started within any second, spaced evenly with
    /// bursts of at most `n / 100` (the steady pace is `n - n / 100 + 1` a
    /// second); no limit when 0.
    pub fn rate_per_second(mut self, n: u32) -> Self {
        self.rate = NonZeroU32::new(n);
        self
    }

    /// Send over `via` instead of the client's transport.
    pub fn via(mut self, via: Via) -> Self {
        self.via = Some(via);
        self
    }

    /// Call `gate` with a message's index just before it is sent (after its
    /// turn has come and the rate limit let it through); the message is
    /// sent only if it resolves to `true`, else its outcome is
    /// [`Outcome::Withheld`].
    pub fn before_send<F, Fut>(mut self, gate: F) -> Self
    where
        F: Fn(usize) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.before_send = Some(Arc::new(move |index| Box::pin(gate(index))));
        self
    }
}

/// The outcomes of a bulk send, as `(index, outcome)` in the order they
/// complete; `index` is the message's position in the input, from 0. Ends
/// when every message has its outcome.
///
/// Dropping it stops the bulk send: no further message is started, and
/// those in flight are abandoned (their delivery unknown to anyone).
pub struct Outcomes {
    receiver: mpsc::Receiver<(usize, Outcome)>,
}

impl fmt::Debug for Outcomes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcomes").finish_non_exhaustive()
    }
}

impl Stream for Outcomes {
    type Item = (usize, Outcome);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

impl Outcomes {
    /// Waits for every outcome and returns them in input order.
    pub async fn collect_in_order(mut self) -> Vec<Outcome> {
        let mut all: Vec<(usize, Outcome)> = Vec::new();
        while let Some(item) = self.next().await {
            all.push(item);
        }
        all.sort_by_key(|(index, _)| *index);
        all.into_iter().map(|(_, outcome)| outcome).collect()
    }
}

impl Client {
    /// Sends every message of `messages` with the default [`BulkOptions`]
    /// (16 at a time, no rate limit); see [`Client::send_all_with`].
    pub fn send_all<S>(&self, messages: S) -> Outcomes
    where
        S: Stream<Item = BulkMessage> + Send + 'static,
    {
        self.send_all_with(messages, BulkOptions::default())
    }

    /// Sends every message of `messages`: at most `options.concurrency` at
    /// once, at most `options.rate_per_second` started a second, one at a
    /// time per user (in input order), each once. Must be called within a
    /// Tokio runtime: the sending runs on a task of its own, and the
    /// outcomes come as they complete.
    ///
    /// The input is read only as fast as messages can be started, so a
    /// long stream is never held in memory. When it ends early (a stream
    /// cut short on Ctrl-C, say), the messages already read still get
    /// their outcome.
    ///
    /// ```no_run
    /// use futures_util::{StreamExt, stream};
    /// use wechat_msg::Client;
    /// use wechat_msg::client::{BulkMessage, BulkOptions, Outcome};
    /// use wechat_msg::SubscribeMessage;
    ///
    /// # async fn run(client: Client, messages: Vec<SubscribeMessage>) {
    /// let input = stream::iter(messages.iter().map(BulkMessage::new).collect::<Vec<_>>());
    /// let mut outcomes = client.send_all_with(input, BulkOptions::default().rate_per_second(50));
    /// while let Some((index, outcome)) = outcomes.next().await {
    ///     if let Outcome::DeliveryUnknown(err) = &outcome {
    ///         eprintln!("message {index} may have been delivered: {err}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn send_all_with<S>(&self, messages: S, options: BulkOptions) -> Outcomes
    where
        S: Stream<Item = BulkMessage> + Send + 'static,
    {
        let (sender, receiver) = mpsc::channel(options.concurrency.saturating_mul(2));
        let driver = Driver::new(self.clone(), options);
        tokio::spawn(driver.run(Box::pin(messages), sender));
        Outcomes { receiver }
    }
}

/// How many messages read from the input may wait for their user's
/// previous message, per slot of concurrency.
const PARKED_PER_SLOT: usize = 4;

/// A message ready to go: validated, its user known.
struct Ready {
    index: usize,
    info: &'static EndpointInfo,
    body: Value,
    openid: Option<String>,
}

type Running = Pin<Box<dyn Future<Output = (usize, Option<String>, Outcome)> + Send>>;

/// The task behind [`Client::send_all_with`].
struct Driver {
    client: Client,
    via: Via,
    concurrency: usize,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    before_send: Option<BeforeSend>,
    /// Users with a send in flight.
    busy: HashSet<String>,
    /// Messages waiting for their user's send in flight, in input order.
    parked: HashMap<String, VecDeque<Ready>>,
    parked_count: usize,
    running: FuturesUnordered<Running>,
}

impl Driver {
    fn new(client: Client, options: BulkOptions) -> Self {
        let via = options.via.unwrap_or_else(|| client.inner.via.clone());
        // Nearly evenly spaced: a burst of 10 ms worth of sends, so a rate
        // of N is never N at once, and a timer waking a little late does
        // not cost the rate (with a burst of one, each late wake-up is lost).
        // The steady rate is N - burst + 1 a second, so that a burst plus
        // the steady sends never exceed N within any second.
        let limiter = options.rate.map(|rate| {
            let burst = NonZeroU32::new(rate.get() / 100).unwrap_or(NonZeroU32::MIN);
            let steady = rate.get() - burst.get() + 1;
            let quota = Quota::with_period(Duration::from_secs(1) / steady)
                .map_or(Quota::per_second(rate), |quota| quota.allow_burst(burst));
            Arc::new(RateLimiter::direct(quota))
        });
        Driver {
            client,
            via,
            concurrency: options.concurrency,
            limiter,
            before_send: options.before_send,
            busy: HashSet::new(),
            parked: HashMap::new(),
            parked_count: 0,
            running: FuturesUnordered::new(),
        }
    }

    async fn run(
        mut self,
        mut input: Pin<Box<dyn Stream<Item = BulkMessage> + Send>>,
        outcomes: mpsc::Sender<(usize, Outcome)>,
    ) {
        let mut next_index = 0;
        let mut input_done = false;
        loop {
            let can_read = !input_done
                && self.running.len() < self.concurrency
                && self.parked_count < self.concurrency * PARKED_PER_SLOT;
            if input_done && self.running.is_empty() {
                return;
            }
            tokio::select! {
                message = input.next(), if can_read => match message {
                    None => input_done = true,
                    Some(message) => {
                        let index = next_index;
                        next_index += 1;
                        match prepare(index, message) {
                            Ok(ready) => self.admit(ready),
                            Err(outcome) => {
                                if outcomes.send((index, outcome)).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                },
                Some((index, openid, outcome)) = self.running.next(), if !self.running.is_empty() => {
                    if let Some(openid) = openid {
                        self.release(openid);
                    }
                    if outcomes.send((index, outcome)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Starts `ready` now, or parks it behind its user's send in flight.
    fn admit(&mut self, ready: Ready) {
        if let Some(openid) = &ready.openid {
            if self.busy.contains(openid) {
                self.parked
                    .entry(openid.clone())
                    .or_default()
                    .push_back(ready);
                self.parked_count += 1;
                return;
            }
            self.busy.insert(openid.clone());
        }
        self.start(ready);
    }

    /// `openid`'s send is done: start its next message, if one waits.
    fn release(&mut self, openid: String) {
        let next = match self.parked.get_mut(&openid) {
            Some(queue) => {
                let next = queue.pop_front();
                if queue.is_empty() {
                    self.parked.remove(&openid);
                }
                next
            }
            None => None,
        };
        match next {
            // The user stays busy: its next message takes the freed slot.
            Some(ready) => {
                self.parked_count -= 1;
                self.start(ready);
            }
            None => {
                self.busy.remove(&openid);
            }
        }
    }

    fn start(&mut self, ready: Ready) {
        let client = self.client.clone();
        let via = self.via.clone();
        let limiter = self.limiter.clone();
        let gate = self.before_send.clone();
        self.running.push(Box::pin(async move {
            let Ready {
                index,
                info,
                body,
                openid,
            } = ready;
            if let Some(limiter) = limiter {
                limiter.until_ready().await;
            }
            if let Some(gate) = gate
                && !gate(index).await
            {
                return (index, openid, Outcome::Withheld);
            }
            let result = client.send_value(info, &body, Form::Http, &via).await;
            (index, openid, Outcome::of(result))
        }));
    }
}

/// The message validated and in the HTTP form, with its user; or its
/// outcome when it is invalid.
fn prepare(index: usize, message: BulkMessage) -> Result<Ready, Outcome> {
    let BulkMessage { info, body, from } = message;
    let body = (info.convert)(&body, from, Form::Http).map_err(|err| {
        Outcome::NotSent(Error::new(
            info.name,
            from,
            0,
            ErrorKind::InvalidRequest(err),
        ))
    })?;
    let openid = openid_of(info, &body);
    Ok(Ready {
        index,
        info,
        body,
        openid,
    })
}

/// The value of the first field with [`Role::Openid`] in `body` (HTTP form).
pub(crate) fn openid_of(info: &EndpointInfo, body: &Value) -> Option<String> {
    info.roles
        .iter()
        .filter(|role| role.role == Role::Openid)
        .find_map(|role| {
            role.path
                .split('.')
                .try_fold(body, |value, key| value.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
}
