//! One Redis connection, shared by the token store and the rate limit:
//! made on first use, bounded by a connect and a command timeout, and
//! remade after Redis comes back; and [`StoreError`], why Redis could not
//! be used.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Redis could not be used: unreachable, too slow, or it refused a command.
/// Names the failure, never a URL or a value.
#[derive(Clone, Debug, thiserror::Error)]
#[error("the Redis {what}")]
pub struct StoreError {
    what: String,
}

impl StoreError {
    pub(crate) fn new(what: impl Into<String>) -> Self {
        StoreError { what: what.into() }
    }

    fn redis(store: &str, doing: &str, err: &redis::RedisError) -> Self {
        // A Redis error names the failure (refused, timed out, the
        // server's error line), never the values a command carried.
        StoreError::new(format!("{store} failed while {doing}: {err}"))
    }
}

/// A lazily made connection that reconnects.
pub(crate) struct Redis {
    /// What it serves, for errors: `token store`, `rate limit`.
    role: &'static str,
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password.
        f.debug_struct("Redis")
            .field("role", &self.role)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .finish_non_exhaustive()
    }
}

impl Redis {
    pub(crate) fn open(
        role: &'static str,
        url: &str,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|_| {
            StoreError::new(format!(
                "{role} URL is invalid: expected redis://HOST:PORT[/DB]"
            ))
        })?;
        Ok(Redis {
            role,
            client,
            connection: tokio::sync::Mutex::new(None),
            connect_timeout,
            command_timeout,
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = &*slot {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.command_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connecting = ConnectionManager::new_with_config(self.client.clone(), config);
        let bound = self.connect_timeout + self.command_timeout;
        let connection = match tokio::time::timeout(bound, connecting).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(err)) => return Err(StoreError::redis(self.role, "connecting", &err)),
            Err(_) => {
                return Err(StoreError::new(format!(
                    "{} did not accept a connection within {} ms",
                    self.role,
                    bound.as_millis()
                )));
            }
        };
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Runs a command, within twice the command timeout whatever happens.
    #[cfg(feature = "push")]
    pub(crate) async fn query<T: redis::FromRedisValue>(
        &self,
        doing: &str,
        command: &redis::Cmd,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        let bound = self.command_timeout * 2;
        match tokio::time::timeout(bound, command.query_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(StoreError::redis(self.role, doing, &err)),
            Err(_) => Err(StoreError::new(format!(
                "{} did not answer within {} ms while {doing}",
                self.role,
                bound.as_millis()
            ))),
        }
    }

    /// Runs a pipeline, within twice the command timeout whatever happens.
    #[cfg(feature = "push")]
    pub(crate) async fn pipeline<T: redis::FromRedisValue>(
        &self,
        doing: &str,
        pipeline: &redis::Pipeline,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        let bound = self.command_timeout * 2;
        match tokio::time::timeout(bound, pipeline.query_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(StoreError::redis(self.role, doing, &err)),
            Err(_) => Err(StoreError::new(format!(
                "{} did not answer within {} ms while {doing}",
                self.role,
                bound.as_millis()
            ))),
        }
    }

    /// Runs a script, within twice the command timeout whatever happens.
    pub(crate) async fn run<T: redis::FromRedisValue>(
        &self,
        doing: &str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        let bound = self.command_timeout * 2;
        match tokio::time::timeout(bound, invocation.invoke_async(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(StoreError::redis(self.role, doing, &err)),
            Err(_) => Err(StoreError::new(format!(
                "{} did not answer within {} ms while {doing}",
                self.role,
                bound.as_millis()
            ))),
        }
    }
}
