//! What the emulator remembers, behind one lock: tokens, known ids, media,
//! quotas, subscriptions, accepted messages, pushes, counters and faults;
//! and the checks and commits made against it.
//!
//! A call is checked and committed under the lock in one step, so concurrent
//! calls never both use one form_id, never overrun a quota, and every
//! accepted message is recorded exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use wechat_msg::push::PushMessage as _;
use wechat_msg::{AnswerKind, EndpointInfo, Method, Role};

use crate::activities::Activities;
use crate::clock::{Deadline, MAX_DURATION, MAX_SECS, check_secs};
use crate::config::{Config, PrivateTemplate, PushTarget};
use crate::conversation::{Action, Conversations, Typing, WindowState};
use crate::error::WxError;
use crate::faults::{Faults, Plan};
use crate::inspect::{Counters, Message, PushAttempt, PushDelivery, Registration, Via};
use crate::media::{Media, decode_base64};
use crate::subscriptions::{self, Subscription, Subscriptions};
use crate::templates::TemplateStore;
use crate::tokens::{Issued, TokenProblem, TokenStore};

/// A form_id's life.
#[derive(Clone, Copy, Debug)]
enum FormId {
    Fresh { expires_at: Deadline },
    Used,
}

/// The state behind the lock.
#[derive(Debug)]
pub(crate) struct State {
    pub tokens: TokenStore,
    openids: HashSet<String>,
    pub templates: TemplateStore,
    activities: Activities,
    form_ids: HashMap<String, FormId>,
    media: HashMap<String, Media>,
    daily: HashMap<&'static str, u64>,
    per_user: HashMap<(&'static str, String), u64>,
    messages: Vec<Message>,
    conversations: Conversations,
    subscriptions: Subscriptions,
    push_target: Option<PushTarget>,
    pushes: Vec<PushDelivery>,
    /// Pushes recorded by calls, waiting to be delivered.
    outbox: Vec<Acted>,
    next_msg_id: i64,
    pub counters: Counters,
    pub faults: Faults,
    clock_offset: Duration,
}

/// The first MsgId the emulator gives a user's message: past 2^53, as
/// WeChat's are, so a receiver that reads them as f64 shows it.
const FIRST_MSG_ID: i64 = (1 << 53) + 1;

/// A user's action, filled in and recorded, and where to push it.
#[derive(Debug)]
pub(crate) struct Acted {
    /// Its index among the recorded pushes.
    pub index: usize,
    /// The push in the JSON push form.
    pub push: Map<String, Value>,
    /// Where to push it, if anywhere.
    pub target: Option<PushTarget>,
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
    /// The client that pushes to the developer's server.
    pub http: reqwest::Client,
    /// The next push starts at this URL of the endpoint's (modulo their
    /// number): a load balancer's round robin.
    push_turn: std::sync::atomic::AtomicUsize,
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
    }

    /// Counts a token request (`stable`: `POST /cgi-bin/stable_token`).
    pub fn count_token_fetch(&self, stable: bool) {
        let mut state = self.lock();
        let counter = if stable {
            &mut state.counters.stable_token_fetches
        } else {
            &mut state.counters.token_fetches
        };
        *counter = counter.saturating_add(1);
    }

    /// Starts a call: counts it (an API call of `endpoint` unless
    /// `token_fetch`) and takes its share of the pending faults.
    pub fn begin_call(&self, token_fetch: bool, endpoint: Option<&str>) -> Plan {
        let mut state = self.lock();
        if !token_fetch {
            let counters = &mut state.counters;
            counters.calls = counters.calls.saturating_add(1);
            if let Some(name) = endpoint {
                let count = counters
                    .calls_by_endpoint
                    .entry(name.to_owned())
                    .or_insert(0);
                *count = count.saturating_add(1);
            }
        }
        let plan = state.faults.take(token_fetch);
        if plan.before.is_some() || plan.after.is_some() {
            state.counters.faults = state.counters.faults.saturating_add(1);
        }
        plan
    }

    /// Counts an error answer.
    pub fn count_error(&self, code: i64) {
        let mut state = self.lock();
        let count = state.counters.errors.entry(code).or_insert(0);
        *count = count.saturating_add(1);
    }

    /// Checks the `access_token` of a call.
    pub fn check_token(&self, query: &[(String, String)]) -> Result<(), WxError> {
        let token = query
            .iter()
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WxError::new(41001, "access_token missing"))?;
        let state = self.lock();
        let now = self.now(&state);
        state
            .tokens
            .check(token, now)
            .map_err(|problem| match problem {
                TokenProblem::Invalid => WxError::new(
                    40001,
                    "invalid credential, access_token is invalid or not latest",
                ),
                TokenProblem::Expired => WxError::new(42001, "access_token expired"),
            })
    }

    /// A classic token: a new one every time.
    pub fn issue_classic(&self) -> Issued {
        let mut state = self.lock();
        let now = self.now(&state);
        let tokens = &self.config.tokens;
        state
            .tokens
            .fetch_classic(now, tokens.lifetime, tokens.grace)
    }

    /// The stable token, a new one when forced or expired.
    pub fn issue_stable(&self, force_refresh: bool) -> Issued {
        let mut state = self.lock();
        let now = self.now(&state);
        let tokens = &self.config.tokens;
        state
            .tokens
            .fetch_stable(now, tokens.lifetime, tokens.grace, force_refresh)
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
        let mut template = None;
        let mut media = None;
        for role in info.roles {
            let Some(value) = lookup(&body, role.path).and_then(Value::as_str) else {
                continue;
            };
            state.check_role(role.role, role.path, value, now)?;
            match role.role {
                Role::FormId => form_ids.push(value.to_owned()),
                Role::Openid if user.is_none() => user = Some(value.to_owned()),
                Role::TemplateId if template.is_none() => template = Some(value.to_owned()),
                Role::MediaId if media.is_none() => media = Some(value.to_owned()),
                _ => {}
            }
        }
        let conversation = &self.config.conversation;
        let reply = conversation.reply_endpoints.iter().any(|e| e == info.name);
        let typing = match &conversation.typing_endpoint {
            Some(name) if name == info.name => match body.get("command").and_then(Value::as_str) {
                Some("CancelTyping") => Some(Typing::Off),
                Some("Typing") => Some(Typing::On),
                _ => return Err(WxError::new(45072, "command invalid")),
            },
            _ => None,
        };
        if let Some(user) = &user {
            if reply {
                state.conversations.check_reply(user, now)?;
            }
            if let Some(typing) = typing {
                state
                    .conversations
                    .check_typing(conversation, user, typing, now)?;
            }
        }
        let per_user = match (self.config.per_user_quota(info.name), user.clone()) {
            (Some(limit), Some(user)) => {
                let key = (info.name, user);
                if state.per_user.get(&key).copied().unwrap_or(0) >= limit {
                    return Err(WxError::new(45047, "out of response count limit"));
                }
                Some(key)
            }
            _ => None,
        };
        if let Some(template) = &template {
            state.templates.check_enums(template, &body)?;
        }
        // The subscription last, as WeChat checks it: a message refused for
        // anything else uses none up.
        let subscribed = match (&user, &template) {
            (Some(user), Some(template))
                if self
                    .config
                    .subscriptions
                    .endpoints
                    .iter()
                    .any(|e| e == info.name) =>
            {
                state.subscriptions.check(user, template)?;
                Some((user.clone(), template.clone()))
            }
            _ => None,
        };

        // The endpoints with state of their own check and commit in one
        // step, as the last check: nothing else is committed when they refuse.
        let unix_now = self.unix_now(&state);
        let state_ref = &mut *state;
        let mut own = state_ref
            .templates
            .serve(&self.config, info.name, &body, new_template_id)?;
        if own.is_none() {
            own = state_ref
                .activities
                .serve(info.name, &body, now, unix_now, new_activity_id)?;
        }

        // Everything checked: commit.
        if let Some((user, template)) = &subscribed {
            state.subscriptions.commit(user, template);
        }
        if let Some(user) = &user {
            if reply {
                state.conversations.commit_reply(user);
            }
            if let Some(typing) = typing {
                state
                    .conversations
                    .commit_typing(conversation, user, typing, now);
            }
        }
        for form_id in form_ids {
            state.form_ids.insert(form_id, FormId::Used);
        }
        let daily = state.daily.entry(info.name).or_insert(0);
        *daily = daily.saturating_add(1);
        if let Some(key) = per_user {
            let count = state.per_user.entry(key).or_insert(0);
            *count = count.saturating_add(1);
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
            AnswerKind::Json => match own {
                Some(fields) => Success::Json(fields),
                None => Success::Json(self.synthesize(&mut state, info, &body, now)),
            },
            _ => Success::Json(Map::new()),
        };
        state.counters.accepted = state.counters.accepted.saturating_add(1);
        let seq = state.messages.len() as u64 + 1;
        state.messages.push(Message {
            seq,
            endpoint: info.name.to_owned(),
            via,
            body,
            unix_time,
        });
        if let Some((user, template)) = subscribed {
            // WeChat tells the developer each subscribe message's outcome.
            let msg_id = state.next_msg_id;
            state.next_msg_id = state.next_msg_id.saturating_add(1);
            let event = subscriptions::sent_event(&template, msg_id);
            if let Ok(acted) = self.record_push(&mut state, &user, event)
                && acted.target.is_some()
            {
                state.outbox.push(acted);
            }
        }
        Ok(answer)
    }

    /// Frames `push` as WeChat sends it from `openid` (`ToUserName`,
    /// `FromUserName`, `CreateTime`), checks it against the spec's pushes and
    /// records it as not yet delivered.
    fn record_push(
        &self,
        state: &mut State,
        openid: &str,
        mut push: Map<String, Value>,
    ) -> Result<Acted, String> {
        let unix = self.unix_now(state);
        // The user's own keys win over nothing: the framing is WeChat's.
        push.insert(
            "ToUserName".into(),
            self.config.app.original_id.clone().into(),
        );
        push.insert("FromUserName".into(), openid.into());
        push.insert("CreateTime".into(), unix.into());
        let typed =
            wechat_msg::Push::from_push_form(push).map_err(|e| format!("invalid push: {e}"))?;
        let push = typed.to_push_form();
        let seq = state.pushes.len() as u64 + 1;
        state.pushes.push(PushDelivery {
            seq,
            openid: openid.to_owned(),
            push: Value::Object(push.clone()),
            attempts: Vec::new(),
            delivered: false,
        });
        Ok(Acted {
            index: state.pushes.len() - 1,
            push,
            target: state.push_target.clone(),
        })
    }

    /// The pushes calls recorded for the push endpoint, to deliver now.
    pub fn take_outbox(&self) -> Vec<Acted> {
        std::mem::take(&mut self.lock().outbox)
    }

    /// `openid` subscribes to `template_id`, one of the account's: `times`
    /// one-time subscriptions more (at least 1), or a long-term one. The
    /// user becomes known, and the `subscribe_msg_popup_event` WeChat pushes
    /// is recorded, to be delivered.
    pub fn subscribe(
        &self,
        openid: &str,
        template_id: &str,
        times: Option<u64>,
    ) -> Result<Acted, String> {
        if openid.is_empty() || openid.chars().any(char::is_control) {
            return Err("the openid must be non-empty text".to_owned());
        }
        if times == Some(0) {
            return Err(
                "times must be at least 1 (leave it out for a long-term subscription)".to_owned(),
            );
        }
        let mut state = self.lock();
        if !state.templates.contains(template_id) {
            return Err(format!(
                "template_id `{template_id}` is not one of the account's templates; a user can only subscribe to those (templates.private, known.template_ids, POST /_emulator/templates)"
            ));
        }
        let acted =
            self.record_push(&mut state, openid, subscriptions::popup_event(template_id))?;
        state.openids.insert(openid.to_owned());
        state.subscriptions.grant(openid, template_id, times);
        Ok(acted)
    }

    /// What `openid` holds, by template id.
    pub fn subscriptions(&self, openid: &str) -> Vec<Subscription> {
        self.lock().subscriptions.of(openid)
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
                    let expires_at = Deadline::after(now, self.config.known.media_lifetime);
                    let id = state.store_upload(file, expires_at);
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

    /// Adds ids and media to what the emulator knows; nothing when a medium
    /// is not valid (base64, lifetime).
    pub fn register(&self, known: &Registration) -> Result<(), String> {
        let mut decoded = Vec::new();
        for m in &known.media {
            let bytes = decode_base64(&m.base64)
                .ok_or_else(|| format!("media `{}`: base64 is not valid", m.id))?;
            let lifetime = m
                .lifetime_secs
                .map(check_secs)
                .transpose()
                .map_err(|e| format!("media `{}`: lifetime_secs: {e}", m.id))?;
            decoded.push((m, bytes, lifetime));
        }
        let mut state = self.lock();
        let now = self.now(&state);
        state.openids.extend(known.openids.iter().cloned());
        for id in &known.template_ids {
            state.templates.insert_bare(id);
        }
        let expires_at = Deadline::after(now, self.config.known.form_id_lifetime);
        for id in &known.form_ids {
            state
                .form_ids
                .insert(id.clone(), FormId::Fresh { expires_at });
        }
        for (m, bytes, lifetime) in decoded {
            let expires_at = lifetime.map_or(Deadline::Never, |d| Deadline::after(now, d));
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

    /// The account's private templates, in order.
    pub fn templates(&self) -> Vec<PrivateTemplate> {
        self.lock().templates.list()
    }

    /// Adds a private template, or replaces the one with its id.
    pub fn add_template(&self, template: PrivateTemplate) -> Result<(), String> {
        if template.id.is_empty() || template.id.chars().any(char::is_control) {
            return Err("id: a template id is non-empty text".to_owned());
        }
        if template.template_type != 2 && template.template_type != 3 {
            return Err(format!(
                "type: 2 (one-time) or 3 (long-term), not {}",
                template.template_type
            ));
        }
        self.lock().templates.insert(template);
        Ok(())
    }

    /// Removes a private template; whether there was one.
    pub fn remove_template(&self, id: &str) -> bool {
        self.lock().templates.remove(id)
    }

    /// The accepted messages, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }

    /// Whether the answer to this push attempt is to be ignored (the
    /// `push_drop_answers` fault).
    pub fn take_push_drop(&self) -> bool {
        let mut state = self.lock();
        let drop = state.faults.take_push_drop();
        if drop {
            state.counters.faults = state.counters.faults.saturating_add(1);
        }
        drop
    }

    /// The next turn of the push endpoint's round robin.
    pub fn next_push_turn(&self) -> usize {
        self.push_turn
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets (or, with `None`, removes) the developer's push endpoint.
    pub fn set_push_target(&self, target: Option<PushTarget>) -> Result<(), String> {
        if let Some(target) = &target {
            target.signer(&self.config.app.appid)?;
        }
        self.lock().push_target = target;
        Ok(())
    }

    /// The developer's push endpoint.
    pub fn push_target(&self) -> Option<PushTarget> {
        self.lock().push_target.clone()
    }

    /// The user `openid` acts with `push` (a push body such as
    /// `{"MsgType": "text", "Content": "hi"}`): the emulator fills in
    /// `ToUserName`, `FromUserName`, `CreateTime` and, for messages, `MsgId`,
    /// checks it against the spec's pushes, opens the user's window, and
    /// records the push as not yet delivered.
    pub fn user_acts(&self, openid: &str, mut push: Map<String, Value>) -> Result<Acted, String> {
        if openid.is_empty() || openid.chars().any(char::is_control) {
            return Err("the openid must be non-empty text".to_owned());
        }
        let mut state = self.lock();
        let now = self.now(&state);
        let is_event = push.get("MsgType").and_then(Value::as_str) == Some("event");
        if !is_event && !push.contains_key("MsgId") {
            push.insert("MsgId".into(), state.next_msg_id.into());
            state.next_msg_id = state.next_msg_id.saturating_add(1);
        }
        let acted = self.record_push(&mut state, openid, push)?;
        let action = match wechat_msg::Push::from_push_form(acted.push.clone()) {
            Ok(wechat_msg::Push::UserEnterTempsession(_)) => Action::Enter,
            Ok(wechat_msg::Push::Unknown(_)) | Err(_) => Action::Other,
            Ok(other) if !other.is_event() => Action::Message,
            Ok(_) => Action::Other,
        };
        state.openids.insert(openid.to_owned());
        state
            .conversations
            .act(&self.config.conversation, openid, action, now);
        Ok(acted)
    }

    /// Records how a push's delivery went; the record as it now stands.
    pub fn delivered(
        &self,
        index: usize,
        attempts: Vec<PushAttempt>,
        delivered: bool,
    ) -> Option<PushDelivery> {
        let mut state = self.lock();
        let record = state.pushes.get_mut(index)?;
        record.attempts = attempts;
        record.delivered = delivered;
        Some(record.clone())
    }

    /// Every push so far.
    pub fn pushes(&self) -> Vec<PushDelivery> {
        self.lock().pushes.clone()
    }

    /// The open window of `openid`, if any.
    pub fn window(&self, openid: &str) -> Option<WindowState> {
        let state = self.lock();
        let now = self.now(&state);
        state.conversations.window(openid, now)
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
    pub fn try_advance_clock(&self, by: Duration) -> Result<(), String> {
        let mut state = self.lock();
        let ahead = state.clock_offset;
        match ahead.checked_add(by) {
            Some(total) if total <= MAX_DURATION => {
                state.clock_offset = total;
                Ok(())
            }
            _ => Err(format!(
                "{} s more would move the clock past its limit of {MAX_SECS} s (100 years) ahead of real time; it is {} s ahead now",
                by.as_secs_f64(),
                ahead.as_secs_f64()
            )),
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
            outbox: Vec::new(),
            next_msg_id: FIRST_MSG_ID,
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
    fn store_upload(&mut self, file: Option<&Value>, expires_at: Deadline) -> String {
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
                expires_at,
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
/// A template id as WeChat's look: 43 characters of base64url.
fn new_template_id() -> String {
    random_id(43)
}

/// An activity id: WeChat's are opaque text of this kind.
fn new_activity_id() -> String {
    random_id(48)
}

fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    (0..len)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

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
