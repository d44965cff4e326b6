//! The verdicts of media checks (`security.mediaCheckAsync`), pushed to
//! the push endpoint after the configured delay as WeChat pushes them
//! (`wxa_media_check`): a pass when the emulator could fetch the media,
//! errcode -1008 when it could not.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::deliver::deliver_outbox;
use crate::security::NORMAL;
use crate::state::Shared;

/// Pushes the verdict of each media check accepted by the last calls, after
/// the configured delay: `wxa_media_check` with errcode 0 and a pass when
/// the media could be fetched, -1008 when it could not.
pub(crate) fn push_media_checks(shared: &Arc<Shared>) {
    for check in shared.take_media_checks() {
        let shared = shared.clone();
        tokio::spawn(async move {
            tokio::time::sleep(shared.config.security.media_check_delay).await;
            let fetched = match shared.http.get(&check.media_url).send().await {
                Ok(response) => response.status().is_success(),
                Err(_) => false,
            };
            let mut event = json!({
                "MsgType": "event",
                "Event": "wxa_media_check",
                "appid": shared.config.app.appid,
                "trace_id": check.trace_id,
                "version": 2,
            });
            if fetched {
                event["errcode"] = json!(0);
                event["errmsg"] = json!("ok");
                event["result"] = json!({"suggest": "pass", "label": NORMAL});
                event["detail"] = json!([{
                    "strategy": "content_model",
                    "errcode": 0,
                    "suggest": "pass",
                    "label": NORMAL,
                    "prob": 90,
                }]);
            } else {
                event["errcode"] = json!(-1008);
                event["errmsg"] = json!("media download failed");
            }
            let Value::Object(event) = event else {
                return;
            };
            if shared.queue_push(&check.openid, event).is_ok() {
                deliver_outbox(&shared);
            }
        });
    }
}
