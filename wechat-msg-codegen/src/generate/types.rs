//! Struct and enum definitions: request types, payloads, unions, string enums.

use proc_macro2::TokenStream;
use quote::quote;

use super::{code_list, docs, ident, rt, rust_type};
use crate::model::{Model, Object, Role, StrEnum, Ty};

/// The struct of an object type, and the enum of its union if it has one.
pub fn object(model: &Model, o: &Object, deprecated: Option<&String>) -> TokenStream {
    let name = ident(&o.name);
    let mut doc = o.doc.clone();
    if let Some(endpoint) = o.endpoint.map(|i| &model.endpoints[i]) {
        let method = match endpoint.method {
            crate::model::Method::Get => "GET",
            crate::model::Method::Post => "POST",
        };
        doc.push_str(&format!(
            "\n\nThe request of `{}` (`{method} {}`).\n\n{}",
            endpoint.name, endpoint.path, endpoint.doc
        ));
    }
    if let Some(note) = deprecated {
        doc.push_str(&format!("\n\n**Deprecated.** {note}"));
    }
    doc.push_str(&format!("\n\nBuild one with [`{}::builder`].", o.name));
    let doc = docs(&doc);
    let deprecated_attr = deprecated.map(|note| quote!(#[deprecated(note = #note)]));
    let fields = o.fields.iter().map(|f| {
        let fname = ident(&f.rust);
        let ty = rust_type(model, &f.ty);
        let ty = if f.required {
            ty
        } else {
            quote!(::core::option::Option<#ty>)
        };
        let wire = if f.http == f.cloud {
            format!("`{}` on the wire.", f.http)
        } else {
            format!("`{}` over HTTP, `{}` in the cloud call.", f.http, f.cloud)
        };
        let presence = if f.required {
            "Required."
        } else {
            "Optional: omitted from the wire when `None`."
        };
        let doc = docs(&format!("{}\n\n{wire} {presence}", f.doc));
        quote!(#doc pub #fname: #ty,)
    });
    let union_field = o.union.as_ref().map(|u| {
        let fname = ident(&u.rust_field);
        let ename = ident(&u.enum_name);
        let doc = docs(&format!(
            "{}\n\nThe tag `{}` and the payload under the key the tag names.",
            u.doc, u.tag_http
        ));
        quote!(#doc pub #fname: #ename,)
    });
    let union_enum = o.union.as_ref().map(|u| union_enum(model, o, u));
    let text_from = single_string_from(o);
    let secret = o.fields.iter().any(|f| f.role == Some(Role::Secret));
    let (derives, debug) = if secret {
        (quote!(Clone, PartialEq, Eq), Some(redacting_debug(o)))
    } else {
        (quote!(Clone, Debug, PartialEq, Eq), None)
    };
    quote! {
        #doc
        #deprecated_attr
        #[derive(#derives)]
        #[non_exhaustive]
        pub struct #name {
            #(#fields)*
            #union_field
        }
        #debug
        #union_enum
        #text_from
    }
}

/// `Debug` of an object with `role = "secret"` fields: those print `***`,
/// whatever they hold.
fn redacting_debug(o: &Object) -> TokenStream {
    let name = ident(&o.name);
    let name_str = &o.name;
    let fields = o.fields.iter().map(|f| {
        let fname = ident(&f.rust);
        let key = &f.rust;
        if f.role == Some(Role::Secret) {
            quote!(.field(#key, &::core::format_args!("***")))
        } else {
            quote!(.field(#key, &self.#fname))
        }
    });
    let union = o.union.as_ref().map(|u| {
        let fname = ident(&u.rust_field);
        let key = &u.rust_field;
        quote!(.field(#key, &self.#fname))
    });
    quote! {
        #[allow(deprecated)]
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name_str) #(#fields)* #union .finish()
            }
        }
    }
}

/// `From<&str>` and `From<String>` for objects whose one required field is a
/// string (`TemplateKeyword::from("339208499")`).
fn single_string_from(o: &Object) -> Option<TokenStream> {
    if o.union.is_some() {
        return None;
    }
    let required: Vec<_> = o.fields.iter().filter(|f| f.required).collect();
    let [only] = required.as_slice() else {
        return None;
    };
    if only.ty != Ty::String {
        return None;
    }
    let name = ident(&o.name);
    let field = ident(&only.rust);
    let others = o.fields.iter().filter(|f| !f.required).map(|f| {
        let f = ident(&f.rust);
        quote!(#f: ::core::option::Option::None,)
    });
    let others2 = others.clone();
    let doc = format!(" A `{}` with only `{}` set.", o.name, only.rust);
    Some(quote! {
        #[allow(deprecated)]
        impl ::core::convert::From<::std::string::String> for #name {
            #[doc = #doc]
            fn from(value: ::std::string::String) -> Self {
                #name { #field: value, #(#others)* }
            }
        }
        #[allow(deprecated)]
        impl ::core::convert::From<&str> for #name {
            #[doc = #doc]
            fn from(value: &str) -> Self {
                #name { #field: value.to_owned(), #(#others2)* }
            }
        }
    })
}

fn union_enum(model: &Model, o: &Object, u: &crate::model::Union) -> TokenStream {
    let ename = ident(&u.enum_name);
    let doc = docs(&format!(
        "{}\n\nThe value of `{}.{}`: on the wire, `{}` names the variant and its payload sits under a key equal to that name.",
        u.doc, o.name, u.rust_field, u.tag_http
    ));
    let variants = u.variants.iter().map(|v| {
        let vname = ident(&v.rust);
        let payload = ident(&model.objects[v.payload].name);
        let doc = docs(&format!("{}\n\n`{} = \"{}\"`.", v.doc, u.tag_http, v.value));
        quote!(#doc #vname(#payload),)
    });
    let tags = u.variants.iter().map(|v| {
        let vname = ident(&v.rust);
        let value = &v.value;
        quote!(#ename::#vname(_) => #value,)
    });
    // `From<Payload>` when each payload type names one variant.
    let mut payloads: Vec<usize> = u.variants.iter().map(|v| v.payload).collect();
    payloads.sort_unstable();
    payloads.dedup();
    let froms = (payloads.len() == u.variants.len()).then(|| {
        let impls = u.variants.iter().map(|v| {
            let vname = ident(&v.rust);
            let payload = ident(&model.objects[v.payload].name);
            quote! {
                impl ::core::convert::From<#payload> for #ename {
                    fn from(payload: #payload) -> Self { #ename::#vname(payload) }
                }
            }
        });
        quote!(#(#impls)*)
    });
    let tag_doc = format!(" The value of `{}` for this variant.", u.tag_http);
    let all: Vec<&str> = u.variants.iter().map(|v| v.value.as_str()).collect();
    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum #ename {
            #(#variants)*
        }
        impl #ename {
            /// Every tag value, in spec order.
            pub const TAGS: &'static [&'static str] = &[#(#all),*];
            #[doc = #tag_doc]
            pub fn tag(&self) -> &'static str {
                match self { #(#tags)* }
            }
        }
        #froms
    }
}

/// A string enum: a Rust enum that writes its wire string and rejects others.
pub fn string_enum(e: &StrEnum) -> TokenStream {
    let rt = rt();
    let name = ident(&e.name);
    let doc = docs(&format!(
        "{}\n\nOn the wire one of: {}.",
        e.doc,
        code_list(e.values.iter().map(|v| &v.wire))
    ));
    let variants = e.values.iter().map(|v| {
        let vname = ident(&v.rust);
        let doc = docs(&format!("{}\n\n`\"{}\"` on the wire.", v.doc, v.wire));
        quote!(#doc #vname,)
    });
    let all_variants = e.values.iter().map(|v| {
        let vname = ident(&v.rust);
        quote!(#name::#vname)
    });
    let as_str = e.values.iter().map(|v| {
        let vname = ident(&v.rust);
        let wire = &v.wire;
        quote!(#name::#vname => #wire,)
    });
    let from_str = e.values.iter().map(|v| {
        let vname = ident(&v.rust);
        let wire = &v.wire;
        quote!(#wire => ::core::result::Result::Ok(#name::#vname),)
    });
    let wires: Vec<&str> = e.values.iter().map(|v| v.wire.as_str()).collect();
    if e.open {
        return open_enum(
            e,
            variants.collect(),
            all_variants.collect(),
            as_str.collect(),
            &wires,
        );
    }
    quote! {
        #doc
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
        }
        impl #name {
            /// Every value, in spec order.
            pub const ALL: &'static [#name] = &[#(#all_variants),*];
            /// Every wire string, in spec order.
            pub const WIRE_VALUES: &'static [&'static str] = &[#(#wires),*];
            /// The wire string.
            pub fn as_str(&self) -> &'static str {
                match self { #(#as_str)* }
            }
        }
        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::core::str::FromStr for #name {
            type Err = #rt::WireError;
            /// Parses a wire string; anything else is an error listing the allowed values.
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                match s {
                    #(#from_str)*
                    other => ::core::result::Result::Err(#rt::WireError::at_root(#rt::WireErrorKind::UnknownValue {
                        value: other.to_owned(),
                        expected: #name::WIRE_VALUES,
                    })),
                }
            }
        }
    }
}

/// An open string enum (`open = true`): the listed values and `Unknown`
/// holding any other, so a value WeChat adds later does not fail a read.
fn open_enum(
    e: &StrEnum,
    variants: Vec<TokenStream>,
    all_variants: Vec<TokenStream>,
    as_str: Vec<TokenStream>,
    wires: &[&str],
) -> TokenStream {
    let name = ident(&e.name);
    let from_wire = e.values.iter().map(|v| {
        let vname = ident(&v.rust);
        let wire = &v.wire;
        quote!(#wire => #name::#vname,)
    });
    let doc = docs(&format!(
        "{}\n\nOn the wire one of: {}; any other value is kept as [`{}::Unknown`].",
        e.doc,
        code_list(wires),
        e.name
    ));
    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// A value the spec does not list, kept as sent.
            Unknown(::std::string::String),
        }
        impl #name {
            /// Every listed value, in spec order.
            pub const ALL: &'static [#name] = &[#(#all_variants),*];
            /// Every listed wire string, in spec order.
            pub const WIRE_VALUES: &'static [&'static str] = &[#(#wires),*];
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#as_str)*
                    #name::Unknown(other) => other.as_str(),
                }
            }
            /// The value of a wire string: a listed one, or `Unknown`.
            pub fn from_wire(s: &str) -> Self {
                match s {
                    #(#from_wire)*
                    other => #name::Unknown(other.to_owned()),
                }
            }
        }
        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::core::str::FromStr for #name {
            type Err = ::core::convert::Infallible;
            /// Parses a wire string; never fails (unlisted values are `Unknown`).
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                ::core::result::Result::Ok(#name::from_wire(s))
            }
        }
    }
}
