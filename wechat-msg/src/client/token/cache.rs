//! The token cache: the current token and its generation, refreshed a
//! margin before expiry by one fetch in a task of its own that every
//! caller waits on.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::client::retry::RetryPolicy;
use crate::client::secrets::AccessToken;
use crate::client::transport::Transport;

use super::error::{TokenError, TokenErrorKind};
use super::fetch::{Fetcher, usable};
use super::source::TokenSource;
#[cfg(feature = "redis")]
use super::store::Store;

/// A cached token and its generation: a refusal invalidates the cache only
/// if the cache still holds that generation.
#[derive(Clone, Debug)]
pub(crate) struct Lease {
    pub(crate) token: AccessToken,
    pub(crate) generation: u64,
}

type Flight = Option<Result<Lease, TokenError>>;

/// The token cache with single-flight refresh.
///
/// A refresh runs in a task of its own, not in the caller that started it:
/// dropping that caller neither cancels the refresh nor strands the callers
/// waiting on it (they watch the task's channel, which closes if the task
/// dies).
#[derive(Clone)]
pub(crate) struct TokenCache {
    shared: Arc<Shared>,
}

struct Shared {
    fetcher: Fetcher,
    margin: Duration,
    state: Mutex<State>,
    /// The store every instance shares, asked instead of the fetcher.
    #[cfg(feature = "redis")]
    store: Option<Store>,
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    flight: Option<watch::Receiver<Flight>>,
    generation: u64,
    /// The token last refused, for the next refresh to drop from a shared
    /// store if the store still holds it.
    refused: Option<AccessToken>,
}

struct Cached {
    lease: Lease,
    refresh_at: Option<Instant>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("source", &self.shared.fetcher.source)
            .field("margin", &self.shared.margin)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub(crate) fn new(
        source: TokenSource,
        transport: Transport,
        retry: RetryPolicy,
        margin: Duration,
        provider_timeout: Duration,
        #[cfg(feature = "redis")] store: Option<Store>,
    ) -> Self {
        TokenCache {
            shared: Arc::new(Shared {
                fetcher: Fetcher {
                    source,
                    transport,
                    retry,
                    provider_timeout,
                },
                margin,
                state: Mutex::new(State::default()),
                #[cfg(feature = "redis")]
                store,
            }),
        }
    }

    pub(crate) fn source(&self) -> &TokenSource {
        &self.shared.fetcher.source
    }

    /// Whether a refused token can be replaced by fetching another.
    pub(crate) fn refreshable(&self) -> bool {
        !matches!(
            self.shared.fetcher.source,
            TokenSource::None | TokenSource::Fixed(_)
        )
    }

    /// The token to use now (`None` when the source is [`TokenSource::None`]):
    /// the cached one while it is fresh, else the result of the one refresh
    /// in flight, started if none is.
    pub(crate) async fn get(&self) -> Result<Option<Lease>, TokenError> {
        match &self.shared.fetcher.source {
            TokenSource::None => return Ok(None),
            TokenSource::Fixed(token) => {
                return Ok(Some(Lease {
                    token: token.clone(),
                    generation: 0,
                }));
            }
            _ => {}
        }
        let mut flight = {
            let mut state = self.shared.lock();
            let now = Instant::now();
            if let Some(cached) = &state.current
                && cached.refresh_at.is_none_or(|at| now < at)
            {
                return Ok(Some(cached.lease.clone()));
            }
            match &state.flight {
                // A live flight: its task still holds the sender.
                Some(flight) if flight.has_changed().is_ok() => flight.clone(),
                _ => {
                    let (sender, receiver) = watch::channel(None);
                    state.flight = Some(receiver.clone());
                    let refused = state.refused.take();
                    tokio::spawn(Shared::refresh(self.shared.clone(), sender, refused));
                    receiver
                }
            }
        };
        let landed = flight
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|result| result.clone());
        match landed {
            Some(result) => result.map(Some),
            None => Err(TokenError::new(TokenErrorKind::Abandoned)),
        }
    }

    /// Drops the cached token if it is still generation `generation`: a
    /// refusal of an older token says nothing about the current one.
    pub(crate) fn invalidate(&self, generation: u64) {
        let mut state = self.shared.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|c| c.lease.generation == generation)
        {
            state.refused = state.current.take().map(|c| c.lease.token);
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement: a panic elsewhere
        // while holding the lock leaves nothing half-done.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A token and how long to use it: from the shared store when there is
    /// one (dropping `refused` there if it is still current), else fetched.
    async fn obtain(
        &self,
        refused: Option<AccessToken>,
    ) -> Result<(AccessToken, Option<Duration>), TokenError> {
        #[cfg(feature = "redis")]
        if let Some(store) = &self.store {
            let held = store.get(&self.fetcher, refused, self.margin).await?;
            return Ok((held.token, held.refresh_in));
        }
        let _ = refused;
        let fresh = self.fetcher.fetch().await?;
        Ok((
            fresh.token,
            fresh.expires_in.map(|l| usable(l, self.margin)),
        ))
    }

    async fn refresh(self: Arc<Self>, sender: watch::Sender<Flight>, refused: Option<AccessToken>) {
        let fetched = self.obtain(refused).await;
        let result = {
            let mut state = self.lock();
            state.flight = None;
            match fetched {
                Ok((token, refresh_in)) => {
                    state.generation += 1;
                    let lease = Lease {
                        token,
                        generation: state.generation,
                    };
                    // A lifetime too long to add to now (a provider's
                    // `Duration::MAX`) is kept until refused, as no lifetime.
                    let refresh_at =
                        refresh_in.and_then(|usable| Instant::now().checked_add(usable));
                    state.current = Some(Cached {
                        lease: lease.clone(),
                        refresh_at,
                    });
                    tracing::debug!(
                        generation = lease.generation,
                        refresh_in_s = refresh_in.map(|d| d.as_secs()),
                        "access token refreshed"
                    );
                    Ok(lease)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "access token refresh failed");
                    Err(err)
                }
            }
        };
        sender.send_replace(Some(result));
    }
}
