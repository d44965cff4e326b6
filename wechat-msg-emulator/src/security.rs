//! Content checks: `security.msgSecCheck` answers a verdict at once from the
//! configured risky words; `security.mediaCheckAsync` answers a trace_id and
//! pushes its verdict (`wxa_media_check`) after the configured delay, -1008
//! when the media cannot be fetched. Both answer 40129 for a scene outside
//! 1-4 and 61010 for a user who has not acted within the visit window on
//! the emulator's clock.

use std::time::Instant;

use serde_json::{Map, Value};
use wechat_msg as wx;

use crate::config::{RiskyWord, Security};
use crate::error::WxError;
use crate::typed::{answer as answer_fields, is, request};

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
    let (scene, media) = if is::<wx::MsgSecCheck>(endpoint) {
        let check = request::<wx::MsgSecCheck>(body)?;
        (check.scene, Err(check.content))
    } else if is::<wx::MediaCheckAsync>(endpoint) {
        let check = request::<wx::MediaCheckAsync>(body)?;
        (check.scene, Ok(check))
    } else {
        return Ok(None);
    };
    if !(1..=4).contains(&scene) {
        return Err(WxError::new(40129, "invalid scene"));
    }
    if let Ok(check) = &media
        && !matches!(check.media_type, 1 | 2)
    {
        return Err(WxError::new(40004, "invalid media type"));
    }
    let visited =
        last_acted.is_some_and(|at| now.saturating_duration_since(at) <= config.visit_window);
    if !visited {
        return Err(WxError::new(61010, "code is expired"));
    }
    let trace_id = new_trace_id();
    let content = match media {
        Ok(check) => {
            let answer = wx::MediaCheckAsyncAnswer::builder()
                .trace_id(&trace_id)
                .build();
            let check = MediaCheck {
                openid: check.openid,
                trace_id,
                media_url: check.media_url,
            };
            return Ok(Some(Checked {
                fields: answer_fields(&answer),
                media: Some(check),
            }));
        }
        Err(content) => content,
    };
    let verdict = verdict(risky, &content);
    let answer = wx::MsgSecCheckAnswer::builder()
        .trace_id(trace_id)
        .result(verdict.result())
        .detail(verdict.detail())
        .build();
    Ok(Some(Checked {
        fields: answer_fields(&answer),
        media: None,
    }))
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
    fn suggest(&self) -> wx::SecCheckSuggest {
        if self.matched.is_some() {
            wx::SecCheckSuggest::Risky
        } else {
            wx::SecCheckSuggest::Pass
        }
    }

    fn label(&self) -> i64 {
        self.matched.map_or(NORMAL, |w| w.label)
    }

    /// `result`: the overall suggestion and label.
    fn result(&self) -> wx::SecCheckResult {
        wx::SecCheckResult::builder()
            .suggest(self.suggest())
            .label(self.label())
            .build()
    }

    /// `detail`: the model's opinion, and the keyword strategy's (with the
    /// word it matched), as WeChat lists them.
    fn detail(&self) -> Vec<wx::SecCheckDetail> {
        let model = wx::SecCheckDetail::builder()
            .strategy("content_model")
            .errcode(0)
            .suggest(wx::SecCheckSuggest::Pass)
            .label(NORMAL)
            .prob(90)
            .build();
        let keyword = wx::SecCheckDetail::builder().strategy("keyword").errcode(0);
        let keyword = match self.matched {
            Some(word) => keyword
                .suggest(wx::SecCheckSuggest::Risky)
                .label(word.label)
                .level(20)
                .keyword(&word.word)
                .build(),
            None => keyword
                .suggest(wx::SecCheckSuggest::Pass)
                .label(NORMAL)
                .build(),
        };
        vec![model, keyword]
    }
}

/// A trace id like WeChat's: `60ae120f-371d5872-7941a05b`.
fn new_trace_id() -> String {
    crate::error::new_rid()
}
