//! Message pushes: a struct per push and per list item, the `Push` enum, and
//! their reader and writer of the JSON push form (XML is converted to that
//! form by the runtime, given the wrappers listed here).

use proc_macro2::TokenStream;
use quote::quote;

use super::{docs, ident, rt};
use crate::model::{Model, PushElement, PushElementType, PushModel, PushRole};

/// Every push item, push struct and the `Push` enum; nothing without pushes.
pub fn pushes(model: &Model) -> TokenStream {
    let push = &model.push;
    if push.messages.is_empty() {
        return quote!();
    }
    let items = push.items.iter().map(|item| {
        let name = ident(&item.name);
        strukt(push, &name, &item.doc, &[], &item.elements, None)
    });
    let messages = push.messages.iter().map(|m| {
        let name = ident(&m.name);
        let mut doc = m.doc.clone();
        doc.push_str(&format!("\n\n`MsgType` `{}`", m.msg_type));
        if let Some(event) = &m.event {
            doc.push_str(&format!(", `Event` `{event}`"));
        }
        doc.push('.');
        strukt(
            push,
            &name,
            &doc,
            &push.common,
            &m.elements,
            Some((&m.msg_type, m.event.as_deref())),
        )
    });
    let the_enum = push_enum(push);
    quote!(#(#items)* #(#messages)* #the_enum)
}

fn field_type(push: &PushModel, e: &PushElement) -> TokenStream {
    match (e.ty, e.required) {
        (PushElementType::String, true) => quote!(::std::string::String),
        (PushElementType::String, false) => quote!(::core::option::Option<::std::string::String>),
        (PushElementType::Integer, true) => quote!(i64),
        (PushElementType::Integer, false) => quote!(::core::option::Option<i64>),
        (PushElementType::List(i), _) => {
            let item = ident(&push.items[i].name);
            quote!(::std::vec::Vec<#item>)
        }
        (PushElementType::Item(i), true) => {
            let item = ident(&push.items[i].name);
            quote!(#item)
        }
        (PushElementType::Item(i), false) => {
            let item = ident(&push.items[i].name);
            quote!(::core::option::Option<#item>)
        }
    }
}

/// A struct of `common` then `own` elements, with its reader and writer.
/// `dispatch` is the `MsgType` (and `Event`) written by a push struct.
fn strukt(
    push: &PushModel,
    name: &proc_macro2::Ident,
    doc: &str,
    common: &[PushElement],
    own: &[PushElement],
    dispatch: Option<(&str, Option<&str>)>,
) -> TokenStream {
    let rt = rt();
    let doc = docs(doc);
    let all: Vec<&PushElement> = common.iter().chain(own).collect();
    let fields = all.iter().map(|e| {
        let f = ident(&e.rust);
        let ty = field_type(push, e);
        let doc = docs(&format!("{}\n\n`{}` on the wire.", e.doc, e.name));
        quote!(#doc pub #f: #ty,)
    });
    let reads = all.iter().map(|e| {
        let f = ident(&e.rust);
        let key = &e.name;
        let required = e.required;
        match (e.ty, e.required) {
            (PushElementType::String, true) => {
                quote!(#f: #rt::read_string(map, #key, true, prefix)?.unwrap_or_default(),)
            }
            (PushElementType::String, false) => {
                quote!(#f: #rt::read_string(map, #key, false, prefix)?,)
            }
            (PushElementType::Integer, true) => {
                quote!(#f: #rt::read_integer(map, #key, true, prefix)?.unwrap_or_default(),)
            }
            (PushElementType::Integer, false) => {
                quote!(#f: #rt::read_integer(map, #key, false, prefix)?,)
            }
            (PushElementType::List(i), _) => {
                let item = ident(&push.items[i].name);
                quote!(#f: #rt::read_items(map, #key, #required, prefix, #item::__read_push)?,)
            }
            // One object: read as a list, which names a missing required
            // element and a wrong type; a list of several keeps the first.
            (PushElementType::Item(i), true) => {
                let item = ident(&push.items[i].name);
                quote!(#f: match #rt::read_items(map, #key, true, prefix, #item::__read_push)?.into_iter().next() {
                    ::core::option::Option::Some(item) => item,
                    ::core::option::Option::None => {
                        let mut absent = map.clone();
                        absent.remove(#key);
                        #rt::read_items(&absent, #key, true, prefix, #item::__read_push)?;
                        ::core::unreachable!("a required element that is absent is an error")
                    }
                },)
            }
            (PushElementType::Item(i), false) => {
                let item = ident(&push.items[i].name);
                quote!(#f: #rt::read_items(map, #key, false, prefix, #item::__read_push)?.into_iter().next(),)
            }
        }
    });
    let write = |e: &PushElement| {
        let f = ident(&e.rust);
        let key = &e.name;
        match (e.ty, e.required) {
            (PushElementType::String, true) => quote!(#rt::write_string(&mut map, #key, &self.#f);),
            (PushElementType::String, false) => quote!(
                if let ::core::option::Option::Some(value) = &self.#f {
                    #rt::write_string(&mut map, #key, value);
                }
            ),
            (PushElementType::Integer, true) => {
                quote!(#rt::write_integer(&mut map, #key, self.#f);)
            }
            (PushElementType::Integer, false) => quote!(
                if let ::core::option::Option::Some(value) = self.#f {
                    #rt::write_integer(&mut map, #key, value);
                }
            ),
            (PushElementType::List(_), _) => quote!(
                #rt::write_items(&mut map, #key, self.#f.iter().map(|item| item.__write_push()).collect());
            ),
            (PushElementType::Item(_), true) => quote!(
                #rt::write_items(&mut map, #key, ::std::vec![self.#f.__write_push()]);
            ),
            (PushElementType::Item(_), false) => quote!(
                if let ::core::option::Option::Some(item) = &self.#f {
                    #rt::write_items(&mut map, #key, ::std::vec![item.__write_push()]);
                }
            ),
        }
    };
    let write_common = common.iter().map(write);
    let write_own = own.iter().map(write);
    let write_dispatch = dispatch.map(|(msg_type, event)| {
        let event = event.map(|e| quote!(#rt::write_string(&mut map, "Event", #e);));
        quote!(#rt::write_string(&mut map, "MsgType", #msg_type); #event)
    });
    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct #name {
            #(#fields)*
        }

        impl #name {
            #[doc(hidden)]
            pub fn __read_push(
                map: &#rt::Map<::std::string::String, #rt::Value>,
                prefix: &str,
            ) -> ::core::result::Result<Self, #rt::WireError> {
                ::core::result::Result::Ok(Self { #(#reads)* })
            }

            #[doc(hidden)]
            pub fn __write_push(&self) -> #rt::Map<::std::string::String, #rt::Value> {
                let mut map = #rt::Map::new();
                #(#write_common)*
                #write_dispatch
                #(#write_own)*
                map
            }
        }
    }
}

fn push_enum(push: &PushModel) -> TokenStream {
    let rt = rt();
    let variants = push.messages.iter().map(|m| {
        let v = ident(&m.variant);
        let s = ident(&m.name);
        let doc = docs(&m.doc);
        quote!(#doc #v(#s),)
    });
    let reads = push.messages.iter().map(|m| {
        let v = ident(&m.variant);
        let s = ident(&m.name);
        let msg_type = &m.msg_type;
        let pattern = match &m.event {
            Some(event) => quote!((::core::option::Option::Some(#msg_type), ::core::option::Option::Some(#event))),
            None => quote!((::core::option::Option::Some(#msg_type), _)),
        };
        quote!(#pattern => #s::__read_push(&map, "").map(Push::#v),)
    });
    let names: Vec<_> = push.messages.iter().map(|m| ident(&m.variant)).collect();
    let wrappers_of = push.messages.iter().map(|m| {
        let v = ident(&m.variant);
        let pairs = m.elements.iter().filter_map(|e| {
            let wrapper = e.xml_wrapper.as_ref()?;
            let key = &e.name;
            Some(quote!((#key, #wrapper)))
        });
        quote!(Push::#v(_) => &[#(#pairs),*],)
    });
    let mut read_wrappers: Vec<(String, String)> = push
        .messages
        .iter()
        .flat_map(|m| &m.elements)
        .filter_map(|e| Some((e.xml_wrapper.clone()?, e.name.clone())))
        .collect();
    read_wrappers.sort();
    read_wrappers.dedup();
    let read_wrappers = read_wrappers
        .iter()
        .map(|(wrapper, key)| quote!((#wrapper, #key)));

    let common_by_role = |role: PushRole| push.common.iter().find(|e| e.role == Some(role));
    // Both are checked to exist whenever there are pushes.
    let sender = common_by_role(PushRole::Sender).expect("validated: a sender element");
    let time = common_by_role(PushRole::Time).expect("validated: a time element");
    let (sender_f, sender_key) = (ident(&sender.rust), &sender.name);
    let (time_f, time_key) = (ident(&time.rust), &time.name);
    let sender_of = if sender.required {
        quote!(::core::option::Option::Some(p.#sender_f.as_str()))
    } else {
        quote!(p.#sender_f.as_deref())
    };
    let time_of = if time.required {
        quote!(::core::option::Option::Some(p.#time_f))
    } else {
        quote!(p.#time_f)
    };
    let dedupe = push.messages.iter().map(|m| {
        let v = ident(&m.variant);
        let event = match &m.event {
            Some(event) => quote!(::core::option::Option::Some(#event)),
            None => quote!(::core::option::Option::None),
        };
        match m.dedupe_element() {
            Some(e) => {
                let f = ident(&e.rust);
                // A message id keeps its `msg:` keys; another key is named
                // by its element, so keys of different kinds never meet.
                let prefix = match e.role {
                    Some(PushRole::MsgId) => "msg".to_owned(),
                    _ => e.name.clone(),
                };
                let format = format!("{prefix}:{{}}");
                if e.required {
                    quote!(Push::#v(p) => ::core::option::Option::Some(::std::format!(#format, p.#f)),)
                } else {
                    quote!(Push::#v(p) => match &p.#f {
                        ::core::option::Option::Some(id) => ::core::option::Option::Some(::std::format!(#format, id)),
                        ::core::option::Option::None => Self::__event_key(#sender_of, #time_of, #event, ::core::option::Option::None),
                    },)
                }
            }
            None => quote!(Push::#v(p) => Self::__event_key(#sender_of, #time_of, #event, ::core::option::Option::None),),
        }
    });
    let is_event = push
        .messages
        .iter()
        .map(|m| m.event.is_some() || m.msg_type == "event");
    let (recipient_of, recipient_unknown) = match common_by_role(PushRole::Recipient) {
        Some(e) => {
            let f = ident(&e.rust);
            let key = &e.name;
            let of = if e.required {
                quote!(::core::option::Option::Some(p.#f.as_str()))
            } else {
                quote!(p.#f.as_deref())
            };
            (
                of,
                quote!(p.fields().get(#key).and_then(#rt::Value::as_str)),
            )
        }
        None => (
            quote!({
                let _ = p;
                ::core::option::Option::None
            }),
            quote!({
                let _ = p;
                ::core::option::Option::None
            }),
        ),
    };
    let msg_id_keys: Vec<&str> = {
        let mut keys: Vec<&str> = push
            .messages
            .iter()
            .filter_map(|m| m.msg_id().map(|e| e.name.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    };
    quote! {
        /// A message push: what a user did, as WeChat announced it to the
        /// developer's server. Pushes of kinds the spec does not describe
        /// are kept whole as [`Push::Unknown`].
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Push {
            #(#variants)*
            /// A push of a kind the spec does not describe, kept whole.
            Unknown(#rt::UnknownPush),
        }

        impl Push {
            /// An event's key: its sender, time and `Event`, and its trace id
            /// where it has one (media-check results arrive many a second
            /// for one user).
            fn __event_key(
                sender: ::core::option::Option<&str>,
                time: ::core::option::Option<i64>,
                event: ::core::option::Option<&str>,
                trace: ::core::option::Option<&str>,
            ) -> ::core::option::Option<::std::string::String> {
                let (::core::option::Option::Some(s), ::core::option::Option::Some(t)) = (sender, time) else {
                    return ::core::option::Option::None;
                };
                let mut key = ::std::format!("event:{s}:{t}");
                for part in [event, trace].into_iter().flatten() {
                    key.push(':');
                    key.push_str(part);
                }
                ::core::option::Option::Some(key)
            }
        }

        impl #rt::PushMessage for Push {
            const XML_WRAPPERS: &'static [(&'static str, &'static str)] = &[#(#read_wrappers),*];

            fn from_push_form(
                map: #rt::Map<::std::string::String, #rt::Value>,
            ) -> ::core::result::Result<Self, #rt::WireError> {
                let msg_type = map.get("MsgType").and_then(#rt::Value::as_str);
                let event = map.get("Event").and_then(#rt::Value::as_str);
                match (msg_type, event) {
                    #(#reads)*
                    _ => ::core::result::Result::Ok(Push::Unknown(#rt::UnknownPush::new(map))),
                }
            }

            fn to_push_form(&self) -> #rt::Map<::std::string::String, #rt::Value> {
                match self {
                    #(Push::#names(p) => p.__write_push(),)*
                    Push::Unknown(p) => p.fields().clone(),
                }
            }

            fn xml_wrappers(&self) -> &'static [(&'static str, &'static str)] {
                match self {
                    #(#wrappers_of)*
                    Push::Unknown(_) => &[],
                }
            }

            fn dedupe_key(&self) -> ::core::option::Option<::std::string::String> {
                match self {
                    #(#dedupe)*
                    Push::Unknown(p) => {
                        let fields = p.fields();
                        let id = [#(#msg_id_keys),*]
                            .iter()
                            .find_map(|k| fields.get(*k))
                            .map(|v| v.to_string().trim_matches('"').to_owned());
                        match id {
                            ::core::option::Option::Some(id) => ::core::option::Option::Some(::std::format!("msg:{id}")),
                            ::core::option::Option::None => Self::__event_key(
                                fields.get(#sender_key).and_then(#rt::Value::as_str),
                                #rt::read_integer(fields, #time_key, false, "").ok().flatten(),
                                fields.get("Event").and_then(#rt::Value::as_str),
                                ["TraceId", "trace_id"]
                                    .iter()
                                    .find_map(|k| fields.get(*k))
                                    .and_then(#rt::Value::as_str),
                            ),
                        }
                    }
                }
            }

            fn sender(&self) -> ::core::option::Option<&str> {
                match self {
                    #(Push::#names(p) => #sender_of,)*
                    Push::Unknown(p) => p.fields().get(#sender_key).and_then(#rt::Value::as_str),
                }
            }

            fn recipient(&self) -> ::core::option::Option<&str> {
                match self {
                    #(Push::#names(p) => #recipient_of,)*
                    Push::Unknown(p) => #recipient_unknown,
                }
            }

            fn is_event(&self) -> bool {
                match self {
                    #(Push::#names(_) => #is_event,)*
                    Push::Unknown(p) => p.fields().get("MsgType").and_then(#rt::Value::as_str) == ::core::option::Option::Some("event"),
                }
            }

            fn create_time(&self) -> ::core::option::Option<i64> {
                match self {
                    #(Push::#names(p) => #time_of,)*
                    Push::Unknown(p) => #rt::read_integer(p.fields(), #time_key, false, "").ok().flatten(),
                }
            }
        }
    }
}
