//! Why no token could be had, and the errcodes of WeChat's token endpoints.

use std::sync::Arc;

use crate::answer::{Escaped, Rejection};
use crate::client::failure::{BadAnswer, DeliveryUnknown, Failure, TransportError};

use super::source::BoxError;

/// The errcodes of the token endpoints (`/cgi-bin/stable_token`,
/// `/cgi-bin/token`), generated from `api-spec/token.toml`. A code not
/// listed is kept in `Unknown`.
pub use crate::api::TokenErrcode;

/// No access token could be had. Cheap to clone: every caller waiting for
/// one refresh gets the same error.
///
/// Its [`source`](std::error::Error::source) is the cause: the token
/// endpoint's [`Rejection`], a [`TransportError`], a [`BadAnswer`] or the
/// provider's error.
#[derive(Clone, Debug, thiserror::Error)]
#[error(transparent)]
pub struct TokenError(Arc<TokenErrorKind>);

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenErrorKind {
    /// The token endpoint answered an errcode.
    #[error("the token endpoint answered {0}")]
    Rejected(#[source] Rejection<TokenErrcode>),
    /// The token endpoint could not be reached, or broke off, or timed out.
    #[error("the token endpoint failed: {0}")]
    Transport(#[source] TransportError),
    /// The token endpoint's answer could not be read.
    #[error("the token endpoint's answer: {0}")]
    BadAnswer(#[source] BadAnswer),
    /// A [`TokenProvider`](super::TokenProvider) failed.
    #[error("the token provider failed: {}", Escaped(.0))]
    Provider(#[source] BoxError),
    /// The shared token store could not be used (and its fallback is to fail).
    #[cfg(feature = "redis")]
    #[error(transparent)]
    Store(crate::client::shared::StoreError),
    /// The refresh ended without a result (its task was stopped).
    #[error("the token refresh was abandoned")]
    Abandoned,
}

impl TokenError {
    pub(crate) fn new(kind: TokenErrorKind) -> Self {
        TokenError(Arc::new(kind))
    }

    /// Why.
    pub fn kind(&self) -> &TokenErrorKind {
        &self.0
    }

    /// The token endpoint's errcode, when it answered one.
    pub fn errcode(&self) -> Option<&TokenErrcode> {
        match &*self.0 {
            TokenErrorKind::Rejected(r) => Some(&r.errcode),
            _ => None,
        }
    }

    /// Whether fetching the token timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(&*self.0, TokenErrorKind::Transport(t) if t.is_timeout())
    }

    /// The token endpoint's unreadable answer, if that is what failed.
    pub fn bad_answer(&self) -> Option<&BadAnswer> {
        match &*self.0 {
            TokenErrorKind::BadAnswer(b) => Some(b),
            _ => None,
        }
    }
}

impl From<Failure> for TokenError {
    fn from(failure: Failure) -> Self {
        TokenError::new(match failure {
            Failure::NotSent(t)
            | Failure::Unknown(DeliveryUnknown::Timeout(t))
            | Failure::Unknown(DeliveryUnknown::Interrupted(t)) => TokenErrorKind::Transport(t),
            Failure::Unknown(DeliveryUnknown::BadAnswer(b)) => TokenErrorKind::BadAnswer(b),
        })
    }
}
