//! Typestate builders. Each required field is a type parameter that starts as
//! `Unset` and becomes `Set<T>` when its setter is called; `build()` exists
//! only when every one is set, and a missing one is a compile error naming
//! the field (`#[diagnostic::on_unimplemented]`).
//!
//! The traits that name the fields live in a hidden module per type,
//! `{type}_builder` (the shape bon gives its builder state), not beside the
//! types: a crate's root then holds no builder traits, which keeps them out
//! of its docs and out of the traits in scope at every method call there.

use heck::ToUpperCamelCase;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::{code_list, docs, ident, rt, rust_type};
use crate::model::{Model, Object, Ty};

/// A required member of the builder: a field or the union.
struct Required {
    rust: Ident,
    ty: TokenStream,
    /// The setter's parameter type and the conversion into `ty`.
    param: TokenStream,
    convert: TokenStream,
    generics: TokenStream,
    doc: String,
    /// The `Has...` trait naming the field in errors, in the builder module.
    has: Ident,
}

pub fn builder(model: &Model, o: &Object, deprecated: Option<&String>) -> TokenStream {
    let rt = rt();
    let name = ident(&o.name);
    let builder = format_ident!("{}Builder", o.name);
    let module = builder_module(&o.name);
    let mut required: Vec<Required> = o
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| {
            let (param, convert, generics) = setter_input(model, &f.ty);
            Required {
                rust: ident(&f.rust),
                ty: rust_type(model, &f.ty),
                param,
                convert,
                generics,
                doc: f.doc.clone(),
                has: format_ident!("Has{}", f.rust.to_upper_camel_case()),
            }
        })
        .collect();
    if let Some(u) = &o.union {
        let ename = ident(&u.enum_name);
        required.push(Required {
            rust: ident(&u.rust_field),
            ty: quote!(#ename),
            param: quote!(impl ::core::convert::Into<#ename>),
            convert: quote!(value.into()),
            generics: quote!(),
            doc: format!(
                "{}\n\nAccepts any payload type directly (`Text`, `Image`, ...).",
                u.doc
            ),
            has: format_ident!("Has{}", u.rust_field.to_upper_camel_case()),
        });
    }
    let optional: Vec<_> = o.fields.iter().filter(|f| !f.required).collect();
    let params: Vec<Ident> = (0..required.len())
        .map(|i| format_ident!("S{}", i))
        .collect();
    let unset: Vec<TokenStream> = required.iter().map(|_| quote!(#rt::Unset)).collect();

    let struct_fields = required
        .iter()
        .zip(&params)
        .map(|(r, p)| {
            let f = &r.rust;
            quote!(#f: #p,)
        })
        .chain(optional.iter().map(|f| {
            let fname = ident(&f.rust);
            let ty = rust_type(model, &f.ty);
            quote!(#fname: ::core::option::Option<#ty>,)
        }));
    let defaults = params.iter().map(|p| quote!(#p = #rt::Unset));
    let init = required
        .iter()
        .map(|r| {
            let f = &r.rust;
            quote!(#f: #rt::Unset,)
        })
        .chain(optional.iter().map(|f| {
            let fname = ident(&f.rust);
            quote!(#fname: ::core::option::Option::None,)
        }));
    let all_names: Vec<Ident> = required
        .iter()
        .map(|r| r.rust.clone())
        .chain(optional.iter().map(|f| ident(&f.rust)))
        .collect();

    // A setter for each required field, available while it is unset.
    let required_setters = required.iter().enumerate().map(|(i, r)| {
        let doc = docs(&format!(
            "Sets the required field `{}`.\n\n{}",
            r.rust, r.doc
        ));
        let setter = required_setter(
            &builder,
            &params,
            &all_names,
            i,
            &Setter {
                ty: &r.ty,
                param: &r.param,
                convert: &r.convert,
                generics: &r.generics,
                doc,
            },
        );
        quote! {
            #[allow(deprecated)]
            #setter
        }
    });

    let optional_setters = optional.iter().map(|f| {
        let fname = ident(&f.rust);
        let maybe = format_ident!("maybe_{}", f.rust);
        let (param, convert, generics) = setter_input(model, &f.ty);
        let ty = rust_type(model, &f.ty);
        let doc = docs(&format!(
            "Sets the optional field `{}`.\n\n{}",
            f.rust, f.doc
        ));
        let maybe_doc = format!(" Sets or clears the optional field `{}`.", f.rust);
        quote! {
            #doc
            pub fn #fname #generics(mut self, value: #param) -> Self {
                self.#fname = ::core::option::Option::Some(#convert);
                self
            }
            #[doc = #maybe_doc]
            pub fn #maybe(mut self, value: ::core::option::Option<#ty>) -> Self {
                self.#fname = value;
                self
            }
        }
    });

    let state = state_module(
        &module,
        &builder,
        &o.name,
        required.iter().map(|r| {
            let fname = r.rust.to_string();
            Missing {
                has: r.has.clone(),
                message: format!("`{}` is missing its required field `{fname}`", o.name),
                label: format!("`{fname}` is not set"),
                note: format!("call `.{fname}(...)` on the builder before `.build()`"),
            }
        }),
    );
    let bounds = required.iter().zip(&params).map(|(r, p)| {
        let has = &r.has;
        let ty = &r.ty;
        quote!(#p: #module::#has<#ty>)
    });
    // Called by path: the traits are not in scope beside the builder.
    let build_fields = required
        .iter()
        .map(|r| {
            let f = &r.rust;
            let has = &r.has;
            quote!(#f: #module::#has::into_value(self.#f),)
        })
        .chain(optional.iter().map(|f| {
            let fname = ident(&f.rust);
            quote!(#fname: self.#fname,)
        }));
    let builder_doc = format!(
        " Builds a [`{}`]. Required fields: {}. Calling `build()` before setting them all is a compile error naming the missing one.",
        o.name,
        if required.is_empty() {
            "none".to_owned()
        } else {
            code_list(required.iter().map(|r| &r.rust))
        }
    );
    let start_doc = format!(" A builder for `{}` with nothing set yet.", o.name);
    let deprecated_attr = deprecated.map(|note| quote!(#[deprecated(note = #note)]));
    // A builder holding a secret prints none of its values.
    let secret = o
        .fields
        .iter()
        .any(|f| f.role == Some(crate::model::Role::Secret));
    let (derives, debug) = if secret {
        let text = format!("{builder} {{ .. }}");
        let debug = quote! {
            impl<#(#params),*> ::core::fmt::Debug for #builder<#(#params),*> {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(#text)
                }
            }
        };
        (quote!(Clone), Some(debug))
    } else {
        (quote!(Clone, Debug), None)
    };
    quote! {
        #[doc = #builder_doc]
        #[must_use = "a builder does nothing until `.build()`"]
        #[derive(#derives)]
        pub struct #builder<#(#defaults),*> {
            #(#struct_fields)*
        }
        #debug

        #[allow(deprecated)]
        impl #name {
            #[doc = #start_doc]
            #deprecated_attr
            pub fn builder() -> #builder<#(#unset),*> {
                #builder { #(#init)* }
            }
        }

        #(#required_setters)*

        #[allow(deprecated)]
        impl<#(#params),*> #builder<#(#params),*> {
            #(#optional_setters)*
        }

        #state

        // The bounds sit on the method, not the impl: an unmet bound is then
        // E0277, which shows the `on_unimplemented` message naming the field.
        #[allow(deprecated)]
        impl<#(#params),*> #builder<#(#params),*> {
            /// Finishes the value. Compiles once every required field is set.
            pub fn build(self) -> #name where #(#bounds),* {
                #name { #(#build_fields)* }
            }
        }
    }
}

/// What a required setter takes and documents.
pub(crate) struct Setter<'a> {
    /// The member's type, `T` in `Set<T>`.
    pub ty: &'a TokenStream,
    /// The setter's parameter type, and the expression turning `value` into `ty`.
    pub param: &'a TokenStream,
    pub convert: &'a TokenStream,
    /// The setter's generics, if any.
    pub generics: &'a TokenStream,
    pub doc: TokenStream,
}

/// The setter of the required member `members[index]` of a typestate
/// builder: an impl that exists while that member's type parameter,
/// `params[index]`, is `Unset`, and whose method returns the builder with
/// it `Set`, every other member moved over. The required members come first
/// in `members`, in the order of `params`.
pub(crate) fn required_setter(
    builder: &Ident,
    params: &[Ident],
    members: &[Ident],
    index: usize,
    setter: &Setter<'_>,
) -> TokenStream {
    let rt = rt();
    let others = params
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != index)
        .map(|(_, p)| p);
    let ty = setter.ty;
    let before = params.iter().enumerate().map(|(j, p)| {
        if j == index {
            quote!(#rt::Unset)
        } else {
            quote!(#p)
        }
    });
    let after = params.iter().enumerate().map(|(j, p)| {
        if j == index {
            quote!(#rt::Set<#ty>)
        } else {
            quote!(#p)
        }
    });
    let convert = setter.convert;
    let moved = members.iter().enumerate().map(|(j, n)| {
        if j == index {
            quote!(#n: #rt::Set(#convert),)
        } else {
            quote!(#n: self.#n,)
        }
    });
    let fname = &members[index];
    let (param, generics, doc) = (setter.param, setter.generics, &setter.doc);
    quote! {
        impl<#(#others),*> #builder<#(#before),*> {
            #doc
            pub fn #fname #generics(self, value: #param) -> #builder<#(#after),*> {
                #builder { #(#moved)* }
            }
        }
    }
}

/// What a compile error says when a required member is missing.
pub(crate) struct Missing {
    /// The trait implemented once the member is set.
    pub has: Ident,
    pub message: String,
    pub label: String,
    pub note: String,
}

/// `#[doc(hidden)] pub mod {type}_builder`: for each required member, a
/// trait `Has{Member}<T>` implemented by `Set<T>` only, whose
/// `on_unimplemented` names the member. Nothing when there is none.
pub(crate) fn state_module(
    module: &Ident,
    builder: &Ident,
    name: &str,
    members: impl Iterator<Item = Missing>,
) -> TokenStream {
    let rt = rt();
    let traits: Vec<TokenStream> = members
        .map(|m| {
            let Missing {
                has,
                message,
                label,
                note,
            } = m;
            quote! {
                #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
                pub trait #has<T> {
                    /// The value that was set.
                    fn into_value(self) -> T;
                }
                impl<T> #has<T> for #rt::Set<T> {
                    fn into_value(self) -> T { self.0 }
                }
            }
        })
        .collect();
    if traits.is_empty() {
        return quote!();
    }
    let doc = format!(
        " The state of `{builder}`: one trait per required member of `{name}`, implemented once that member is set."
    );
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        pub mod #module {
            #(#traits)*
        }
    }
}

/// The hidden module holding the builder state of the type `name`:
/// `CustomerServiceMessage` -> `customer_service_message_builder`.
pub(crate) fn builder_module(name: &str) -> Ident {
    ident(&crate::model::builder_module(name))
}

/// The parameter type a setter takes for `ty`, the expression converting
/// `value` into the field type, and the setter's generics.
fn setter_input(model: &Model, ty: &Ty) -> (TokenStream, TokenStream, TokenStream) {
    match ty {
        Ty::String => (
            quote!(impl ::core::convert::Into<::std::string::String>),
            quote!(value.into()),
            quote!(),
        ),
        Ty::Map(inner) => {
            let inner = rust_type(model, inner);
            (
                quote!(impl ::core::iter::IntoIterator<Item = (K, V)>),
                quote!(
                    value
                        .into_iter()
                        .map(|(k, v)| (k.into(), v.into()))
                        .collect()
                ),
                quote!(<K: ::core::convert::Into<::std::string::String>, V: ::core::convert::Into<#inner>>),
            )
        }
        Ty::List(inner) => {
            let inner = rust_type(model, inner);
            (
                quote!(impl ::core::iter::IntoIterator<Item = V>),
                quote!(value.into_iter().map(::core::convert::Into::into).collect()),
                quote!(<V: ::core::convert::Into<#inner>>),
            )
        }
        other => (rust_type(model, other), quote!(value), quote!()),
    }
}
