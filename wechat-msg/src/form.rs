//! [`Form`]: which of the two wire forms a body is in. It depends on
//! nothing else in the crate, so every module that names a form (the key
//! rules of [`sdk`](crate::sdk), the [`protocol`](crate::protocol) shapes,
//! [`wire`](crate::wire)) can use it without using each other.

use std::fmt;

/// Which wire form a body is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    /// The HTTPS API: snake_case keys (`thumb_media_id`).
    Http,
    /// The cloud call through wx-server-sdk: camelCase keys (`thumbMediaId`).
    Cloud,
}

impl Form {
    /// Both forms, HTTP first.
    pub const ALL: [Form; 2] = [Form::Http, Form::Cloud];

    /// `"http"` or `"cloud"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Http => "http",
            Form::Cloud => "cloud",
        }
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Form {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "http" => Ok(Form::Http),
            "cloud" => Ok(Form::Cloud),
            other => Err(format!(
                "unknown wire form `{other}`; expected `http` or `cloud`"
            )),
        }
    }
}
