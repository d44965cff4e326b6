//! The rid log: every error answer is recorded under the rid its errmsg
//! ends with, for `openApi.getRidInfo` ([`crate::diagnostics`]).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::Value;
use wechat_msg::{Form, protocol};

use crate::diagnostics::{RidRecord, redacted_body, redacted_query};
use crate::error::Errcode;
use crate::layers::Buffered;
use crate::state::Shared;

/// Middleware: records every error answer under the rid its errmsg ends
/// with (the cloud form's too, inside `resp_data`), with the call's query
/// string and body (secrets redacted), its answer and how long it took,
/// for `openApi.getRidInfo`.
pub(crate) async fn record_rids(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let request_url = request
        .uri()
        .query()
        .map(redacted_query)
        .unwrap_or_default();
    let request_body = request
        .extensions()
        .get::<Buffered>()
        .map(|b| redacted_body(&b.0))
        .unwrap_or_default();
    let response = next.run(request).await;
    if response.extensions().get::<Errcode>().is_none() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    if let Some(rid) = rid_of_answer(&bytes) {
        let record = RidRecord {
            invoke_time: 0,
            cost_in_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            request_url,
            request_body,
            response_body: String::from_utf8_lossy(&bytes).into_owned(),
            client_ip: "127.0.0.1".to_owned(),
        };
        shared.record_rid(rid, record);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The rid at the end of an error answer's errmsg: `errmsg` over HTTP,
/// `errMsg` inside a cloud call's `resp_data`.
fn rid_of_answer(bytes: &[u8]) -> Option<String> {
    let answer: Value = serde_json::from_slice(bytes).ok()?;
    let (inner, form) = match protocol::resp_data(&answer) {
        Some(data) => (data, Form::Cloud),
        None => (answer, Form::Http),
    };
    let errmsg = inner
        .get(protocol::status_keys(form).1)?
        .as_str()?
        .to_owned();
    wechat_msg::meta::rid_of(&errmsg)
}
