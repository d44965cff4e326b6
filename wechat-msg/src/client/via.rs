//! How a request travels, and the one place that picks the wire form's
//! request builder and answer reader for it.

use serde::Serialize;

use crate::Form;
use crate::endpoint::EndpointInfo;
use crate::media::MediaFile;

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

    /// How a request of `info` travels when sent this way: an endpoint
    /// WeChat offers no cloud call for (`cloud = false` in the spec:
    /// getRidInfo, getApiQuota, ...) goes over HTTPS whatever the client's
    /// way, with the same access_token.
    pub(crate) fn for_endpoint(&self, info: &EndpointInfo) -> &Via {
        if info.cloud { self } else { &Via::Http }
    }

    /// The request of `info` carrying `body` (a request written in
    /// [`Via::form`]); `media` gives a file field's file by its HTTP key.
    pub(crate) fn outgoing<'m, B: Serialize + ?Sized>(
        &self,
        info: &'static EndpointInfo,
        body: &B,
        media: &'m dyn Fn(&str) -> Option<&'m MediaFile>,
    ) -> Result<Outgoing, serde_json::Error> {
        match self {
            Via::Http => http::outgoing(info, body, media),
            Via::Cloud(function) => cloud::outgoing(info, body, media, function),
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
