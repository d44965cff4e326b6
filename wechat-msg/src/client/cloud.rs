//! The cloud-call transport: a request in the camelCase form travels as the
//! event of a relay cloud function (`cloud-relay/`) through
//! `POST /tcb/invokecloudfunction`, and the function's return value comes
//! back as JSON text in `resp_data`.

use std::fmt;
use std::sync::Arc;

use serde::ser::Serialize;

use crate::Form;
use crate::answer::read_status;
use crate::endpoint::{EndpointInfo, Method};
use crate::media::MediaFile;
use crate::protocol::{self, CloudEvent};

use super::failure::{AnswerProblem, Failure};
use super::secrets::Scrub;
use super::transport::{OutBody, Outgoing, Payload, QueryPair, Received, Reply, read_json};

/// The relay cloud function that makes cloud calls: its environment and name.
///
/// Deploy `cloud-relay/` from this repository as that function.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CloudFunction {
    env: Arc<str>,
    name: Arc<str>,
}

impl CloudFunction {
    /// The function `name` in the cloud environment `env`.
    pub fn new(env: impl Into<String>, name: impl Into<String>) -> Self {
        CloudFunction {
            env: Arc::from(env.into()),
            name: Arc::from(name.into()),
        }
    }

    /// The cloud environment id.
    pub fn env(&self) -> &str {
        &self.env
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for CloudFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudFunction")
            .field("env", &&*self.env)
            .field("name", &&*self.name)
            .finish()
    }
}

/// The invoke request carrying `data` (the request in the cloud form) to
/// the relay: a [`CloudEvent`] `{"api": name, "data": {...}, "files": [keys]}`, where `files`
/// names the top-level keys whose `value` is base64 for the relay to turn
/// into a Buffer (`media` gives a file field's file by its HTTP key).
pub(crate) fn outgoing<'m, B: Serialize + ?Sized>(
    info: &'static EndpointInfo,
    data: &B,
    media: &'m dyn Fn(&str) -> Option<&'m MediaFile>,
    function: &CloudFunction,
) -> Result<Outgoing, serde_json::Error> {
    let files: Vec<&str> = info
        .fields
        .iter()
        .filter(|f| f.file && media(f.http).is_some())
        .map(|f| f.cloud)
        .collect();
    let event = CloudEvent {
        api: info.name,
        data,
        files,
    };
    Ok(Outgoing {
        method: Method::Post,
        path: protocol::INVOKE_PATH,
        query: vec![
            QueryPair::text(protocol::INVOKE_ENV, function.env()),
            QueryPair::text(protocol::INVOKE_NAME, function.name()),
        ],
        body: OutBody::Json(serde_json::to_vec(&event)?),
    })
}

/// Reads the invoke answer. An errcode of the invoke call itself (a bad
/// token, say) is an HTTP-form errcode; otherwise `resp_data` holds the
/// function's return, a cloud-form answer `{errCode, errMsg, ...}` whose
/// errcode is the relay's, never about the client's own token.
pub(crate) fn read(received: Received, scrub: &Scrub<'_>) -> Result<Reply, Failure> {
    if !(200..300).contains(&received.status) {
        return Err(received.bad(AnswerProblem::Status, scrub));
    }
    let (status, outer) = read_json(&received, Form::Http, scrub)?;
    if status.is_some() {
        return Ok(Reply {
            form: Form::Http,
            status,
            payload: Payload::Json(outer),
        });
    }
    let inner =
        protocol::resp_data(&outer).ok_or_else(|| received.bad(AnswerProblem::RespData, scrub))?;
    let status = read_status(&inner, Form::Cloud)
        .map_err(|m| received.bad(AnswerProblem::Malformed(m), scrub))?;
    Ok(Reply {
        form: Form::Cloud,
        status,
        payload: Payload::Json(inner),
    })
}
