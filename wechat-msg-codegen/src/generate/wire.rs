//! The `Wire` impls: writing and reading both wire forms.
//!
//! There is one writer and one reader generator. Keys come from the naming
//! function of each form (`Field::key`, `Variant::key`, `Union::tag`), applied
//! through [`key_expr`] for writing and once per form for the reader's key
//! match. No code here knows which form uses which case.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{form_variant, ident, key_expr, keywords, rt};
use crate::model::{Form, Model, Object, StrEnum, Ty};

/// `impl Wire` for an object type.
pub fn object(model: &Model, o: &Object, checked: bool, all_checked: &[bool]) -> TokenStream {
    let rt = rt();
    let name = ident(&o.name);
    let write = write_object(o);
    let read = read_object(model, o);
    let stream = stream_object(model, o);
    let check = checked.then(|| keywords::check_wire(model, o, all_checked));
    let media = media(o);
    quote! {
        #[allow(deprecated)]
        impl #rt::Wire for #name {
            #[inline]
            fn write_wire<S: #rt::serde::Serializer>(
                &self,
                form: #rt::Form,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                #write
            }

            fn read_wire(
                value: &#rt::Value,
                cx: &mut #rt::Cx,
            ) -> ::core::result::Result<Self, #rt::WireError> {
                #read
            }

            fn read_from<'de, D: #rt::serde::Deserializer<'de>>(
                de: D,
                cx: &mut #rt::Cx,
            ) -> ::core::result::Result<Self, D::Error> {
                #stream
            }

            #check

            #media
        }
    }
}

/// `Wire::media` for an object with file fields: each file by its HTTP
/// key, so a multipart part is written from the bytes.
fn media(o: &Object) -> Option<TokenStream> {
    let rt = rt();
    let arms: Vec<TokenStream> = o
        .fields
        .iter()
        .filter(|f| f.ty == Ty::File)
        .map(|f| {
            let fname = ident(&f.rust);
            let key = f.key(Form::Http);
            if f.required {
                quote!(#key => ::core::option::Option::Some(&self.#fname),)
            } else {
                quote!(#key => self.#fname.as_ref(),)
            }
        })
        .collect();
    (!arms.is_empty()).then(|| {
        quote! {
            fn media(&self, key: &str) -> ::core::option::Option<&#rt::MediaFile> {
                match key {
                    #(#arms)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    })
}

fn write_object(o: &Object) -> TokenStream {
    let rt = rt();
    let name = &o.name;
    let len = o.fields.len() + if o.union.is_some() { 2 } else { 0 };
    let fields = o.fields.iter().map(|f| {
        let fname = ident(&f.rust);
        let key = key_expr(|form| f.key(form));
        let wired = |value: TokenStream| match &f.join {
            Some(separator) => quote!(&#rt::Joined(#separator, form, #value)),
            None => quote!(&#rt::Wired(form, #value)),
        };
        if f.required {
            let value = wired(quote!(&self.#fname));
            quote!(#rt::serde::ser::SerializeStruct::serialize_field(&mut out, #key, #value)?;)
        } else {
            let value = wired(quote!(value));
            quote! {
                match &self.#fname {
                    ::core::option::Option::Some(value) => #rt::serde::ser::SerializeStruct::serialize_field(&mut out, #key, #value)?,
                    ::core::option::Option::None => #rt::serde::ser::SerializeStruct::skip_field(&mut out, #key)?,
                }
            }
        }
    });
    let union = o.union.as_ref().map(|u| {
        let ename = ident(&u.enum_name);
        let fname = ident(&u.rust_field);
        let tag_key = key_expr(|form| u.tag(form));
        let arms = u.variants.iter().map(|v| {
            let vname = ident(&v.rust);
            let value = &v.value;
            let key = key_expr(|form| v.key(form));
            quote! {
                #ename::#vname(payload) => {
                    #rt::serde::ser::SerializeStruct::serialize_field(&mut out, #tag_key, #value)?;
                    #rt::serde::ser::SerializeStruct::serialize_field(&mut out, #key, &#rt::Wired(form, payload))?;
                }
            }
        });
        quote!(match &self.#fname { #(#arms)* })
    });
    quote! {
        let mut out = #rt::serde::Serializer::serialize_struct(serializer, #name, #len)?;
        #(#fields)*
        #union
        #rt::serde::ser::SerializeStruct::end(out)
    }
}

/// Slots the reader fills as it walks the object's keys.
enum Slot<'a> {
    Field(&'a crate::model::Field, usize),
    Tag,
    Payload(usize),
}

fn read_object(model: &Model, o: &Object) -> TokenStream {
    let rt = rt();
    // Every key of the object, named in each form by that form's naming function.
    let names = |name_of: &dyn Fn(Form) -> String| Form::ALL.map(name_of);
    let mut slots: Vec<(Slot<'_>, [String; 2])> = o
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| (Slot::Field(f, i), names(&|form| f.key(form).to_owned())))
        .collect();
    if let Some(u) = &o.union {
        slots.push((Slot::Tag, names(&|form| u.tag(form).to_owned())));
        for (j, v) in u.variants.iter().enumerate() {
            slots.push((Slot::Payload(j), names(&|form| v.key(form).to_owned())));
        }
    }
    let index = |form: Form| Form::ALL.iter().position(|f| *f == form).unwrap_or(0);

    let locals = o.fields.iter().enumerate().map(|(i, f)| {
        let local = format_ident!("f{}", i);
        let _ = f;
        quote!(let mut #local = ::core::option::Option::None;)
    });
    let union_locals = o.union.as_ref().map(|u| {
        let n = u.variants.len();
        quote! {
            let mut tag: ::core::option::Option<&#rt::Value> = ::core::option::Option::None;
            let mut payloads: [::core::option::Option<&#rt::Value>; #n] = [::core::option::Option::None; #n];
        }
    });

    // One key match per form: the form's own keys, then the other forms' keys
    // as hints for a body written in the wrong form.
    let per_form = Form::ALL.iter().map(|&form| {
        let variant = form_variant(form);
        let arms = slots.iter().map(|(slot, keys)| {
            let key = &keys[index(form)];
            let action = match slot {
                Slot::Field(f, i) => {
                    let local = format_ident!("f{}", i);
                    let read = match &f.join {
                        Some(separator) => quote!(cx.joined_field(key, value, #separator)?),
                        None => quote!(cx.field(key, value)?),
                    };
                    if f.required {
                        quote!(#local = ::core::option::Option::Some(#read);)
                    } else {
                        quote!(if !value.is_null() { #local = ::core::option::Option::Some(#read); })
                    }
                }
                Slot::Tag => quote!(tag = ::core::option::Option::Some(value);),
                Slot::Payload(j) => quote!(payloads[#j] = ::core::option::Option::Some(value);),
            };
            quote!(#key => { #action })
        });
        let hints = slots.iter().flat_map(|(_, keys)| {
            let own = &keys[index(form)];
            Form::ALL
                .iter()
                .filter(|&&other| other != form)
                .map(|&other| &keys[index(other)])
                .filter(|theirs| *theirs != own)
                .map(|theirs| quote!(#theirs => ::core::option::Option::Some(#own),))
                .collect::<Vec<_>>()
        });
        quote! {
            #rt::Form::#variant => match key.as_str() {
                #(#arms)*
                _ => if cx.strict() && unknown.is_none() {
                    #[allow(unreachable_patterns)]
                    let hint = match key.as_str() { #(#hints)* _ => ::core::option::Option::None };
                    unknown = ::core::option::Option::Some(cx.unknown(key, hint));
                }
            },
        }
    });

    let take_fields = o.fields.iter().enumerate().map(|(i, f)| {
        let local = format_ident!("f{}", i);
        let fname = ident(&f.rust);
        if f.required {
            let key = key_expr(|form| f.key(form));
            quote!(let #fname = match #local { ::core::option::Option::Some(v) => v, ::core::option::Option::None => return ::core::result::Result::Err(cx.missing(#key)) };)
        } else {
            quote!(let #fname = #local;)
        }
    });
    let take_union = o.union.as_ref().map(|u| {
        let ename = ident(&u.enum_name);
        let fname = ident(&u.rust_field);
        let tag_key = key_expr(|form| u.tag(form));
        let all: Vec<&str> = u.variants.iter().map(|v| v.value.as_str()).collect();
        let arms = u.variants.iter().enumerate().map(|(j, v)| {
            let vname = ident(&v.rust);
            let value = &v.value;
            let key = key_expr(|form| v.key(form));
            let others = u.variants.iter().enumerate().filter(|(k, _)| *k != j).map(|(k, other)| {
                let other_key = key_expr(|form| other.key(form));
                quote! {
                    if payloads[#k].is_some() {
                        return ::core::result::Result::Err(cx.error_at(#other_key, #rt::WireErrorKind::PayloadUnexpected { tag: tag_key, value: tag_value.to_owned() }));
                    }
                }
            });
            quote! {
                #value => {
                    #(#others)*
                    match payloads[#j] {
                        ::core::option::Option::Some(payload) => #ename::#vname(cx.field(#key, payload)?),
                        ::core::option::Option::None => return ::core::result::Result::Err(cx.error_at(#key, #rt::WireErrorKind::PayloadMissing { tag: tag_key, value: tag_value.to_owned() })),
                    }
                }
            }
        });
        quote! {
            let tag_key: &'static str = #tag_key;
            let tag_value: ::std::string::String = match tag {
                ::core::option::Option::Some(v) => cx.field(tag_key, v)?,
                ::core::option::Option::None => return ::core::result::Result::Err(cx.missing(tag_key)),
            };
            let #fname = match tag_value.as_str() {
                #(#arms)*
                _ => return ::core::result::Result::Err(cx.error_at(tag_key, #rt::WireErrorKind::UnknownValue {
                    value: tag_value.clone(),
                    expected: &[#(#all),*],
                })),
            };
        }
    });
    // An unknown tag value is reported before unknown keys: its payload's key
    // is unknown only because the tag is.
    let tag_first = o.union.as_ref().map(|u| {
        let tag_key = key_expr(|form| u.tag(form));
        let all: Vec<&str> = u.variants.iter().map(|v| v.value.as_str()).collect();
        quote! {
            if let ::core::option::Option::Some(value) = tag.and_then(#rt::Value::as_str) {
                if ![#(#all),*].contains(&value) {
                    return ::core::result::Result::Err(cx.error_at(#tag_key, #rt::WireErrorKind::UnknownValue {
                        value: value.to_owned(),
                        expected: &[#(#all),*],
                    }));
                }
            }
        }
    });
    let name = ident(&o.name);
    // Keyword values are checked as they are read, so every parse (a
    // dynamic send, a conversion, the emulator) refuses a value that breaks
    // its type's rule; nested objects checked themselves when read.
    let own_checks = keywords::own_checks(model, o, &quote!(out));
    let field_names = o
        .fields
        .iter()
        .map(|f| ident(&f.rust))
        .chain(o.union.iter().map(|u| ident(&u.rust_field)));
    quote! {
        let form = cx.form();
        let object = cx.object(value)?;
        #(#locals)*
        #union_locals
        // The first unknown key, reported after the tag is checked: an
        // unknown msgtype with its payload is about the msgtype.
        let mut unknown: ::core::option::Option<#rt::WireError> = ::core::option::Option::None;
        for (key, value) in object {
            match form {
                #(#per_form)*
            }
        }
        #tag_first
        if let ::core::option::Option::Some(err) = unknown {
            return ::core::result::Result::Err(err);
        }
        #(#take_fields)*
        #take_union
        let out = #name { #(#field_names),* };
        #own_checks
        ::core::result::Result::Ok(out)
    }
}

/// The streaming reader of an object ([`Wire::read_from`]): one visitor over
/// the object's entries, in any order. A union's payload is read into its
/// variant when the tag came first, and buffered as a JSON value when it
/// comes before the tag. Any mismatch is one opaque error: `from_json` then
/// reads the text again with [`read_object`]'s reader, which names it.
fn stream_object(model: &Model, o: &Object) -> TokenStream {
    let rt = rt();
    let name = ident(&o.name);
    let err = quote!(::core::result::Result::Err(#rt::mismatch()));
    let nfields = o.fields.len();
    let nslots = nfields + o.union.as_ref().map_or(0, |u| 1 + u.variants.len());

    let locals = o.fields.iter().enumerate().map(|(i, f)| {
        let local = format_ident!("f{}", i);
        let ty = super::rust_type(model, &f.ty);
        quote!(let mut #local: ::core::option::Option<#ty> = ::core::option::Option::None;)
    });
    let union_locals = o.union.as_ref().map(|u| {
        let ename = ident(&u.enum_name);
        quote! {
            // Borrowed from the input when it holds no escape.
            let mut tag: ::core::option::Option<#rt::Key<'de>> = ::core::option::Option::None;
            let mut payload: ::core::option::Option<#ename> = ::core::option::Option::None;
            // A payload before the tag: which variant's, and its value. A
            // second one is refused when read (one of them is of another
            // msgtype).
            let mut buffered: ::core::option::Option<(usize, #rt::Value)> = ::core::option::Option::None;
        }
    });

    // Each key names a slot: the fields, then the union's tag, then its
    // variants' payloads. The generated `Slots::slot` maps a key of either
    // form to its slot, so the arms below are written once for both forms.
    let per_form = Form::ALL.iter().map(|&form| {
        let variant = form_variant(form);
        let keys = o
            .fields
            .iter()
            .map(|f| f.key(form))
            .chain(o.union.iter().flat_map(|u| {
                std::iter::once(u.tag(form)).chain(u.variants.iter().map(move |v| v.key(form)))
            }))
            .enumerate()
            .map(|(slot, key)| quote!(#key => ::core::option::Option::Some(#slot),));
        quote! {
            #rt::Form::#variant => match key {
                #(#keys)*
                _ => ::core::option::Option::None,
            },
        }
    });
    let mut arms = Vec::new();
    for (i, f) in o.fields.iter().enumerate() {
        let key = key_expr(|form| f.key(form));
        let local = format_ident!("f{}", i);
        let check = keywords::entry_check(model, f);
        let read = match (&f.join, f.required) {
            (Some(separator), _) => {
                let read = quote!(map.next_value_seed(#rt::JoinedSeed::new(&mut *cx, #separator))?);
                if f.required {
                    quote!(#local = ::core::option::Option::Some(#read);)
                } else {
                    // A joined list is a string: null is absent.
                    quote! {
                        #local = map.next_value::<::core::option::Option<#rt::Value>>()?
                            .map(|v| cx.joined_field(#key, &v, #separator))
                            .transpose()
                            .map_err(|_| #rt::mismatch())?;
                    }
                }
            }
            // Template keywords are checked entry by entry as they are read.
            (None, required) if check.is_some() => {
                let seed = quote!(#rt::MapSeed::checked(&mut *cx, #check));
                if required {
                    quote!(#local = ::core::option::Option::Some(map.next_value_seed(#seed)?);)
                } else {
                    quote!(#local = map.next_value_seed(#rt::Nullable(#seed))?;)
                }
            }
            (None, true) => {
                quote!(#local = ::core::option::Option::Some(map.next_value_seed(#rt::Seed::new(&mut *cx))?);)
            }
            (None, false) => {
                quote!(#local = map.next_value_seed(#rt::Nullable(#rt::Seed::new(&mut *cx)))?;)
            }
        };
        arms.push(quote! {
            #rt::Field::Slot(#i) => {
                if ::core::mem::replace(&mut seen[#i], true) { return #err; }
                #read
            }
        });
    }
    if let Some(u) = &o.union {
        let ename = ident(&u.enum_name);
        let t = nfields;
        arms.push(quote! {
            #rt::Field::Slot(#t) => {
                if ::core::mem::replace(&mut seen[#t], true) { return #err; }
                tag = ::core::option::Option::Some(map.next_value::<#rt::Key<'de>>()?);
            }
        });
        for (j, v) in u.variants.iter().enumerate() {
            let slot = nfields + 1 + j;
            let value = &v.value;
            let vname = ident(&v.rust);
            arms.push(quote! {
                #rt::Field::Slot(#slot) => {
                    if ::core::mem::replace(&mut seen[#slot], true) { return #err; }
                    match tag.as_ref().map(#rt::Key::as_str) {
                        ::core::option::Option::Some(#value) => {
                            payload = ::core::option::Option::Some(#ename::#vname(map.next_value_seed(#rt::Seed::new(&mut *cx))?));
                        }
                        ::core::option::Option::Some(_) => return #err,
                        ::core::option::Option::None => {
                            if buffered.is_some() { return #err; }
                            buffered = ::core::option::Option::Some((#j, map.next_value_seed(#rt::BufferSeed)?));
                        }
                    }
                }
            });
        }
    }
    let arms = quote! {
        #(#arms)*
        #rt::Field::Slot(_) => return #err,
        // An unknown key is an error only in a strict read; a lenient one
        // (an answer) skips it, once.
        #rt::Field::Unknown(_) if cx.strict() => return #err,
        #rt::Field::Unknown(key) => {
            if unknown.iter().any(|k: &#rt::Key<'de>| k.as_str() == key.as_str()) {
                return #err;
            }
            map.next_value::<#rt::Skip>()?;
            unknown.push(key);
        }
    };

    let take_fields = o.fields.iter().enumerate().map(|(i, f)| {
        let local = format_ident!("f{}", i);
        let fname = ident(&f.rust);
        if f.required {
            quote!(let #fname = match #local { ::core::option::Option::Some(v) => v, ::core::option::Option::None => return #err };)
        } else {
            quote!(let #fname = #local;)
        }
    });
    let take_union = o.union.as_ref().map(|u| {
        let ename = ident(&u.enum_name);
        let fname = ident(&u.rust_field);
        let arms = u.variants.iter().enumerate().map(|(j, v)| {
            let vname = ident(&v.rust);
            let value = &v.value;
            let payload_ty = ident(&model.objects[v.payload].name);
            quote! {
                ::core::option::Option::Some(#value) => match buffered.take() {
                    ::core::option::Option::Some((#j, payload)) => #ename::#vname(
                        <#payload_ty as #rt::Wire>::read_wire(&payload, cx).map_err(|_| #rt::mismatch())?,
                    ),
                    _ => return #err,
                },
            }
        });
        quote! {
            let #fname = match payload {
                ::core::option::Option::Some(payload) => payload,
                ::core::option::Option::None => match tag.as_ref().map(#rt::Key::as_str) {
                    #(#arms)*
                    _ => return #err,
                },
            };
            // A payload of another msgtype, before the tag.
            if buffered.is_some() {
                return #err;
            }
        }
    });
    let field_names = o
        .fields
        .iter()
        .map(|f| ident(&f.rust))
        .chain(o.union.iter().map(|u| ident(&u.rust_field)));
    quote! {
        struct Slots;
        impl #rt::Slots for Slots {
            #[inline]
            fn slot(form: #rt::Form, key: &str) -> ::core::option::Option<usize> {
                match form {
                    #(#per_form)*
                }
            }
        }
        struct ObjectVisitor<'c>(&'c mut #rt::Cx);
        impl<'de> #rt::serde::de::Visitor<'de> for ObjectVisitor<'_> {
            type Value = #name;
            fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str("an object")
            }
            #[allow(unused_mut, unused_variables)]
            fn visit_map<A: #rt::serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> ::core::result::Result<#name, A::Error> {
                let cx = self.0;
                let form = cx.form();
                let mut seen = [false; #nslots];
                // The unknown keys a lenient read skipped.
                let mut unknown: ::std::vec::Vec<#rt::Key<'de>> = ::std::vec::Vec::new();
                #(#locals)*
                #union_locals
                while let ::core::option::Option::Some(field) = map.next_key_seed(#rt::FieldSeed::<Slots>::new(form))? {
                    match field {
                        #arms
                    }
                }
                #(#take_fields)*
                #take_union
                ::core::result::Result::Ok(#name { #(#field_names),* })
            }
        }
        de.deserialize_map(ObjectVisitor(cx))
    }
}

/// `impl Wire` for a string enum.
pub fn string_enum(e: &StrEnum) -> TokenStream {
    let rt = rt();
    let name = ident(&e.name);
    let arms = e.values.iter().map(|v| {
        let vname = ident(&v.rust);
        let wire = &v.wire;
        quote!(#wire => ::core::result::Result::Ok(#name::#vname),)
    });
    let stream_arms = e.values.iter().map(|v| {
        let vname = ident(&v.rust);
        let wire = &v.wire;
        quote!(#wire => ::core::result::Result::Ok(#name::#vname),)
    });
    // An open enum keeps any other value; a closed one refuses it, naming
    // the values it allows.
    let (unknown_read, unknown_stream) = if e.open {
        (
            quote!(other => ::core::result::Result::Ok(#name::Unknown(other.to_owned())),),
            quote!(other => ::core::result::Result::Ok(#name::Unknown(other.to_owned())),),
        )
    } else {
        (
            quote!(other => ::core::result::Result::Err(cx.error(#rt::WireErrorKind::UnknownValue {
                value: other.to_owned(),
                expected: #name::WIRE_VALUES,
            })),),
            quote!(_ => ::core::result::Result::Err(#rt::mismatch()),),
        )
    };
    quote! {
        impl #rt::Wire for #name {
            #[inline]
            fn write_wire<S: #rt::serde::Serializer>(
                &self,
                _form: #rt::Form,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }

            fn read_wire(
                value: &#rt::Value,
                cx: &mut #rt::Cx,
            ) -> ::core::result::Result<Self, #rt::WireError> {
                match cx.str(value)? {
                    #(#arms)*
                    #unknown_read
                }
            }

            fn read_from<'de, D: #rt::serde::Deserializer<'de>>(
                de: D,
                _cx: &mut #rt::Cx,
            ) -> ::core::result::Result<Self, D::Error> {
                let key = <#rt::Key<'de> as #rt::serde::Deserialize<'de>>::deserialize(de)?;
                match key.as_str() {
                    #(#stream_arms)*
                    #unknown_stream
                }
            }
        }
    }
}
