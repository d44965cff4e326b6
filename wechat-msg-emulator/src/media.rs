//! Stored media and base64.

use std::sync::Arc;
use std::time::Instant;

use crate::clock::Deadline;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

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

/// Decodes standard base64, padding optional.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text)
        .ok()
        .or_else(|| STANDARD_NO_PAD.decode(text).ok())
}

/// Encodes standard base64.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}
