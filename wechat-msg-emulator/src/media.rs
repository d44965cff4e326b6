//! Stored media and base64.

use std::sync::Arc;
use std::time::Instant;

use crate::clock::Deadline;

/// A stored medium: uploaded, or configured at start.
#[derive(Clone, Debug)]
pub(crate) struct Media {
    pub content_type: String,
    pub bytes: Arc<[u8]>,
    /// `Never` for configured media.
    pub expires_at: Deadline,
}

impl Media {
    pub fn is_live(&self, now: Instant) -> bool {
        !self.expires_at.passed(now)
    }
}

/// Base64 as WeChat's file fields carry it: the runtime's, so a file the
/// client writes is the file the emulator reads.
pub(crate) use wechat_msg::protocol::{decode_base64, encode_base64};
