//! `api!(crate = path, "dir")` and `templates!(crate = path, "file")`: the
//! generated code names the runtime crate only through the given path, so a
//! renamed dependency (`crate = ::wx`) or a re-export works.

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;

/// Every identifier `wechat_msg` in `tokens`, at any depth.
fn mentions(tokens: TokenStream, name: &str) -> usize {
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Ident(i) => usize::from(i == name),
            TokenTree::Group(g) => mentions(g.stream(), name),
            _ => 0,
        })
        .sum()
}

#[test]
fn the_generated_api_names_the_runtime_only_through_the_given_path() {
    let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api-spec");
    let default = wechat_msg_codegen::expand(&spec).unwrap();
    assert!(mentions(default, "wechat_msg") > 100);
    let renamed = wechat_msg_codegen::expand_with_runtime(&spec, &quote!(::wx)).unwrap();
    assert_eq!(mentions(renamed.clone(), "wechat_msg"), 0);
    assert!(mentions(renamed, "wx") > 100);
}

#[test]
fn the_generated_templates_name_the_runtime_only_through_the_given_path() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/templates/shop.toml");
    let renamed = wechat_msg_codegen::with_runtime(&quote!(::wx), || {
        wechat_msg_codegen::templates::expand_templates(&file, "shop.toml")
    })
    .unwrap();
    assert_eq!(mentions(renamed.clone(), "wechat_msg"), 0);
    assert!(mentions(renamed, "wx") > 10);
}

/// The runtime reached through a re-export, as a crate that re-exports its
/// dependencies would.
mod deps {
    pub use wechat_msg as wechat;
}

mod through_reexport {
    wechat_msg::templates!(crate = crate::deps::wechat, "ui/templates/shop.toml");
}

#[test]
fn templates_compile_against_a_reexported_runtime() {
    use crate::deps::wechat::keyword::{Amount, CharacterString};
    let paid = through_reexport::PaymentReceived::builder()
        .amount(Amount::try_from("¥1").unwrap())
        .order_no(CharacterString::try_from("A-1").unwrap())
        .build();
    assert_eq!(paid.to("OPENID").template_id, "PAY_TEMPLATE");
}
