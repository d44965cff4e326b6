//! The WeChat side over HTTPS: the token endpoints and every endpoint of
//! the spec, routed by method and path. Counting and faults happen around
//! these handlers, in [`crate::layers`].

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use wechat_msg::meta::{EndpointInfo, Location};
use wechat_msg::{
    ClearQuotaByAppSecret, Form, StableTokenRequest, TokenAnswer, TokenRequest, Wire,
};

use crate::body::{self, query_pairs, query_value};
use crate::deliver::deliver_outbox;
use crate::error::WxError;
use crate::inspect::Via;
use crate::layers::{Buffered, Endpoint};
use crate::media_checks::push_media_checks;
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
    push_media_checks(&shared);
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

/// Reads a token request with the endpoint's generated parser. The
/// errcodes come from the spec: a field missing or empty answers its
/// `errcode_missing`, a value its type refuses its `errcode_invalid`, any
/// other shape 47001.
fn token_request<R: wechat_msg::Endpoint>(
    method: &axum::http::Method,
    query: &[(String, String)],
    bytes: Bytes,
) -> Result<R, WxError> {
    let info = R::INFO;
    let field_error =
        |key: &str, missing: bool| body::field_error(info, key, wechat_msg::Form::Http, missing);
    let has_body = info.fields.iter().any(|f| f.location == Location::Body);
    let mut body = if !has_body || *method == axum::http::Method::GET {
        Value::Object(serde_json::Map::new())
    } else if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(WxError::new(44002, "empty post data"));
    } else {
        wechat_msg::meta::parse_json(&bytes)
            .map_err(|e| WxError::new(47001, format!("data format error: {e}")))?
    };
    if let Value::Object(map) = &mut body {
        for field in info.fields.iter().filter(|f| f.location == Location::Query) {
            if let Some(value) = query_value(query, field.http) {
                map.insert(field.http.to_owned(), Value::String(value.to_owned()));
            }
        }
    }
    let request = R::from_value(&body, wechat_msg::Form::Http).map_err(|err| {
        let missing = matches!(err.kind(), wechat_msg::WireErrorKind::Missing);
        field_error(err.path(), missing).unwrap_or_else(|| crate::error::format_error(&err))
    })?;
    for field in info.fields.iter().filter(|f| f.errcode_missing.is_some()) {
        if body.get(field.http).and_then(Value::as_str) == Some("") {
            return Err(field_error(field.http, true)
                .unwrap_or_else(|| WxError::new(47001, "data format error")));
        }
    }
    Ok(request)
}

/// Checks the appid and secret of a token request against the app's.
fn check_credentials(shared: &Shared, appid: &str, secret: &str) -> Result<(), WxError> {
    if appid != shared.config.app.appid {
        return Err(WxError::new(40013, "invalid appid"));
    }
    if secret != shared.config.app.secret {
        return Err(WxError::new(40125, "invalid appsecret"));
    }
    Ok(())
}

/// `GET /cgi-bin/token?grant_type=client_credential&appid=A&secret=S`.
pub(crate) async fn classic_token(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let query = query_pairs(&parts.uri);
    let result = token_request::<TokenRequest>(&parts.method, &query, Bytes::new())
        .and_then(|r| check_credentials(&shared, &r.appid, &r.secret))
        .map(|()| shared.issue_classic());
    token_reply(result, "classic")
}

/// `POST /cgi-bin/stable_token` with `{grant_type, appid, secret, force_refresh}`.
pub(crate) async fn stable_token(
    State(shared): State<Arc<Shared>>,
    Extension(Buffered(bytes)): Extension<Buffered>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let result = token_request::<StableTokenRequest>(&parts.method, &[], bytes).and_then(|r| {
        check_credentials(&shared, &r.appid, &r.secret)?;
        Ok(shared.issue_stable(r.force_refresh.unwrap_or(false)))
    });
    token_reply(result, "stable")
}

fn token_reply(result: Result<Issued, WxError>, kind: &'static str) -> Response {
    match result {
        Ok(issued) => {
            // The token itself is never logged.
            tracing::debug!(kind, expires_in = issued.expires_in, "token issued");
            let answer = TokenAnswer::builder()
                .access_token(issued.token)
                .expires_in(i64::try_from(issued.expires_in).unwrap_or(i64::MAX))
                .build();
            Reply::json(&answer.to_value(Form::Http)).into_response()
        }
        Err(err) => {
            tracing::debug!(kind, errcode = err.code, "token refused");
            err.into_response()
        }
    }
}

/// `POST /cgi-bin/clear_quota/v2`: clears the API call counts with the
/// app's credentials instead of a token. WeChat's table puts `appid` and
/// `appsecret` in the body, its example in the query: both are read (the
/// query wins), with the endpoint's generated parser.
pub(crate) async fn clear_quota_by_secret(
    State(shared): State<Arc<Shared>>,
    Extension(Buffered(bytes)): Extension<Buffered>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let mut query = query_pairs(&parts.uri);
    if let Ok(Value::Object(body)) = wechat_msg::meta::parse_json(&bytes) {
        for (key, value) in body {
            if let Value::String(value) = value
                && query_value(&query, &key).is_none()
            {
                query.push((key, value));
            }
        }
    }
    let result = token_request::<ClearQuotaByAppSecret>(&parts.method, &query, Bytes::new())
        .and_then(|r| {
            if r.appid != shared.config.app.appid {
                return Err(WxError::new(40013, "invalid appid"));
            }
            if r.appsecret != shared.config.app.secret {
                return Err(WxError::new(40125, "invalid appsecret"));
            }
            shared.clear_quota_by_secret()
        });
    match result {
        Ok(()) => Reply::json(&crate::error::status_body(0, "ok")).into_response(),
        Err(err) => err.into_response(),
    }
}
