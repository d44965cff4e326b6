//! Inspection and control under `/_emulator/`.
//!
//! | method and path | what |
//! |---|---|
//! | `GET /_emulator/` | an index: the endpoints served and these routes |
//! | `GET /_emulator/messages` | accepted messages, in order |
//! | `GET /_emulator/counters` | token fetches, calls, accepted, errors by code |
//! | `POST /_emulator/reset` | back to the configuration (tokens survive) |
//! | `GET /_emulator/faults` | the pending faults |
//! | `PUT /_emulator/faults` | replaces them (a [`crate::Faults`] as JSON) |
//! | `POST /_emulator/known` | adds openids, template ids, form_ids, media |
//! | `POST /_emulator/tokens/expire` | every token issued so far expires |
//! | `POST /_emulator/clock/advance` | `{"secs": N}`: moves the clock forward |
//! | `POST /_emulator/new_day` | quota counts start again |
//! | `PUT` / `GET` / `DELETE /_emulator/push` | the developer's push endpoint (a [`crate::PushTarget`]) |
//! | `POST /_emulator/users/{openid}/messages` | the user acts (a push body); pushed to the endpoint |
//! | `POST /_emulator/users/{openid}/subscriptions` | `{"template_id", "times"?}`: the user subscribes; pushed as `subscribe_msg_popup_event` |
//! | `GET /_emulator/users/{openid}` | the user's reply window and subscriptions |
//! | `GET /_emulator/pushes` | every push and its delivery ([`crate::PushDelivery`]) |
//! | `GET /_emulator/templates` | the account's private templates ([`crate::config::PrivateTemplate`]s) |
//! | `POST /_emulator/templates` | adds or replaces one (a [`crate::config::PrivateTemplate`] as JSON) |
//! | `DELETE /_emulator/templates/{id}` | removes one |

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::clock::check_secs;
use crate::config::{PrivateTemplate, PushTarget};
use crate::deliver::deliver;
use crate::error::ControlError;
use crate::faults::Faults;
use crate::inspect::{PushDelivery, Registration};
use crate::layers::Buffered;
use crate::state::{Acted, Shared};

/// The routes, under `/_emulator`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator", get(index))
        .route("/_emulator/", get(index))
        .route("/_emulator/messages", get(messages))
        .route("/_emulator/counters", get(counters))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/faults", get(faults).put(set_faults))
        .route("/_emulator/known", post(known))
        .route("/_emulator/tokens/expire", post(expire_tokens))
        .route("/_emulator/clock/advance", post(advance_clock))
        .route("/_emulator/new_day", post(new_day))
        .route(
            "/_emulator/push",
            get(push_target)
                .put(set_push_target)
                .delete(remove_push_target),
        )
        .route("/_emulator/pushes", get(pushes))
        .route("/_emulator/users/{openid}", get(user))
        .route("/_emulator/users/{openid}/messages", post(user_acts))
        .route(
            "/_emulator/users/{openid}/subscriptions",
            post(user_subscribes),
        )
        .route("/_emulator/templates", get(templates).post(add_template))
        .route(
            "/_emulator/templates/{id}",
            axum::routing::delete(remove_template),
        )
        .method_not_allowed_fallback(wrong_method)
}

const ROUTES: &[&str] = &[
    "GET /_emulator/messages",
    "GET /_emulator/counters",
    "POST /_emulator/reset",
    "GET /_emulator/faults",
    "PUT /_emulator/faults",
    "POST /_emulator/known",
    "POST /_emulator/tokens/expire",
    "POST /_emulator/clock/advance",
    "POST /_emulator/new_day",
    "PUT /_emulator/push",
    "GET /_emulator/push",
    "DELETE /_emulator/push",
    "GET /_emulator/pushes",
    "GET /_emulator/users/{openid}",
    "POST /_emulator/users/{openid}/messages",
    "POST /_emulator/users/{openid}/subscriptions",
    "GET /_emulator/templates",
    "POST /_emulator/templates",
    "DELETE /_emulator/templates/{id}",
];

async fn index(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let endpoints: Vec<Value> = shared
        .endpoints
        .iter()
        .map(|e| json!({"name": e.name, "method": e.method.as_str(), "path": e.path}))
        .collect();
    Json(json!({"endpoints": endpoints, "control": ROUTES}))
}

async fn wrong_method(method: Method, uri: Uri) -> ControlError {
    ControlError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: format!(
            "{method} is not allowed on {}; GET /_emulator/ lists the routes",
            uri.path()
        ),
    }
}

async fn messages(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.messages()).into_response()
}

async fn counters(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.lock().counters.clone()).into_response()
}

async fn reset(State(shared): State<Arc<Shared>>) -> Response {
    shared.reset();
    done()
}

async fn faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.lock().faults.clone()).into_response()
}

async fn set_faults(
    State(shared): State<Arc<Shared>>,
    Extension(Buffered(body)): Extension<Buffered>,
) -> Result<Response, ControlError> {
    let faults = parse::<Faults>(&body)?;
    shared.lock().faults = faults;
    Ok(done())
}

async fn known(
    State(shared): State<Arc<Shared>>,
    Extension(Buffered(body)): Extension<Buffered>,
) -> Result<Response, ControlError> {
    let known = parse::<Registration>(&body)?;
    shared.register(&known).map_err(ControlError::bad_request)?;
    Ok(done())
}

async fn expire_tokens(State(shared): State<Arc<Shared>>) -> Response {
    shared.expire_tokens();
    done()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    secs: f64,
}

/// `{"secs": N}`: N from 0 to [`crate::MAX_DURATION`], and the clock no
/// further ahead than that in total.
async fn advance_clock(
    State(shared): State<Arc<Shared>>,
    Extension(Buffered(body)): Extension<Buffered>,
) -> Result<Response, ControlError> {
    let advance = parse::<Advance>(&body)?;
    let by =
        check_secs(advance.secs).map_err(|e| ControlError::bad_request(format!("secs: {e}")))?;
    shared
        .try_advance_clock(by)
        .map_err(|e| ControlError::bad_request(format!("secs: {e}")))?;
    Ok(done())
}

/// The push endpoint, without its token or key.
async fn push_target(State(shared): State<Arc<Shared>>) -> Response {
    let target = shared
        .push_target()
        .map(|t| json!({"url": t.url, "urls": t.urls, "encoding": t.encoding, "encrypted": t.aes_key.is_some()}));
    Json(json!({"push": target})).into_response()
}

async fn set_push_target(
    State(shared): State<Arc<Shared>>,
    Extension(Buffered(body)): Extension<Buffered>,
) -> Result<Response, ControlError> {
    let target = parse::<PushTarget>(&body)?;
    shared
        .set_push_target(Some(target))
        .map_err(ControlError::bad_request)?;
    Ok(done())
}

async fn remove_push_target(State(shared): State<Arc<Shared>>) -> Response {
    let _ = shared.set_push_target(None);
    done()
}

async fn pushes(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.pushes()).into_response()
}

async fn user(State(shared): State<Arc<Shared>>, Path(openid): Path<String>) -> Response {
    Json(json!({
        "openid": openid,
        "window": shared.window(&openid),
        "subscriptions": shared.subscriptions(&openid),
    }))
    .into_response()
}

/// The user acts: the push is filled in, the window opens, and the push is
/// delivered (or recorded as undelivered) before this answers.
async fn user_acts(
    State(shared): State<Arc<Shared>>,
    Path(openid): Path<String>,
    Extension(Buffered(body)): Extension<Buffered>,
) -> Result<Response, ControlError> {
    let Value::Object(push) = wechat_msg::wire::parse_json(&body)
        .map_err(|e| ControlError::bad_request(e.to_string()))?
    else {
        return Err(ControlError::bad_request(
            "a push body is a JSON object, such as {\"MsgType\":\"text\",\"Content\":\"hi\"}",
        ));
    };
    let delivery = act(&shared, &openid, push)
        .await
        .map_err(ControlError::bad_request)?;
    Ok(Json(json!({
        "ok": true,
        "delivery": delivery,
        "window": shared.window(&openid),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscribe {
    template_id: String,
    #[serde(default)]
    times: Option<u64>,
}

/// The user subscribes: `{"template_id": "...", "times": N}` grants N
/// one-time subscriptions more, `{"template_id": "..."}` a long-term one.
/// The popup event is delivered (or recorded as undelivered) before this
/// answers.
async fn user_subscribes(
    State(shared): State<Arc<Shared>>,
    Path(openid): Path<String>,
    Extension(Buffered(body)): Extension<Buffered>,
) -> Result<Response, ControlError> {
    let grant = parse::<Subscribe>(&body).map_err(|e| {
        ControlError::bad_request(format!(
            "{}; a subscription is {{\"template_id\": \"...\", \"times\": N}} (one-time, N >= 1) or {{\"template_id\": \"...\"}} (long-term)",
            e.message
        ))
    })?;
    let delivery = subscribe(&shared, &openid, &grant.template_id, grant.times)
        .await
        .map_err(ControlError::bad_request)?;
    Ok(Json(json!({
        "ok": true,
        "delivery": delivery,
        "subscriptions": shared.subscriptions(&openid),
    }))
    .into_response())
}

/// [`Shared::subscribe`], then the delivery of the popup event.
pub(crate) async fn subscribe(
    shared: &Shared,
    openid: &str,
    template_id: &str,
    times: Option<u64>,
) -> Result<PushDelivery, String> {
    let acted = shared.subscribe(openid, template_id, times)?;
    finish(shared, acted).await
}

/// [`Shared::user_acts`], then the delivery.
pub(crate) async fn act(
    shared: &Shared,
    openid: &str,
    push: serde_json::Map<String, Value>,
) -> Result<PushDelivery, String> {
    let acted = shared.user_acts(openid, push)?;
    finish(shared, acted).await
}

/// Delivers a recorded push, and records how it went.
async fn finish(shared: &Shared, acted: Acted) -> Result<PushDelivery, String> {
    let (attempts, delivered) = match &acted.target {
        Some(target) => deliver(shared, target, &acted.push).await,
        None => (Vec::new(), false),
    };
    shared
        .delivered(acted.index, attempts, delivered)
        .ok_or_else(|| "the push record is gone (the emulator was reset)".to_owned())
}

async fn templates(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({"templates": shared.templates()})).into_response()
}

async fn add_template(
    State(shared): State<Arc<Shared>>,
    Extension(Buffered(body)): Extension<Buffered>,
) -> Result<Response, ControlError> {
    let template = parse::<PrivateTemplate>(&body)?;
    let id = template.id.clone();
    shared
        .add_template(template)
        .map_err(ControlError::bad_request)?;
    Ok(Json(json!({"ok": true, "id": id})).into_response())
}

async fn remove_template(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Response, ControlError> {
    if shared.remove_template(&id) {
        Ok(done())
    } else {
        Err(ControlError {
            status: StatusCode::NOT_FOUND,
            message: format!("no private template {id:?}"),
        })
    }
}

async fn new_day(State(shared): State<Arc<Shared>>) -> Response {
    shared.new_day();
    done()
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| ControlError::bad_request(e.to_string()))
}

fn done() -> Response {
    Json(json!({"ok": true})).into_response()
}
