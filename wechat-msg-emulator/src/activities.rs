//! Updatable messages: the activity ids createActivityId hands out (each
//! expires 24 hours later on the emulator's clock) and the state machine
//! setUpdatableMsg drives: 0 (in progress) may go to 0 or 1, 1 (started) is
//! final.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use wechat_msg as wx;

use crate::clock::Deadline;
use crate::error::WxError;
use crate::typed::{answer, is, request};

/// How long an activity id lives.
pub(crate) const LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The parameters each target state needs.
const IN_PROGRESS: [&str; 2] = ["member_count", "room_limit"];
const STARTED: [&str; 2] = ["path", "version_type"];
const VERSION_TYPES: [&str; 3] = ["develop", "trial", "release"];

/// One activity id.
#[derive(Debug)]
struct Activity {
    expires_at: Deadline,
    /// The last state set, `None` before the first.
    state: Option<i64>,
}

/// Every activity id handed out.
#[derive(Debug)]
pub(crate) struct Activities {
    by_id: HashMap<String, Activity>,
}

impl Activities {
    /// The activity ids of the configuration, made at `now`.
    pub fn new(known: &[String], now: Instant) -> Self {
        let by_id = known
            .iter()
            .map(|id| {
                let activity = Activity {
                    expires_at: Deadline::after(now, LIFETIME),
                    state: None,
                };
                (id.clone(), activity)
            })
            .collect();
        Activities { by_id }
    }

    /// Serves an updatable-message endpoint: `Some` answer fields (HTTP
    /// form) for the endpoints it owns, `None` for any other. `body` is the
    /// validated request in the HTTP form.
    pub fn serve(
        &mut self,
        endpoint: &str,
        body: &Value,
        now: Instant,
        unix_now: u64,
        new_id: impl FnOnce() -> String,
    ) -> Result<Option<Map<String, Value>>, WxError> {
        if is::<wx::CreateActivityId>(endpoint) {
            let id = new_id();
            self.by_id.insert(
                id.clone(),
                Activity {
                    expires_at: Deadline::after(now, LIFETIME),
                    state: None,
                },
            );
            let expires = unix_now.saturating_add(LIFETIME.as_secs());
            let created = wx::ActivityId::builder()
                .activity_id(id)
                .expiration_time(i64::try_from(expires).unwrap_or(i64::MAX))
                .build();
            Ok(Some(answer(&created)))
        } else if is::<wx::SetUpdatableMsg>(endpoint) {
            self.set(request(body)?, now)?;
            Ok(Some(Map::new()))
        } else {
            Ok(None)
        }
    }

    fn set(&mut self, request: wx::SetUpdatableMsg, now: Instant) -> Result<(), WxError> {
        let id = request.activity_id.as_str();
        let activity = self
            .by_id
            .get(id)
            .ok_or_else(|| WxError::new(47501, "invalid activity_id"))?;
        if activity.expires_at.passed(now) {
            return Err(WxError::new(47504, "activity_id expired"));
        }
        if activity.state == Some(1) {
            return Err(WxError::new(
                47502,
                "invalid target_state: the message is already started (state 1 is final)",
            ));
        }
        let target = request.target_state;
        let needed = match target {
            0 => IN_PROGRESS,
            1 => STARTED,
            other => {
                return Err(WxError::new(
                    47502,
                    format!("invalid target_state {other}: 0 or 1"),
                ));
            }
        };
        let parameters = &request.template_info.parameter_list;
        let value = |name: &str| {
            parameters
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.value.as_str())
        };
        for name in needed {
            let Some(value) = value(name) else {
                return Err(WxError::new(
                    47001,
                    format!(
                        "data format error: template_info.parameter_list: {name} missing (required when target_state is {target})"
                    ),
                ));
            };
            let counted = name == "member_count" || name == "room_limit";
            if counted && (value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit())) {
                return Err(WxError::new(
                    47001,
                    format!(
                        "data format error: template_info.parameter_list: {name} must be a count, not {value:?}"
                    ),
                ));
            }
            if name == "version_type" && !VERSION_TYPES.contains(&value) {
                return Err(WxError::new(
                    47503,
                    format!("invalid version_type {value:?}: develop, trial or release"),
                ));
            }
        }
        if let Some(activity) = self.by_id.get_mut(id) {
            activity.state = Some(target);
        }
        Ok(())
    }
}
