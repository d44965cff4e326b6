//! The push endpoint as an axum [`Router`] (a tower `Service`) to mount at
//! the callback path.
//!
//! A forged or stale push gets 401 or 403, a malformed one 400, and neither
//! reaches the handler; a retry of a push already handled gets `success`
//! and is not handled again. When the push is answered is a choice:
//!
//! - **At once** (the default): `success` (or the passive transfer reply)
//!   first, the handler on a task of its own, so handler work never delays
//!   the answer past WeChat's 5 seconds. A crash between the answer and the
//!   handler's end loses the push: WeChat does not send it again. Pick it
//!   for pushes you can afford to lose (typing indicators, analytics).
//! - **After handling** ([`PushService::answer_after_handling`]): the
//!   handler runs before the answer, within a budget (4 s by default, under
//!   WeChat's 5). On an error, a panic or the budget spent, the push is
//!   answered 500 and its dedupe mark released, so WeChat's retry is
//!   handled again: nothing is lost while WeChat still retries, but a
//!   handler that did part of its work may run twice. Pick it for handlers
//!   that finish well within the budget and are safe to repeat.
//! - **Durable inbox** (feature `redis`, [`PushService::durable`] and
//!   [`crate::push::inbox`]): the push is appended to a Redis Stream before
//!   `success` (a Redis failure answers 503, so WeChat retries), once per
//!   dedupe key; handlers run from there on any instance
//!   ([`PushService::handle_inbox`]), errors are retried with backoff, and
//!   a push whose handler started and never finished is listed as delivery
//!   unknown rather than run twice. Pick it when a push must not be lost
//!   and handling may be slow or crash.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use super::form::PushMessage;
use super::receiver::{PushQuery, Receiver, Refusal};

type Handled = Result<(), String>;
type Handler<P> = Arc<dyn Fn(P) -> Pin<Box<dyn Future<Output = Handled> + Send>> + Send + Sync>;
type Predicate<P> = Arc<dyn Fn(&P) -> bool + Send + Sync>;
type RefusalHook = Arc<dyn Fn(&Refusal) + Send + Sync>;

/// A push endpoint: a [`Receiver`] and what to do with each push.
///
/// ```no_run
/// use wechat_msg::Push;
/// use wechat_msg::push::{PushConfig, PushService, Receiver};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = PushConfig::new("TOKEN")?.encrypted(&"A".repeat(43), "wxAPPID")?;
/// let pushes = PushService::new(Receiver::new(config)).on_push(|push: Push| async move {
///     if let Push::Text(text) = push {
///         println!("{} wrote {}", text.from_user_name, text.content);
///     }
/// });
/// let app = axum::Router::new().nest_service("/wechat/push", pushes.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
pub struct PushService<P = crate::Push> {
    receiver: Receiver<P>,
    handler: Handler<P>,
    transfer: Option<Predicate<P>>,
    refused: Option<RefusalHook>,
    answering: Answering,
}

/// When a push is answered (see the module's documentation).
#[derive(Clone, Debug)]
enum Answering {
    AtOnce,
    AfterHandling(Duration),
    #[cfg(feature = "redis")]
    Durable(Arc<super::inbox::Inbox>),
}

/// WeChat waits 5 s; the handler gets 4 of them by default.
const HANDLING_BUDGET: Duration = Duration::from_secs(4);

impl<P> Clone for PushService<P> {
    fn clone(&self) -> Self {
        PushService {
            receiver: self.receiver.clone(),
            handler: self.handler.clone(),
            transfer: self.transfer.clone(),
            refused: self.refused.clone(),
            answering: self.answering.clone(),
        }
    }
}

impl<P> std::fmt::Debug for PushService<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushService")
            .field("receiver", &self.receiver)
            .field("transfers", &self.transfer.is_some())
            .field("answering", &self.answering)
            .finish_non_exhaustive()
    }
}

impl<P: PushMessage> PushService<P> {
    /// An endpoint that checks pushes with `receiver` and, until
    /// [`PushService::on_push`] is set, handles them by doing nothing.
    pub fn new(receiver: Receiver<P>) -> Self {
        PushService {
            receiver,
            handler: Arc::new(|_| Box::pin(async { Ok(()) })),
            transfer: None,
            refused: None,
            answering: Answering::AtOnce,
        }
    }

    /// Handles each accepted push (once, retries excluded) on a task of its
    /// own.
    pub fn on_push<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handler = Arc::new(move |push| {
            let handled = handler(push);
            Box::pin(async move {
                handled.await;
                Ok(())
            })
        });
        self
    }

    /// Handles each accepted push with a handler that may fail. Answering
    /// at once, a failure is logged; answering after handling, it makes
    /// WeChat retry.
    pub fn try_on_push<F, Fut, E>(mut self, handler: F) -> Self
    where
        F: Fn(P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        self.handler = Arc::new(move |push| {
            let handled = handler(push);
            Box::pin(async move { handled.await.map_err(|e| e.to_string()) })
        });
        self
    }

    /// Runs the handler before answering, within 4 s: on an error, a panic
    /// or the budget spent, answers 500 and forgets the push, so WeChat's
    /// retry is handled again.
    pub fn answer_after_handling(self) -> Self {
        self.answer_after_handling_within(HANDLING_BUDGET)
    }

    /// [`PushService::answer_after_handling`] with another budget; keep it
    /// well under WeChat's 5 s.
    pub fn answer_after_handling_within(mut self, budget: Duration) -> Self {
        self.answering = Answering::AfterHandling(budget);
        self
    }

    /// Answers the user's messages for which `transfer` says so with the
    /// passive `transfer_customer_service` reply, handing the conversation
    /// to the customer-service tool. Events are always answered `success`.
    pub fn transfer_to_customer_service(
        mut self,
        transfer: impl Fn(&P) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.transfer = Some(Arc::new(transfer));
        self
    }

    /// Called with each refusal (after it is logged), for tools that report
    /// them.
    pub fn on_refusal(mut self, hook: impl Fn(&Refusal) + Send + Sync + 'static) -> Self {
        self.refused = Some(Arc::new(hook));
        self
    }

    /// The endpoint on every path of the router: nest it at the callback
    /// path (`Router::nest_service`) or serve it as it is.
    pub fn router<S>(self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let routes: MethodRouter<Arc<Self>> = get(url_check::<P>).post(receive::<P>);
        Router::new().fallback_service(routes.with_state(Arc::new(self)))
    }

    /// The push was not handled: forget it, so WeChat's retry is, and ask
    /// for that retry.
    async fn not_handled(&self, key: Option<&str>, failure: String) -> Response {
        tracing::warn!(reason = %failure, "push not handled; WeChat is asked to retry");
        if let Some(key) = key
            && let Err(e) = self.receiver.dedupe_store().release(key).await
        {
            tracing::warn!(error = %e, "cannot release the push's dedupe mark");
        }
        (StatusCode::INTERNAL_SERVER_ERROR, failure).into_response()
    }

    /// Appends each push to `inbox` before answering `success`; handlers
    /// run from the inbox ([`PushService::handle_inbox`]), not here.
    #[cfg(feature = "redis")]
    pub fn durable(mut self, inbox: super::inbox::Inbox) -> Self {
        self.answering = Answering::Durable(Arc::new(inbox));
        self
    }

    /// Runs this service's handler on the inbox's pushes until `stop`
    /// completes; nothing (at once) without [`PushService::durable`].
    #[cfg(feature = "redis")]
    pub fn handle_inbox(
        &self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let inbox = match &self.answering {
            Answering::Durable(inbox) => Some(inbox.clone()),
            _ => None,
        };
        let handler = self.handler.clone();
        async move {
            if let Some(inbox) = inbox {
                inbox.consume(move |push: P| handler(push), stop).await;
            }
        }
    }

    fn refuse(&self, refusal: Refusal) -> Response {
        tracing::warn!(status = refusal.status(), reason = %refusal, "push refused");
        if let Some(hook) = &self.refused {
            hook(&refusal);
        }
        let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, refusal.to_string()).into_response()
    }
}

async fn url_check<P: PushMessage>(
    State(service): State<Arc<PushService<P>>>,
    RawQuery(query): RawQuery,
) -> Response {
    let checked = PushQuery::parse(query.as_deref().unwrap_or_default())
        .and_then(|query| service.receiver.verify_url(&query));
    match checked {
        Ok(echostr) => (StatusCode::OK, echostr).into_response(),
        Err(refusal) => service.refuse(refusal),
    }
}

async fn receive<P: PushMessage>(
    State(service): State<Arc<PushService<P>>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let opened = PushQuery::parse(query.as_deref().unwrap_or_default());
    let opened = match opened {
        // The durable inbox deduplicates itself: one round trip less.
        #[cfg(feature = "redis")]
        Ok(query) if matches!(service.answering, Answering::Durable(_)) => {
            service.receiver.check(&query, &body).await
        }
        Ok(query) => service.receiver.open(&query, &body).await,
        Err(refusal) => Err(refusal),
    };
    let received = match opened {
        Ok(received) => received,
        Err(refusal) => return service.refuse(refusal),
    };
    #[cfg(feature = "redis")]
    if let Answering::Durable(inbox) = &service.answering {
        // The inbox, not the receiver's mark, says whether the push is in:
        // appended once per dedupe key, before `success`.
        return match inbox
            .append(received.dedupe_key.as_deref(), &received.push)
            .await
        {
            Ok(_) => {
                let reply = service
                    .transfer
                    .as_ref()
                    .filter(|transfer| transfer(&received.push))
                    .and_then(|_| service.receiver.transfer_reply(&received));
                answer(reply, received.encoding)
            }
            Err(e) => service.refuse(Refusal::Unavailable(e)),
        };
    }
    if received.duplicate {
        tracing::debug!("push seen before (a retry); not handled again");
        return success();
    }
    let reply = service
        .transfer
        .as_ref()
        .filter(|transfer| transfer(&received.push))
        .and_then(|_| service.receiver.transfer_reply(&received));
    tracing::debug!(event = received.push.is_event(), "push accepted");
    let encoding = received.encoding;
    let handling = tokio::spawn((service.handler)(received.push));
    match &service.answering {
        Answering::AtOnce => {
            tokio::spawn(async move {
                if let Ok(Err(e)) = handling.await {
                    tracing::warn!(error = %e, "push handler failed");
                }
            });
        }
        #[cfg(feature = "redis")]
        Answering::Durable(_) => {}
        Answering::AfterHandling(budget) => {
            let budget = *budget;
            let abort = handling.abort_handle();
            let failure = match tokio::time::timeout(budget, handling).await {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(e))) => Some(format!("the handler failed: {e}")),
                Ok(Err(_)) => Some("the handler panicked".to_owned()),
                Err(_) => {
                    abort.abort();
                    Some(format!(
                        "the handler did not finish within {} ms",
                        budget.as_millis()
                    ))
                }
            };
            if let Some(failure) = failure {
                return service
                    .not_handled(received.dedupe_key.as_deref(), failure)
                    .await;
            }
        }
    }
    answer(reply, encoding)
}

/// `success`, or the passive reply in the push's encoding.
fn answer(reply: Option<Vec<u8>>, encoding: super::body::Encoding) -> Response {
    match reply {
        Some(reply) => {
            let content_type = match encoding {
                super::body::Encoding::Json => "application/json",
                super::body::Encoding::Xml => "application/xml",
            };
            ([(header::CONTENT_TYPE, content_type)], reply).into_response()
        }
        None => success(),
    }
}

fn success() -> Response {
    (StatusCode::OK, "success").into_response()
}
