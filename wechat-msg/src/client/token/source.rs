//! Where tokens come from: the token sources, and the interface of a
//! source of your own.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::client::secrets::{AccessToken, AppSecret};

/// A boxed future, as [`TokenProvider::fetch_token`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A boxed error, as a [`TokenProvider`] returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A fresh token and how long it lives.
#[derive(Clone, Debug)]
pub struct FreshToken {
    /// The token.
    pub token: AccessToken,
    /// Its lifetime from now; `None` keeps it until WeChat refuses it.
    pub expires_in: Option<Duration>,
}

/// A source of tokens of your own, such as a central token service shared by
/// every instance of an application.
///
/// The client caches what it returns like any token, and calls it again when
/// the token is due or refused.
///
/// ```
/// use std::time::Duration;
/// use wechat_msg::client::{AccessToken, BoxError, BoxFuture, FreshToken, TokenProvider};
///
/// struct Central;
///
/// impl TokenProvider for Central {
///     fn fetch_token(&self) -> BoxFuture<'_, Result<FreshToken, BoxError>> {
///         Box::pin(async {
///             // Ask the service here.
///             Ok(FreshToken {
///                 token: AccessToken::new("TOKEN"),
///                 expires_in: Some(Duration::from_secs(600)),
///             })
///         })
///     }
/// }
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// Fetches a token. Called by one caller at a time.
    fn fetch_token(&self) -> BoxFuture<'_, Result<FreshToken, BoxError>>;
}

/// Where the client gets its access_token.
#[derive(Clone)]
#[non_exhaustive]
pub enum TokenSource {
    /// `POST /cgi-bin/stable_token` in normal mode (never `force_refresh`): it
    /// answers the current token without rotating it, so any number of
    /// instances can share an app. The default.
    Stable {
        /// The Mini Program's AppID.
        appid: String,
        /// Its AppSecret.
        secret: AppSecret,
    },
    /// `GET /cgi-bin/token`: each fetch rotates the token and invalidates the
    /// one other instances hold; use it only where a single instance fetches.
    Classic {
        /// The Mini Program's AppID.
        appid: String,
        /// Its AppSecret.
        secret: AppSecret,
    },
    /// A token given from outside, used as is and never refreshed.
    Fixed(AccessToken),
    /// No token at all: WeChat Cloud Hosting's open-API service accepts calls
    /// without one.
    None,
    /// A source of your own.
    Provider(Arc<dyn TokenProvider>),
    /// The token another instance keeps in the shared
    /// [`TokenStore`](crate::client::TokenStore), read and never fetched
    /// here: this instance holds no AppSecret.
    ///
    /// A token refused here is dropped from the store (if still there); the
    /// next one comes when an instance holding the AppSecret next needs a
    /// token (its own is due or refused), within the store's
    /// [`wait`](crate::client::TokenStore::wait), else the call fails with
    /// a store error.
    #[cfg(feature = "redis")]
    Stored {
        /// The Mini Program's AppID, which names the store's keys.
        appid: String,
    },
}

impl TokenSource {
    /// The stable token of `appid`.
    pub fn stable(appid: impl Into<String>, secret: impl Into<String>) -> Self {
        TokenSource::Stable {
            appid: appid.into(),
            secret: AppSecret::new(secret),
        }
    }

    /// The classic token of `appid`.
    pub fn classic(appid: impl Into<String>, secret: impl Into<String>) -> Self {
        TokenSource::Classic {
            appid: appid.into(),
            secret: AppSecret::new(secret),
        }
    }

    /// A fixed token.
    pub fn fixed(token: impl Into<String>) -> Self {
        TokenSource::Fixed(AccessToken::new(token))
    }

    /// A source of your own.
    pub fn provider(provider: impl TokenProvider) -> Self {
        TokenSource::Provider(Arc::new(provider))
    }

    /// The token another instance keeps in the shared store of `appid`.
    #[cfg(feature = "redis")]
    pub fn stored(appid: impl Into<String>) -> Self {
        TokenSource::Stored {
            appid: appid.into(),
        }
    }

    /// The AppID that names a shared store's keys, when the source has one.
    pub(crate) fn appid(&self) -> Option<&str> {
        match self {
            TokenSource::Stable { appid, .. } | TokenSource::Classic { appid, .. } => Some(appid),
            #[cfg(feature = "redis")]
            TokenSource::Stored { appid } => Some(appid),
            _ => None,
        }
    }

    pub(crate) fn secret(&self) -> Option<&AppSecret> {
        match self {
            TokenSource::Stable { secret, .. } | TokenSource::Classic { secret, .. } => {
                Some(secret)
            }
            _ => None,
        }
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Stable { appid, secret } => f
                .debug_struct("Stable")
                .field("appid", appid)
                .field("secret", secret)
                .finish(),
            TokenSource::Classic { appid, secret } => f
                .debug_struct("Classic")
                .field("appid", appid)
                .field("secret", secret)
                .finish(),
            TokenSource::Fixed(token) => f.debug_tuple("Fixed").field(token).finish(),
            TokenSource::None => f.write_str("None"),
            TokenSource::Provider(_) => f.write_str("Provider(..)"),
            #[cfg(feature = "redis")]
            TokenSource::Stored { appid } => {
                f.debug_struct("Stored").field("appid", appid).finish()
            }
        }
    }
}
