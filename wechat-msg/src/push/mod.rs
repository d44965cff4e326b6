//! Receiving message pushes (feature `push`).
//!
//! WeChat announces what users do (a message to customer service, entering
//! the conversation, a subscribe popup answered, a subscribe message
//! delivered) by pushing it to the developer's server: signed with the push
//! Token and, in safe mode, sealed with the EncodingAESKey, as JSON or XML.
//! `crypto` has the signatures and the envelope.

pub mod body;
pub mod crypto;
