//! The WeChat side over HTTPS: the token endpoints and every endpoint of
//! the spec, routed by method and path. Counting and faults happen around
//! these handlers, in [`crate::layers`].

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wechat_msg::EndpointInfo;

use crate::body::{self, query_pairs, query_value};
use crate::deliver::deliver_outbox;
use crate::error::WxError;
use crate::inspect::Via;
use crate::layers::{Buffered, Endpoint};
use crate::reply::{Reply, http_success};
use crate::state::{Shared, Success};
use crate::tokens::Issued;

/// Any endpoint of the spec, over HTTP; 40066 for a path it does not have.
pub(crate) async fn endpoint_call(
    State(shared): State<Arc<Shared>>,
    endpoint: Option<Extension<Endpoint>>,
    Extension(Buffered(bytes)): Extension<Buffered>,
    request: Request,
) -> Response {
    let Some(Extension(Endpoint(info))) = endpoint else {
        return unknown_route(request.uri().path());
    };
    let (parts, _) = request.into_parts();
    let result = call(&shared, info, &parts, bytes).await;
    deliver_outbox(&shared);
    match result {
        Ok(success) => {
            tracing::debug!(endpoint = info.name, via = "http", "accepted");
            http_success(&success).into_response()
        }
        Err(err) => {
            tracing::debug!(
                endpoint = info.name,
                via = "http",
                errcode = err.code,
                "rejected"
            );
            err.into_response()
        }
    }
}

async fn call(
    shared: &Shared,
    info: &'static EndpointInfo,
    request: &Parts,
    bytes: Bytes,
) -> Result<Success, WxError> {
    let query = query_pairs(&request.uri);
    shared.check_token(&query)?;
    shared.check_retired(info)?;
    let body = body::from_http(info, &request.method, &request.headers, &query, bytes).await?;
    shared.process(info, body, Via::Http)
}

/// A path the spec does not have: 404 with a WeChat-like body.
fn unknown_route(path: &str) -> Response {
    tracing::debug!(path, "unknown route");
    WxError::new(40066, "invalid url").with_status(StatusCode::NOT_FOUND)
}

/// A token route asked with the wrong method: 405 with WeChat's errcode
/// for it (43001 "require GET method", 43002 "require POST method").
pub(crate) fn wrong_method(required: &'static str) -> Response {
    let code = if required == "GET" { 43001 } else { 43002 };
    WxError::new(code, format!("require {required} method"))
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
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
pub(crate) async fn classic_token(State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let query = query_pairs(&uri);
    let get = |key: &str| query_value(&query, key);
    let result = check_credentials(&shared, get("grant_type"), get("appid"), get("secret"))
        .map(|()| shared.issue_classic());
    token_reply(result, "classic")
}

/// `POST /cgi-bin/stable_token` with `{grant_type, appid, secret, force_refresh}`.
pub(crate) async fn stable_token(
    State(shared): State<Arc<Shared>>,
    Extension(Buffered(bytes)): Extension<Buffered>,
) -> Response {
    let result = if bytes.iter().all(u8::is_ascii_whitespace) {
        Err(WxError::new(44002, "empty post data"))
    } else {
        wechat_msg::wire::parse_json(&bytes)
            .map_err(|e| WxError::new(47001, format!("data format error: {e}")))
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
        Ok(shared.issue_stable(force))
    });
    token_reply(result, "stable")
}

fn token_reply(result: Result<Issued, WxError>, kind: &'static str) -> Response {
    match result {
        Ok(issued) => {
            // The token itself is never logged.
            tracing::debug!(kind, expires_in = issued.expires_in, "token issued");
            Reply::json(&json!({
                "access_token": issued.token,
                "expires_in": issued.expires_in,
            }))
            .into_response()
        }
        Err(err) => {
            tracing::debug!(kind, errcode = err.code, "token refused");
            err.into_response()
        }
    }
}
