//! How a request travels, and the one place that picks the wire form's
//! request builder and answer reader for it.

use serde_json::Value;

use crate::endpoint::EndpointInfo;
use crate::wire::Form;

use super::cloud::{self, CloudFunction};
use super::failure::Failure;
use super::http;
use super::secrets::Scrub;
use super::transport::{Outgoing, Received, Reply};

/// How a request travels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Via {
    /// The HTTPS API, in the HTTP form.
    #[default]
    Http,
    /// A cloud call in the camelCase form, through the relay function
    /// (`cloud-relay/`) and `POST /tcb/invokecloudfunction`.
    Cloud(CloudFunction),
}

impl Via {
    /// The wire form a request travels in.
    pub fn form(&self) -> Form {
        match self {
            Via::Http => Form::Http,
            Via::Cloud(_) => Form::Cloud,
        }
    }

    /// The request of `info` carrying `value` (in [`Via::form`]).
    pub(crate) fn outgoing(&self, info: &'static EndpointInfo, value: Value) -> Outgoing {
        match self {
            Via::Http => http::outgoing(info, value),
            Via::Cloud(function) => cloud::outgoing(info, value, function),
        }
    }

    /// Reads an answer of `info` that came this way.
    pub(crate) fn read(
        &self,
        info: &'static EndpointInfo,
        received: Received,
        scrub: &Scrub<'_>,
    ) -> Result<Reply, Failure> {
        match self {
            Via::Http => http::read(received, info.answer, scrub),
            Via::Cloud(_) => cloud::read(received, scrub),
        }
    }
}
