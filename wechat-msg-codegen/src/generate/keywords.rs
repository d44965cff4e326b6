//! The `keyword` module: one newtype per `[[keyword]]` type, the
//! `KeywordType` enum, and the checks of the fields marked `keywords`.

use proc_macro2::TokenStream;
use quote::quote;

use super::{code_list, docs, ident, key_expr, rt};
use crate::model::{Keyword, Model, Object, Ty};

/// `pub mod keyword { ... }`.
pub fn module(model: &Model) -> TokenStream {
    let rt = rt();
    let rules = model.keywords.iter().map(|k| {
        let rule = rule_ident(k);
        let max = match k.max_chars {
            Some(m) => quote!(::core::option::Option::Some(#m)),
            None => quote!(::core::option::Option::None),
        };
        let pattern = match (&k.pattern, &k.rule) {
            (Some(p), Some(r)) => quote!(::core::option::Option::Some((#p, #r))),
            _ => quote!(::core::option::Option::None),
        };
        let when = match &k.when_contains {
            Some(w) => {
                let (p, m, what) = (&w.pattern, w.max_chars, &w.what);
                quote!(::core::option::Option::Some((#p, #m, #what)))
            }
            None => quote!(::core::option::Option::None),
        };
        quote!(static #rule: #rt::KeywordRule = #rt::KeywordRule::new(#max, #pattern, #when);)
    });
    let newtypes = model.keywords.iter().map(newtype);
    let variants = model.keywords.iter().map(|k| {
        let v = ident(&k.rust);
        let doc = format!(
            " `{}`: {}",
            k.name,
            k.doc.lines().next().unwrap_or_default()
        );
        quote!(#[doc = #doc] #v,)
    });
    let all = model.keywords.iter().map(|k| {
        let v = ident(&k.rust);
        quote!(KeywordType::#v,)
    });
    let of_name = model.keywords.iter().map(|k| {
        let (v, name) = (ident(&k.rust), &k.name);
        quote!(#name => ::core::option::Option::Some(KeywordType::#v),)
    });
    let names = model.keywords.iter().map(|k| {
        let (v, name) = (ident(&k.rust), &k.name);
        quote!(KeywordType::#v => #name,)
    });
    let checks = model.keywords.iter().map(|k| {
        let (v, rule) = (ident(&k.rust), rule_ident(k));
        quote!(KeywordType::#v => #rule.check(text),)
    });
    let rules_of = model.keywords.iter().map(|k| {
        let (v, rule) = (ident(&k.rust), rule_ident(k));
        quote!(KeywordType::#v => &#rule,)
    });
    let listed = format!(
        " The types of the spec: {}.",
        code_list(model.keywords.iter().map(|k| &k.name))
    );
    let type_arms = model.keywords.iter().map(|k| {
        let (name, rust) = (ident(&k.name), ident(&k.rust));
        quote!((#name) => { $crate::keyword::#rust };)
    });
    quote! {
        /// Template keywords: one newtype per keyword type of the spec, each
        /// holding only values that fit the type's rule, and [`KeywordType`]
        /// to check a value by its key.
        ///
        /// A keyword's type is its key without the trailing digits (`thing1`
        /// is a thing, `character_string12` a character_string). Every value
        /// must be non-empty; keys of types the spec does not declare
        /// (`short_thing`, enum types) are not checked beyond that.
        ///
        /// A character is a Unicode scalar value (Rust's `char`): `中` is 1,
        /// `😀` is 1, `👨‍👩‍👧` (three people joined by zero-width joiners) is
        /// 5, an `é` written as `e` and a combining accent is 2.
        pub mod keyword {
            pub use #rt::KeywordError;

            #(#rules)*
            #(#newtypes)*

            /// A keyword type of the spec.
            #[doc = #listed]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
            #[non_exhaustive]
            pub enum KeywordType {
                #(#variants)*
            }

            impl KeywordType {
                /// Every keyword type, in spec order.
                pub const ALL: &'static [KeywordType] = &[#(#all)*];

                /// The type of a keyword key: the key without its trailing
                /// digits (`character_string12` -> `character_string`);
                /// `None` for a type the spec does not declare.
                pub fn of_key(key: &str) -> ::core::option::Option<KeywordType> {
                    Self::from_name(key.trim_end_matches(|c: char| c.is_ascii_digit()))
                }

                /// The type named `name` (`thing`), if the spec declares it.
                pub fn from_name(name: &str) -> ::core::option::Option<KeywordType> {
                    match name {
                        #(#of_name)*
                        _ => ::core::option::Option::None,
                    }
                }

                /// The type's name as keys start with it: `character_string`.
                pub fn name(self) -> &'static str {
                    match self {
                        #(#names)*
                    }
                }

                /// The type's rule as the spec declares it.
                #[doc(hidden)]
                pub fn rule(self) -> &'static #rt::KeywordRule {
                    match self {
                        #(#rules_of)*
                    }
                }

                /// Checks `text` against the type's rule.
                pub fn check(self, text: &str) -> ::core::result::Result<(), KeywordError> {
                    match self {
                        #(#checks)*
                    }
                }
            }

            impl ::core::fmt::Display for KeywordType {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(self.name())
                }
            }

            /// Checks the value of the keyword `key` (`thing1`): it must be
            /// non-empty, and fit the rule of its type when the spec
            /// declares the type.
            pub fn check(key: &str, text: &str) -> ::core::result::Result<(), KeywordError> {
                match KeywordType::of_key(key) {
                    ::core::option::Option::Some(ty) => ty.check(text),
                    ::core::option::Option::None if text.is_empty() => ::core::result::Result::Err(KeywordError::Empty),
                    ::core::option::Option::None => ::core::result::Result::Ok(()),
                }
            }
        }

        /// The Rust type of a keyword type's value, for `templates!`: the
        /// newtype of a type the spec declares, `String` for any other.
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __keyword_type {
            #(#type_arms)*
            ($other:ident) => { ::std::string::String };
        }
    }
}

fn rule_ident(k: &Keyword) -> proc_macro2::Ident {
    ident(&format!("{}_RULE", k.name.to_ascii_uppercase()))
}

fn newtype(k: &Keyword) -> TokenStream {
    let name = ident(&k.rust);
    let rule = rule_ident(k);
    let type_name = &k.name;
    let mut doc = k.doc.clone();
    doc.push_str(&format!(
        "\n\nA value of the keyword type `{type_name}` (keys `{type_name}1`, `{type_name}2`, ...), checked when made."
    ));
    let docs = docs(&doc);
    let truncate = k.truncate.then(|| {
        let max = k.max_chars.unwrap_or_default();
        let doc = format!(
            " `text` cut to fit: unchanged if it fits, else its longest prefix that fits with `…` added (at most {max} characters, the `…` included), never splitting a grapheme cluster. An empty text becomes `…`."
        );
        quote! {
            #[doc = #doc]
            pub fn truncate(text: &str) -> Self {
                #name(#rule.truncate(text))
            }
        }
    });
    quote! {
        #docs
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct #name(::std::string::String);

        impl #name {
            /// The keyword type.
            pub const TYPE: KeywordType = KeywordType::#name;

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value, as an owned string.
            pub fn into_inner(self) -> ::std::string::String {
                self.0
            }

            #truncate
        }

        impl ::core::convert::TryFrom<&str> for #name {
            type Error = KeywordError;
            fn try_from(text: &str) -> ::core::result::Result<Self, KeywordError> {
                #rule.check(text)?;
                ::core::result::Result::Ok(#name(text.to_owned()))
            }
        }

        impl ::core::convert::TryFrom<::std::string::String> for #name {
            type Error = KeywordError;
            fn try_from(text: ::std::string::String) -> ::core::result::Result<Self, KeywordError> {
                #rule.check(&text)?;
                ::core::result::Result::Ok(#name(text))
            }
        }

        impl ::core::convert::From<#name> for ::std::string::String {
            fn from(value: #name) -> ::std::string::String {
                value.0
            }
        }

        impl ::core::convert::AsRef<str> for #name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_tuple(stringify!(#name)).field(&self.0).finish()
            }
        }
    }
}

/// The object types whose values have checks: those with a field marked
/// `keywords`, and those that contain one through an object field or a
/// union payload.
pub fn checked_objects(model: &Model) -> Vec<bool> {
    let mut checked: Vec<bool> = model
        .objects
        .iter()
        .map(|o| o.fields.iter().any(|f| f.keywords.is_some()))
        .collect();
    loop {
        let mut changed = false;
        for (i, o) in model.objects.iter().enumerate() {
            if checked[i] {
                continue;
            }
            let nested = o
                .fields
                .iter()
                .any(|f| matches!(f.ty, Ty::Object(j) if checked[j]))
                || o.union
                    .iter()
                    .flat_map(|u| &u.variants)
                    .any(|v| checked[v.payload]);
            if nested {
                checked[i] = true;
                changed = true;
            }
        }
        if !changed {
            return checked;
        }
    }
}

/// For a field whose template keywords are checked (a map of objects with
/// a `keywords` text field), the check of one entry as a streaming reader
/// reads it: a closure `fn(&str, &Item) -> bool` (whether the value fits).
pub fn entry_check(model: &Model, f: &crate::model::Field) -> Option<TokenStream> {
    let inner = f.keywords?;
    let Ty::Map(item) = &f.ty else { return None };
    let Ty::Object(item) = **item else {
        return None;
    };
    let item_ty = ident(&model.objects[item].name);
    let text = ident(&model.objects[item].fields[inner].rust);
    Some(quote! {
        |keyword: &str, item: &#item_ty| self::keyword::check(keyword, &item.#text).is_ok()
    })
}

/// The checks of `o`'s own keyword fields, on the value `recv`, with `form`
/// and `cx` in scope.
pub fn own_checks(model: &Model, o: &Object, recv: &TokenStream) -> TokenStream {
    let rt = rt();
    let checks = o.fields.iter().filter_map(|f| {
        let inner = f.keywords?;
        let Ty::Map(item) = &f.ty else { return None };
        let Ty::Object(item) = **item else {
            return None;
        };
        let text_field = &model.objects[item].fields[inner];
        let text = ident(&text_field.rust);
        let text_key = key_expr(|form| text_field.key(form));
        let fname = ident(&f.rust);
        let key = key_expr(|form| f.key(form));
        let walk = quote! {
            for (keyword, item) in map {
                if let ::core::result::Result::Err(err) = self::keyword::check(keyword, &item.#text) {
                    return ::core::result::Result::Err(
                        cx.error_under(&[#key, keyword, #text_key], #rt::WireErrorKind::Keyword(err)),
                    );
                }
            }
        };
        Some(if f.required {
            quote! { { let map = &#recv.#fname; #walk } }
        } else {
            quote! { if let ::core::option::Option::Some(map) = &#recv.#fname { #walk } }
        })
    });
    quote!(#(#checks)*)
}

/// `check_wire` for a checked object: its own keyword fields, then the
/// checked objects it contains.
pub fn check_wire(model: &Model, o: &Object, checked: &[bool]) -> TokenStream {
    let rt = rt();
    let own = own_checks(model, o, &quote!(self));
    let nested = o.fields.iter().filter_map(|f| {
        let Ty::Object(j) = f.ty else { return None };
        if !checked[j] {
            return None;
        }
        let fname = ident(&f.rust);
        let key = key_expr(|form| f.key(form));
        Some(if f.required {
            quote!(cx.check_field(#key, &self.#fname)?;)
        } else {
            quote! {
                if let ::core::option::Option::Some(value) = &self.#fname {
                    cx.check_field(#key, value)?;
                }
            }
        })
    });
    let union = o.union.as_ref().and_then(|u| {
        let ename = ident(&u.enum_name);
        let fname = ident(&u.rust_field);
        let arms: Vec<TokenStream> = u
            .variants
            .iter()
            .filter(|v| checked[v.payload])
            .map(|v| {
                let vname = ident(&v.rust);
                let key = key_expr(|form| v.key(form));
                quote!(#ename::#vname(payload) => cx.check_field(#key, payload)?,)
            })
            .collect();
        (!arms.is_empty()).then(|| {
            quote! {
                #[allow(unreachable_patterns)]
                match &self.#fname {
                    #(#arms)*
                    _ => {}
                }
            }
        })
    });
    quote! {
        fn check_wire(&self, cx: &mut #rt::Cx) -> ::core::result::Result<(), #rt::WireError> {
            let form = cx.form();
            let _ = form;
            #own
            #(#nested)*
            #union
            ::core::result::Result::Ok(())
        }
    }
}
