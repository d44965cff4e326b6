//! `wechat-msg emulator`: the local WeChat emulator in the foreground.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use wechat_msg_emulator::{Config, Emulator, Snapshot};

use crate::emulated::starting_state;
use crate::failure::Failure;
use crate::output::Foreign;
use crate::signal::stop_signal;

/// Runs the emulator until Ctrl-C or SIGTERM. The first lines of standard
/// output say where it listens, which app credentials it accepts and where
/// its web UI is. With `state`, the world is loaded from that file at start
/// (when it exists) and saved to it on the way out.
pub async fn run(
    listen: Option<SocketAddr>,
    config: Option<&str>,
    state: Option<&Path>,
) -> Result<(), Failure> {
    let snapshot = state.map(load_state).transpose()?.flatten();
    let mut config = match config {
        Some(path) => Config::from_file(path)
            .map_err(|e| Failure::invalid(Foreign(&e.to_string()).to_string()))?,
        None => Config::default(),
    };
    if let Some(listen) = listen {
        config.listen = listen;
    }
    let emulator = Emulator::start(config)
        .await
        .map_err(|e| Failure::invalid(format!("cannot start the emulator: {e}")))?;
    if let (Some(snapshot), Some(path)) = (snapshot, state)
        && let Err(e) = emulator.restore(snapshot)
    {
        emulator.shutdown().await;
        return Err(Failure::invalid(format!(
            "{}: {}",
            Foreign(&path.to_string_lossy()),
            Foreign(&e.to_string())
        )));
    }
    let app = emulator.app();
    let mut out = std::io::stdout().lock();
    // The emulator's own credentials: printing them is the point.
    let printed = writeln!(out, "base_url: {}", emulator.base_url())
        .and_then(|()| writeln!(out, "appid: {}", app.appid))
        .and_then(|()| writeln!(out, "secret: {}", app.secret))
        .and_then(|()| writeln!(out, "ui: {}", emulator.ui_url()))
        .and_then(|()| out.flush());
    drop(out);
    if let Err(e) = printed {
        return Err(Failure::invalid(format!(
            "cannot write to standard output: {e}"
        )));
    }
    eprintln!(
        "emulator: serving {} endpoints; control API under {}/_emulator/; web UI at {}{}; Ctrl-C to stop",
        wechat_msg::ENDPOINTS.len(),
        emulator.base_url(),
        emulator.ui_url(),
        starting_state(&emulator)
    );
    stop_signal().await;
    let saved = state.map(|path| save_state(path, &emulator.snapshot()));
    emulator.shutdown().await;
    match saved {
        Some(Err(e)) => return Err(e),
        Some(Ok(())) => eprintln!("emulator: state saved"),
        None => {}
    }
    eprintln!("emulator: stopped");
    Ok(())
}

/// The snapshot in `path`, none when there is no such file yet.
fn load_state(path: &Path) -> Result<Option<Snapshot>, Failure> {
    let name = Foreign(&path.to_string_lossy()).to_string();
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Failure::invalid(format!("cannot read {name}: {e}"))),
    };
    serde_json::from_slice(&text).map(Some).map_err(|e| {
        Failure::invalid(format!(
            "{name}: not an emulator state snapshot: {}",
            Foreign(&e.to_string())
        ))
    })
}

/// Writes `snapshot` to `path` whole (a temporary file renamed over it).
fn save_state(path: &Path, snapshot: &Snapshot) -> Result<(), Failure> {
    let name = Foreign(&path.to_string_lossy()).to_string();
    let text = serde_json::to_vec_pretty(snapshot)
        .map_err(|e| Failure::not_sent(format!("cannot save the state to {name}: {e}")))?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| Failure::not_sent(format!("cannot save the state to {name}: {e}")))
}
