//! The push endpoint as an axum [`Router`] (a tower `Service`) to mount at
//! the callback path.
//!
//! It answers WeChat at once (`success`, or the passive transfer reply) and
//! hands the push to the handler on a task of its own, so handler work never
//! delays the answer past WeChat's 5 seconds. A forged or stale push gets 401
//! or 403, a malformed one 400, and neither reaches the handler; a retry of a
//! push already handled gets `success` and is not handled again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use super::form::PushMessage;
use super::receiver::{PushQuery, Receiver, Refusal};

type Handler<P> = Arc<dyn Fn(P) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;
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
}

impl<P> Clone for PushService<P> {
    fn clone(&self) -> Self {
        PushService {
            receiver: self.receiver.clone(),
            handler: self.handler.clone(),
            transfer: self.transfer.clone(),
            refused: self.refused.clone(),
        }
    }
}

impl<P> std::fmt::Debug for PushService<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushService")
            .field("receiver", &self.receiver)
            .field("transfers", &self.transfer.is_some())
            .finish_non_exhaustive()
    }
}

impl<P: PushMessage> PushService<P> {
    /// An endpoint that checks pushes with `receiver` and, until
    /// [`PushService::on_push`] is set, handles them by doing nothing.
    pub fn new(receiver: Receiver<P>) -> Self {
        PushService {
            receiver,
            handler: Arc::new(|_| Box::pin(async {})),
            transfer: None,
            refused: None,
        }
    }

    /// Handles each accepted push (once, retries excluded) on a task of its
    /// own.
    pub fn on_push<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handler = Arc::new(move |push| Box::pin(handler(push)));
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
        Ok(query) => service.receiver.open(&query, &body).await,
        Err(refusal) => Err(refusal),
    };
    let received = match opened {
        Ok(received) => received,
        Err(refusal) => return service.refuse(refusal),
    };
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
    tokio::spawn((service.handler)(received.push));
    match reply {
        Some(reply) => {
            let content_type = match received.encoding {
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
