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
            let scalar = matches!(f.ty, Ty::String | Ty::Integer | Ty::Bool | Ty::Enum(_));
            if f.location == Location::Query && !scalar {
                self.errors.push(
                    pos,
                    format!(
                        "query field `{}` of `{}` must be a string, integer, bool or enum",
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
            if body == BodyKind::Json && f.ty == Ty::File {
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
        if body == BodyKind::Multipart && request.union.is_some() {
            self.errors.push(
                pos,
                format!(
                    "a multipart request (`{}`) cannot hold a union",
                    request.name
                ),
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

fn contains_file(ty: &Ty) -> bool {
    match ty {
        Ty::File => true,
        Ty::Map(t) | Ty::List(t) => contains_file(t),
        _ => false,
    }
}
