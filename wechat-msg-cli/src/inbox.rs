//! `wechat-msg inbox`: what the durable push inbox on Redis holds, and
//! re-queueing a parked push on purpose.

use wechat_msg::push::Inbox;

use crate::failure::Failure;
use crate::output::{self, Foreign};

/// What `inbox` was asked.
#[derive(Debug)]
pub enum InboxAction {
    /// Counts: queued, in progress, retrying, unknown, dead, appended, handled.
    Stats,
    /// The pushes of unknown delivery.
    Unknown,
    /// The dead-lettered pushes.
    Dead,
    /// Re-queue one parked push.
    Retry(String),
}

pub async fn run(store: &str, action: InboxAction) -> Result<(), Failure> {
    let inbox = Inbox::open(store)
        .map_err(|e| Failure::invalid(format!("--store: {e} (expected redis://HOST:PORT/DB)")))?;
    let unreachable = |e: wechat_msg::push::StoreError| Failure::not_sent(e.to_string());
    let printed = match action {
        InboxAction::Stats => output::write_json(&inbox.stats().await.map_err(unreachable)?),
        InboxAction::Unknown => output::write_json(&inbox.unknown().await.map_err(unreachable)?),
        InboxAction::Dead => output::write_json(&inbox.dead().await.map_err(unreachable)?),
        InboxAction::Retry(id) => match inbox.retry(&id).await.map_err(unreachable)? {
            Some(new_id) => output::write_text(&format!(
                "re-queued {} as {}\n",
                Foreign(&id),
                Foreign(&new_id)
            )),
            None => {
                return Err(Failure::invalid(format!(
                    "no dead or unknown push has the id `{}` (see `inbox dead` and `inbox unknown`)",
                    Foreign(&id)
                )));
            }
        },
    };
    printed.map_err(|e| Failure::not_sent(format!("cannot write standard output: {e}")))
}
