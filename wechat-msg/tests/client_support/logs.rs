//! Log capture for tests: one process-wide subscriber, installed once per
//! test binary, writing into a buffer the tests read back.
//!
//! Why not a scoped `tracing::subscriber::set_default` per test: tracing
//! caches each callsite's interest for the whole process, computed when the
//! callsite is first reached. While exactly one dispatcher exists,
//! tracing-core computes that interest from the default dispatcher of the
//! *thread that reaches the callsite*. A scoped subscriber on the capturing
//! test's thread is that one dispatcher, so a test running in parallel on
//! another thread (with no subscriber) that reaches, say, the
//! `wechat_msg.call` span first caches "never" for it, and the capturing test
//! then never sees that span. A global subscriber is every thread's default:
//! the cached interest is the same whichever thread comes first.
//!
//! Tests share the buffer, so a test that asserts what was logged runs its
//! work inside [`Logs::scope`] and reads only its own lines with
//! [`Logs::lines_of`]; checks that nothing secret was logged read everything.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing::Instrument;
use tracing_subscriber::fmt::format::FmtSpan;

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

/// The buffer every log line of this test binary goes to, at every level,
/// span closes included; installed as the global subscriber on first use.
pub fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_span_events(FmtSpan::CLOSE)
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

    /// Runs `work` inside a span named for `test`, so its lines can be told
    /// from those of tests running in parallel.
    pub async fn scope<F: std::future::Future>(&self, test: &'static str, work: F) -> F::Output {
        work.instrument(tracing::info_span!("test", name = test))
            .await
    }

    /// The lines logged inside [`Logs::scope`] for `test`.
    pub fn lines_of(&self, test: &str) -> String {
        let marker = format!("test{{name={test:?}}}");
        let marker_plain = format!("test{{name={test}}}");
        self.all()
            .lines()
            .filter(|line| line.contains(&marker) || line.contains(&marker_plain))
            .map(|line| format!("{line}\n"))
            .collect()
    }
}
