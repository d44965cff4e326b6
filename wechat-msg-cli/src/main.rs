//! `wechat-msg`: the command line of the wechat-msg toolkit.
//!
//! Exit codes: 0 success, 1 WeChat answered an error, 2 invalid input or
//! usage, 3 the message was not sent or its delivery is unknown.

mod endpoints;
mod input;
mod render;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wechat_msg::Form;

/// Typed WeChat Mini Program messages from one spec.
#[derive(Debug, Parser)]
#[command(name = "wechat-msg", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every endpoint: cloud-call name, HTTP method and path, deprecation.
    Endpoints {
        /// Print a JSON array instead of one line per endpoint.
        #[arg(long)]
        json: bool,
    },
    /// Validate a request body and print it in the requested wire form.
    Render {
        /// The endpoint's cloud-call name (`customerServiceMessage.send`).
        api: String,
        /// The form of the input.
        #[arg(long, default_value = "http", value_parser = parse_form)]
        from: Form,
        /// The form to print.
        #[arg(long, default_value = "http", value_parser = parse_form)]
        to: Form,
        /// The body; standard input when absent or `-`.
        file: Option<String>,
    },
}

fn parse_form(s: &str) -> Result<Form, String> {
    s.parse()
}

/// A failure and the exit code it maps to; printed on standard error.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// Invalid input: exit 2.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Endpoints { json } => endpoints::run(json),
        Command::Render {
            api,
            from,
            to,
            file,
        } => render::run(&api, from, to, file.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
