//! `POST /tcb/invokecloudfunction?access_token=T&env=ENV&name=FUNCTION`:
//! the server API that runs a cloud function, here the relay that calls
//! `cloud.openapi[ns][method](data)` and returns the result or the error.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use wechat_msg::meta::EndpointInfo;
use wechat_msg::{Form, protocol};

use crate::body::{query_pairs, query_value, validate};
use crate::deliver::deliver_outbox;
use crate::error::WxError;
use crate::inspect::Via;
use crate::layers::{Buffered, SystemBusy};
use crate::reply::{CloudReply, cloud_success};
use crate::state::Shared;

/// Runs the relay function. The outer answer is WeChat's (token, env and
/// function checked, the event read as JSON); the relay's result or error
/// is inside `resp_data`.
pub(crate) async fn invoke(
    State(shared): State<Arc<Shared>>,
    busy: Option<Extension<SystemBusy>>,
    Extension(Buffered(bytes)): Extension<Buffered>,
    uri: Uri,
) -> Response {
    let query = query_pairs(&uri);
    let event = shared
        .check_token(&query)
        .and_then(|()| check_function(&shared, &query))
        .and_then(|()| {
            wechat_msg::meta::parse_json(&bytes)
                .map_err(|e| WxError::new(47001, format!("data format error: the event: {e}")))
        });
    let event = match event {
        Ok(event) => event,
        Err(err) => {
            tracing::debug!(via = "cloud", errcode = err.code, "invocation refused");
            return err.into_response();
        }
    };
    let info = protocol::event_api(&event).and_then(|name| shared.endpoint(name));
    if busy.is_some() {
        let api = info.map_or("unknown", |i| i.name);
        return CloudReply::failure(api, &WxError::new(-1, "system error")).into_response();
    }
    let reply = relay(&shared, &event, info);
    deliver_outbox(&shared);
    crate::media_checks::push_media_checks(&shared);
    reply.into_response()
}

/// The `env` and `name` the configuration accepts (any when not restricted).
fn check_function(shared: &Shared, query: &[(String, String)]) -> Result<(), WxError> {
    let get = |key: &str| query_value(query, key).filter(|v| !v.is_empty());
    let cloud = &shared.config.cloud;
    let env = get("env").ok_or_else(|| WxError::new(-501000, "[InvalidParameter] env missing"))?;
    if !cloud.envs.is_empty() && !cloud.envs.iter().any(|e| e == env) {
        return Err(WxError::new(
            -501000,
            "[ResourceNotFound] the cloud environment does not exist",
        ));
    }
    let name = get("name")
        .ok_or_else(|| WxError::new(-501000, "[InvalidParameter] function name missing"))?;
    if !cloud.functions.is_empty() && !cloud.functions.iter().any(|f| f == name) {
        return Err(WxError::new(
            -501000,
            "[ResourceNotFound] the function does not exist",
        ));
    }
    Ok(())
}

/// What the relay function returns for `event`: the API's result or error,
/// in the cloud call's shape. The relay's own refusals are as
/// `cloud-relay/relay.js` writes them.
fn relay(shared: &Shared, event: &Value, info: Option<&'static EndpointInfo>) -> CloudReply {
    let api = protocol::event_api(event).unwrap_or_default();
    let well_formed = matches!(api.split('.').collect::<Vec<_>>()[..], [ns, method] if !ns.is_empty() && !method.is_empty());
    let result = match info {
        _ if !well_formed => Err((
            if api.is_empty() { "(none)" } else { api }.to_owned(),
            WxError::new(
                -604100,
                "the event names no API (expected \"namespace.method\")",
            ),
        )),
        // wx-server-sdk calls any name; WeChat refuses what the function's
        // config.json does not grant, and the relay grants the spec's APIs.
        None => Err((
            api.to_owned(),
            WxError::new(-604101, "function has no permission to call this API"),
        )),
        Some(info) => call(shared, info, event).map_err(|err| (info.name.to_owned(), err)),
    };
    match result {
        Ok(value) => CloudReply::success(value),
        Err((api, err)) => {
            tracing::debug!(api, via = "cloud", errcode = err.code, "rejected");
            CloudReply::failure(&api, &err)
        }
    }
}

/// One cloud call: the data converted to the HTTP form, then the same
/// checks and answer as over HTTP. Like the relay, data that is not an
/// object is taken as `{}`.
fn call(shared: &Shared, info: &'static EndpointInfo, event: &Value) -> Result<Value, WxError> {
    shared.check_retired(info)?;
    let data = Value::Object(protocol::event_data(event).cloned().unwrap_or_default());
    let files = protocol::event_files(event);
    let data = as_the_relay_passes_files(info, &data, &files);
    let body = to_http(info, data)?;
    let success = shared.process(info, body, Via::Cloud)?;
    tracing::debug!(endpoint = info.name, via = "cloud", "accepted");
    cloud_success(info, &success)
}

/// The relay turns the `value` of each file named in `files` from base64
/// into a Buffer. A file it was not told about keeps its string, which the
/// SDK then uploads as text: the emulator stores those bytes, as WeChat would.
fn as_the_relay_passes_files(info: &EndpointInfo, data: &Value, files: &[&str]) -> Value {
    let mut data = data.clone();
    if let Value::Object(map) = &mut data {
        for field in info.fields.iter().filter(|f| f.file) {
            if files.contains(&field.cloud) {
                continue;
            }
            if let Some(Value::Object(file)) = map.get_mut(field.cloud)
                && let Some(Value::String(text)) = file.get(protocol::FILE_BYTES)
            {
                let as_bytes = protocol::encode_base64(text.as_bytes());
                file.insert(protocol::FILE_BYTES.into(), Value::String(as_bytes));
            }
        }
    }
    data
}

/// The data in the HTTP form. The spec names every key, so template keyword
/// keys pass untouched; keys the spec does not know in the cloud form get a
/// second chance under wx-server-sdk's blind rule, applied to every key at
/// every depth as the SDK applies it (`wechat_msg::sdk::request_keys`:
/// `thumb_media_id` is accepted, as the SDK passes snake_case keys
/// unchanged).
fn to_http(info: &'static EndpointInfo, data: Value) -> Result<Value, WxError> {
    match validate(info, data.clone(), Form::Cloud) {
        Ok(body) => Ok(body),
        Err(first) if data.is_object() => {
            validate(info, wechat_msg::sdk::request_keys(&data), Form::Http).map_err(|_| first)
        }
        Err(first) => Err(first),
    }
}
