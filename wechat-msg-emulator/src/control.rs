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

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::faults::Faults;
use crate::state::{Registration, Shared};

/// The routes, relative to `/_emulator`.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(index))
        .route("/messages", get(messages))
        .route("/counters", get(counters))
        .route("/reset", post(reset))
        .route("/faults", get(faults).put(set_faults))
        .route("/known", post(known))
        .route("/tokens/expire", post(expire_tokens))
        .route("/clock/advance", post(advance_clock))
        .route("/new_day", post(new_day))
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
];

pub(crate) async fn index(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let endpoints: Vec<Value> = shared
        .endpoints
        .iter()
        .map(|e| json!({"name": e.name, "method": e.method.as_str(), "path": e.path}))
        .collect();
    Json(json!({"endpoints": endpoints, "control": ROUTES}))
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

async fn set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Faults>(&body) {
        Ok(faults) => {
            shared.lock().faults = faults;
            done()
        }
        Err(response) => *response,
    }
}

async fn known(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse::<Registration>(&body) {
        Ok(known) => match shared.register(&known) {
            Ok(()) => done(),
            Err(message) => bad_request(message),
        },
        Err(response) => *response,
    }
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

async fn advance_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let advance = match parse::<Advance>(&body) {
        Ok(advance) => advance,
        Err(response) => return *response,
    };
    match std::time::Duration::try_from_secs_f64(advance.secs) {
        Ok(by) => {
            shared.advance_clock(by);
            done()
        }
        Err(e) => bad_request(format!("secs: {e}")),
    }
}

async fn new_day(State(shared): State<Arc<Shared>>) -> Response {
    shared.new_day();
    done()
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| Box::new(bad_request(e.to_string())))
}

fn done() -> Response {
    Json(json!({"ok": true})).into_response()
}

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"ok": false, "error": message})),
    )
        .into_response()
}
