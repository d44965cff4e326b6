//! `wechat-msg send`: validate a body like `render`, then send it with the
//! client, to WeChat or to an emulator.

use wechat_msg::Form;

use crate::failure::{Failure, failure_of};
use crate::input;
use crate::output::{self, Foreign};
use crate::target::{Connected, Target, connect};

/// How `send` was asked to send.
#[derive(Debug)]
pub struct SendArgs {
    /// The endpoint's cloud-call name.
    pub api: String,
    /// The form of the input.
    pub from: Form,
    /// The body; standard input when absent or `-`.
    pub file: Option<String>,
    /// Where and how to send.
    pub target: Target,
}

pub async fn run(args: SendArgs) -> Result<(), Failure> {
    let info = input::endpoint(&args.api)?;
    let body = input::read_json(args.file.as_deref())?;
    (info.convert)(&body, args.from, args.from).map_err(|e| {
        Failure::invalid(format!(
            "invalid {} request ({} form): {}",
            args.api,
            args.from,
            Foreign(&e.to_string())
        ))
    })?;

    let Connected {
        client,
        via,
        embedded,
        mut redactions,
    } = connect(args.target).await?;

    let result = client.send_value(info, &body, args.from, &via).await;
    drop(body);
    let result = match result {
        Ok(mut answer) => {
            // A success may echo the token the call used: it is cached now,
            // so asking for it costs no request.
            if let Ok(Some(token)) = client.access_token().await {
                redactions.add(token.expose());
            }
            redactions.json(&mut answer);
            Ok(answer)
        }
        Err(err) => Err(failure_of(&err, &redactions)),
    };
    if let Some(emulator) = embedded {
        emulator.shutdown().await;
    }
    output::write_json(&result?)
        .map_err(|e| Failure::invalid(format!("cannot write to standard output: {e}")))
}
