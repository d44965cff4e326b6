//! [`Failure`]: how a command fails, with the exit code it maps to, and
//! the failure of a client's error.

use std::process::ExitCode;

use wechat_msg::client::{Delivery, ErrorKind};

use crate::output::{self, Foreign, Redactions};

/// A failure and the exit code it maps to; printed on standard error, the
/// first line after `error: `, the others indented, each escaped.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    lines: Vec<String>,
}

impl Failure {
    /// The other side answered with an error: exit 1.
    pub fn answered(message: impl Into<String>) -> Self {
        Failure::new(1, vec![message.into()])
    }

    /// Nothing was sent, or nothing answered: exit 3.
    pub fn not_sent(message: impl Into<String>) -> Self {
        Failure::new(3, vec![message.into()])
    }

    /// A failure of one or more lines.
    pub fn new(code: u8, lines: Vec<String>) -> Self {
        Failure { code, lines }
    }

    /// Invalid input: exit 2.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure::new(2, vec![message.into()])
    }

    /// Prints the failure on standard error and gives its exit code.
    pub fn exit(self) -> ExitCode {
        output::print_failure(&self.lines);
        ExitCode::from(self.code)
    }
}

/// The exit code and message of a failed send: 1 when WeChat answered an
/// errcode, 2 for a request the spec rejects, 3 when the message was not
/// sent or its delivery is unknown.
///
/// WeChat's texts are shown once each, escaped, cut and scrubbed of the
/// secrets in `redactions`.
pub fn failure_of(err: &wechat_msg::client::Error, redactions: &Redactions) -> Failure {
    let shown = redactions.text(&err.to_string());
    let shown = Foreign(&shown).to_string();
    if let Some(rejection) = err.rejection() {
        let errmsg = redactions.text(&rejection.errmsg);
        let mut detail = format!(
            "{} (via {}): WeChat answered {}",
            err.endpoint(),
            err.via(),
            rejection.errcode
        );
        if err.attempts() > 1 {
            detail.push_str(&format!(" (after {} attempts)", err.attempts()));
        }
        return Failure::new(
            1,
            vec![
                format!(
                    "errcode {}: {}",
                    wechat_msg::Errcode::code(&rejection.errcode),
                    Foreign(&errmsg)
                ),
                detail,
            ],
        );
    }
    match err.kind() {
        ErrorKind::InvalidRequest(_) => Failure::invalid(shown),
        ErrorKind::Token(token) if token.errcode().is_some() => {
            let code = token.errcode().map_or(0, wechat_msg::Errcode::code);
            Failure::new(
                1,
                vec![format!("errcode {code} (token endpoint): not sent"), shown],
            )
        }
        _ => {
            let which = match err.delivery() {
                Delivery::Unknown => {
                    "delivery unknown (the message may have been delivered; do not resend blindly)"
                }
                Delivery::NotSent => "not sent",
                _ => "answered, but the answer could not be read",
            };
            Failure::new(3, vec![which.to_owned(), shown])
        }
    }
}
