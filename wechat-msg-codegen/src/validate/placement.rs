//! Where request fields may travel: query fields and files only at the top
//! of a request, multipart bodies of scalars and files, GET requests with
//! no body.

use super::Validator;
use super::graph::{self, Links};
use crate::error::Pos;
use crate::model::*;

impl Validator<'_> {
    /// Query fields and files only at the top of a request; multipart bodies
    /// hold scalars and files only.
    pub(super) fn check_request_fields(
        &mut self,
        request: usize,
        method: Method,
        body: BodyKind,
        pos: &Pos,
        objects: &[Object],
    ) {
        let index = request;
        let request = &objects[index];
        for f in &request.fields {
            let scalar = is_scalar(&f.ty);
            let scalar_list = matches!(&f.ty, Ty::List(item) if is_scalar(item));
            // A joined list was checked where `join` is written.
            if f.location == Location::Query && !scalar && f.join.is_none() {
                let hint = if scalar_list {
                    " (a list of them needs `join`, the separator: `join = \",\"`)"
                } else {
                    ""
                };
                self.errors.push(
                    pos,
                    format!(
                        "query field `{}` of `{}` must be a string, integer, bool or enum{hint}",
                        f.http, request.name
                    ),
                );
            }
            if body == BodyKind::Form && f.location == Location::Body && !scalar && !scalar_list {
                self.errors.push(
                    pos,
                    format!(
                        "form field `{}` of `{}` must be a scalar or a list of scalars (sent as repeated keys)",
                        f.http, request.name
                    ),
                );
            }
            if body == BodyKind::Multipart
                && f.location == Location::Body
                && !scalar
                && f.ty != Ty::File
            {
                self.errors.push(
                    pos,
                    format!(
                        "multipart field `{}` of `{}` must be a scalar or a file",
                        f.http, request.name
                    ),
                );
            }
            if body != BodyKind::Multipart && f.ty == Ty::File {
                self.errors.push(
                    pos,
                    format!(
                        "file field `{}` of `{}` needs `body = \"multipart\"` on the endpoint",
                        f.http, request.name
                    ),
                );
            }
        }
        if method == Method::Get {
            for f in request
                .fields
                .iter()
                .filter(|f| f.location != Location::Query)
            {
                let msg = format!(
                    "field `{}` of `{}`: a GET request has no body; give it `in = \"query\"`",
                    f.http, request.name
                );
                self.errors.push(pos, msg);
            }
            if request.union.is_some() {
                self.errors.push(
                    pos,
                    format!("a GET request (`{}`) cannot hold a union", request.name),
                );
            }
        }
        if body != BodyKind::Json && request.union.is_some() {
            let kind = if body == BodyKind::Form {
                "form"
            } else {
                "multipart"
            };
            self.errors.push(
                pos,
                format!("a {kind} request (`{}`) cannot hold a union", request.name),
            );
        }
        // Files and query fields below the top level are never sent right.
        for o in graph::reachable(objects, index, Links::Nested) {
            let o = &objects[o];
            for f in &o.fields {
                if f.location == Location::Query || contains_file(&f.ty) {
                    self.errors.push(
                        pos,
                        format!(
                            "field `{}` of `{}`: query fields and files are allowed only at the top of a request",
                            f.http, o.name
                        ),
                    );
                }
            }
        }
    }
}

fn is_scalar(ty: &Ty) -> bool {
    matches!(ty, Ty::String | Ty::Integer | Ty::Bool | Ty::Enum(_))
}

fn contains_file(ty: &Ty) -> bool {
    match ty {
        Ty::File => true,
        Ty::Map(t) | Ty::List(t) => contains_file(t),
        _ => false,
    }
}
