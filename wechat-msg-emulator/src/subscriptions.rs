//! Users' subscriptions to the account's templates, as WeChat keeps them
//! for subscribe messages.
//!
//! A subscription belongs to one user and one template id. It is one-time
//! (a count: each accepted message uses one up) or long-term (no count,
//! never used up); a user may hold both, and then the long-term one is
//! used. A message to a user with neither answers 43101. Granting one-time
//! subscriptions adds to those the user still has, as each accepted popup
//! does in WeChat.
//!
//! The subscribe events WeChat pushes are built here too, in the JSON push
//! form and checked against the spec's push types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::Subscriptions as Configured;
use crate::error::WxError;

/// The errmsg WeChat answers 43101 with (before the rid).
pub(crate) const REFUSED: &str = "user refuse to accept the msg";

/// What a user holds for one template.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Held {
    long_term: bool,
    one_time: u64,
}

/// A user's subscription to one template, for the inspection API
/// (`GET /_emulator/users/{openid}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Subscription {
    /// The template's id.
    pub template_id: String,
    /// Whether the user holds a long-term subscription (never used up).
    pub long_term: bool,
    /// One-time subscriptions left: each message accepted without a
    /// long-term subscription uses one up.
    pub times: u64,
}

/// Every user's subscriptions, keyed by openid then template id.
#[derive(Clone, Debug, Default)]
pub(crate) struct Subscriptions {
    users: BTreeMap<String, BTreeMap<String, Held>>,
}

impl Subscriptions {
    /// The subscriptions of the configuration, for the templates the
    /// account has (`known`): the default grant to `TEMPLATE_ID` is the only
    /// one the configuration's checks let through without its template.
    pub fn new(config: &Configured, known: impl Fn(&str) -> bool) -> Self {
        let mut out = Subscriptions::default();
        for grant in config.granted.iter().filter(|g| known(&g.template_id)) {
            out.grant(&grant.openid, &grant.template_id, grant.times);
        }
        out
    }

    /// `openid` subscribes to `template_id`: `times` one-time subscriptions
    /// more, or a long-term one when `None`.
    pub fn grant(&mut self, openid: &str, template_id: &str, times: Option<u64>) {
        let held = self
            .users
            .entry(openid.to_owned())
            .or_default()
            .entry(template_id.to_owned())
            .or_default();
        match times {
            Some(n) => held.one_time = held.one_time.saturating_add(n),
            None => held.long_term = true,
        }
    }

    /// Whether a message of `template_id` may go to `openid`: 43101 when
    /// the user holds no subscription to it, or has used up the one-time
    /// ones.
    pub fn check(&self, openid: &str, template_id: &str) -> Result<(), WxError> {
        let held = self
            .users
            .get(openid)
            .and_then(|templates| templates.get(template_id));
        match held {
            Some(held) if held.long_term || held.one_time > 0 => Ok(()),
            _ => Err(WxError::new(43101, REFUSED)),
        }
    }

    /// A message of `template_id` went to `openid`: a one-time subscription
    /// is used up, unless the user holds a long-term one.
    pub fn commit(&mut self, openid: &str, template_id: &str) {
        if let Some(held) = self
            .users
            .get_mut(openid)
            .and_then(|templates| templates.get_mut(template_id))
            && !held.long_term
        {
            held.one_time = held.one_time.saturating_sub(1);
        }
    }

    /// Replaces what `openid` holds with `held`.
    pub fn set(&mut self, openid: &str, held: &[Subscription]) {
        let templates = self.users.entry(openid.to_owned()).or_default();
        templates.clear();
        for s in held {
            templates.insert(
                s.template_id.clone(),
                Held {
                    long_term: s.long_term,
                    one_time: s.times,
                },
            );
        }
    }

    /// The users holding any subscription.
    pub fn holders(&self) -> Vec<&str> {
        self.users
            .iter()
            .filter(|(_, templates)| !templates.is_empty())
            .map(|(openid, _)| openid.as_str())
            .collect()
    }

    /// What `openid` holds, by template id.
    pub fn of(&self, openid: &str) -> Vec<Subscription> {
        self.users
            .get(openid)
            .into_iter()
            .flatten()
            .map(|(template_id, held)| Subscription {
                template_id: template_id.clone(),
                long_term: held.long_term,
                times: held.one_time,
            })
            .collect()
    }
}

/// The body of a `subscribe_msg_popup_event` in which the user accepted
/// `template_id` in a Mini Program page (`PopupScene` 0).
pub(crate) fn popup_event(template_id: &str) -> Map<String, Value> {
    event(
        "subscribe_msg_popup_event",
        json!({
            "TemplateId": template_id,
            "SubscribeStatusString": "accept",
            "PopupScene": 0,
        }),
    )
}

/// The body of a `subscribe_msg_sent_event` for message `msg_id` of
/// `template_id`, delivered.
pub(crate) fn sent_event(template_id: &str, msg_id: i64) -> Map<String, Value> {
    event(
        "subscribe_msg_sent_event",
        json!({
            "TemplateId": template_id,
            "MsgID": msg_id,
            "ErrorCode": 0,
            "ErrorStatus": "success",
        }),
    )
}

fn event(name: &str, item: Value) -> Map<String, Value> {
    let mut push = Map::new();
    push.insert("MsgType".into(), "event".into());
    push.insert("Event".into(), name.into());
    push.insert("List".into(), item);
    push
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_subscriptions_add_up_and_are_used_up() {
        let mut subs = Subscriptions::default();
        assert_eq!(subs.check("U", "T").unwrap_err().code, 43101);
        subs.grant("U", "T", Some(1));
        subs.grant("U", "T", Some(1));
        assert_eq!(subs.of("U")[0].times, 2);
        for _ in 0..2 {
            subs.check("U", "T").unwrap();
            subs.commit("U", "T");
        }
        assert_eq!(subs.check("U", "T").unwrap_err().code, 43101);
        assert_eq!(subs.check("U", "OTHER").unwrap_err().code, 43101);
        assert_eq!(subs.check("V", "T").unwrap_err().code, 43101);
    }

    #[test]
    fn a_long_term_subscription_is_never_used_up() {
        let mut subs = Subscriptions::default();
        subs.grant("U", "T", Some(1));
        subs.grant("U", "T", None);
        for _ in 0..10 {
            subs.check("U", "T").unwrap();
            subs.commit("U", "T");
        }
        assert_eq!(
            subs.of("U"),
            [Subscription {
                template_id: "T".into(),
                long_term: true,
                times: 1
            }]
        );
    }

    #[test]
    fn the_events_are_the_spec_s_pushes() {
        use wechat_msg::Push;
        use wechat_msg::push::PushMessage as _;
        let mut popup = popup_event("T");
        let mut sent = sent_event("T", 9);
        for push in [&mut popup, &mut sent] {
            push.insert("ToUserName".into(), "gh".into());
            push.insert("FromUserName".into(), "U".into());
            push.insert("CreateTime".into(), 1.into());
        }
        let Ok(Push::SubscribeMsgPopup(popup)) = Push::from_push_form(popup) else {
            panic!("not a popup event")
        };
        assert_eq!(popup.list[0].subscribe_status_string, "accept");
        let Ok(Push::SubscribeMsgSent(sent)) = Push::from_push_form(sent) else {
            panic!("not a sent event")
        };
        assert_eq!(sent.list[0].msg_id, Some(9));
        assert_eq!(sent.list[0].error_code, 0);
    }
}
