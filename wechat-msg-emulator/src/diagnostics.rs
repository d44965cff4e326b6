//! WeChat's own diagnostics: the daily quota of each API
//! (`openApi.getApiQuota`), clearing the counts (`openApi.clearQuota`,
//! `/cgi-bin/clear_quota/v2`: 10 clears a calendar month on the emulator's
//! clock, then 48006), and what was recorded for a call by its rid
//! (`openApi.getRidInfo`: kept 7 days on the emulator's clock).

use std::collections::HashMap;

use serde_json::Value;
use wechat_msg as wx;

use crate::error::WxError;

/// Clears allowed in a calendar month.
pub(crate) const CLEARS_A_MONTH: usize = 10;

/// How long a rid can be looked up.
pub(crate) const RID_LIFETIME_SECS: u64 = 7 * 24 * 3600;

/// What was recorded for one answered call, by its rid.
#[derive(Clone, Debug)]
pub(crate) struct RidRecord {
    pub invoke_time: u64,
    pub cost_in_ms: u64,
    pub request_url: String,
    pub request_body: String,
    pub response_body: String,
    pub client_ip: String,
}

/// The recorded calls and the clears made.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics {
    rids: HashMap<String, RidRecord>,
    /// The unix times of the clears made.
    clears: Vec<u64>,
}

impl Diagnostics {
    /// Records the call answered with `rid`.
    pub fn record(&mut self, rid: String, record: RidRecord) {
        // Forget what can no longer be looked up.
        let now = record.invoke_time;
        self.rids
            .retain(|_, r| now.saturating_sub(r.invoke_time) <= RID_LIFETIME_SECS);
        self.rids.insert(rid, record);
    }

    /// `openApi.getRidInfo`: the record of `rid` as WeChat answers it.
    pub fn rid_info(&self, rid: &str, unix_now: u64) -> Result<wx::RidInfo, WxError> {
        if !is_rid(rid) {
            return Err(WxError::new(76002, "rid is error"));
        }
        let Some(record) = self.rids.get(rid) else {
            return Err(WxError::new(76001, "rid not found"));
        };
        if unix_now.saturating_sub(record.invoke_time) > RID_LIFETIME_SECS {
            return Err(WxError::new(76004, "rid time is error"));
        }
        let int = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let request = wx::RidRecord::builder()
            .invoke_time(int(record.invoke_time))
            .cost_in_ms(int(record.cost_in_ms))
            .request_url(&record.request_url)
            .request_body(&record.request_body)
            .response_body(&record.response_body)
            .client_ip(&record.client_ip)
            .build();
        Ok(wx::RidInfo::builder().request(request).build())
    }

    /// A clear at `unix_now`, if the month allows one more: 48006 otherwise.
    pub fn clear(&mut self, unix_now: u64) -> Result<(), WxError> {
        let month = month_of(unix_now);
        let made = self
            .clears
            .iter()
            .filter(|t| month_of(**t) == month)
            .count();
        if made >= CLEARS_A_MONTH {
            return Err(WxError::new(
                48006,
                "forbid to clear quota because of reaching the limit",
            ));
        }
        self.clears.push(unix_now);
        Ok(())
    }
}

/// Whether `rid` has the shape of WeChat's (and the emulator's) rids:
/// three groups of 8 hex digits joined by `-`.
fn is_rid(rid: &str) -> bool {
    let groups: Vec<&str> = rid.split('-').collect();
    groups.len() == 3
        && groups
            .iter()
            .all(|g| g.len() == 8 && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The calendar month (UTC) of a unix time, as `(year, month)`.
fn month_of(unix: u64) -> (i64, u32) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

/// The query string of a call as recorded: the access_token and any
/// secret redacted.
pub(crate) fn redacted_query(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if matches!(key, "access_token" | "secret" | "appsecret") => {
                format!("{key}=***")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A request body as recorded: a secret in a JSON body redacted.
pub(crate) fn redacted_body(body: &[u8]) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(mut map)) => {
            for key in ["secret", "appsecret", "access_token"] {
                if let Some(value) = map.get_mut(key) {
                    *value = Value::String("***".into());
                }
            }
            Value::Object(map).to_string()
        }
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_follow_the_calendar() {
        assert_eq!(month_of(0), (1970, 1));
        // 2023-09-20T00:00:00Z
        assert_eq!(month_of(1_695_168_000), (2023, 9));
        // 2024-02-29T23:59:59Z, then 2024-03-01
        assert_eq!(month_of(1_709_251_199), (2024, 2));
        assert_eq!(month_of(1_709_251_200), (2024, 3));
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            redacted_query("access_token=T0K&x=1&appsecret=S"),
            "access_token=***&x=1&appsecret=***"
        );
        assert_eq!(
            redacted_body(br#"{"appid":"wx","appsecret":"S"}"#),
            r#"{"appid":"wx","appsecret":"***"}"#
        );
    }

    #[test]
    fn rids_have_their_shape() {
        assert!(is_rid("650b8665-65fe50fc-076f7520"));
        assert!(!is_rid(""));
        assert!(!is_rid("650b8665-65fe50fc"));
        assert!(!is_rid("zzzzzzzz-65fe50fc-076f7520"));
    }
}
