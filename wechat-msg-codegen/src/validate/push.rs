//! Message pushes: `[[push_common]]`, `[[push]]` and `[[push_item]]` tables
//! into the model's [`PushModel`]: names, element types and roles, one push
//! per `MsgType` (and `Event`).

use std::collections::{HashMap, HashSet};

use heck::ToSnakeCase;

use super::names::{is_field_ident, is_type_ident};
use crate::error::{Pos, SpecErrors};
use crate::model::{PushElement, PushElementType, PushItem, PushMessage, PushModel, PushRole};
use crate::raw::{RawElement, RawFile, Sp};

/// Validates the push tables of every file. Struct names are claimed in
/// `names` with the rest of the spec's types.
pub(crate) fn validate(
    files: &[RawFile],
    errors: &mut SpecErrors,
    names: &mut HashMap<String, Pos>,
) -> PushModel {
    let mut claim = |errors: &mut SpecErrors, name: &Sp<String>, what: &str| -> bool {
        if !is_type_ident(&name.value) {
            errors.push(
                &name.pos,
                format!(
                    "`{}` is not a Rust type name (UpperCamelCase, letters and digits)",
                    name.value
                ),
            );
            return false;
        }
        if let Some(first) = names.get(&name.value) {
            let msg = format!(
                "duplicate Rust name `{0}` ({what}); `{0}` is already defined at {first}",
                name.value
            );
            errors.push(&name.pos, msg);
            return false;
        }
        names.insert(name.value.clone(), name.pos.clone());
        true
    };

    let raw_items: Vec<_> = files.iter().flat_map(|f| &f.push_items).collect();
    let mut item_index = HashMap::new();
    for (i, item) in raw_items.iter().enumerate() {
        if let Some(name) = &item.name
            && claim(errors, name, "push item")
        {
            item_index.insert(name.value.clone(), i);
        }
    }
    let items = raw_items
        .iter()
        .map(|item| PushItem {
            name: text(&item.name),
            doc: text(&item.doc),
            elements: elements(errors, &item.elements, &item_index, &[], Place::Item),
        })
        .collect();

    let raw_common: Vec<_> = files.iter().flat_map(|f| &f.push_common).collect();
    let common = elements_of(errors, &raw_common, &item_index, &[], Place::Common);

    let raw_pushes: Vec<_> = files.iter().flat_map(|f| &f.pushes).collect();
    if let Some(first) = raw_pushes.first() {
        for role in [PushRole::Sender, PushRole::Time] {
            if !common.iter().any(|e| e.role == Some(role)) {
                errors.push(
                    &first.pos,
                    format!(
                        "pushes need a `[[push_common]]` element with role = \"{}\" (deduplication of events)",
                        role_name(role)
                    ),
                );
            }
        }
        let enum_name = Sp {
            value: "Push".to_owned(),
            pos: first.pos.clone(),
        };
        claim(errors, &enum_name, "the push enum");
    }
    let mut variants = HashSet::new();
    let mut dispatch = HashSet::new();
    let mut messages = Vec::new();
    for push in raw_pushes {
        if let Some(name) = &push.name {
            claim(errors, name, "push");
        }
        if let Some(variant) = &push.variant {
            if !is_type_ident(&variant.value) || variant.value == "Unknown" {
                errors.push(
                    &variant.pos,
                    format!(
                        "`{}` is not a variant name (UpperCamelCase; `Unknown` is taken)",
                        variant.value
                    ),
                );
            } else if !variants.insert(variant.value.clone()) {
                errors.push(
                    &variant.pos,
                    format!("duplicate push variant `{}`", variant.value),
                );
            }
        }
        let key = (
            text(&push.msg_type),
            push.event.as_ref().map(|e| e.value.clone()),
        );
        if push.msg_type.is_some() && !dispatch.insert(key.clone()) {
            let pos = push
                .event
                .as_ref()
                .or(push.msg_type.as_ref())
                .map(|s| &s.pos);
            errors.push(
                pos.unwrap_or(&push.pos),
                format!(
                    "a second push for MsgType `{}`{}",
                    key.0,
                    key.1
                        .map(|e| format!(" and Event `{e}`"))
                        .unwrap_or_default()
                ),
            );
        }
        let own: Vec<&RawElement> = push.elements.iter().collect();
        let elements = elements_of(errors, &own, &item_index, &common, Place::Push);
        let keys = elements
            .iter()
            .filter(|e| matches!(e.role, Some(PushRole::MsgId | PushRole::Dedupe)))
            .count();
        if keys > 1 {
            errors.push(
                &push.pos,
                "a push has at most one element with role msg_id or dedupe".to_owned(),
            );
        }
        messages.push(PushMessage {
            name: text(&push.name),
            variant: text(&push.variant),
            msg_type: key.0,
            event: push.event.as_ref().map(|e| e.value.clone()),
            doc: text(&push.doc),
            elements,
        });
    }
    PushModel {
        common,
        messages,
        items,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Common,
    Push,
    Item,
}

fn elements(
    errors: &mut SpecErrors,
    raw: &[RawElement],
    items: &HashMap<String, usize>,
    common: &[PushElement],
    place: Place,
) -> Vec<PushElement> {
    let refs: Vec<&RawElement> = raw.iter().collect();
    elements_of(errors, &refs, items, common, place)
}

fn elements_of(
    errors: &mut SpecErrors,
    raw: &[&RawElement],
    items: &HashMap<String, usize>,
    common: &[PushElement],
    place: Place,
) -> Vec<PushElement> {
    let mut wire: HashSet<String> = common.iter().map(|e| e.name.clone()).collect();
    let mut rust: HashSet<String> = common.iter().map(|e| e.rust.clone()).collect();
    let mut out = Vec::new();
    for e in raw {
        let (Some(name), Some(ty)) = (&e.name, &e.ty) else {
            continue;
        };
        if name.value.is_empty()
            || !name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.value.starts_with(|c: char| c.is_ascii_digit())
        {
            errors.push(
                &name.pos,
                format!(
                    "`{}` is not a push element name (ASCII letters, digits and `_`)",
                    name.value
                ),
            );
            continue;
        }
        if !wire.insert(name.value.clone()) {
            errors.push(
                &name.pos,
                format!("duplicate push element `{}`", name.value),
            );
            continue;
        }
        let rust_name = match &e.rust {
            Some(r) => r.clone(),
            None => Sp {
                value: name.value.to_snake_case(),
                pos: name.pos.clone(),
            },
        };
        if !is_field_ident(&rust_name.value) {
            errors.push(
                &rust_name.pos,
                format!("`{}` is not a Rust field name; set `rust`", rust_name.value),
            );
            continue;
        }
        if !rust.insert(rust_name.value.clone()) {
            errors.push(
                &rust_name.pos,
                format!("duplicate Rust field name `{}`", rust_name.value),
            );
            continue;
        }
        let parsed = match ty.value.as_str() {
            "string" => Some(PushElementType::String),
            "integer" => Some(PushElementType::Integer),
            other if items.contains_key(other) => {
                if place == Place::Item {
                    errors.push(&ty.pos, "push items cannot hold items".to_owned());
                    None
                } else {
                    Some(PushElementType::Item(items[other]))
                }
            }
            other => match other
                .strip_prefix("list<")
                .and_then(|rest| rest.strip_suffix('>'))
            {
                Some(inner) => match items.get(inner) {
                    Some(&i) if place != Place::Item => Some(PushElementType::List(i)),
                    Some(_) => {
                        errors.push(&ty.pos, "push items cannot hold lists".to_owned());
                        None
                    }
                    None => {
                        errors.push(
                            &ty.pos,
                            format!("unknown push item `{inner}`; define it as a `[[push_item]]`"),
                        );
                        None
                    }
                },
                None => {
                    errors.push(
                        &ty.pos,
                        format!(
                            "unknown push element type `{other}`; expected string, integer, ITEM or list<ITEM> (ITEM a `[[push_item]]`)"
                        ),
                    );
                    None
                }
            },
        };
        let Some(parsed) = parsed else { continue };
        if let Some(wrapper) = &e.xml_wrapper
            && !matches!(parsed, PushElementType::List(_))
        {
            errors.push(
                &wrapper.pos,
                "`xml_wrapper` is only for list elements".to_owned(),
            );
        }
        let role = e.role.as_ref().and_then(|r| {
            let role = match (r.value.as_str(), place) {
                ("recipient", Place::Common) => PushRole::Recipient,
                ("sender", Place::Common) => PushRole::Sender,
                ("time", Place::Common) => PushRole::Time,
                ("msg_id", Place::Push) => PushRole::MsgId,
                ("dedupe", Place::Push) => PushRole::Dedupe,
                (other, _) => {
                    errors.push(
                        &r.pos,
                        format!(
                            "unknown role `{other}` here; common elements take recipient, sender or time, push elements msg_id or dedupe"
                        ),
                    );
                    return None;
                }
            };
            let fits = match role {
                PushRole::Time | PushRole::MsgId => parsed == PushElementType::Integer,
                PushRole::Recipient | PushRole::Sender => parsed == PushElementType::String,
                PushRole::Dedupe => {
                    matches!(parsed, PushElementType::String | PushElementType::Integer)
                }
            };
            if !fits {
                errors.push(&r.pos, format!("role `{}` needs a {} element", r.value, match role {
                    PushRole::Time | PushRole::MsgId => "integer",
                    PushRole::Dedupe => "string or integer",
                    _ => "string",
                }));
                return None;
            }
            Some(role)
        });
        out.push(PushElement {
            name: name.value.clone(),
            rust: rust_name.value,
            ty: parsed,
            required: e.required.as_ref().is_some_and(|r| r.value),
            role,
            xml_wrapper: e.xml_wrapper.as_ref().map(|w| w.value.clone()),
            doc: text(&e.doc),
        });
    }
    out
}

fn role_name(role: PushRole) -> &'static str {
    match role {
        PushRole::Recipient => "recipient",
        PushRole::Sender => "sender",
        PushRole::Time => "time",
        PushRole::MsgId => "msg_id",
        PushRole::Dedupe => "dedupe",
    }
}

fn text(sp: &Option<Sp<String>>) -> String {
    sp.as_ref().map(|s| s.value.clone()).unwrap_or_default()
}
