//! The middleware every call goes through, outermost first:
//!
//! 1. [`count_errors`]: counts the errcode of every WeChat-side answer.
//! 2. [`read_body`]: the whole request body within the body read timeout and
//!    the size limit, else 408 (and the connection closed) or 47001.
//! 3. [`observe`] (WeChat's side only): logs the call with its request and
//!    answer, and publishes it to the event followers.
//! 4. [`calls`]: counts the call, takes its share of the faults (latency,
//!    gateway errors, system busy, truncated answers, reset connections).
//!
//! Handlers then find the body in a [`Buffered`] extension, the endpoint of
//! a spec route in an [`Endpoint`] extension, and a system-busy fault they
//! must answer themselves (cloud calls, inside `resp_data`) in a
//! [`SystemBusy`] extension.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;
use wechat_msg::meta::{EndpointInfo, Method};
use wechat_msg::protocol;

use crate::conn::ConnectionKill;
use crate::error::{ControlError, Errcode, WxError};
use crate::events::CallRecord;
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

/// Logs a WeChat-side call (method, path, query, request, answer, errcode)
/// in the event log, and publishes it to the followers of the events.
pub(crate) async fn observe(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let order = shared.events.tick();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let body = request
        .extensions()
        .get::<Buffered>()
        .map(|Buffered(b)| b.clone())
        .unwrap_or_default();
    let (endpoint, openid) = concerns(&shared, &method, &path, &body);
    let response = next.run(request).await;
    let (parts, answer) = response.into_parts();
    // Answers are built in memory: collecting them cannot fail or wait.
    let answer = answer
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let errcode = parts
        .extensions
        .get::<Errcode>()
        .map(|Errcode(code)| *code)
        .or_else(|| (parts.status == StatusCode::OK && answer.first() == Some(&b'{')).then_some(0));
    let unix_time = shared.unix_now(&shared.lock());
    shared.events.call(CallRecord {
        seq: shared.events.next_call(),
        order,
        unix_time,
        method: method.to_string(),
        path,
        query,
        endpoint: endpoint.map(|e| e.name),
        openid,
        request: body,
        status: parts.status.as_u16(),
        answer: answer.clone(),
        errcode,
        cost_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    Response::from_parts(parts, Body::from(answer))
}

/// The endpoint a call reaches and the openid it concerns: the value of the
/// endpoint's openid field (a cloud call's under `data`).
fn concerns(
    shared: &Shared,
    method: &HttpMethod,
    path: &str,
    body: &[u8],
) -> (Option<&'static EndpointInfo>, Option<String>) {
    let (info, cloud) = if path == protocol::INVOKE_PATH {
        let api = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|event| shared.endpoint(protocol::event_api(&event)?));
        (api, true)
    } else {
        let info = method_of(method).and_then(|m| shared.route(m, path));
        (info, false)
    };
    let Some(info) = info else {
        return (None, None);
    };
    let roles = info
        .roles
        .iter()
        .filter(|r| r.role == wechat_msg::meta::Role::Openid);
    let mut roles = roles.peekable();
    if roles.peek().is_none() || body.is_empty() {
        return (Some(info), None);
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (Some(info), None);
    };
    let value = if cloud {
        protocol::event_data(&value).map_or(Value::Null, |data| Value::Object(data.clone()))
    } else {
        value
    };
    let openid = roles.find_map(|role| {
        role.path
            .split('.')
            .try_fold(&value, |v, key| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    (Some(info), openid)
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
    shared.endpoint(protocol::event_api(&event)?)
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
