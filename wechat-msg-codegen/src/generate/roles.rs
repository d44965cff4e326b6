//! The runtime's `Role` enum, whose variants are the spec's role names
//! ([`Role::ALL`]): one list for both.

use proc_macro2::TokenStream;
use quote::quote;

use super::{docs, ident};
use crate::model::Role;

/// Fills in the runtime's `Role` enum. `item` is its declaration without
/// variants (docs, attributes, visibility, name: `pub enum Role {}`); each
/// role of [`Role::ALL`] is added as the variant [`Role::variant`],
/// documented by [`Role::doc`].
pub fn role_enum(item: TokenStream) -> syn::Result<TokenStream> {
    let input: syn::DeriveInput = syn::parse2(item)?;
    let syn::Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(&input.ident, "expected an enum"));
    };
    if !data.variants.is_empty() || !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "expected an enum without generics or variants: the variants are the spec's roles",
        ));
    }
    let syn::DeriveInput {
        attrs,
        vis,
        ident: name,
        ..
    } = &input;
    let variants = Role::ALL.iter().map(|role| {
        let doc = docs(role.doc());
        let variant = ident(&role.variant());
        quote!(#doc #variant,)
    });
    Ok(quote! {
        #(#attrs)*
        #vis enum #name {
            #(#variants)*
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_becomes_a_documented_variant() {
        let filled = role_enum(quote! {
            /// Roles.
            #[non_exhaustive]
            pub enum Role {}
        })
        .unwrap()
        .to_string();
        for role in Role::ALL {
            assert!(
                filled.contains(&format!("{} ,", role.variant())),
                "{filled}"
            );
        }
        assert!(filled.contains("non_exhaustive"));
        assert!(
            role_enum(quote!(
                pub enum Role {
                    A,
                }
            ))
            .is_err()
        );
        assert!(
            role_enum(quote!(
                pub struct Role;
            ))
            .is_err()
        );
    }
}
