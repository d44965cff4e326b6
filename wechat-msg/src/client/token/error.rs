//! Why no token could be had, and the errcodes of WeChat's token endpoints.

use std::fmt;
use std::sync::Arc;

use crate::answer::{Escaped, Rejection};
use crate::client::failure::{BadAnswer, DeliveryUnknown, Failure, TransportError};
use crate::endpoint::{Errcode, ErrcodeInfo, ErrorClass};

use super::source::BoxError;

/// The errcodes of the token endpoints (`/cgi-bin/stable_token`,
/// `/cgi-bin/token`). A code not listed is kept in `Unknown`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenErrcode {
    /// `-1`: system busy.
    SystemBusy,
    /// `40001`: the AppSecret is wrong.
    InvalidCredential,
    /// `40002`: invalid grant_type.
    InvalidGrantType,
    /// `40013`: invalid AppID.
    InvalidAppid,
    /// `40125`: invalid AppSecret.
    InvalidAppSecret,
    /// `40164`: the caller's IP is not on the app's allowlist.
    IpNotAllowed,
    /// `41002`: appid missing.
    AppidMissing,
    /// `41004`: secret missing.
    SecretMissing,
    /// `43002`: the request must be a POST.
    PostRequired,
    /// `45009`: the daily quota of token fetches is used up.
    DailyQuotaExceeded,
    /// `45011`: too many fetches this minute.
    RateLimited,
    /// `89503`: calls from this IP await the administrator's confirmation.
    IpAwaitingConfirmation,
    /// `89506`: the administrator refused this IP; retry in 24 hours.
    IpRefusedForADay,
    /// `89507`: the administrator refused this IP; retry in an hour.
    IpRefusedForAnHour,
    /// A code not listed above.
    Unknown {
        /// The code.
        code: i64,
        /// The errmsg.
        errmsg: String,
    },
}

const fn row(
    code: i64,
    name: &'static str,
    class: ErrorClass,
    description: &'static str,
) -> ErrcodeInfo {
    ErrcodeInfo {
        code,
        name,
        description,
        class,
    }
}

impl TokenErrcode {
    /// Every listed code, sorted by code.
    pub const TABLE: &'static [ErrcodeInfo] = &[
        row(
            -1,
            "SystemBusy",
            ErrorClass::Retry,
            "System is busy. Try again later.",
        ),
        row(
            40001,
            "InvalidCredential",
            ErrorClass::Permanent,
            "The AppSecret is wrong.",
        ),
        row(
            40002,
            "InvalidGrantType",
            ErrorClass::Permanent,
            "Invalid grant_type.",
        ),
        row(
            40013,
            "InvalidAppid",
            ErrorClass::Permanent,
            "Invalid AppID.",
        ),
        row(
            40125,
            "InvalidAppSecret",
            ErrorClass::Permanent,
            "Invalid AppSecret.",
        ),
        row(
            40164,
            "IpNotAllowed",
            ErrorClass::Permanent,
            "The caller's IP address is not on the allowlist.",
        ),
        row(
            41002,
            "AppidMissing",
            ErrorClass::Permanent,
            "The appid is missing.",
        ),
        row(
            41004,
            "SecretMissing",
            ErrorClass::Permanent,
            "The secret is missing.",
        ),
        row(
            43002,
            "PostRequired",
            ErrorClass::Permanent,
            "The request must use POST.",
        ),
        row(
            45009,
            "DailyQuotaExceeded",
            ErrorClass::Permanent,
            "The daily quota of token fetches is used up.",
        ),
        row(
            45011,
            "RateLimited",
            ErrorClass::Retry,
            "Too many token fetches this minute.",
        ),
        row(
            89503,
            "IpAwaitingConfirmation",
            ErrorClass::Permanent,
            "Calls from this IP address await the administrator's confirmation.",
        ),
        row(
            89506,
            "IpRefusedForADay",
            ErrorClass::Permanent,
            "The administrator refused calls from this IP address; retry in 24 hours.",
        ),
        row(
            89507,
            "IpRefusedForAnHour",
            ErrorClass::Permanent,
            "The administrator refused calls from this IP address; retry in an hour.",
        ),
    ];

    const VARIANTS: [TokenErrcode; 14] = [
        TokenErrcode::SystemBusy,
        TokenErrcode::InvalidCredential,
        TokenErrcode::InvalidGrantType,
        TokenErrcode::InvalidAppid,
        TokenErrcode::InvalidAppSecret,
        TokenErrcode::IpNotAllowed,
        TokenErrcode::AppidMissing,
        TokenErrcode::SecretMissing,
        TokenErrcode::PostRequired,
        TokenErrcode::DailyQuotaExceeded,
        TokenErrcode::RateLimited,
        TokenErrcode::IpAwaitingConfirmation,
        TokenErrcode::IpRefusedForADay,
        TokenErrcode::IpRefusedForAnHour,
    ];

    fn index(&self) -> Option<usize> {
        Self::VARIANTS.iter().position(|v| v == self)
    }
}

impl Errcode for TokenErrcode {
    fn from_code(code: i64, errmsg: &str) -> Self {
        match Self::TABLE.binary_search_by_key(&code, |row| row.code) {
            Ok(i) => Self::VARIANTS[i].clone(),
            Err(_) => TokenErrcode::Unknown {
                code,
                errmsg: errmsg.to_owned(),
            },
        }
    }

    fn code(&self) -> i64 {
        match self {
            TokenErrcode::Unknown { code, .. } => *code,
            known => known.index().map_or(0, |i| Self::TABLE[i].code),
        }
    }

    fn info(&self) -> Option<&'static ErrcodeInfo> {
        self.index().map(|i| &Self::TABLE[i])
    }
}

impl fmt::Display for TokenErrcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.info(), self) {
            (Some(info), _) => write!(f, "{} ({}): {}", info.name, info.code, info.description),
            (None, TokenErrcode::Unknown { code, errmsg }) => {
                write!(f, "unknown errcode {code}: {}", Escaped(errmsg))
            }
            (None, _) => f.write_str("errcode"),
        }
    }
}

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
