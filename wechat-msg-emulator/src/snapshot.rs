//! A snapshot of the emulator's world (`GET` / `PUT /_emulator/state`,
//! `wechat-msg emulator --state FILE`): users with their reply windows and
//! subscriptions, the private templates, the accepted messages and the
//! pushes. Tokens, media, faults and counters are not part of it.

use serde::{Deserialize, Serialize};

use crate::config::PrivateTemplate;
use crate::conversation::WindowState;
use crate::inspect::{Message, PushDelivery};
use crate::subscriptions::Subscription;

/// The version of the snapshot format this emulator writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// The emulator's world, as JSON.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Snapshot {
    /// [`SNAPSHOT_VERSION`].
    pub version: u32,
    /// The emulator's Unix time when it was taken.
    #[serde(default)]
    pub unix_time: u64,
    /// Every user the emulator knew of.
    #[serde(default)]
    pub users: Vec<UserSnapshot>,
    /// The account's private templates.
    #[serde(default)]
    pub templates: Vec<PrivateTemplate>,
    /// The accepted calls, in order.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// The pushes, in order.
    #[serde(default)]
    pub pushes: Vec<PushDelivery>,
}

/// One user of a [`Snapshot`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UserSnapshot {
    /// The user's openid.
    pub openid: String,
    /// Whether calls may name it.
    #[serde(default = "yes")]
    pub known: bool,
    /// Its open reply window.
    #[serde(default)]
    pub window: Option<WindowState>,
    /// What it holds.
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
}

fn yes() -> bool {
    true
}
