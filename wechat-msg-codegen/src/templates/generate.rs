//! [`Templates`] -> tokens: per template, a struct, a typestate builder
//! (its setters and state module from `generate::builders`, as the spec's
//! types get them) and a newtype per enum keyword.

use heck::ToUpperCamelCase;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::model::{Keyword, Template, Templates};
use crate::generate::builders::{Missing, Setter, builder_module, required_setter, state_module};
use crate::generate::{code_list, docs, krate, quoted_list};

/// Generates one struct, one typestate builder and the enum-value newtypes
/// of each template.
pub fn generate_templates(templates: &Templates) -> TokenStream {
    let items = templates.templates.iter().map(template);
    quote!(#(#items)*)
}

/// The Rust type of a keyword's value.
fn value_type(t: &Template, k: &Keyword) -> TokenStream {
    if k.values.is_some() {
        let name = enum_newtype(t, k);
        quote!(#name)
    } else {
        let ty = format_ident!("{}", k.ty);
        let krate = krate();
        quote!(#krate::__keyword_type!(#ty))
    }
}

fn enum_newtype(t: &Template, k: &Keyword) -> Ident {
    format_ident!("{}{}", t.rust, k.rust.to_upper_camel_case())
}

fn template(t: &Template) -> TokenStream {
    let krate = krate();
    let rt = quote!(#krate::__private);
    let name = format_ident!("{}", t.rust);
    let builder = format_ident!("{}Builder", t.rust);
    let id = &t.id;
    let title = &t.title;
    let mut doc_text = format!(
        "The subscribe template \"{}\" (`{}`).\n\nKeywords:\n",
        t.title, t.id
    );
    for k in &t.keywords {
        doc_text.push_str(&format!(
            "- `{}` (`{}`{}): {}\n",
            k.rust,
            k.key,
            k.name
                .as_deref()
                .map(|n| format!(", \"{n}\""))
                .unwrap_or_default(),
            if k.values.is_some() {
                "one of the listed values".to_owned()
            } else {
                format!("a `{}` value", k.ty)
            }
        ));
    }
    if let Some(doc) = &t.doc {
        doc_text.push_str(&format!("\n{doc}\n"));
    }
    doc_text.push_str(&format!(
        "\nBuild one with [`{0}::builder`] (every keyword is required) and turn it into a message with [`{0}::to`].",
        t.rust
    ));
    let doc = docs(&doc_text);

    let fields = t.keywords.iter().map(|k| {
        let f = format_ident!("{}", k.rust);
        let ty = value_type(t, k);
        let doc = docs(&keyword_doc(k));
        quote!(#doc pub #f: #ty,)
    });
    let params: Vec<Ident> = (0..t.keywords.len())
        .map(|i| format_ident!("S{}", i))
        .collect();
    let module = builder_module(&t.rust);
    let has: Vec<Ident> = t
        .keywords
        .iter()
        .map(|k| format_ident!("Has{}", k.rust.to_upper_camel_case()))
        .collect();
    let field_idents: Vec<Ident> = t
        .keywords
        .iter()
        .map(|k| format_ident!("{}", k.rust))
        .collect();
    let keys: Vec<&str> = t.keywords.iter().map(|k| k.key.as_str()).collect();

    let setters = t.keywords.iter().enumerate().map(|(i, k)| {
        let doc = docs(&format!(
            "Sets the keyword `{}`.\n\n{}",
            k.key,
            keyword_doc(k)
        ));
        let ty = value_type(t, k);
        required_setter(
            &builder,
            &params,
            &field_idents,
            i,
            &Setter {
                ty: &ty,
                param: &ty,
                convert: &quote!(value),
                generics: &quote!(),
                doc,
            },
        )
    });
    let state = state_module(
        &module,
        &builder,
        &t.rust,
        t.keywords.iter().zip(&has).map(|(k, has)| Missing {
            has: has.clone(),
            message: format!(
                "`{}` is missing its keyword `{}` (`{}`)",
                t.rust, k.rust, k.key
            ),
            label: format!("`{}` is not set", k.rust),
            note: format!("call `.{}(...)` on the builder before `.build()`", k.rust),
        }),
    );
    let bounds = t
        .keywords
        .iter()
        .zip(params.iter().zip(&has))
        .map(|(k, (p, h))| {
            let ty = value_type(t, k);
            quote!(#p: #module::#h<#ty>)
        });
    let defaults = params.iter().map(|p| quote!(#p = #rt::Unset));
    let unset = params.iter().map(|_| quote!(#rt::Unset));
    let init = field_idents.iter().map(|f| quote!(#f: #rt::Unset,));
    let builder_doc = format!(
        " Builds a [`{}`]: set every keyword ({}), then call `build()`. A keyword left unset is a compile error naming it.",
        t.rust,
        code_list(t.keywords.iter().map(|k| &k.rust))
    );
    let to_doc = format!(
        " The subscribe message of this template to the user `touser` (an OpenID): `template_id` is `{}` and `data` holds every keyword. Set `page`, `miniprogram_state` or `lang` on the result as needed.",
        t.id
    );
    let newtypes = t
        .keywords
        .iter()
        .filter(|k| k.values.is_some())
        .map(|k| enum_value_type(t, k));

    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct #name {
            #(#fields)*
        }

        impl #name {
            /// The template id (`priTmplId`).
            pub const ID: &'static str = #id;
            /// The template's title.
            pub const TITLE: &'static str = #title;
            /// The keys of `data`, in file order.
            pub const KEYS: &'static [&'static str] = &[#(#keys),*];

            /// A builder with no keyword set yet.
            pub fn builder() -> #builder {
                #builder { #(#init)* }
            }

            /// The `data` of a subscribe message: each keyword's value under its key.
            pub fn data(&self) -> #rt::BTreeMap<::std::string::String, #krate::SubscribeKeyword> {
                let mut data = #rt::BTreeMap::new();
                #(
                    data.insert(
                        ::std::string::String::from(#keys),
                        #krate::SubscribeKeyword::builder()
                            .value(::std::string::String::from(::core::clone::Clone::clone(&self.#field_idents)))
                            .build(),
                    );
                )*
                data
            }

            #[doc = #to_doc]
            pub fn to(&self, touser: impl ::core::convert::Into<::std::string::String>) -> #krate::SubscribeMessage {
                #krate::SubscribeMessage::builder()
                    .touser(touser)
                    .template_id(#id)
                    .data(self.data())
                    .build()
            }
        }

        #[doc = #builder_doc]
        #[must_use = "a builder does nothing until `build()`"]
        pub struct #builder<#(#defaults),*> {
            #(#field_idents: #params,)*
        }

        #(#setters)*
        #state

        // The bounds sit on the method, not the impl: an unmet bound is then
        // E0277, which shows the `on_unimplemented` message naming the keyword.
        impl<#(#params),*> #builder<#(#params),*> {
            /// The template value; compiles only once every keyword is set.
            pub fn build(self) -> #name where #(#bounds),* {
                #name { #(#field_idents: #module::#has::into_value(self.#field_idents),)* }
            }
        }

        impl ::core::default::Default for #builder<#(#unset),*> {
            fn default() -> Self {
                #name::builder()
            }
        }

        #(#newtypes)*
    }
}

fn keyword_doc(k: &Keyword) -> String {
    let mut s = format!("The keyword `{}`", k.key);
    if let Some(name) = &k.name {
        s.push_str(&format!(" (\"{name}\")"));
    }
    match &k.values {
        Some(values) => s.push_str(&format!(": one of {}.", quoted_list(values))),
        None => s.push_str(&format!(
            ": a `{}` value, checked by WeChat's rule for that type when the type has one.",
            k.ty
        )),
    }
    if let Some(doc) = &k.doc {
        s.push_str(&format!("\n\n{doc}"));
    }
    s
}

/// The newtype of an enum keyword: only its listed values convert.
fn enum_value_type(t: &Template, k: &Keyword) -> TokenStream {
    let name = enum_newtype(t, k);
    let krate = krate();
    let values = k.values.as_deref().unwrap_or_default();
    let doc = docs(&format!(
        "A value of the keyword `{}` of [`{}`]: one of {}.",
        k.key,
        t.rust,
        quoted_list(values)
    ));
    let key = &k.key;
    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct #name(::std::string::String);

        impl #name {
            /// Every value the template allows.
            pub const VALUES: &'static [&'static str] = &[#(#values),*];

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::core::convert::TryFrom<&str> for #name {
            type Error = #krate::template::NotAllowed;
            fn try_from(value: &str) -> ::core::result::Result<Self, Self::Error> {
                if Self::VALUES.contains(&value) {
                    ::core::result::Result::Ok(#name(value.to_owned()))
                } else {
                    ::core::result::Result::Err(#krate::template::NotAllowed::new(#key, Self::VALUES))
                }
            }
        }

        impl ::core::convert::From<#name> for ::std::string::String {
            fn from(value: #name) -> Self {
                value.0
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.0)
            }
        }
    }
}
