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
//! | `GET /_emulator/events` | server-sent events: every call, push, delivery, user action and state change |
//! | `GET /_emulator/calls` | the call log (`?openid=&before=&limit=`), secrets removed |
//! | `GET /_emulator/users` | every user: known, pushes made, subscribed, reply window |
//! | `GET /_emulator/users/{openid}/timeline` | the user's pushes and the calls concerning them, in order (`?before=&limit=`) |
//! | `GET` / `PUT /_emulator/state` | a [`crate::Snapshot`] of the world / replaces the world with one |

use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
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
use crate::error::{ControlError, EmulatorError};
use crate::faults::Faults;
use crate::inspect::{PushDelivery, Registration};
use crate::layers::Buffered;
use crate::snapshot::Snapshot;
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
        .route("/_emulator/security", get(security).put(set_security))
        .route(
            "/_emulator/push",
            get(push_target)
                .put(set_push_target)
                .delete(remove_push_target),
        )
        .route("/_emulator/pushes", get(pushes))
        .route("/_emulator/events", get(events))
        .route("/_emulator/calls", get(calls))
        .route("/_emulator/users", get(users))
        .route("/_emulator/users/{openid}/timeline", get(timeline))
        .route("/_emulator/state", get(snapshot).put(restore))
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
    "GET /_emulator/security",
    "PUT /_emulator/security",
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
    "GET /_emulator/events",
    "GET /_emulator/calls",
    "GET /_emulator/users",
    "GET /_emulator/users/{openid}/timeline",
    "GET /_emulator/state",
    "PUT /_emulator/state",
    "GET /_emulator/ui/",
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
    shared.register(&known).map_err(ControlError::from)?;
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
        .map_err(ControlError::from)?;
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
    let Value::Object(push) = wechat_msg::meta::parse_json(&body)
        .map_err(|e| ControlError::bad_request(e.to_string()))?
    else {
        return Err(ControlError::bad_request(
            "a push body is a JSON object, such as {\"MsgType\":\"text\",\"Content\":\"hi\"}",
        ));
    };
    let delivery = act(&shared, &openid, push)
        .await
        .map_err(ControlError::from)?;
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
        .map_err(ControlError::from)?;
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
) -> Result<PushDelivery, EmulatorError> {
    let acted = shared.subscribe(openid, template_id, times)?;
    finish(shared, acted).await
}

/// [`Shared::user_acts`], then the delivery.
pub(crate) async fn act(
    shared: &Shared,
    openid: &str,
    push: serde_json::Map<String, Value>,
) -> Result<PushDelivery, EmulatorError> {
    let acted = shared.user_acts(openid, push)?;
    finish(shared, acted).await
}

/// Delivers a recorded push, and records how it went.
async fn finish(shared: &Shared, acted: Acted) -> Result<PushDelivery, EmulatorError> {
    let (attempts, delivered) = match &acted.target {
        Some(target) => deliver(shared, target, &acted.push, Some(acted.index)).await,
        None => (Vec::new(), false),
    };
    shared
        .delivered(acted.index, attempts, delivered)
        .ok_or(EmulatorError::PushRecordGone)
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
    shared.add_template(template).map_err(ControlError::from)?;
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

/// The content checks' risky words: `{"risky": [{"word", "label"}]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecurityWords {
    risky: Vec<crate::config::RiskyWord>,
}

async fn security(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({"risky": shared.risky_words()})).into_response()
}

/// Replaces the risky words; an empty word is refused by its index.
async fn set_security(
    State(shared): State<Arc<Shared>>,
    Extension(Buffered(body)): Extension<Buffered>,
) -> Result<Response, ControlError> {
    let words = parse::<SecurityWords>(&body)?;
    shared
        .set_risky_words(words.risky)
        .map_err(ControlError::from)?;
    Ok(done())
}

async fn new_day(State(shared): State<Arc<Shared>>) -> Response {
    shared.new_day();
    done()
}

/// How `GET /_emulator/events` frames its events.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Follow {
    /// `true`: each SSE message is a JSON array of the events that came
    /// together (what the web UI asks for: one message to parse a burst).
    #[serde(default)]
    batch: bool,
    /// With `batch`: at most this many events a message, the newest; the
    /// older ones are counted in one `{"type": "skipped", "count"}` event
    /// first (a page under a flood draws the newest, not every event).
    #[serde(default)]
    max: Option<usize>,
}

/// `GET /_emulator/events`: one `data:` line of JSON per event (or, with
/// `?batch=true`, one JSON array of events per message, at most `max` of
/// them), from now on. Events that come within 25 ms of the first (100 ms
/// when batched) go out in one write (a
/// burst of calls costs a few writes, not one each); an idle stream gets a
/// comment line every 15 s so proxies keep it open.
async fn events(
    State(shared): State<Arc<Shared>>,
    follow: Result<Query<Follow>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ControlError> {
    use tokio::sync::broadcast::error::{RecvError, TryRecvError};
    const IDLE: std::time::Duration = std::time::Duration::from_secs(15);
    const GATHER: std::time::Duration = std::time::Duration::from_millis(25);
    const BURST: usize = 4096;
    let Query(follow) = follow.map_err(|e| ControlError::bad_request(e.body_text()))?;
    let batch = follow.batch;
    let max = follow.max.filter(|_| batch).unwrap_or(usize::MAX).max(1);
    // A batching follower (the web UI) takes its events a few times a
    // second; a plain one as they come.
    let gather = if batch { GATHER * 4 } else { GATHER };
    let follower = shared.events.follow();
    let stream = futures_util::stream::unfold(follower, move |mut follower| async move {
        let lagged = |missed: u64| json!({"type": "lagged", "missed": missed}).to_string();
        let mut gathered: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        match tokio::time::timeout(IDLE, follower.recv()).await {
            Err(_) => {
                return Some((
                    Ok::<_, std::convert::Infallible>(":\n\n".to_owned()),
                    follower,
                ));
            }
            Ok(Ok(data)) => gathered.push_back(data),
            Ok(Err(RecvError::Lagged(missed))) => gathered.push_back(lagged(missed)),
            Ok(Err(RecvError::Closed)) => return None,
        }
        // What else comes within GATHER goes in the same write. Sleeping
        // (not waiting on the channel) spares a wake-up per event.
        tokio::time::sleep(gather).await;
        // The newest `max` are kept: a page shows the newest state.
        let mut skipped = 0u64;
        for _ in 0..BURST {
            let data = match follower.try_recv() {
                Ok(data) => data,
                Err(TryRecvError::Lagged(missed)) => lagged(missed),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            };
            if gathered.len() == max {
                gathered.pop_front();
                skipped += 1;
            }
            gathered.push_back(data);
        }
        if skipped > 0 {
            gathered.push_front(json!({"type": "skipped", "count": skipped}).to_string());
        }
        let size: usize = gathered.iter().map(|d| d.len() + 8).sum();
        let mut out = String::with_capacity(size + 16);
        if batch {
            out.push_str("data: [");
            out.push_str(&Vec::from(gathered).join(","));
            out.push_str("]\n\n");
        } else {
            for data in &gathered {
                out.push_str("data: ");
                out.push_str(data);
                out.push_str("\n\n");
            }
        }
        Some((Ok(out), follower))
    });
    let mut response = axum::body::Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-cache"),
    );
    Ok(response)
}

/// A page of a list: the items before `before` (all when absent), at most
/// `limit` (100 by default, 1000 at most).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    #[serde(default)]
    openid: Option<String>,
    #[serde(default)]
    before: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

impl Page {
    fn limit(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }
}

async fn calls(
    State(shared): State<Arc<Shared>>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ControlError> {
    let Query(page) = page.map_err(|e| ControlError::bad_request(e.body_text()))?;
    let calls = shared
        .events
        .calls(page.openid.as_deref(), page.before, page.limit());
    Ok(Json(json!({"calls": calls})).into_response())
}

async fn users(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({"users": shared.users()})).into_response()
}

/// The user's pushes and the calls concerning them, merged in the order
/// they happened: `[{order, push}|{order, call}]`, oldest first, the page
/// before `before`.
async fn timeline(
    State(shared): State<Arc<Shared>>,
    Path(openid): Path<String>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ControlError> {
    let Query(page) = page.map_err(|e| ControlError::bad_request(e.body_text()))?;
    // One more than a page of each: the newest page of the two merged is
    // among them, and whether there is more.
    let each = page.limit() + 1;
    let mut items: Vec<(u64, Value)> = shared
        .pushes_of(&openid, page.before, each)
        .into_iter()
        .map(|(order, push)| (order, json!({"order": order, "push": push})))
        .chain(
            shared
                .events
                .calls_of(&openid, page.before, each)
                .into_iter()
                .map(|(order, call)| (order, json!({"order": order, "call": call}))),
        )
        .collect();
    items.sort_by_key(|(order, _)| *order);
    let more = items.len() > page.limit();
    let start = items.len().saturating_sub(page.limit());
    let items: Vec<Value> = items.drain(start..).map(|(_, item)| item).collect();
    Ok(Json(json!({
        "openid": openid,
        "items": items,
        "more": more,
        "window": shared.window(&openid),
        "subscriptions": shared.subscriptions(&openid),
    }))
    .into_response())
}

async fn snapshot(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.snapshot()).into_response()
}

async fn restore(
    State(shared): State<Arc<Shared>>,
    Extension(Buffered(body)): Extension<Buffered>,
) -> Result<Response, ControlError> {
    let snapshot = parse::<Snapshot>(&body)?;
    shared.restore(snapshot).map_err(ControlError::from)?;
    Ok(done())
}

/// Tells the followers of the events what a control request changed: a
/// user's action (`{"type": "user", "openid", "action"}`) or the state
/// (`{"type": "state", "what": "/_emulator/faults"}`).
pub(crate) async fn announce(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if method != Method::GET && response.status().is_success() {
        let user = path
            .strip_prefix("/_emulator/users/")
            .and_then(|rest| rest.rsplit_once('/'));
        match user {
            Some((openid, action)) => shared.events.publish("user", || {
                let mut fields = serde_json::Map::new();
                fields.insert("openid".into(), openid.into());
                fields.insert("action".into(), action.into());
                fields
            }),
            None => shared.changed(&path),
        }
    }
    response
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| ControlError::bad_request(e.to_string()))
}

fn done() -> Response {
    Json(json!({"ok": true})).into_response()
}
