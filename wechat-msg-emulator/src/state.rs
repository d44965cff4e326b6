//! What the emulator remembers, behind one lock: tokens, known ids, media,
//! quotas, subscriptions, accepted messages, pushes, counters and faults;
//! the emulator's clock; and what every handler shares ([`Shared`]).
//!
//! What is done with it lives beside it, one job a module: `calls` (a
//! call's checks and commits, in one step under the lock, so concurrent
//! calls never both use one form_id, never overrun a quota, and every
//! accepted message is recorded exactly once), `pushes` (users' actions and
//! WeChat's events, framed, queued and delivered) and `world` (what tests
//! and the control API see and set, snapshots included).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use wechat_msg::Form;
use wechat_msg::meta::{EndpointInfo, Method, Role};
use wechat_msg::protocol::read_file;

use crate::activities::Activities;
use crate::clock::{Deadline, MAX_DURATION, MAX_SECS};
use crate::config::{Config, PushTarget, RiskyWord};
use crate::conversation::{Conversations, WindowState};
use crate::diagnostics::Diagnostics;
use crate::error::{EmulatorError, WxError};
use crate::events::Events;
use crate::faults::Faults;
use crate::inspect::{Counters, Message, PushDelivery};
use crate::media::Media;
use crate::security::MediaCheck;
use crate::subscriptions::Subscriptions;
use crate::templates::TemplateStore;
use crate::tokens::TokenStore;

/// A form_id's life.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FormId {
    Fresh { expires_at: Deadline },
    Used,
}

/// The state behind the lock.
#[derive(Debug)]
pub(crate) struct State {
    pub tokens: TokenStore,
    pub openids: HashSet<String>,
    pub templates: TemplateStore,
    pub activities: Activities,
    pub form_ids: HashMap<String, FormId>,
    pub media: HashMap<String, Media>,
    pub daily: HashMap<&'static str, u64>,
    pub per_user: HashMap<(&'static str, String), u64>,
    pub messages: Vec<Message>,
    pub conversations: Conversations,
    pub subscriptions: Subscriptions,
    pub push_target: Option<PushTarget>,
    pub pushes: Vec<PushDelivery>,
    /// Each push's place in the order of events ([`Events::tick`]).
    pub push_orders: Vec<u64>,
    /// Pushes recorded by calls, waiting to be delivered.
    pub outbox: Vec<Acted>,
    pub next_msg_id: i64,
    pub counters: Counters,
    pub faults: Faults,
    pub clock_offset: Duration,
    /// When the state began: known users count as having acted then.
    pub started: Instant,
    /// The risky words of the content checks.
    pub risky: Vec<RiskyWord>,
    /// Media checks accepted, whose verdicts are to be pushed.
    pub media_checks: Vec<MediaCheck>,
    /// Calls recorded by rid, and the quota clears made.
    pub diagnostics: Diagnostics,
    /// The quota day the daily counts belong to ([`quota_day`]), once a
    /// call has been counted.
    pub quota_day: Option<u64>,
}

/// The first MsgId the emulator gives a user's message: past 2^53, as
/// WeChat's are, so a receiver that reads them as f64 shows it.
pub(crate) const FIRST_MSG_ID: i64 = (1 << 53) + 1;

/// A user's action, filled in and recorded, and where to push it.
#[derive(Debug)]
pub(crate) struct Acted {
    /// Its index among the recorded pushes.
    pub index: usize,
    /// The push, read once against the spec's pushes.
    pub push: wechat_msg::Push,
    /// Where to push it, if anywhere.
    pub target: Option<PushTarget>,
}

/// One user in the list of users (`GET /_emulator/users`).
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct UserSummary {
    pub openid: String,
    /// Whether calls may name it (a known openid).
    pub known: bool,
    /// How many pushes the user made (messages and events).
    pub pushes: u64,
    /// Whether it holds a subscription.
    pub subscribed: bool,
    /// Its open reply window.
    pub window: Option<WindowState>,
}

/// The state and what does not change, shared by every handler.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    /// The endpoints served.
    pub endpoints: &'static [&'static EndpointInfo],
    /// The same, by method and path.
    pub routes: HashMap<(Method, &'static str), &'static EndpointInfo>,
    pub state: Mutex<State>,
    pub epoch: Instant,
    pub epoch_unix: u64,
    /// The client that pushes to the developer's server.
    pub http: reqwest::Client,
    /// The call log and the followers of `GET /_emulator/events`.
    pub events: Events,
    /// The next push starts at this URL of the endpoint's (modulo their
    /// number): a load balancer's round robin.
    pub push_turn: std::sync::atomic::AtomicUsize,
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
            push_turn: std::sync::atomic::AtomicUsize::new(0),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap_or_default(),
            events: Events::default(),
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
        let real = Instant::now();
        // The offset is at most MAX_DURATION, which every platform's Instant
        // represents; were it not, the clock would stand at real time.
        real.checked_add(state.clock_offset).unwrap_or(real)
    }

    /// The emulator's Unix time.
    pub fn unix_now(&self, state: &State) -> u64 {
        let since = self.now(state).saturating_duration_since(self.epoch);
        self.epoch_unix.saturating_add(since.as_secs())
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
        drop(state);
        self.events.clear_calls();
        self.changed("reset");
    }

    /// Tells the followers of the events that `what` changed (`faults`,
    /// `clock`, `push_target`, ...): they read it again.
    pub fn changed(&self, what: &str) {
        self.events.publish("state", || {
            let mut fields = Map::new();
            fields.insert("what".into(), what.into());
            fields
        });
    }

    /// Starts a new quota day.
    pub fn new_day(&self) {
        let mut state = self.lock();
        state.daily.clear();
        state.per_user.clear();
    }

    /// Moves the emulator's clock forward, at most to [`MAX_DURATION`]
    /// ahead of real time.
    pub fn advance_clock(&self, by: Duration) {
        let mut state = self.lock();
        state.clock_offset = state.clock_offset.saturating_add(by).min(MAX_DURATION);
    }

    /// Moves the emulator's clock forward by `by`, or says why not: the
    /// clock would end up more than [`MAX_DURATION`] ahead of real time.
    pub fn try_advance_clock(&self, by: Duration) -> Result<(), EmulatorError> {
        let mut state = self.lock();
        let ahead = state.clock_offset;
        match ahead.checked_add(by) {
            Some(total) if total <= MAX_DURATION => {
                state.clock_offset = total;
                Ok(())
            }
            _ => Err(EmulatorError::Invalid(format!(
                "{} s more would move the clock past its limit of {MAX_SECS} s (100 years) ahead of real time; it is {} s ahead now",
                by.as_secs_f64(),
                ahead.as_secs_f64()
            ))),
        }
    }

    /// Makes every token issued so far expire now.
    pub fn expire_tokens(&self) {
        let mut state = self.lock();
        let now = self.now(&state);
        state.tokens.expire_all(now);
    }
}

impl State {
    fn new(config: &Config, now: Instant) -> State {
        let known = &config.known;
        let form_expiry = Deadline::after(now, known.form_id_lifetime);
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
                        expires_at: Deadline::Never,
                    },
                ))
            })
            .collect();
        let templates = TemplateStore::new(config);
        State {
            tokens: TokenStore::default(),
            openids: known.openids.iter().cloned().collect(),
            activities: Activities::new(&known.activity_ids, now),
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
            conversations: Conversations::new(&config.conversation, now),
            subscriptions: Subscriptions::new(&config.subscriptions, |id| templates.contains(id)),
            templates,
            push_target: config.push.clone(),
            pushes: Vec::new(),
            push_orders: Vec::new(),
            outbox: Vec::new(),
            next_msg_id: FIRST_MSG_ID,
            counters: Counters::default(),
            faults: config.faults.clone(),
            clock_offset: Duration::ZERO,
            started: now,
            risky: config.security.risky.clone(),
            media_checks: Vec::new(),
            diagnostics: Diagnostics::default(),
            quota_day: None,
        }
    }

    /// When `openid` last acted: wrote or entered the conversation, or, for
    /// a user known from the start, the start.
    pub fn last_acted(&self, openid: &str) -> Option<Instant> {
        let start = self.openids.contains(openid).then_some(self.started);
        self.conversations.last_interaction(openid).max(start)
    }

    pub fn check_role(
        &self,
        role: Role,
        path: &str,
        value: &str,
        now: Instant,
    ) -> Result<(), WxError> {
        match role {
            Role::Openid if !self.openids.contains(value) => {
                Err(WxError::new(40003, format!("invalid openid ({path})")))
            }
            Role::TemplateId if !self.templates.contains(value) => {
                Err(WxError::new(40037, format!("invalid template_id ({path})")))
            }
            Role::FormId => match self.form_ids.get(value) {
                Some(FormId::Fresh { expires_at }) if !expires_at.passed(now) => Ok(()),
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
    pub fn store_upload(&mut self, file: Option<&Value>, expires_at: Deadline) -> String {
        let (content_type, bytes) = file.map_or((None, None), |f| read_file(f, Form::Http));
        let content_type = content_type
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = bytes.unwrap_or_default();
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
                expires_at,
            },
        );
        id
    }
}

/// The value at a dotted path of object keys.
pub(crate) fn lookup<'v>(body: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(body, |v, key| v.get(key))
}

/// A template id as WeChat's look: 43 characters of base64url.
pub(crate) fn new_template_id() -> String {
    random_id(43)
}

/// An activity id: WeChat's are opaque text of this kind.
pub(crate) fn new_activity_id() -> String {
    random_id(48)
}

/// `len` random characters of base64url.
pub(crate) fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    (0..len)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// A media_id shaped like WeChat's.
pub(crate) fn new_media_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    (0..64)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::Via;
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
        let info = wechat_msg::meta::endpoint("templateMessage.send").unwrap();
        let body = json!({"touser": "OPENID", "template_id": "TEMPLATE_ID", "form_id": "FORMID"});
        assert!(shared.process(info, body.clone(), Via::Http).is_ok());
        let err = shared.process(info, body, Via::Http).unwrap_err();
        assert_eq!(err.code, 41029);
        assert_eq!(shared.messages().len(), 1);
    }

    #[test]
    fn a_rejected_call_consumes_nothing() {
        let shared = shared();
        let info = wechat_msg::meta::endpoint("templateMessage.send").unwrap();
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
        let info = wechat_msg::meta::endpoint("templateMessage.send").unwrap();
        let body = json!({"touser": "OPENID", "template_id": "TEMPLATE_ID", "form_id": "FORMID"});
        assert!(shared.process(info, body.clone(), Via::Http).is_ok());
        shared.reset();
        assert!(shared.messages().is_empty());
        assert!(shared.process(info, body, Via::Http).is_ok());
    }
}
