//! The WeChat side: token endpoints, every endpoint of the spec routed by
//! method and path, and what every call shares (faults, token checks,
//! counters).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{Method as HttpMethod, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use wechat_msg::Method;

use crate::faults::{Before, ConnectionKill, Plan};
use crate::reply::{Reply, WxError, http_success};
use crate::state::{Shared, Via};
use crate::tokens::TokenProblem;
use crate::{body, cloud, control};

/// The whole server.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/cgi-bin/token", get(classic_token))
        .route("/cgi-bin/stable_token", post(stable_token))
        .route("/tcb/invokecloudfunction", post(cloud::invoke))
        .route("/_emulator/", get(control::index))
        .nest("/_emulator", control::router())
        .fallback(endpoint_call)
        .with_state(shared)
}

/// Starts a call: counts it, takes its share of the faults, waits out the
/// latency. `Err` is the gateway error to answer instead.
pub(crate) async fn begin_call(
    shared: &Shared,
    token_fetch: bool,
    endpoint: Option<&str>,
) -> Result<Plan, Response> {
    let plan = {
        let mut state = shared.lock();
        if token_fetch {
            // Counted by the token handlers themselves.
        } else {
            state.counters.calls += 1;
            if let Some(name) = endpoint {
                *state
                    .counters
                    .calls_by_endpoint
                    .entry(name.to_owned())
                    .or_insert(0) += 1;
            }
        }
        let plan = state.faults.take(token_fetch);
        if plan.before.is_some() || plan.after.is_some() {
            state.counters.faults += 1;
        }
        plan
    };
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    match plan.before {
        Some(Before::ServerError { status, html }) => {
            shared.count_error(i64::from(status));
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            Err(gateway_error(status, html))
        }
        _ => Ok(plan),
    }
}

fn gateway_error(status: StatusCode, html: bool) -> Response {
    if html {
        let reason = status.canonical_reason().unwrap_or("Error");
        let page = format!(
            "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
            code = status.as_u16()
        );
        Reply::bytes(status, "text/html", page.into_bytes()).into_response()
    } else {
        let body = json!({"errcode": -1, "errmsg": "system error"});
        Reply::bytes(status, "application/json", body.to_string().into_bytes()).into_response()
    }
}

impl Shared {
    /// Counts an error answer.
    pub(crate) fn count_error(&self, code: i64) {
        *self.lock().counters.errors.entry(code).or_insert(0) += 1;
    }

    /// Checks the `access_token` of a call.
    pub(crate) fn check_token(&self, query: &[(String, String)]) -> Result<(), WxError> {
        let token = query
            .iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WxError::new(41001, "access_token missing"))?;
        let state = self.lock();
        let now = self.now(&state);
        state
            .tokens
            .check(token, now)
            .map_err(|problem| match problem {
                TokenProblem::Invalid => WxError::new(
                    40001,
                    "invalid credential, access_token is invalid or not latest",
                ),
                TokenProblem::Expired => WxError::new(42001, "access_token expired"),
            })
    }
}

/// The query string's pairs, decoded; an undecodable query reads as empty.
pub(crate) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// Reads a request body up to the configured limit.
pub(crate) async fn read_body(shared: &Shared, request: Request) -> Result<Bytes, WxError> {
    axum::body::to_bytes(request.into_body(), shared.config.max_body_bytes)
        .await
        .map_err(|_| WxError::new(47001, "data format error: body: too large or unreadable"))
}

fn method_of(method: &HttpMethod) -> Option<Method> {
    match *method {
        HttpMethod::GET => Some(Method::Get),
        HttpMethod::POST => Some(Method::Post),
        _ => None,
    }
}

/// Any endpoint of the spec, over HTTP.
async fn endpoint_call(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(kill): ConnectInfo<ConnectionKill>,
    request: Request,
) -> Response {
    let path = request.uri().path().to_owned();
    let info = method_of(request.method()).and_then(|m| shared.route(m, &path));
    let Some(info) = info else {
        return unknown_route(&shared, &path);
    };
    let plan = match begin_call(&shared, false, Some(info.name)).await {
        Ok(plan) => plan,
        Err(response) => return response,
    };
    let method = request.method().clone();
    let headers = request.headers().clone();
    let query = query_pairs(request.uri());
    let bytes = read_body(&shared, request).await;
    let result = match (plan.before, shared.check_token(&query)) {
        (Some(Before::SystemBusy), _) => Err(WxError::new(-1, "system error")),
        (_, Err(err)) => Err(err),
        (_, Ok(())) => match shared.check_retired(info).and(bytes) {
            Err(err) => Err(err),
            Ok(bytes) => match body::from_http(info, &method, &headers, &query, bytes).await {
                Err(err) => Err(err),
                Ok(body) => shared.process(info, body, Via::Http),
            },
        },
    };
    let reply = match result {
        Ok(success) => {
            tracing::debug!(endpoint = info.name, via = "http", "accepted");
            http_success(&success)
        }
        Err(err) => {
            tracing::debug!(
                endpoint = info.name,
                via = "http",
                errcode = err.code,
                "rejected"
            );
            shared.count_error(err.code);
            Reply::json(&err.http_body())
        }
    };
    reply.finish(plan.after, &kill)
}

/// A path the spec does not have: 404 with a WeChat-like body.
fn unknown_route(shared: &Shared, path: &str) -> Response {
    shared.count_error(40066);
    let mut response = Reply::json(&WxError::new(40066, "invalid url").http_body()).into_response();
    *response.status_mut() = StatusCode::NOT_FOUND;
    tracing::debug!(path, "unknown route");
    response
}

/// Checks grant_type, appid and secret of a token request.
fn check_credentials(
    shared: &Shared,
    grant_type: Option<&str>,
    appid: Option<&str>,
    secret: Option<&str>,
) -> Result<(), WxError> {
    if grant_type != Some("client_credential") {
        return Err(WxError::new(40002, "invalid grant_type"));
    }
    let appid = appid
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WxError::new(41002, "appid missing"))?;
    let secret = secret
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WxError::new(41004, "appsecret missing"))?;
    if appid != shared.config.app.appid {
        return Err(WxError::new(40013, "invalid appid"));
    }
    if secret != shared.config.app.secret {
        return Err(WxError::new(40125, "invalid appsecret"));
    }
    Ok(())
}

/// `GET /cgi-bin/token?grant_type=client_credential&appid=A&secret=S`.
async fn classic_token(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(kill): ConnectInfo<ConnectionKill>,
    uri: Uri,
) -> Response {
    shared.lock().counters.token_fetches += 1;
    let plan = match begin_call(&shared, true, None).await {
        Ok(plan) => plan,
        Err(response) => return response,
    };
    let query = query_pairs(&uri);
    let get = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let result = match plan.before {
        Some(Before::SystemBusy) => Err(WxError::new(-1, "system error")),
        _ => check_credentials(&shared, get("grant_type"), get("appid"), get("secret")),
    }
    .map(|()| {
        let mut state = shared.lock();
        let now = shared.now(&state);
        let tokens = &shared.config.tokens;
        state
            .tokens
            .fetch_classic(now, tokens.lifetime, tokens.grace)
    });
    token_reply(&shared, result, "classic").finish(plan.after, &kill)
}

/// `POST /cgi-bin/stable_token` with `{grant_type, appid, secret, force_refresh}`.
async fn stable_token(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(kill): ConnectInfo<ConnectionKill>,
    bytes: Bytes,
) -> Response {
    shared.lock().counters.stable_token_fetches += 1;
    let plan = match begin_call(&shared, true, None).await {
        Ok(plan) => plan,
        Err(response) => return response,
    };
    let parsed = if bytes.iter().all(u8::is_ascii_whitespace) {
        Err(WxError::new(44002, "empty post data"))
    } else {
        serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| WxError::new(47001, format!("data format error: body: {e}")))
    };
    let result = match plan.before {
        Some(Before::SystemBusy) => Err(WxError::new(-1, "system error")),
        _ => parsed,
    }
    .and_then(|body| {
        let text = |key: &str| body.get(key).and_then(Value::as_str);
        check_credentials(&shared, text("grant_type"), text("appid"), text("secret"))?;
        let force = match body.get("force_refresh") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(WxError::new(
                    47001,
                    "data format error: force_refresh: expected a boolean",
                ));
            }
        };
        let mut state = shared.lock();
        let now = shared.now(&state);
        let tokens = &shared.config.tokens;
        Ok(state
            .tokens
            .fetch_stable(now, tokens.lifetime, tokens.grace, force))
    });
    token_reply(&shared, result, "stable").finish(plan.after, &kill)
}

fn token_reply(
    shared: &Shared,
    result: Result<crate::tokens::Issued, WxError>,
    kind: &'static str,
) -> Reply {
    match result {
        Ok(issued) => {
            // The token itself is never logged.
            tracing::debug!(kind, expires_in = issued.expires_in, "token issued");
            Reply::json(&json!({
                "access_token": issued.token,
                "expires_in": issued.expires_in,
            }))
        }
        Err(err) => {
            tracing::debug!(kind, errcode = err.code, "token refused");
            shared.count_error(err.code);
            Reply::json(&err.http_body())
        }
    }
}
