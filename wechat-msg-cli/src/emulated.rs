//! What the CLI says of an emulator it starts, embedded to send to or in
//! the foreground.

use wechat_msg_emulator::Emulator;

/// `; OPENID has an open reply window (...); OPENID is subscribed to
/// TEMPLATE_ID (long-term)`: what the emulator grants at the start.
/// Customer-service messages to anyone else answer 45015 until they write,
/// and subscribe messages 43101 until they subscribe.
pub fn starting_state(emulator: &Emulator) -> String {
    let config = emulator.config();
    let conversation = &config.conversation;
    let mut out = String::new();
    if !conversation.open.is_empty() {
        out.push_str(&format!(
            "; {} {} an open reply window ({} messages within {} h, as if the user had just written)",
            conversation.open.join(", "),
            if conversation.open.len() == 1 {
                "has"
            } else {
                "have"
            },
            conversation.message_window_count,
            conversation.message_window.as_secs() / 3600
        ));
    }
    for grant in &config.subscriptions.granted {
        let held = emulator
            .subscriptions(&grant.openid)
            .into_iter()
            .any(|s| s.template_id == grant.template_id);
        if held {
            out.push_str(&format!(
                "; {} is subscribed to {} ({})",
                grant.openid,
                grant.template_id,
                match grant.times {
                    Some(n) => format!("{n} one-time"),
                    None => "long-term".to_owned(),
                }
            ));
        }
    }
    out
}
