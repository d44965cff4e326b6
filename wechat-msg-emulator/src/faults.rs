//! Faults on demand: system busy, latency, gateway errors, truncated answers,
//! reset connections and lost push answers. This is what is pending and how one call takes its
//! share; the calls middleware applies it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The faults to inject into the next calls.
///
/// Counters count down by one per call they affect. They apply to API calls
/// (every endpoint and `/tcb/invokecloudfunction`), and to token fetches too
/// when `tokens` is set; never to `/_emulator/`. When several are pending,
/// `server_error` comes first, then `system_busy`, then `truncate`, then
/// `reset`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// The next N calls answer errcode -1 (system busy) and are not processed.
    /// In a cloud call the -1 is the API's, inside `resp_data`.
    pub system_busy: u32,
    /// Milliseconds added before every answer, until changed.
    pub latency_ms: u64,
    /// The next N calls answer an HTTP 5xx without being processed, as a
    /// gateway in front of WeChat does.
    pub server_error: u32,
    /// The status of those answers; 502 when 0.
    pub server_error_status: u16,
    /// Whether those answers are an HTML page (else a JSON errcode -1).
    pub server_error_html: bool,
    /// The next N calls are processed (a message is accepted and recorded),
    /// then answered with the first half of their body only: the caller cannot
    /// know the message went through.
    pub truncate: u32,
    /// The next N calls are processed, then the connection is reset without
    /// an answer.
    pub reset: u32,
    /// Whether token fetches count as calls for these faults.
    pub tokens: bool,
    /// The next N answers of the developer's push endpoint are ignored as if
    /// they never came: the attempt counts as unanswered and the push is
    /// retried (the endpoint did receive it).
    pub push_drop_answers: u32,
}

/// What the faults do to one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub latency: Duration,
    pub before: Option<Before>,
    pub after: Option<After>,
}

/// A fault that replaces processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Before {
    ServerError { status: u16, html: bool },
    SystemBusy,
}

/// A fault applied to the answer of a processed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum After {
    Truncate,
    Reset,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Faults::default()
    }

    /// Takes this call's share of the pending faults.
    pub(crate) fn take(&mut self, token_fetch: bool) -> Plan {
        let latency = Duration::from_millis(self.latency_ms);
        if token_fetch && !self.tokens {
            return Plan {
                latency: Duration::ZERO,
                ..Plan::default()
            };
        }
        let mut plan = Plan {
            latency,
            ..Plan::default()
        };
        if take_one(&mut self.server_error) {
            let status = match self.server_error_status {
                0 => 502,
                s => s,
            };
            plan.before = Some(Before::ServerError {
                status,
                html: self.server_error_html,
            });
        } else if take_one(&mut self.system_busy) {
            plan.before = Some(Before::SystemBusy);
        } else if take_one(&mut self.truncate) {
            plan.after = Some(After::Truncate);
        } else if take_one(&mut self.reset) {
            plan.after = Some(After::Reset);
        }
        plan
    }
}

impl Faults {
    /// Whether this push answer is to be ignored (`push_drop_answers`).
    pub(crate) fn take_push_drop(&mut self) -> bool {
        take_one(&mut self.push_drop_answers)
    }
}

fn take_one(counter: &mut u32) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count_down_in_order() {
        let mut faults = Faults {
            system_busy: 1,
            server_error: 1,
            truncate: 1,
            reset: 1,
            latency_ms: 7,
            ..Faults::none()
        };
        let plans: Vec<Plan> = (0..5).map(|_| faults.take(false)).collect();
        assert_eq!(
            plans[0].before,
            Some(Before::ServerError {
                status: 502,
                html: false
            })
        );
        assert_eq!(plans[1].before, Some(Before::SystemBusy));
        assert_eq!(plans[2].after, Some(After::Truncate));
        assert_eq!(plans[3].after, Some(After::Reset));
        assert_eq!(plans[4].before, None);
        assert_eq!(plans[4].after, None);
        assert!(plans.iter().all(|p| p.latency == Duration::from_millis(7)));
        assert_eq!(faults.system_busy + faults.truncate + faults.reset, 0);
    }

    #[test]
    fn token_fetches_are_spared_unless_asked() {
        let mut faults = Faults {
            system_busy: 1,
            ..Faults::none()
        };
        assert_eq!(faults.take(true).before, None);
        assert_eq!(faults.system_busy, 1);
        faults.tokens = true;
        assert_eq!(faults.take(true).before, Some(Before::SystemBusy));
    }
}
