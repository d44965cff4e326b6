//! A call's checks and commits against the state: the token, the quotas,
//! the values by role, the reply window and typing, subscriptions, and the
//! services with state of their own, all checked before anything is
//! committed, in one step under the lock.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Map, Value};
use wechat_msg as wx;
use wechat_msg::meta::{AnswerKind, EndpointInfo, Role};

use crate::clock::Deadline;
use crate::conversation::Typing;
use crate::diagnostics::RidRecord;
use crate::error::WxError;
use crate::faults::Plan;
use crate::inspect::{Message, Via};
use crate::security;
use crate::state::{FormId, Shared, State, Success, lookup, new_activity_id, new_template_id};
use crate::subscriptions;
use crate::tokens::{Issued, TokenProblem};
use crate::typed::{answer, is, request};

/// The errcode of a withdrawn API, and WeChat's errmsg for it (captured
/// from uniformMessage.send the night it was withdrawn, before its rid).
const WITHDRAWN: i64 = 45109;
const WITHDRAWN_ERRMSG: &str = "This API has been unsupported. For more details, please view https://developers.weixin.qq.com/community/develop/doc/000ae8d6348af08e7030bc2546bc01?blockType=1";

/// The quota day of a unix time: WeChat's daily quotas start again at
/// midnight in Beijing (UTC+8).
fn quota_day(unix: u64) -> u64 {
    unix.saturating_add(8 * 3600) / 86_400
}

impl Shared {
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
    pub(crate) fn diagnose(
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

    /// The fields of a JSON answer, from the spec's answer fields: a new
    /// media_id holding the request's file, the current time, or the request
    /// field of the same name.
    pub(crate) fn synthesize(
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
}

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
