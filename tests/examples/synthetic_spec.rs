//! Writes the synthetic spec of N endpoints into DIR:
//! `cargo run -p wechat-msg-tests --example synthetic_spec -- N DIR`.
//! Used by `scripts/scale-build.sh`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [n, dir] = args.as_slice() else {
        eprintln!("usage: synthetic_spec N DIR");
        return ExitCode::from(2);
    };
    let Ok(n) = n.parse::<usize>() else {
        eprintln!("N must be a number, not `{n}`");
        return ExitCode::from(2);
    };
    match wechat_msg_tests::synthetic::write_spec(n, &PathBuf::from(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write the spec into {dir}: {e}");
            ExitCode::FAILURE
        }
    }
}
