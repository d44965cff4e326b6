//! The middleware every call goes through, outermost first:
//!
//! 1. [`count_errors`]: counts the errcode of every WeChat-side answer.
//! 2. [`read_body`]: the whole request body within the body read timeout and
//!    the size limit, else 408 (and the connection closed) or 47001.
//! 3. [`calls`]: counts the call, takes its share of the faults (latency,
//!    gateway errors, system busy, truncated answers, reset connections).
//!
//! Handlers then find the body in a [`Buffered`] extension, the endpoint of
//! a spec route in an [`Endpoint`] extension, and a system-busy fault they
//! must answer themselves (cloud calls, inside `resp_data`) in a
//! [`SystemBusy`] extension.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;
use wechat_msg::{EndpointInfo, Method};

use crate::conn::ConnectionKill;
use crate::error::{ControlError, Errcode, WxError};
use crate::faults::{After, Before};
use crate::reply::gateway_error;
use crate::state::Shared;

/// The request body, read in full by [`read_body`].
#[derive(Clone, Debug)]
pub(crate) struct Buffered(pub Bytes);

/// The spec endpoint a request is routed to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Endpoint(pub &'static EndpointInfo);

/// A system-busy fault for the handler to answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SystemBusy;

/// Which side of the emulator a route is on: how its errors look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// WeChat's API: `{errcode, errmsg}`.
    Wechat,
    /// The control API: `{ok: false, error}`.
    Control,
}

/// What kind of call a route serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `GET /cgi-bin/token`.
    ClassicToken,
    /// `POST /cgi-bin/stable_token`.
    StableToken,
    /// Any path: a call when the spec has an endpoint there.
    Endpoint,
    /// `POST /tcb/invokecloudfunction`, counted under the API it names.
    Cloud,
}

/// Counts the errcode (an [`Errcode`] extension) of every answer.
pub(crate) async fn count_errors(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    if let Some(Errcode(code)) = response.extensions().get::<Errcode>() {
        shared.count_error(*code);
    }
    response
}

/// Reads the whole body within `body_read_timeout` and `max_body_bytes`,
/// then hands the request on with the body in memory (and in a [`Buffered`]
/// extension). A body that does not arrive in time is answered 408 and its
/// connection closed; one too large or unreadable, 47001 (400 on the control
/// API).
pub(crate) async fn read_body(
    State((shared, side)): State<(Arc<Shared>, Side)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let limit = shared.config.max_body_bytes;
    let timeout = shared.config.body_read_timeout;
    let collected = tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await;
    let bytes = match collected {
        Ok(Ok(collected)) => collected.to_bytes(),
        Err(_elapsed) => {
            tracing::debug!(path = parts.uri.path(), "request body timed out");
            let message = format!(
                "the request body did not arrive within {} s",
                timeout.as_secs_f64()
            );
            let mut response = match side {
                Side::Wechat => WxError::new(-1, message).with_status(StatusCode::REQUEST_TIMEOUT),
                Side::Control => ControlError {
                    status: StatusCode::REQUEST_TIMEOUT,
                    message,
                }
                .into_response(),
            };
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            if side == Side::Wechat {
                response.extensions_mut().insert(Errcode(408));
            }
            return response;
        }
        Ok(Err(e)) => {
            let problem = if e.downcast_ref::<LengthLimitError>().is_some() {
                format!("larger than {limit} bytes")
            } else {
                "unreadable".to_owned()
            };
            tracing::debug!(path = parts.uri.path(), problem, "request body refused");
            let mut response = match side {
                Side::Wechat => WxError::new(47001, format!("data format error: body: {problem}"))
                    .into_response(),
                Side::Control => {
                    ControlError::bad_request(format!("body: {problem}")).into_response()
                }
            };
            // What is left of the body is not read: the connection cannot
            // carry another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    parts.extensions.insert(Buffered(bytes.clone()));
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Counts a call and applies the faults it takes. A path the spec does not
/// have is not a call: it goes to the handler untouched.
pub(crate) async fn calls(
    State((shared, kind)): State<(Arc<Shared>, Kind)>,
    mut request: Request,
    next: Next,
) -> Response {
    let endpoint = match kind {
        Kind::Endpoint => {
            let routed = method_of(request.method())
                .and_then(|method| shared.route(method, request.uri().path()));
            match routed {
                Some(info) => Some(info),
                None => return next.run(request).await,
            }
        }
        Kind::Cloud => cloud_api(&shared, &request),
        Kind::ClassicToken | Kind::StableToken => None,
    };
    let token_fetch = matches!(kind, Kind::ClassicToken | Kind::StableToken);
    if token_fetch {
        shared.count_token_fetch(kind == Kind::StableToken);
    }
    let plan = shared.begin_call(token_fetch, endpoint.map(|info| info.name));
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    match plan.before {
        Some(Before::ServerError { status, html }) => {
            tracing::debug!(status, "gateway error injected");
            return gateway_error(status, html);
        }
        Some(Before::SystemBusy) if kind == Kind::Cloud => {
            request.extensions_mut().insert(SystemBusy);
        }
        Some(Before::SystemBusy) => {
            tracing::debug!(endpoint = endpoint.map(|e| e.name), "system busy injected");
            return WxError::new(-1, "system error").into_response();
        }
        None => {}
    }
    if let Some(info) = endpoint {
        request.extensions_mut().insert(Endpoint(info));
    }
    let kill = request.extensions().get::<ConnectionKill>().cloned();
    let response = next.run(request).await;
    match plan.after {
        None => response,
        Some(After::Truncate) => truncate(response).await,
        Some(After::Reset) => {
            if let Some(kill) = kill {
                kill.reset();
            }
            response
        }
    }
}

/// The endpoint a cloud invocation's event names, if the spec has it.
fn cloud_api(shared: &Shared, request: &Request) -> Option<&'static EndpointInfo> {
    let Buffered(bytes) = request.extensions().get::<Buffered>()?;
    let event = serde_json::from_slice::<Value>(bytes).ok()?;
    shared.endpoint(event.get("api")?.as_str()?)
}

fn method_of(method: &HttpMethod) -> Option<Method> {
    match *method {
        HttpMethod::GET => Some(Method::Get),
        HttpMethod::POST => Some(Method::Post),
        _ => None,
    }
}

/// The answer with the first half of its body only.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    // Answers are built in memory: collecting them cannot fail or wait.
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    let half = bytes.slice(..bytes.len() / 2);
    Response::from_parts(parts, Body::from(half))
}
