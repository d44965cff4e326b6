//! `wechat-msg render`: validate a body with the generated parser and print
//! it in the requested form.

use wechat_msg::Form;

use crate::output::{self, Foreign};
use crate::{Failure, input};

pub fn run(api: &str, from: Form, to: Form, file: Option<&str>) -> Result<(), Failure> {
    let endpoint = input::endpoint(api)?;
    let body = input::read_json(file)?;
    let rendered = (endpoint.convert)(&body, from, to).map_err(|e| {
        Failure::invalid(format!(
            "invalid {api} request ({from} form): {}",
            Foreign(&e.to_string())
        ))
    })?;
    // The input tree is as large as the output: free it before writing.
    drop(body);
    output::write_json(&rendered)
        .map_err(|e| Failure::invalid(format!("cannot write to standard output: {e}")))
}
