//! What the emulator remembers, behind one lock: tokens, known ids, media,
//! quotas, subscriptions, accepted messages, pushes, counters and faults;
//! and the checks and commits made against it.
//!
//! A call is checked and committed under the lock in one step, so concurrent
//! calls never both use one form_id, never overrun a quota, and every
//! accepted message is recorded exactly once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use wechat_msg::push::PushMessage as _;
use wechat_msg::{self as wx, AnswerKind, EndpointInfo, Method, Role};

use crate::activities::Activities;
use crate::clock::{Deadline, MAX_DURATION, MAX_SECS, check_secs};
use crate::config::{Config, PrivateTemplate, PushTarget, RiskyWord};
use crate::conversation::{Action, Conversations, Typing, WindowState};
use crate::diagnostics::{Diagnostics, RidRecord};
use crate::error::{EmulatorError, WxError};
use crate::events::Events;
use crate::faults::{Faults, Plan};
use crate::inspect::{Counters, Message, PushAttempt, PushDelivery, Registration, Via};
use crate::media::{Media, decode_base64};
use crate::security::{self, MediaCheck};
use crate::snapshot::{SNAPSHOT_VERSION, Snapshot, UserSnapshot};
use crate::subscriptions::{self, Subscription, Subscriptions};
use crate::templates::TemplateStore;
use crate::tokens::{Issued, TokenProblem, TokenStore};
use crate::typed::{answer, is, request};

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
    /// Each push's place in the order of events ([`Events::tick`]).
    push_orders: Vec<u64>,
    /// Pushes recorded by calls, waiting to be delivered.
    outbox: Vec<Acted>,
    next_msg_id: i64,
    pub counters: Counters,
    pub faults: Faults,
    clock_offset: Duration,
    /// When the state began: known users count as having acted then.
    started: Instant,
    /// The risky words of the content checks.
    risky: Vec<RiskyWord>,
    /// Media checks accepted, whose verdicts are to be pushed.
    media_checks: Vec<MediaCheck>,
    /// Calls recorded by rid, and the quota clears made.
    diagnostics: Diagnostics,
    /// The quota day the daily counts belong to ([`quota_day`]), once a
    /// call has been counted.
    quota_day: Option<u64>,
}

/// The errcode of a withdrawn API, and WeChat's errmsg for it (captured
/// from uniformMessage.send the night it was withdrawn, before its rid).
const WITHDRAWN: i64 = 45109;
const WITHDRAWN_ERRMSG: &str = "This API has been unsupported. For more details, please view https://developers.weixin.qq.com/community/develop/doc/000ae8d6348af08e7030bc2546bc01?blockType=1";

/// The quota day of a unix time: WeChat's daily quotas start again at
/// midnight in Beijing (UTC+8).
fn quota_day(unix: u64) -> u64 {
    unix.saturating_add(8 * 3600) / 86_400
}

/// The first MsgId the emulator gives a user's message: past 2^53, as
/// WeChat's are, so a receiver that reads them as f64 shows it.
const FIRST_MSG_ID: i64 = (1 << 53) + 1;

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
    routes: HashMap<(Method, &'static str), &'static EndpointInfo>,
    state: Mutex<State>,
    epoch: Instant,
    epoch_unix: u64,
    /// The client that pushes to the developer's server.
    pub http: reqwest::Client,
    /// The call log and the followers of `GET /_emulator/events`.
    pub events: Events,
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

    /// A retired endpoint's answer when the configuration says so; checked
    /// before the body, as WeChat does: 45109 with the errmsg WeChat gave
    /// when it withdrew uniform messages, for an endpoint whose errcodes list
    /// 45109, and 45103 for any other.
    pub fn check_retired(&self, info: &EndpointInfo) -> Result<(), WxError> {
        if self.config.retired_unsupported && info.deprecated.is_some() {
            if info.errcode(WITHDRAWN).is_some() {
                return Err(WxError::new(WITHDRAWN, WITHDRAWN_ERRMSG));
            }
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
        // A new day on the emulator's clock starts the daily counts again.
        let today = quota_day(self.unix_now(&state));
        if state.quota_day.is_some_and(|day| day != today) {
            state.daily.clear();
            state.per_user.clear();
        }
        state.quota_day = Some(today);
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
            Some(name) if name == info.name => match request::<wx::TypingStatus>(&body)?.command {
                wx::TypingCommand::CancelTyping => Some(Typing::Off),
                wx::TypingCommand::Typing => Some(Typing::On),
                #[allow(unreachable_patterns)]
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
        if let Some(template) = &template
            && state.templates.has_enums(template)
        {
            state
                .templates
                .check_enums(template, &keyword_values(info, &body))?;
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
        let mut media_check = None;
        if own.is_none() {
            let acted = user.as_deref().and_then(|u| state_ref.last_acted(u));
            if let Some(checked) = security::serve(
                &self.config.security,
                &state_ref.risky,
                info.name,
                &body,
                acted,
                now,
            )? {
                own = Some(checked.fields);
                media_check = checked.media;
            }
        }
        let mut clear = false;
        if own.is_none() {
            own = self.diagnose(state_ref, info.name, &body, unix_now, &mut clear)?;
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
        if let Some(check) = media_check {
            state.media_checks.push(check);
        }
        if clear {
            state.daily.clear();
            state.per_user.clear();
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

    /// Serves the diagnostics endpoints (quota and rid): `Some` answer
    /// fields for them, `None` for any other. A clear of the counts is
    /// checked here and set in `clear`, to be committed with the call.
    fn diagnose(
        &self,
        state: &mut State,
        endpoint: &str,
        body: &Value,
        unix_now: u64,
        clear: &mut bool,
    ) -> Result<Option<Map<String, Value>>, WxError> {
        if is::<wx::ApiQuotaQuery>(endpoint) {
            let path = request::<wx::ApiQuotaQuery>(body)?.cgi_path;
            if path.contains("/sns/") {
                return Err(WxError::new(
                    76022,
                    "could not use this cgi_path\u{ff0c}no permission",
                ));
            }
            let Some(info) = self.endpoints.iter().find(|e| e.path == path) else {
                return Err(WxError::new(76021, "cgi_path not found, please check"));
            };
            let limit = self
                .config
                .daily_quota(info.name)
                .unwrap_or(u64::from(u32::MAX));
            let used = state.daily.get(info.name).copied().unwrap_or(0);
            let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            let quota = wx::ApiQuota::builder()
                .daily_limit(int(limit))
                .used(int(used))
                .remain(int(limit.saturating_sub(used)))
                .build();
            Ok(Some(answer(
                &wx::ApiQuotaAnswer::builder().quota(quota).build(),
            )))
        } else if is::<wx::ClearQuota>(endpoint) {
            if request::<wx::ClearQuota>(body)?.appid != self.config.app.appid {
                return Err(WxError::new(40013, "invalid appid"));
            }
            state.diagnostics.clear(unix_now)?;
            *clear = true;
            Ok(Some(Map::new()))
        } else if is::<wx::RidQuery>(endpoint) {
            let rid = request::<wx::RidQuery>(body)?.rid;
            let info = state.diagnostics.rid_info(&rid, unix_now)?;
            Ok(Some(answer(&info)))
        } else {
            Ok(None)
        }
    }

    /// `/cgi-bin/clear_quota/v2`: clears the counts with the app's
    /// credentials, sharing clearQuota's 10 a month.
    pub fn clear_quota_by_secret(&self) -> Result<(), WxError> {
        let mut state = self.lock();
        let unix_now = self.unix_now(&state);
        state.diagnostics.clear(unix_now)?;
        state.daily.clear();
        state.per_user.clear();
        Ok(())
    }

    /// Records the call answered with `rid` (its invoke time is now on the
    /// emulator's clock).
    pub fn record_rid(&self, rid: String, mut record: RidRecord) {
        let mut state = self.lock();
        record.invoke_time = self.unix_now(&state);
        state.diagnostics.record(rid, record);
    }

    /// The risky words of the content checks.
    pub fn risky_words(&self) -> Vec<RiskyWord> {
        self.lock().risky.clone()
    }

    /// Replaces the risky words of the content checks.
    pub fn set_risky_words(&self, words: Vec<RiskyWord>) -> Result<(), EmulatorError> {
        if let Some(i) = words.iter().position(|w| w.word.is_empty()) {
            return Err(EmulatorError::Invalid(format!("risky[{i}].word: is empty")));
        }
        self.lock().risky = words;
        Ok(())
    }

    /// The media checks accepted since the last call, to push verdicts for.
    pub fn take_media_checks(&self) -> Vec<MediaCheck> {
        std::mem::take(&mut self.lock().media_checks)
    }

    /// Records `push` from `openid` and queues it for the push endpoint.
    pub fn queue_push(&self, openid: &str, push: Map<String, Value>) -> Result<(), EmulatorError> {
        let mut state = self.lock();
        let acted = self.record_push(&mut state, openid, push)?;
        if acted.target.is_some() {
            state.outbox.push(acted);
        }
        Ok(())
    }

    /// Frames `push` as WeChat sends it from `openid` (`ToUserName`,
    /// `FromUserName`, `CreateTime`), checks it against the spec's pushes and
    /// records it as not yet delivered.
    fn record_push(
        &self,
        state: &mut State,
        openid: &str,
        mut push: Map<String, Value>,
    ) -> Result<Acted, EmulatorError> {
        let unix = self.unix_now(state);
        // The user's own keys win over nothing: the framing is WeChat's.
        push.insert(
            "ToUserName".into(),
            self.config.app.original_id.clone().into(),
        );
        push.insert("FromUserName".into(), openid.into());
        push.insert("CreateTime".into(), unix.into());
        let push = wechat_msg::Push::from_push_form(push)
            .map_err(|e| EmulatorError::InvalidPush(e.to_string()))?;
        let seq = state.pushes.len() as u64 + 1;
        let record = PushDelivery {
            seq,
            openid: openid.to_owned(),
            push: Value::Object(push.to_push_form()),
            attempts: Vec::new(),
            delivered: false,
        };
        let order = self.events.tick();
        self.events.push("push", order, &record);
        state.pushes.push(record);
        state.push_orders.push(order);
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
    ) -> Result<Acted, EmulatorError> {
        if openid.is_empty() || openid.chars().any(char::is_control) {
            return Err(EmulatorError::InvalidOpenid);
        }
        if times == Some(0) {
            return Err(EmulatorError::NoTimes);
        }
        let mut state = self.lock();
        if !state.templates.contains(template_id) {
            return Err(EmulatorError::NotATemplate(template_id.to_owned()));
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
    pub fn register(&self, known: &Registration) -> Result<(), EmulatorError> {
        let mut decoded = Vec::new();
        for m in &known.media {
            let bytes = decode_base64(&m.base64).ok_or_else(|| {
                EmulatorError::Invalid(format!("media `{}`: base64 is not valid", m.id))
            })?;
            let lifetime = m.lifetime_secs.map(check_secs).transpose().map_err(|e| {
                EmulatorError::Invalid(format!("media `{}`: lifetime_secs: {e}", m.id))
            })?;
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

    /// A medium the emulator holds and that has not expired: its content
    /// type and bytes.
    pub fn media(&self, id: &str) -> Option<(String, Arc<[u8]>)> {
        let state = self.lock();
        let now = self.now(&state);
        let media = state.media.get(id).filter(|m| m.is_live(now))?;
        Some((media.content_type.clone(), media.bytes.clone()))
    }

    /// The account's private templates, in order.
    pub fn templates(&self) -> Vec<PrivateTemplate> {
        self.lock().templates.list()
    }

    /// Adds a private template, or replaces the one with its id.
    pub fn add_template(&self, template: PrivateTemplate) -> Result<(), EmulatorError> {
        if template.id.is_empty() || template.id.chars().any(char::is_control) {
            return Err(EmulatorError::Invalid(
                "id: a template id is non-empty text".to_owned(),
            ));
        }
        if template.template_type != 2 && template.template_type != 3 {
            return Err(EmulatorError::Invalid(format!(
                "type: 2 (one-time) or 3 (long-term), not {}",
                template.template_type
            )));
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
    pub fn set_push_target(&self, target: Option<PushTarget>) -> Result<(), EmulatorError> {
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
    pub fn user_acts(
        &self,
        openid: &str,
        mut push: Map<String, Value>,
    ) -> Result<Acted, EmulatorError> {
        if openid.is_empty() || openid.chars().any(char::is_control) {
            return Err(EmulatorError::InvalidOpenid);
        }
        let mut state = self.lock();
        let now = self.now(&state);
        let is_event = push.get("MsgType").and_then(Value::as_str) == Some("event");
        if !is_event && !push.contains_key("MsgId") {
            push.insert("MsgId".into(), state.next_msg_id.into());
            state.next_msg_id = state.next_msg_id.saturating_add(1);
        }
        let acted = self.record_push(&mut state, openid, push)?;
        let action = match &acted.push {
            wechat_msg::Push::UserEnterTempsession(_) => Action::Enter,
            wechat_msg::Push::Unknown(_) => Action::Other,
            other if !other.is_event() => Action::Message,
            _ => Action::Other,
        };
        state.openids.insert(openid.to_owned());
        state
            .conversations
            .act(&self.config.conversation, openid, action, now);
        Ok(acted)
    }

    /// Tells the followers of the events that an attempt to deliver the
    /// push at `index` ended (`{"type": "attempt", "order", "push"}`, the
    /// push with its attempts so far).
    pub fn attempted(&self, index: usize, attempts: &[PushAttempt]) {
        if !self.events.followed() {
            return;
        }
        let state = self.lock();
        let order = state.push_orders.get(index).copied().unwrap_or(0);
        if let Some(record) = state.pushes.get(index) {
            let mut record = record.clone();
            record.attempts = attempts.to_vec();
            self.events.push("attempt", order, &record);
        }
    }

    /// Records how a push's delivery went; the record as it now stands.
    pub fn delivered(
        &self,
        index: usize,
        attempts: Vec<PushAttempt>,
        delivered: bool,
    ) -> Option<PushDelivery> {
        let mut state = self.lock();
        let order = state.push_orders.get(index).copied().unwrap_or(0);
        let record = state.pushes.get_mut(index)?;
        record.attempts = attempts;
        record.delivered = delivered;
        self.events.push("delivery", order, record);
        Some(record.clone())
    }

    /// Every user the emulator knows of: known openids, users who acted,
    /// users holding a subscription; sorted.
    pub fn users(&self) -> Vec<UserSummary> {
        let state = self.lock();
        let now = self.now(&state);
        let mut wrote: HashMap<&str, u64> = HashMap::new();
        for push in &state.pushes {
            *wrote.entry(push.openid.as_str()).or_default() += 1;
        }
        let mut all: Vec<&str> = state.openids.iter().map(String::as_str).collect();
        all.extend(wrote.keys().copied());
        let subscribed = state.subscriptions.holders();
        all.extend(subscribed.iter().copied());
        all.sort_unstable();
        all.dedup();
        all.into_iter()
            .map(|openid| UserSummary {
                openid: openid.to_owned(),
                known: state.openids.contains(openid),
                pushes: wrote.get(openid).copied().unwrap_or(0),
                subscribed: subscribed.contains(&openid),
                window: state.conversations.window(openid, now),
            })
            .collect()
    }

    /// The newest `limit` pushes from `openid` placed before `before` (all
    /// when none), oldest first, with their place in the order of events.
    pub fn pushes_of(
        &self,
        openid: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Vec<(u64, PushDelivery)> {
        let state = self.lock();
        let mut out: Vec<(u64, PushDelivery)> = state
            .pushes
            .iter()
            .zip(&state.push_orders)
            .rev()
            .filter(|(p, order)| p.openid == openid && before.is_none_or(|b| **order < b))
            .take(limit)
            .map(|(p, order)| (*order, p.clone()))
            .collect();
        out.reverse();
        out
    }

    /// The world as a [`Snapshot`].
    pub fn snapshot(&self) -> Snapshot {
        let users = self.users();
        let state = self.lock();
        let users = users
            .into_iter()
            .map(|u| UserSnapshot {
                subscriptions: state.subscriptions.of(&u.openid),
                openid: u.openid,
                known: u.known,
                window: u.window,
            })
            .collect();
        Snapshot {
            version: SNAPSHOT_VERSION,
            unix_time: self.unix_now(&state),
            users,
            templates: state.templates.list(),
            messages: state.messages.clone(),
            pushes: state.pushes.clone(),
        }
    }

    /// Replaces the world with `snapshot`'s: its users (windows and
    /// subscriptions), templates, messages and pushes. Checked whole before
    /// anything changes; the error names the place at fault.
    pub fn restore(&self, snapshot: Snapshot) -> Result<(), EmulatorError> {
        if snapshot.version != SNAPSHOT_VERSION {
            return Err(EmulatorError::Invalid(format!(
                "version: {} is not a snapshot version this emulator reads ({SNAPSHOT_VERSION})",
                snapshot.version
            )));
        }
        for (i, t) in snapshot.templates.iter().enumerate() {
            if t.id.is_empty() || t.id.chars().any(char::is_control) {
                return Err(EmulatorError::Invalid(format!(
                    "templates[{i}].id: a template id is non-empty text"
                )));
            }
            if t.template_type != 2 && t.template_type != 3 {
                return Err(EmulatorError::Invalid(format!(
                    "templates[{i}].type: 2 (one-time) or 3 (long-term), not {}",
                    t.template_type
                )));
            }
        }
        for (i, u) in snapshot.users.iter().enumerate() {
            if u.openid.is_empty() || u.openid.chars().any(char::is_control) {
                return Err(EmulatorError::Invalid(format!(
                    "users[{i}].openid: an openid is non-empty text"
                )));
            }
            for (j, held) in u.subscriptions.iter().enumerate() {
                if !snapshot.templates.iter().any(|t| t.id == held.template_id) {
                    return Err(EmulatorError::Invalid(format!(
                        "users[{i}].subscriptions[{j}].template_id: {:?} is not among the snapshot's templates",
                        held.template_id
                    )));
                }
            }
        }
        for (i, p) in snapshot.pushes.iter().enumerate() {
            if p.seq != i as u64 + 1 {
                return Err(EmulatorError::Invalid(format!(
                    "pushes[{i}].seq: {} where {} was expected",
                    p.seq,
                    i + 1
                )));
            }
        }
        for (i, m) in snapshot.messages.iter().enumerate() {
            if m.seq != i as u64 + 1 {
                return Err(EmulatorError::Invalid(format!(
                    "messages[{i}].seq: {} where {} was expected",
                    m.seq,
                    i + 1
                )));
            }
        }
        let mut state = self.lock();
        let now = self.now(&state);
        for id in state.templates.list().iter().map(|t| t.id.clone()) {
            state.templates.remove(&id);
        }
        for t in snapshot.templates {
            state.templates.insert(t);
        }
        for u in &snapshot.users {
            if u.known {
                state.openids.insert(u.openid.clone());
            }
            state
                .conversations
                .set_window(&u.openid, u.window.as_ref(), now);
            state.subscriptions.set(&u.openid, &u.subscriptions);
        }
        state.messages = snapshot.messages;
        state.push_orders = snapshot.pushes.iter().map(|_| self.events.tick()).collect();
        state.pushes = snapshot.pushes;
        drop(state);
        self.changed("state");
        Ok(())
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
    fn last_acted(&self, openid: &str) -> Option<Instant> {
        let start = self.openids.contains(openid).then_some(self.started);
        self.conversations.last_interaction(openid).max(start)
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
/// The keyword values (`data`) of a templated message, by key: those of
/// subscribeMessage.send and templateMessage.send, none for any other.
#[allow(deprecated)] // templateMessage.send is retired, and still served.
fn keyword_values(info: &EndpointInfo, body: &Value) -> BTreeMap<String, String> {
    if is::<wx::SubscribeMessage>(info.name) {
        if let Ok(message) = request::<wx::SubscribeMessage>(body) {
            return message
                .data
                .into_iter()
                .map(|(k, v)| (k, v.value))
                .collect();
        }
    } else if is::<wx::TemplateMessage>(info.name)
        && let Ok(message) = request::<wx::TemplateMessage>(body)
    {
        let data = message.data.into_iter().flatten();
        return data.map(|(k, v)| (k, v.value)).collect();
    }
    BTreeMap::new()
}

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
