//! `wechat-msg emulator`: the local WeChat emulator in the foreground.

use std::io::Write as _;
use std::net::SocketAddr;

use wechat_msg_emulator::{Config, Emulator};

use crate::Failure;
use crate::output::Foreign;

/// Runs the emulator until Ctrl-C or SIGTERM. The first lines of standard
/// output say where it listens and which app credentials it accepts.
pub async fn run(listen: Option<SocketAddr>, config: Option<&str>) -> Result<(), Failure> {
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
    let app = emulator.app();
    let mut out = std::io::stdout().lock();
    // The emulator's own credentials: printing them is the point.
    let printed = writeln!(out, "base_url: {}", emulator.base_url())
        .and_then(|()| writeln!(out, "appid: {}", app.appid))
        .and_then(|()| writeln!(out, "secret: {}", app.secret))
        .and_then(|()| out.flush());
    drop(out);
    if let Err(e) = printed {
        return Err(Failure::invalid(format!(
            "cannot write to standard output: {e}"
        )));
    }
    eprintln!(
        "emulator: serving {} endpoints; control API under {}/_emulator/{}; Ctrl-C to stop",
        wechat_msg::ENDPOINTS.len(),
        emulator.base_url(),
        crate::send::starting_state(&emulator)
    );
    stop_signal().await;
    emulator.shutdown().await;
    eprintln!("emulator: stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}
