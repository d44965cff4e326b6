//! What a test reads from the emulator and adds to it: recorded messages,
//! counters, and ids and media to register at run time.
//!
//! These types are re-exported from the crate root and are the JSON of the
//! control API (`GET /_emulator/messages`, `GET /_emulator/counters`,
//! `POST /_emulator/known`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::media::encode_base64;

/// How a call reached the emulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// The HTTPS API.
    Http,
    /// `POST /tcb/invokecloudfunction` through the relay function.
    Cloud,
}

/// A call the emulator accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// Its position among accepted calls, from 1.
    pub seq: u64,
    /// The endpoint's cloud-call name.
    pub endpoint: String,
    /// How it came.
    pub via: Via,
    /// The request body in the HTTP form (query fields included; files as
    /// `{content_type, value: base64}`).
    pub body: Value,
    /// The emulator's Unix time when it was accepted.
    pub unix_time: u64,
}

/// What the emulator has seen since it started or was last reset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Counters {
    /// Requests to `GET /cgi-bin/token`.
    pub token_fetches: u64,
    /// Requests to `POST /cgi-bin/stable_token`.
    pub stable_token_fetches: u64,
    /// API calls: endpoint requests and cloud-function invocations.
    pub calls: u64,
    /// API calls by endpoint name (cloud calls under the API they named).
    pub calls_by_endpoint: BTreeMap<String, u64>,
    /// Calls accepted (recorded in the messages).
    pub accepted: u64,
    /// Error answers by errcode, token endpoints included. Gateway errors
    /// (HTTP 5xx) and request bodies that did not arrive in time (408) count
    /// under their status.
    pub errors: BTreeMap<i64, u64>,
    /// Calls a fault was injected into.
    pub faults: u64,
}

/// Ids and media to add at run time (`POST /_emulator/known`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Registration {
    /// OpenIDs.
    pub openids: Vec<String>,
    /// Template IDs.
    pub template_ids: Vec<String>,
    /// form_ids, each usable once.
    pub form_ids: Vec<String>,
    /// Media.
    pub media: Vec<RegisteredMedia>,
}

/// A medium added at run time.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RegisteredMedia {
    /// Its media_id.
    pub id: String,
    /// Its content type.
    pub content_type: String,
    /// Its bytes, as base64.
    pub base64: String,
    /// Seconds until it expires, from 0 to [`crate::MAX_DURATION`]; never
    /// when absent.
    #[serde(default)]
    pub lifetime_secs: Option<f64>,
}

impl RegisteredMedia {
    /// A medium that never expires.
    pub fn new(id: impl Into<String>, content_type: impl Into<String>, bytes: &[u8]) -> Self {
        RegisteredMedia {
            id: id.into(),
            content_type: content_type.into(),
            base64: encode_base64(bytes),
            lifetime_secs: None,
        }
    }
}

/// A push to the developer's server: a user acted, and the emulator pushed
/// it as WeChat does (`GET /_emulator/pushes`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PushDelivery {
    /// Its position among pushes, from 1.
    pub seq: u64,
    /// The user who acted.
    pub openid: String,
    /// The push, in WeChat's JSON push form (before signing and sealing).
    pub push: Value,
    /// Each attempt to deliver it; none when no push endpoint is set.
    pub attempts: Vec<PushAttempt>,
    /// Whether an attempt was answered `success`, empty, or with a passive
    /// reply, within the time limit.
    pub delivered: bool,
}

/// One attempt to deliver a push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PushAttempt {
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The answer's body (its first KiB), when one came.
    pub answer: Option<String>,
    /// What went wrong, when nothing usable came (a timeout, a refused
    /// connection, an error status, a dropped answer).
    pub error: Option<String>,
    /// Which of the endpoint's URLs the attempt went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}
