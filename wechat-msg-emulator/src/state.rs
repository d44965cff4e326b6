//! What the emulator remembers, behind one lock: tokens, known ids, media,
//! quotas, accepted messages, counters and faults.
//!
//! A call is checked and committed under the lock in one step, so concurrent
//! calls never both use one form_id, never overrun a quota, and every
//! accepted message is recorded exactly once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wechat_msg::{AnswerKind, EndpointInfo, Method, Role};

use crate::config::Config;
use crate::faults::Faults;
use crate::media::{Media, decode_base64, encode_base64};
use crate::reply::WxError;
use crate::tokens::TokenStore;

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
    /// (HTTP 5xx) count under their status.
    pub errors: BTreeMap<i64, u64>,
    /// Calls a fault was injected into.
    pub faults: u64,
}

/// A form_id's life.
#[derive(Clone, Copy, Debug)]
enum FormId {
    Fresh { expires_at: Instant },
    Used,
}

/// The state behind the lock.
#[derive(Debug)]
pub(crate) struct State {
    pub tokens: TokenStore,
    openids: HashSet<String>,
    template_ids: HashSet<String>,
    form_ids: HashMap<String, FormId>,
    media: HashMap<String, Media>,
    daily: HashMap<&'static str, u64>,
    per_user: HashMap<(&'static str, String), u64>,
    messages: Vec<Message>,
    pub counters: Counters,
    pub faults: Faults,
    clock_offset: Duration,
}

/// The state and what does not change, shared by every handler.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    /// The endpoints served.
    pub endpoints: &'static [&'static EndpointInfo],
    /// The same, by method and path.
    routes: HashMap<(Method, &'static str), &'static EndpointInfo>,
    state: Mutex<State>,
    epoch: Instant,
    epoch_unix: u64,
}

/// A successful answer, in the HTTP form.
#[derive(Debug)]
pub(crate) enum Success {
    /// `{errcode: 0, errmsg: "ok", ...fields}`.
    Json(Map<String, Value>),
    /// A file.
    Binary {
        content_type: String,
        bytes: Arc<[u8]>,
    },
}

impl Shared {
    pub fn new(config: Config, endpoints: &'static [&'static EndpointInfo]) -> Arc<Shared> {
        let epoch_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let state = State::new(&config, Instant::now());
        let routes = endpoints
            .iter()
            .map(|info| ((info.method, info.path), *info))
            .collect();
        Arc::new(Shared {
            config,
            endpoints,
            routes,
            state: Mutex::new(state),
            epoch: Instant::now(),
            epoch_unix,
        })
    }

    /// The endpoint at `method` and `path`.
    pub fn route(&self, method: Method, path: &str) -> Option<&'static EndpointInfo> {
        self.routes.get(&(method, path)).copied()
    }

    /// The endpoint whose cloud-call name is `name`.
    pub fn endpoint(&self, name: &str) -> Option<&'static EndpointInfo> {
        self.endpoints.iter().copied().find(|e| e.name == name)
    }

    /// The state. A panic elsewhere while holding the lock cannot leave it
    /// half-updated in a way that matters more than losing the emulator, so
    /// a poisoned lock is used as is.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The emulator's clock: real time plus any offset set by
    /// [`crate::Emulator::advance_clock`].
    pub fn now(&self, state: &State) -> Instant {
        Instant::now() + state.clock_offset
    }

    /// The emulator's Unix time.
    pub fn unix_now(&self, state: &State) -> u64 {
        self.epoch_unix + (self.now(state) - self.epoch).as_secs()
    }

    /// Back to the configured state, keeping tokens so clients keep working.
    pub fn reset(&self) {
        let mut state = self.lock();
        let now = self.now(&state);
        let tokens = std::mem::take(&mut state.tokens);
        let offset = state.clock_offset;
        *state = State::new(&self.config, now);
        state.tokens = tokens;
        state.clock_offset = offset;
    }

    /// 45103 for a retired endpoint when the configuration says so; checked
    /// before the body, as WeChat does.
    pub fn check_retired(&self, info: &EndpointInfo) -> Result<(), WxError> {
        if self.config.retired_unsupported && info.deprecated.is_some() {
            return Err(WxError::new(45103, "This API has been unsupported"));
        }
        Ok(())
    }

    /// Checks a validated body against what the emulator knows and, when it
    /// passes, commits it: consumes form_ids, counts quotas, stores uploads,
    /// records the message. `body` is in the HTTP form.
    pub fn process(
        &self,
        info: &'static EndpointInfo,
        body: Value,
        via: Via,
    ) -> Result<Success, WxError> {
        self.check_retired(info)?;
        let mut state = self.lock();
        let now = self.now(&state);
        if let Some(limit) = self.config.daily_quota(info.name)
            && state.daily.get(info.name).copied().unwrap_or(0) >= limit
        {
            return Err(WxError::new(45009, "reach max api daily quota limit"));
        }
        let mut form_ids = Vec::new();
        let mut user = None;
        let mut media = None;
        for role in info.roles {
            let Some(value) = lookup(&body, role.path).and_then(Value::as_str) else {
                continue;
            };
            state.check_role(role.role, role.path, value, now)?;
            match role.role {
                Role::FormId => form_ids.push(value.to_owned()),
                Role::Openid if user.is_none() => user = Some(value.to_owned()),
                Role::MediaId if media.is_none() => media = Some(value.to_owned()),
                _ => {}
            }
        }
        let per_user = match (self.config.per_user_quota(info.name), user) {
            (Some(limit), Some(user)) => {
                let key = (info.name, user);
                if state.per_user.get(&key).copied().unwrap_or(0) >= limit {
                    return Err(WxError::new(45047, "out of response count limit"));
                }
                Some(key)
            }
            _ => None,
        };

        // Everything checked: commit.
        for form_id in form_ids {
            state.form_ids.insert(form_id, FormId::Used);
        }
        *state.daily.entry(info.name).or_insert(0) += 1;
        if let Some(key) = per_user {
            *state.per_user.entry(key).or_insert(0) += 1;
        }
        let unix_time = self.unix_now(&state);
        let answer = match info.answer {
            AnswerKind::Binary => match media.and_then(|id| state.media.get(&id)) {
                Some(m) => Success::Binary {
                    content_type: m.content_type.clone(),
                    bytes: m.bytes.clone(),
                },
                None => return Err(WxError::new(40007, "invalid media_id")),
            },
            AnswerKind::Json => Success::Json(self.synthesize(&mut state, info, &body, now)),
            _ => Success::Json(Map::new()),
        };
        state.counters.accepted += 1;
        let seq = state.messages.len() as u64 + 1;
        state.messages.push(Message {
            seq,
            endpoint: info.name.to_owned(),
            via,
            body,
            unix_time,
        });
        Ok(answer)
    }

    /// The fields of a JSON answer, from the spec's answer fields: a new
    /// media_id holding the request's file, the current time, or the request
    /// field of the same name.
    fn synthesize(
        &self,
        state: &mut State,
        info: &EndpointInfo,
        body: &Value,
        now: Instant,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for field in info.answer_fields {
            let value = match field.role {
                Some(Role::MediaId) => {
                    let file = info
                        .fields
                        .iter()
                        .filter(|f| f.file)
                        .find_map(|f| body.get(f.http));
                    let id = state.store_upload(file, now + self.config.known.media_lifetime);
                    Value::String(id)
                }
                Some(Role::Timestamp) => Value::from(self.unix_now(state)),
                _ => match body.get(field.http) {
                    Some(v) => v.clone(),
                    None => continue,
                },
            };
            out.insert(field.http.to_owned(), value);
        }
        out
    }

    /// Adds ids and media to what the emulator knows.
    pub fn register(&self, known: &Registration) -> Result<(), String> {
        let mut decoded = Vec::new();
        for m in &known.media {
            let bytes = decode_base64(&m.base64)
                .ok_or_else(|| format!("media `{}`: base64 is not valid", m.id))?;
            decoded.push((m, bytes));
        }
        let mut state = self.lock();
        let now = self.now(&state);
        state.openids.extend(known.openids.iter().cloned());
        state
            .template_ids
            .extend(known.template_ids.iter().cloned());
        let expires_at = now + self.config.known.form_id_lifetime;
        for id in &known.form_ids {
            state
                .form_ids
                .insert(id.clone(), FormId::Fresh { expires_at });
        }
        for (m, bytes) in decoded {
            let expires_at = m
                .lifetime_secs
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
                .map(|d| now + d);
            state.media.insert(
                m.id.clone(),
                Media {
                    content_type: m.content_type.clone(),
                    bytes: bytes.into(),
                    expires_at,
                },
            );
        }
        Ok(())
    }

    /// The accepted messages, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }

    /// Starts a new quota day.
    pub fn new_day(&self) {
        let mut state = self.lock();
        state.daily.clear();
        state.per_user.clear();
    }

    /// Moves the emulator's clock forward.
    pub fn advance_clock(&self, by: Duration) {
        let mut state = self.lock();
        state.clock_offset += by;
    }

    /// Makes every token issued so far expire now.
    pub fn expire_tokens(&self) {
        let mut state = self.lock();
        let now = self.now(&state);
        state.tokens.expire_all(now);
    }
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
    /// Seconds until it expires; never when absent.
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

impl State {
    fn new(config: &Config, now: Instant) -> State {
        let known = &config.known;
        let form_expiry = now + known.form_id_lifetime;
        let media = known
            .media
            .iter()
            .filter_map(|m| {
                let bytes = m.bytes()?;
                Some((
                    m.id.clone(),
                    Media {
                        content_type: m.content_type.clone(),
                        bytes: bytes.into(),
                        expires_at: None,
                    },
                ))
            })
            .collect();
        State {
            tokens: TokenStore::default(),
            openids: known.openids.iter().cloned().collect(),
            template_ids: known.template_ids.iter().cloned().collect(),
            form_ids: known
                .form_ids
                .iter()
                .map(|id| {
                    (
                        id.clone(),
                        FormId::Fresh {
                            expires_at: form_expiry,
                        },
                    )
                })
                .collect(),
            media,
            daily: HashMap::new(),
            per_user: HashMap::new(),
            messages: Vec::new(),
            counters: Counters::default(),
            faults: config.faults.clone(),
            clock_offset: Duration::ZERO,
        }
    }

    fn check_role(&self, role: Role, path: &str, value: &str, now: Instant) -> Result<(), WxError> {
        match role {
            Role::Openid if !self.openids.contains(value) => {
                Err(WxError::new(40003, format!("invalid openid ({path})")))
            }
            Role::TemplateId if !self.template_ids.contains(value) => {
                Err(WxError::new(40037, format!("invalid template_id ({path})")))
            }
            Role::FormId => match self.form_ids.get(value) {
                Some(FormId::Fresh { expires_at }) if now < *expires_at => Ok(()),
                Some(FormId::Used) => Err(WxError::new(
                    41029,
                    format!("form id used count reach limit ({path})"),
                )),
                _ => Err(WxError::new(41028, format!("invalid form id ({path})"))),
            },
            Role::MediaId => match self.media.get(value) {
                Some(m) if m.is_live(now) => Ok(()),
                _ => Err(WxError::new(40007, format!("invalid media_id ({path})"))),
            },
            _ => Ok(()),
        }
    }

    /// Stores an uploaded file (`{content_type, value}` in the HTTP form)
    /// under a new media_id.
    fn store_upload(&mut self, file: Option<&Value>, expires_at: Instant) -> String {
        let content_type = file
            .and_then(|f| f.get("content_type"))
            .and_then(Value::as_str)
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = file
            .and_then(|f| f.get("value"))
            .and_then(Value::as_str)
            .and_then(decode_base64)
            .unwrap_or_default();
        let id = loop {
            let id = new_media_id();
            if !self.media.contains_key(&id) {
                break id;
            }
        };
        self.media.insert(
            id.clone(),
            Media {
                content_type,
                bytes: bytes.into(),
                expires_at: Some(expires_at),
            },
        );
        id
    }
}

/// The value at a dotted path of object keys.
fn lookup<'v>(body: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(body, |v, key| v.get(key))
}

/// A media_id shaped like WeChat's.
fn new_media_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    (0..64)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shared() -> Arc<Shared> {
        Shared::new(Config::default(), wechat_msg::ENDPOINTS)
    }

    #[test]
    fn lookup_follows_dotted_paths() {
        let body = json!({"a": {"b": "x"}, "c": "y"});
        assert_eq!(lookup(&body, "a.b"), Some(&json!("x")));
        assert_eq!(lookup(&body, "c"), Some(&json!("y")));
        assert_eq!(lookup(&body, "a.z"), None);
        assert_eq!(lookup(&body, "c.d"), None);
    }

    #[test]
    fn a_form_id_is_used_once() {
        let shared = shared();
        let info = wechat_msg::endpoint("templateMessage.send").unwrap();
        let body = json!({"touser": "OPENID", "template_id": "TEMPLATE_ID", "form_id": "FORMID"});
        assert!(shared.process(info, body.clone(), Via::Http).is_ok());
        let err = shared.process(info, body, Via::Http).unwrap_err();
        assert_eq!(err.code, 41029);
        assert_eq!(shared.messages().len(), 1);
    }

    #[test]
    fn a_rejected_call_consumes_nothing() {
        let shared = shared();
        let info = wechat_msg::endpoint("templateMessage.send").unwrap();
        let bad = json!({"touser": "OPENID", "template_id": "NOPE", "form_id": "FORMID"});
        assert_eq!(
            shared.process(info, bad, Via::Http).unwrap_err().code,
            40037
        );
        let good = json!({"touser": "OPENID", "template_id": "TEMPLATE_ID", "form_id": "FORMID"});
        assert!(shared.process(info, good, Via::Http).is_ok());
    }

    #[test]
    fn reset_restores_form_ids_and_clears_messages() {
        let shared = shared();
        let info = wechat_msg::endpoint("templateMessage.send").unwrap();
        let body = json!({"touser": "OPENID", "template_id": "TEMPLATE_ID", "form_id": "FORMID"});
        assert!(shared.process(info, body.clone(), Via::Http).is_ok());
        shared.reset();
        assert!(shared.messages().is_empty());
        assert!(shared.process(info, body, Via::Http).is_ok());
    }
}
