//! A headless Chromium driven through WebDriver, for the web UI's tests and
//! benchmark: Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them), talked to with `fantoccini` over plain HTTP on loopback.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client as Browser, ClientBuilder};
use serde_json::json;

/// Where Debian puts chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Where Debian puts Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process on a free port, killed when dropped.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    url: String,
    profile: PathBuf,
}

impl Driver {
    /// Starts one, and waits until it listens.
    pub fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {CHROMEDRIVER} ({e}): the web UI's tests need Debian's chromium and \
                     chromium-driver (apt-get install chromium chromium-driver; .ci/run installs them)"
                )
            });
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = std::env::temp_dir().join(format!(
            "wechat-msg-ui-profile-{}-{port}",
            std::process::id()
        ));
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile,
        }
    }

    /// A headless Chromium session (flags that keep it off the network).
    pub async fn browser(&self) -> Browser {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1500,950",
                    format!("--user-data-dir={}", self.profile.display()),
                ]
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
