//! Reading a request body, finding its endpoint, and the `--from`,
//! `--to` and `--via` forms.

use std::io::Read;

use serde_json::Value;
use wechat_msg::Form;
use wechat_msg::meta::EndpointInfo;

use crate::failure::Failure;
use crate::output::Foreign;

/// The endpoint named `api`, or an error listing the known names.
pub fn endpoint(api: &str) -> Result<&'static EndpointInfo, Failure> {
    if wechat_msg::AUTH_ENDPOINTS.iter().any(|e| e.name == api) {
        return Err(Failure::invalid(format!(
            "`{api}` is a token endpoint: the client calls it itself to get an access_token (see --token-source); it is not sent as a request"
        )));
    }
    wechat_msg::meta::endpoint(api).ok_or_else(|| {
        let known: Vec<&str> = wechat_msg::ENDPOINTS.iter().map(|e| e.name).collect();
        Failure::invalid(format!(
            "unknown API `{}`; known APIs: {}",
            Foreign(api),
            known.join(", ")
        ))
    })
}

/// The JSON body in `file`, or standard input when `None` or `-`.
///
/// The text is read whole (parsing from a slice is several times faster
/// than from a reader) and dropped once parsed, before the body is used.
pub fn read_json(file: Option<&str>) -> Result<Value, Failure> {
    let (bytes, source) = match file {
        None | Some("-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::invalid(format!("cannot read standard input: {e}")))?;
            (bytes, "standard input".to_owned())
        }
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::invalid(format!("cannot read {}: {}", Foreign(path), e)))?;
            (bytes, Foreign(path).to_string())
        }
    };
    // Strict: a key given twice is an error naming it (with "last one
    // wins", `{"touser":"A","touser":"B"}` would go to B).
    let value = wechat_msg::meta::parse_json(&bytes).map_err(|e| {
        Failure::invalid(format!(
            "{source}: invalid JSON: {}",
            Foreign(&e.to_string())
        ))
    })?;
    drop(bytes);
    Ok(value)
}

/// A form flag's value (`http` or `cloud`).
pub fn parse_form(s: &str) -> Result<Form, String> {
    s.parse()
}
