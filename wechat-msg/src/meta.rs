//! What tools read about the spec: each endpoint's metadata (its names,
//! method and path, fields, roles and errcodes, the shape of its answer),
//! the lookups and conversions driven by it, and the reading of a raw
//! answer. The CLI and the emulator are built on these; an application that
//! only sends and receives typed messages needs none of them.

pub use crate::answer::{ERRMSG_KEPT, read_answer, rid_of};
pub use crate::endpoint::{
    AnswerKind, AnyRequest, Auth, BodyKind, Deprecation, EndpointInfo, ErrcodeInfo, FieldInfo,
    FieldKind, Location, Method, Role, RoleInfo,
};
pub use crate::wire::{convert, convert_answer, convert_untyped_answer, parse_json};

/// The endpoint whose cloud-call name is `name`, among the spec's
/// [`ENDPOINTS`](crate::ENDPOINTS).
pub fn endpoint(name: &str) -> Option<&'static EndpointInfo> {
    crate::ENDPOINTS.iter().copied().find(|e| e.name == name)
}
