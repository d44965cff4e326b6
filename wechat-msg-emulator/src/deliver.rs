//! Pushing a user's action to the developer's server as WeChat does: signed
//! with the push Token and, in safe mode, sealed with the EncodingAESKey, in
//! the configured encoding; three attempts in all (WeChat's "重试三次", as
//! people observe it: the first and two retries, the same body each time)
//! while the answer is not `success` (or empty, or a passive reply) within
//! five seconds. Each attempt goes to the endpoint's next URL in turn, as a
//! load balancer would send it, and the `push_drop_answers` fault makes an
//! answer count as never received.
//!
//! A user's action is delivered before the control request that made it is
//! answered; the pushes a call makes (`subscribe_msg_sent_event`) are
//! delivered in the background after the call is answered, as WeChat sends
//! them.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wechat_msg::push::PushMessage as _;
use wechat_msg::push::body::Encoding;

use crate::config::PushTarget;
use crate::inspect::PushAttempt;
use crate::state::Shared;

/// WeChat waits this long for an answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// And tries this many times in all.
const ATTEMPTS: usize = 3;
/// Between tries (WeChat waits longer; a test should not).
const RETRY_AFTER: Duration = Duration::from_millis(200);
/// How much of an answer is kept.
const ANSWER_KEPT: usize = 1024;

/// Delivers, each in a task of its own, the pushes calls have recorded for
/// the push endpoint; each delivery is recorded when it ends.
pub(crate) fn deliver_outbox(shared: &Arc<Shared>) {
    for acted in shared.take_outbox() {
        let Some(target) = acted.target else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let (attempts, delivered) =
                deliver(&shared, &target, &acted.push, Some(acted.index)).await;
            let _ = shared.delivered(acted.index, attempts, delivered);
        });
    }
}

/// Delivers `push` to `target` for the app: every attempt, and whether one
/// was accepted. With the push's `index` among the recorded pushes, each
/// attempt is told to the followers of the events as it ends.
pub(crate) async fn deliver(
    shared: &Shared,
    target: &PushTarget,
    push: &wechat_msg::Push,
    index: Option<usize>,
) -> (Vec<PushAttempt>, bool) {
    let http = &shared.http;
    let (signer, encoding) = match target.signer(&shared.config.app.appid) {
        Ok(signer) => signer,
        Err(e) => {
            return (
                vec![PushAttempt {
                    status: None,
                    answer: None,
                    error: Some(format!("push endpoint not usable: {e}")),
                    url: None,
                }],
                false,
            );
        }
    };
    let wrappers = push.xml_wrappers();
    let push = push.to_push_form();
    let content_type = match encoding {
        Encoding::Json => "application/json",
        Encoding::Xml => "text/xml",
    };
    let mut attempts = Vec::new();
    let urls = target.attempt_urls();
    // Each push starts at the next URL in turn and each retry takes the
    // URL after its attempt's, so a retry lands on another instance even
    // while other pushes are in flight.
    let first = shared.next_push_turn();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(RETRY_AFTER).await;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let nonce = fastrand::u32(..).to_string();
        let signed = signer.sign(&push, encoding, wrappers, now, &nonce);
        let base = urls[first.wrapping_add(attempt) % urls.len()];
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}{}", signed.query);
        let sent = http
            .post(&url)
            .header("content-type", content_type)
            .timeout(ANSWER_WITHIN)
            .body(signed.body)
            .send()
            .await;
        let (mut record, mut accepted) = match sent {
            Err(e) => (
                PushAttempt {
                    status: None,
                    answer: None,
                    error: Some(describe(&e)),
                    url: None,
                },
                false,
            ),
            Ok(answer) => {
                let status = answer.status();
                match answer.bytes().await {
                    Err(e) => (
                        PushAttempt {
                            status: Some(status.as_u16()),
                            answer: None,
                            error: Some(describe(&e)),
                            url: None,
                        },
                        false,
                    ),
                    Ok(body) => {
                        let accepted = status.is_success() && acceptable(&body);
                        let error = (!accepted).then(|| {
                            if status.is_success() {
                                "the answer is not `success`, empty, or a passive reply".to_owned()
                            } else {
                                format!("HTTP {status}")
                            }
                        });
                        (
                            PushAttempt {
                                status: Some(status.as_u16()),
                                answer: Some(kept(&body)),
                                error,
                                url: None,
                            },
                            accepted,
                        )
                    }
                }
            }
        };
        if record.status.is_some() && shared.take_push_drop() {
            // As if the answer never came: WeChat waits, then retries.
            record.error = Some("the answer was dropped (fault push_drop_answers)".to_owned());
            accepted = false;
        }
        record.url = Some(base.to_owned());
        attempts.push(record);
        if let Some(index) = index {
            shared.attempted(index, &attempts);
        }
        if accepted {
            return (attempts, true);
        }
    }
    (attempts, false)
}

/// `success`, an empty body, or a passive reply (a JSON or XML object).
fn acceptable(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    text.is_empty()
        || text == "success"
        || Encoding::sniff(body)
            .is_some_and(|encoding| wechat_msg::push::body::read(body, encoding, &[]).is_ok())
}

fn kept(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(ANSWER_KEPT) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], body.len()),
        None => text.into_owned(),
    }
}

/// A transport failure, without the URL (its query carries signatures).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} s", ANSWER_WITHIN.as_secs())
    } else if e.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        let mut text = e.to_string();
        if let Some(url) = e.url() {
            text = text.replace(url.as_str(), "<push url>");
        }
        text
    }
}
