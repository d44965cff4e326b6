//! The push keys of the commands that seal and open pushes (`push`,
//! `listen`): plaintext mode, or safe mode with a key and an appid.

use crate::failure::Failure;

/// `--aes-key` and `--appid`: both (safe mode) or neither (plaintext).
pub fn safe_mode<'a>(
    aes_key: &'a Option<String>,
    appid: &'a Option<String>,
) -> Result<Option<(&'a str, &'a str)>, Failure> {
    match (aes_key, appid) {
        (Some(key), Some(appid)) => Ok(Some((key, appid))),
        (None, None) => Ok(None),
        _ => Err(Failure::invalid(
            "--aes-key and --appid go together (safe mode needs both)",
        )),
    }
}
