//! The customer-service conversation of each user, as WeChat runs it for
//! Mini Programs: the reply window a user's action opens, what is left of
//! it, and the typing indicator.
//!
//! - A message from the user opens a window of `message_window_count`
//!   replies within `message_window`; entering the conversation opens one of
//!   `enter_window_count` within `enter_window`. Each action resets the
//!   allowance to its maximum: windows do not add up.
//! - A reply with no open window is 45015; one past the allowance 45047.
//! - Typing needs an open window and an interaction within
//!   `typing_interaction` (45080), stays on for `typing` and cannot be set
//!   again while on (45081); a reply cancels it.
//!
//! Times are the emulator's clock, so `/_emulator/clock/advance` ages them.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::clock::Deadline;
use crate::config::Conversation;
use crate::error::WxError;

/// What a user did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Sent a message (text, image, card).
    Message,
    /// Entered the conversation (`user_enter_tempsession`).
    Enter,
    /// Anything else (subscribe events): no window.
    Other,
}

/// What a typing request asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Typing {
    /// `Typing`.
    On,
    /// `CancelTyping`.
    Off,
}

#[derive(Clone, Debug, Default)]
struct User {
    window: Option<(Deadline, u32)>,
    last_interaction: Option<Instant>,
    typing_until: Option<Instant>,
}

/// Every user's conversation.
#[derive(Clone, Debug, Default)]
pub(crate) struct Conversations {
    users: HashMap<String, User>,
}

/// A user's window, for the inspection API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowState {
    /// Replies still allowed.
    pub replies_left: u32,
    /// Seconds until it closes.
    pub closes_in_secs: u64,
}

impl Conversations {
    /// The conversations at the start: the configured users' message windows
    /// are open, as if they had just written.
    pub fn new(config: &Conversation, now: Instant) -> Self {
        let mut out = Conversations::default();
        for openid in &config.open {
            out.act(config, openid, Action::Message, now);
        }
        out
    }

    /// The user `openid` did `action` at `now`.
    pub fn act(&mut self, config: &Conversation, openid: &str, action: Action, now: Instant) {
        let user = self.users.entry(openid.to_owned()).or_default();
        let window = match action {
            Action::Message => (config.message_window, config.message_window_count),
            Action::Enter => (config.enter_window, config.enter_window_count),
            Action::Other => return,
        };
        user.window = Some((Deadline::after(now, window.0), window.1));
        user.last_interaction = Some(now);
    }

    /// When `openid` last wrote or entered the conversation, if ever.
    pub fn last_interaction(&self, openid: &str) -> Option<Instant> {
        self.users.get(openid)?.last_interaction
    }

    fn open_window(&self, openid: &str, now: Instant) -> Option<u32> {
        let (closes, left) = self.users.get(openid)?.window?;
        (!closes.passed(now)).then_some(left)
    }

    /// Whether a reply to `openid` may go now.
    pub fn check_reply(&self, openid: &str, now: Instant) -> Result<(), WxError> {
        match self.open_window(openid, now) {
            None => Err(WxError::new(
                45015,
                "response out of time limit or subscription is canceled",
            )),
            Some(0) => Err(WxError::new(45047, "out of response count limit")),
            Some(_) => Ok(()),
        }
    }

    /// A reply to `openid` went: one less left, and typing stops.
    pub fn commit_reply(&mut self, openid: &str) {
        if let Some(user) = self.users.get_mut(openid) {
            if let Some((_, left)) = user.window.as_mut() {
                *left = left.saturating_sub(1);
            }
            user.typing_until = None;
        }
    }

    /// Whether typing may be set for `openid` now.
    pub fn check_typing(
        &self,
        config: &Conversation,
        openid: &str,
        typing: Typing,
        now: Instant,
    ) -> Result<(), WxError> {
        let user = self.users.get(openid);
        let recent = user
            .and_then(|u| u.last_interaction)
            .is_some_and(|at| now.saturating_duration_since(at) <= config.typing_interaction);
        if self.open_window(openid, now).is_none() || !recent {
            return Err(WxError::new(
                45080,
                "To send typing status, there should be message interactions with the user within the last 30 seconds",
            ));
        }
        let on = user
            .and_then(|u| u.typing_until)
            .is_some_and(|until| now < until);
        if typing == Typing::On && on {
            return Err(WxError::new(45081, "you are already typing"));
        }
        Ok(())
    }

    /// Typing was set.
    pub fn commit_typing(
        &mut self,
        config: &Conversation,
        openid: &str,
        typing: Typing,
        now: Instant,
    ) {
        let user = self.users.entry(openid.to_owned()).or_default();
        user.typing_until = match typing {
            Typing::On => now.checked_add(config.typing),
            Typing::Off => None,
        };
    }

    /// Sets the window of `openid` as a snapshot had it: `replies_left`
    /// replies, closing `closes_in` from `now`; none closes it.
    pub fn set_window(&mut self, openid: &str, window: Option<&WindowState>, now: Instant) {
        let user = self.users.entry(openid.to_owned()).or_default();
        user.window = window.map(|w| {
            let closes = Deadline::after(now, std::time::Duration::from_secs(w.closes_in_secs));
            (closes, w.replies_left)
        });
    }

    /// The open window of `openid`, if any.
    pub fn window(&self, openid: &str, now: Instant) -> Option<WindowState> {
        let (closes, left) = self.users.get(openid)?.window?;
        if closes.passed(now) {
            return None;
        }
        let closes_in = closes.left(now)?;
        Some(WindowState {
            replies_left: left,
            closes_in_secs: closes_in.as_secs(),
        })
    }
}
