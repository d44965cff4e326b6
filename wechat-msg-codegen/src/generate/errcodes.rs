//! Errcode enums: one per endpoint, the shared table plus its own codes, and
//! a catch-all that keeps an unknown code with its errmsg.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{docs, ident, rt};
use crate::model::{Endpoint, ErrorClass};

/// The name of an endpoint's errcode enum.
pub fn enum_ident(e: &Endpoint) -> proc_macro2::Ident {
    format_ident!("{}Errcode", e.errcode_stem)
}

/// The `ErrcodeInfo` table of an endpoint, sorted by code.
pub fn table(e: &Endpoint) -> TokenStream {
    let rt = rt();
    let rows = e.errcodes.iter().map(|c| {
        let code = c.code;
        let name = &c.rust;
        let description = &c.description;
        let class = ident(match c.class {
            ErrorClass::Retry => "Retry",
            ErrorClass::RefreshToken => "RefreshToken",
            ErrorClass::Permanent => "Permanent",
        });
        quote!(#rt::ErrcodeInfo { code: #code, name: #name, description: #description, class: #rt::ErrorClass::#class },)
    });
    quote!(&[#(#rows)*])
}

pub fn errcode_enum(e: &Endpoint) -> TokenStream {
    let rt = rt();
    let name = enum_ident(e);
    let doc = docs(&format!(
        "The errcodes of `{}`: {}.\n\nA code the spec does not list is kept in `Unknown` with WeChat's errmsg.",
        e.name,
        if !e.shared_errcodes {
            "the endpoint's own codes (the shared table does not apply)"
        } else {
            "the shared table and the endpoint's own"
        }
    ));
    let variants = e.errcodes.iter().map(|c| {
        let vname = ident(&c.rust);
        let class = match c.class {
            ErrorClass::Retry => "retried with backoff",
            ErrorClass::RefreshToken => "the token is refreshed and the call retried once",
            ErrorClass::Permanent => "never retried",
        };
        let doc = docs(&format!(
            "`{}`: {}\n\nClass: {class}.",
            c.code, c.description
        ));
        quote!(#doc #vname,)
    });
    let from_code = e.errcodes.iter().map(|c| {
        let vname = ident(&c.rust);
        let code = c.code;
        quote!(#code => #name::#vname,)
    });
    let to_code = e.errcodes.iter().map(|c| {
        let vname = ident(&c.rust);
        let code = c.code;
        quote!(#name::#vname => #code,)
    });
    let to_info = e.errcodes.iter().enumerate().map(|(i, c)| {
        let vname = ident(&c.rust);
        quote!(#name::#vname => ::core::option::Option::Some(&Self::TABLE[#i]),)
    });
    let table = table(e);
    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#variants)*
            /// A code this endpoint's spec does not list.
            Unknown {
                /// The code WeChat answered.
                code: i64,
                /// WeChat's errmsg.
                errmsg: ::std::string::String,
            },
        }

        impl #name {
            /// Every documented code, sorted by code.
            pub const TABLE: &'static [#rt::ErrcodeInfo] = #table;

            /// Whether a retry with backoff may succeed.
            pub fn is_retryable(&self) -> bool {
                #rt::Errcode::is_retryable(self)
            }

            /// Whether the access_token used is no longer valid.
            pub fn invalidates_token(&self) -> bool {
                #rt::Errcode::invalidates_token(self)
            }

            /// The numeric code.
            pub fn code(&self) -> i64 {
                #rt::Errcode::code(self)
            }

            /// The documented meaning (`""` for an unknown code).
            pub fn description(&self) -> &'static str {
                #rt::Errcode::description(self)
            }
        }

        impl #rt::Errcode for #name {
            fn from_code(code: i64, errmsg: &str) -> Self {
                match code {
                    #(#from_code)*
                    code => #name::Unknown { code, errmsg: errmsg.to_owned() },
                }
            }

            fn code(&self) -> i64 {
                match self {
                    #(#to_code)*
                    #name::Unknown { code, .. } => *code,
                }
            }

            fn info(&self) -> ::core::option::Option<&'static #rt::ErrcodeInfo> {
                match self {
                    #(#to_info)*
                    #name::Unknown { .. } => ::core::option::Option::None,
                }
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match #rt::Errcode::info(self) {
                    ::core::option::Option::Some(info) => write!(f, "{} ({}): {}", info.name, info.code, info.description),
                    ::core::option::Option::None => match self {
                        #name::Unknown { code, errmsg } => write!(f, "unknown errcode {}: {}", code, errmsg),
                        _ => f.write_str("errcode"),
                    },
                }
            }
        }
    }
}
