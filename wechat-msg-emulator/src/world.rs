//! What tests and the control API see and set: users and their windows
//! and subscriptions, registered ids and media, templates, risky words,
//! accepted messages, and the whole world as a snapshot.

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock::{Deadline, check_secs};
use crate::config::{PrivateTemplate, RiskyWord};
use crate::conversation::WindowState;
use crate::error::EmulatorError;
use crate::inspect::{Message, Registration};
use crate::media::{Media, decode_base64};
use crate::snapshot::{SNAPSHOT_VERSION, Snapshot, UserSnapshot};
use crate::state::{FormId, Shared, UserSummary};
use crate::subscriptions::Subscription;

impl Shared {
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

    /// What `openid` holds, by template id.
    pub fn subscriptions(&self, openid: &str) -> Vec<Subscription> {
        self.lock().subscriptions.of(openid)
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

    /// The open window of `openid`, if any.
    pub fn window(&self, openid: &str) -> Option<WindowState> {
        let state = self.lock();
        let now = self.now(&state);
        state.conversations.window(openid, now)
    }
}
