//! `wechat-msg render`: validate a body with the generated parser and print
//! it in the requested form.

use wechat_msg::Form;

use crate::failure::Failure;
use crate::input;
use crate::output::{self, Foreign};

pub fn run(api: &str, from: Form, to: Form, file: Option<&str>) -> Result<(), Failure> {
    let endpoint = input::endpoint(api)?;
    let body = input::read_json(file)?;
    let request = (endpoint.parse)(&body, from).map_err(|e| {
        Failure::invalid(format!(
            "invalid {api} request ({from} form): {}",
            Foreign(&e.to_string())
        ))
    })?;
    // Only the typed request is kept: the input tree is freed before
    // writing, and the output is streamed from the typed request.
    drop(body);
    output::write_json(&*request.in_form(to))
        .map_err(|e| Failure::invalid(format!("cannot write to standard output: {e}")))
}
