//! Content checks: `security.msgSecCheck` answers a verdict at once from the
//! configured risky words; `security.mediaCheckAsync` answers a trace_id and
//! pushes its verdict (`wxa_media_check`) after the configured delay, -1008
//! when the media cannot be fetched. Both answer 40129 for a scene outside
//! 1-4 and 61010 for a user who has not acted within the visit window on
//! the emulator's clock.

use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::config::{RiskyWord, Security};
use crate::error::WxError;

/// The endpoints served here, by cloud-call name.
const TEXT: &str = "security.msgSecCheck";
const MEDIA: &str = "security.mediaCheckAsync";

/// The label of a text found normal.
pub(crate) const NORMAL: i64 = 100;

/// A media check accepted, whose verdict is pushed later.
#[derive(Clone, Debug)]
pub(crate) struct MediaCheck {
    pub openid: String,
    pub trace_id: String,
    pub media_url: String,
}

/// A content check answered: its answer's fields (HTTP form) and, for a
/// media check, the check whose verdict is to be pushed.
#[derive(Debug)]
pub(crate) struct Checked {
    pub fields: Map<String, Value>,
    pub media: Option<MediaCheck>,
}

/// Serves a content-check endpoint: `Some` answer fields (HTTP form) for
/// the endpoints it owns, `None` for any other. `last_acted` is when the
/// user of `body` last acted, if ever; a media check accepted is returned
/// for its verdict to be pushed.
pub(crate) fn serve(
    config: &Security,
    risky: &[RiskyWord],
    endpoint: &str,
    body: &Value,
    last_acted: Option<Instant>,
    now: Instant,
) -> Result<Option<Checked>, WxError> {
    if endpoint != TEXT && endpoint != MEDIA {
        return Ok(None);
    }
    let scene = body.get("scene").and_then(Value::as_i64);
    if !matches!(scene, Some(1..=4)) {
        return Err(WxError::new(40129, "invalid scene"));
    }
    if endpoint == MEDIA && !matches!(body.get("media_type").and_then(Value::as_i64), Some(1 | 2)) {
        return Err(WxError::new(40004, "invalid media type"));
    }
    let visited =
        last_acted.is_some_and(|at| now.saturating_duration_since(at) <= config.visit_window);
    if !visited {
        return Err(WxError::new(61010, "code is expired"));
    }
    let trace_id = new_trace_id();
    let mut answer = Map::new();
    answer.insert("trace_id".into(), trace_id.clone().into());
    if endpoint == MEDIA {
        let check = MediaCheck {
            openid: text(body, "openid"),
            trace_id,
            media_url: text(body, "media_url"),
        };
        return Ok(Some(Checked {
            fields: answer,
            media: Some(check),
        }));
    }
    let content = text(body, "content");
    let verdict = verdict(risky, &content);
    answer.insert("result".into(), verdict.result());
    answer.insert("detail".into(), verdict.detail());
    Ok(Some(Checked {
        fields: answer,
        media: None,
    }))
}

fn text(body: &Value, key: &str) -> String {
    body.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// What the checks found in a text.
struct Verdict<'w> {
    matched: Option<&'w RiskyWord>,
}

fn verdict<'w>(risky: &'w [RiskyWord], content: &str) -> Verdict<'w> {
    Verdict {
        matched: risky
            .iter()
            .find(|w| !w.word.is_empty() && content.contains(&w.word)),
    }
}

impl Verdict<'_> {
    fn suggest(&self) -> &'static str {
        if self.matched.is_some() {
            "risky"
        } else {
            "pass"
        }
    }

    fn label(&self) -> i64 {
        self.matched.map_or(NORMAL, |w| w.label)
    }

    /// `result`: the overall suggestion and label.
    fn result(&self) -> Value {
        json!({"suggest": self.suggest(), "label": self.label()})
    }

    /// `detail`: the model's opinion, and the keyword strategy's (with the
    /// word it matched), as WeChat lists them.
    fn detail(&self) -> Value {
        let model = json!({
            "strategy": "content_model",
            "errcode": 0,
            "suggest": "pass",
            "label": NORMAL,
            "prob": 90,
        });
        let keyword = match self.matched {
            Some(word) => json!({
                "strategy": "keyword",
                "errcode": 0,
                "suggest": "risky",
                "label": word.label,
                "level": 20,
                "keyword": word.word,
            }),
            None => json!({
                "strategy": "keyword",
                "errcode": 0,
                "suggest": "pass",
                "label": NORMAL,
            }),
        };
        json!([model, keyword])
    }
}

/// A trace id like WeChat's: `60ae120f-371d5872-7941a05b`.
fn new_trace_id() -> String {
    crate::error::new_rid()
}
