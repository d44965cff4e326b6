//! Log capture for tests: one process-wide subscriber, installed once per
//! test binary, writing into a buffer the tests read back.
//!
//! Why not a scoped `tracing::subscriber::set_default`: tracing caches each
//! callsite's interest for the whole process when the callsite is first
//! reached, and while exactly one dispatcher exists it computes that interest
//! from the default dispatcher of the thread that reaches it. A scoped
//! subscriber is then seen only by callsites its own thread reaches first; a
//! callsite first reached on another thread (a parallel test, a runtime
//! worker) is cached as "never" and its lines are lost. A global subscriber
//! is every thread's default. Call [`logs`] first thing in every test of a
//! binary that captures, so it is installed before any callsite is reached.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// The process-wide log buffer.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The buffer every log line of this test binary goes to, at every level;
/// installed as the global subscriber on first use.
pub fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
        logs
    })
}

impl Logs {
    /// Everything logged so far, by every test of this binary.
    pub fn all(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
