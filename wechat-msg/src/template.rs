//! Typed subscribe templates: the support of [`templates!`](crate::templates).
//!
//! A templates file lists the account's subscribe templates (each one's id,
//! title and keywords, with their types and Rust names);
//! `wechat_msg::templates!("templates.toml")` turns each template into a
//! struct whose fields are typed keyword values ([`crate::keyword`]) and a
//! typestate builder. `wechat-msg templates pull` writes the file from the
//! account's template list.
//!
//! ```toml
//! [[template]]
//! id = "TEMPLATE_ID"            # the template's priTmplId
//! rust = "OrderShipped"         # the generated struct
//! title = "Order shipped"
//!
//! [[template.keyword]]
//! key = "thing1"                # the key in `data`; its type is the key without the digits
//! rust = "item"                 # the struct field and builder setter
//! type = "thing"                # optional; must agree with the key
//! name = "Item"                 # optional: the keyword's label in the template
//! values = ["Shipped", "Lost"]  # optional: the only values allowed (an enum keyword)
//! ```
//!
//! A keyword whose type has no rule in the spec (`short_thing`, ...) takes a
//! plain `String`; one with `values` takes a generated newtype that accepts
//! only those values.

use std::fmt;

/// A value outside an enum keyword's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAllowed {
    key: &'static str,
    allowed: &'static [&'static str],
}

impl NotAllowed {
    /// The error for keyword `key`, whose values are `allowed`.
    #[doc(hidden)]
    pub fn new(key: &'static str, allowed: &'static [&'static str]) -> Self {
        NotAllowed { key, allowed }
    }

    /// The keyword's key (`phrase3`).
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The values the template allows.
    pub fn allowed(&self) -> &'static [&'static str] {
        self.allowed
    }
}

impl fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "data.{}.value: not one of the template's values (",
            self.key
        )?;
        for (i, v) in self.allowed.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{v:?}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for NotAllowed {}
