//! The one walk over the object graph: object types are nodes, object-typed
//! fields and union payloads are links. The recursion check follows the
//! links a value holds inline; the placement check follows every link a
//! request body can hold. Each type is visited once, so cycles end the walk.

use crate::model::{Object, Ty};

/// Which links a walk follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Links {
    /// Object-typed fields and union payloads: what a value holds inline.
    /// A type that reaches itself this way would have infinite size.
    Inline,
    /// Also through `map<...>` and `list<...>`: every object a body can hold.
    Nested,
}

/// The object types `o` links to, in field order, then its union payloads.
fn links(o: &Object, how: Links) -> impl Iterator<Item = usize> + '_ {
    let fields = o.fields.iter().filter_map(move |f| target(&f.ty, how));
    let payloads = o
        .union
        .iter()
        .flat_map(|u| u.variants.iter().map(|v| v.payload));
    fields.chain(payloads)
}

/// The object type a field of type `ty` links to.
fn target(ty: &Ty, how: Links) -> Option<usize> {
    match (ty, how) {
        (Ty::Object(i), _) => Some(*i),
        (Ty::Map(inner) | Ty::List(inner), Links::Nested) => target(inner, how),
        _ => None,
    }
}

/// Every object type reachable from `from` in one or more steps, each once,
/// depth first in field order. `from` itself is in the list only when it
/// reaches itself.
pub(super) fn reachable(objects: &[Object], from: usize, how: Links) -> Vec<usize> {
    let mut seen = vec![false; objects.len()];
    let mut order = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let push = |stack: &mut Vec<usize>, o: &Object| {
        let start = stack.len();
        stack.extend(links(o, how));
        stack[start..].reverse();
    };
    push(&mut stack, &objects[from]);
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        order.push(i);
        push(&mut stack, &objects[i]);
    }
    order
}
