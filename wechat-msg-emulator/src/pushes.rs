//! The pushes: a user's actions and WeChat's events recorded, framed as
//! WeChat sends them, queued for the push endpoint, and how each delivery
//! went.

use serde_json::{Map, Value};
use wechat_msg::push::PushMessage as _;

use crate::config::PushTarget;
use crate::conversation::Action;
use crate::error::EmulatorError;
use crate::inspect::{PushAttempt, PushDelivery};
use crate::security::MediaCheck;
use crate::state::{Acted, Shared, State};
use crate::subscriptions;

impl Shared {
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
    pub(crate) fn record_push(
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

    /// Every push so far.
    pub fn pushes(&self) -> Vec<PushDelivery> {
        self.lock().pushes.clone()
    }
}
