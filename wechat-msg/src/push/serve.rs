//! Serving a push endpoint on the internet: `axum::serve` alone keeps a
//! connection that sends half a request head open forever. [`serve`] (and
//! [`Server`] for other limits) serves HTTP/1.1 through hyper with a header
//! deadline, a body deadline and size limit, a cap on open connections and
//! a shutdown that lets requests in progress finish for a grace period,
//! then drops every connection still open.
//!
//! ```no_run
//! use wechat_msg::push::{PushConfig, PushService, Receiver};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PushConfig::new("TOKEN")?;
//! let app = axum::Router::new()
//!     .nest_service("/wechat/push", PushService::new(Receiver::new(config)).router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! wechat_msg::push::serve(listener, app, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await;
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

/// How a push endpoint is served: deadlines, limits, shutdown.
#[derive(Clone, Copy, Debug)]
pub struct Server {
    header_deadline: Duration,
    body_deadline: Duration,
    max_body: usize,
    max_connections: usize,
    shutdown_grace: Duration,
}

impl Default for Server {
    /// A request head within 5 s and its body within 5 s more (WeChat gives
    /// up after 5 s anyway), bodies up to 1 MiB, 1024 connections open at
    /// most, 5 s for requests in progress at shutdown.
    fn default() -> Self {
        Server {
            header_deadline: Duration::from_secs(5),
            body_deadline: Duration::from_secs(5),
            max_body: 1 << 20,
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl Server {
    /// The default limits ([`Server::default`]).
    pub fn new() -> Self {
        Server::default()
    }

    /// A request head (the request line and headers) must arrive within
    /// this of the connection opening or its previous request ending; else
    /// the connection is closed.
    pub fn header_deadline(mut self, deadline: Duration) -> Self {
        self.header_deadline = deadline;
        self
    }

    /// A request body must arrive in full within this of its head; else it
    /// is answered 408 and the connection closed.
    pub fn body_deadline(mut self, deadline: Duration) -> Self {
        self.body_deadline = deadline;
        self
    }

    /// The largest body read; a larger one is answered 413 and the
    /// connection closed.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// At most this many connections open at once; more wait in the
    /// listener's backlog until one closes.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// At shutdown, requests in progress get this long before every
    /// connection still open is dropped.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Serves `router` on `listener` until `shutdown` completes, then shuts
    /// down within the grace period.
    pub async fn serve(
        self,
        listener: TcpListener,
        router: Router,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        let (closing, closing_seen) = watch::channel(());
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let mut connections = JoinSet::new();
        let mut shutdown = pin!(shutdown);
        loop {
            let slot = tokio::select! {
                () = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, _)) => {
                    let task = self.connection(stream, router.clone(), closing_seen.clone());
                    connections.spawn(async move {
                        task.await;
                        drop(slot);
                    });
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    // Out of file descriptors and the like: wait a little
                    // rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            while connections.try_join_next().is_some() {}
        }
        drop(listener);
        let _ = closing.send(());
        let drained = tokio::time::timeout(self.shutdown_grace, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::debug!(
                open = connections.len(),
                "dropping the connections still open after the grace period"
            );
            connections.shutdown().await;
        }
    }

    /// Serves one connection until it closes, or until shutdown asks it to
    /// finish its request in progress.
    async fn connection(self, stream: TcpStream, router: Router, mut closing: watch::Receiver<()>) {
        let _ = stream.set_nodelay(true);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let router = router.clone();
            async move {
                let (parts, body) = request.into_parts();
                let collected = tokio::time::timeout(
                    self.body_deadline,
                    Limited::new(body, self.max_body).collect(),
                )
                .await;
                let response = match collected {
                    Ok(Ok(body)) => {
                        let request = Request::from_parts(parts, Body::from(body.to_bytes()));
                        match router.oneshot(request).await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        }
                    }
                    Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => closing_answer(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the body is larger than {} bytes", self.max_body),
                    ),
                    Ok(Err(_)) => {
                        closing_answer(StatusCode::BAD_REQUEST, "the body is unreadable".into())
                    }
                    Err(_elapsed) => closing_answer(
                        StatusCode::REQUEST_TIMEOUT,
                        format!(
                            "the body did not arrive within {} s",
                            self.body_deadline.as_secs_f64()
                        ),
                    ),
                };
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_deadline);
        let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            _ = closing.changed() => conn.as_mut().graceful_shutdown(),
        }
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "connection ended at shutdown");
        }
    }
}

/// Serves `router` on `listener` with the default deadlines and limits
/// ([`Server::default`]) until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
) {
    Server::default().serve(listener, router, shutdown).await;
}

fn closing_answer(status: StatusCode, message: String) -> Response<Body> {
    let mut response = Response::new(Body::from(message));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Errors of one connection that leave the listener fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
