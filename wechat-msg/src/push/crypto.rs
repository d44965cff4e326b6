//! The push signatures and WeChat's AES envelope.
//!
//! - Signatures: SHA-1 over the lexicographically sorted concatenation of the
//!   parts (`signature` of the URL check: token, timestamp, nonce;
//!   `msg_signature` of safe mode: the same plus the `Encrypt` text), hex,
//!   compared in constant time.
//! - The envelope: AES-256-CBC with the key `base64(EncodingAESKey + "=")`
//!   and its first 16 bytes as the IV, over `16 random bytes | message length
//!   (u32, big-endian) | message | appid`, padded PKCS#7 to a block of 32
//!   bytes (not AES's 16), then base64.

use std::fmt;

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// The push Token configured in the Mini Program's console (3 to 32
/// characters). Its Debug never shows it.
#[derive(Clone)]
pub struct PushToken(String);

impl PushToken {
    /// Checks the length WeChat allows.
    pub fn new(token: impl Into<String>) -> Result<Self, KeyError> {
        let token = token.into();
        if !(3..=32).contains(&token.chars().count()) {
            return Err(KeyError::TokenLength);
        }
        Ok(PushToken(token))
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PushToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PushToken(<redacted>)")
    }
}

/// The 32-byte AES key of an EncodingAESKey (43 base64 characters). Its Debug
/// never shows it.
#[derive(Clone)]
pub struct AesKey([u8; 32]);

impl fmt::Debug for AesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

/// What is wrong with a configured Token or EncodingAESKey. Never shows them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The Token is not 3 to 32 characters long.
    #[error("the push Token must be 3 to 32 characters long")]
    TokenLength,
    /// The EncodingAESKey is not 43 characters long.
    #[error("the EncodingAESKey must be 43 characters long")]
    AesKeyLength,
    /// The EncodingAESKey is not base64.
    #[error("the EncodingAESKey must be 43 base64 characters (A-Z, a-z, 0-9, +, /)")]
    AesKeyAlphabet,
}

/// Base64 that accepts the non-zero trailing bits of a 43-character key:
/// consoles generate keys from any 43 alphanumerics, not canonical base64.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl AesKey {
    /// Decodes an EncodingAESKey.
    pub fn from_encoding_aes_key(key: &str) -> Result<Self, KeyError> {
        if key.len() != 43 {
            return Err(KeyError::AesKeyLength);
        }
        let bytes = KEY_BASE64
            .decode(key)
            .map_err(|_| KeyError::AesKeyAlphabet)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::AesKeyAlphabet)?;
        Ok(AesKey(bytes))
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0; 16];
        iv.copy_from_slice(&self.0[..16]);
        iv
    }

    /// Seals `message` for `appid` with the 16 random bytes WeChat puts in
    /// front; returns the base64 `Encrypt` text.
    pub fn encrypt(&self, message: &[u8], appid: &str) -> String {
        let mut random = [0u8; 16];
        // The prefix only varies the ciphertext; it carries no secret.
        if getrandom::fill(&mut random).is_err() {
            fastrand::fill(&mut random);
        }
        self.encrypt_with(random, message, appid)
    }

    /// [`AesKey::encrypt`] with a given random prefix, for reproducible output.
    pub fn encrypt_with(&self, random: [u8; 16], message: &[u8], appid: &str) -> String {
        let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
        let mut plain = Vec::with_capacity(20 + message.len() + appid.len() + BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&length.to_be_bytes());
        plain.extend_from_slice(message);
        plain.extend_from_slice(appid.as_bytes());
        let pad = BLOCK - plain.len() % BLOCK;
        plain.resize(plain.len() + pad, pad as u8);
        let sealed = cbc::Encryptor::<aes::Aes256>::new(&self.0.into(), &self.iv().into())
            .encrypt_padded_vec_mut::<NoPadding>(&plain);
        STANDARD.encode(sealed)
    }

    /// Opens an `Encrypt` text: the message and the appid it was sealed for.
    pub fn decrypt(&self, encrypted: &str) -> Result<Opened, EnvelopeError> {
        let sealed = STANDARD
            .decode(encrypted.trim())
            .map_err(|_| EnvelopeError::NotBase64)?;
        if sealed.is_empty() || sealed.len() % 16 != 0 {
            return Err(EnvelopeError::Truncated);
        }
        let plain = cbc::Decryptor::<aes::Aes256>::new(&self.0.into(), &self.iv().into())
            .decrypt_padded_vec_mut::<NoPadding>(&sealed)
            .map_err(|_| EnvelopeError::Truncated)?;
        let pad = usize::from(*plain.last().ok_or(EnvelopeError::Truncated)?);
        if !(1..=BLOCK).contains(&pad)
            || pad > plain.len()
            || plain[plain.len() - pad..]
                .iter()
                .any(|&b| usize::from(b) != pad)
        {
            return Err(EnvelopeError::Padding);
        }
        let plain = &plain[..plain.len() - pad];
        if plain.len() < 20 {
            return Err(EnvelopeError::Truncated);
        }
        let length = u32::from_be_bytes([plain[16], plain[17], plain[18], plain[19]]) as usize;
        let rest = &plain[20..];
        if length > rest.len() {
            return Err(EnvelopeError::Length);
        }
        let (message, appid) = rest.split_at(length);
        let appid = String::from_utf8(appid.to_vec()).map_err(|_| EnvelopeError::AppId)?;
        let mut random = [0; 16];
        random.copy_from_slice(&plain[..16]);
        Ok(Opened {
            random,
            message: message.to_vec(),
            appid,
        })
    }
}

/// The block WeChat pads to.
const BLOCK: usize = 32;

/// An opened envelope.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    /// The random prefix.
    pub random: [u8; 16],
    /// The message: a push body in the configured encoding.
    pub message: Vec<u8>,
    /// The appid the message was sealed for.
    pub appid: String,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("message_len", &self.message.len())
            .field("appid", &self.appid)
            .finish_non_exhaustive()
    }
}

/// Why an `Encrypt` text does not open. Never shows the key or the text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Not base64.
    #[error("the encrypted text is not base64")]
    NotBase64,
    /// Not whole AES blocks, or too short to hold the header.
    #[error("the encrypted text is truncated")]
    Truncated,
    /// The PKCS#7 padding (to 32) is wrong: most often the wrong key.
    #[error("bad padding after decryption (wrong EncodingAESKey?)")]
    Padding,
    /// The length prefix points past the end.
    #[error("the decrypted message length is out of bounds (wrong EncodingAESKey?)")]
    Length,
    /// The trailing appid is not text.
    #[error("the decrypted appid is not text (wrong EncodingAESKey?)")]
    AppId,
}

/// The hex SHA-1 of the sorted concatenation of `parts`: WeChat's push
/// signature (`signature`, `msg_signature`, `MsgSignature`).
pub fn sign(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

/// The hex SHA-1 of `bytes`: what a nonce is remembered with.
pub fn digest(bytes: &[u8]) -> String {
    hex(&Sha1::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(40), |mut hex, byte| {
            use fmt::Write;
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The signature of `parts` with `token` first among them.
pub fn sign_with(token: &PushToken, parts: &[&str]) -> String {
    let mut all = Vec::with_capacity(parts.len() + 1);
    all.push(token.expose());
    all.extend_from_slice(parts);
    sign(&all)
}

/// Whether `given` is the signature of `parts` with `token`, compared in
/// constant time (case-insensitive hex).
pub fn verify(token: &PushToken, parts: &[&str], given: &str) -> bool {
    let expected = sign_with(token, parts);
    let given = given.to_ascii_lowercase();
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_url_check_vector() {
        let token = PushToken::new("AAAAA").unwrap();
        assert_eq!(
            sign_with(&token, &["1714036504", "1514711492"]),
            "f464b24fc39322e44b38aa78f5edd27bd1441696"
        );
        assert!(verify(
            &token,
            &["1514711492", "1714036504"],
            "F464B24FC39322E44B38AA78F5EDD27BD1441696"
        ));
        assert!(!verify(&token, &["1714036504", "1514711492"], "f464"));
    }

    #[test]
    fn the_official_encrypted_reply_vector() {
        let key = AesKey::from_encoding_aes_key(&"A".repeat(43)).unwrap();
        let token = PushToken::new("AAAAA").unwrap();
        let encrypt = "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==";
        assert_eq!(
            sign_with(&token, &["1713424427", "415670741", encrypt]),
            "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1"
        );
        let opened = key.decrypt(encrypt).unwrap();
        assert_eq!(opened.message, br#"{"demo_resp":"good luck"}"#);
        assert_eq!(opened.appid, "wxba5fad812f8e6fb9");
        // The same random prefix seals to the very same text: padding to 32
        // (19 bytes of it here) and the layout match WeChat's.
        assert_eq!(
            key.encrypt_with(opened.random, &opened.message, &opened.appid),
            encrypt
        );
    }

    /// Vectors computed independently of this code, with OpenSSL's
    /// `enc -aes-256-cbc -nopad` over a plaintext laid out by hand (random
    /// prefix 00..0f, one byte of padding) and Python's `hashlib.sha1`; the
    /// key is console-style, with non-zero trailing bits.
    #[test]
    fn independent_vectors() {
        let key =
            AesKey::from_encoding_aes_key("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ").unwrap();
        let message = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Content><![CDATA[你好]]></Content></xml>";
        let random: [u8; 16] = std::array::from_fn(|i| i as u8);
        let encrypt = "N7vKw2Od6MGfIdpGfed2lEfPa3uooqjSlFtWGzS5NskAp7eUZDVSMl4g1/DwBPBaZkVNKJ/I2W8Rw8XXGZX+JRAXoru7Q5F0QMyUHMK4eLkWzYsJPZ8R0sGBImyxpsOVlShYGKjcA+UdEpfaneiCGq9HW1ASnoor35EIS9yb5LU=";
        assert_eq!(
            key.encrypt_with(random, message.as_bytes(), "wx0123456789abcdef"),
            encrypt
        );
        let opened = key.decrypt(encrypt).unwrap();
        assert_eq!(opened.message, message.as_bytes());
        assert_eq!(opened.appid, "wx0123456789abcdef");
        let token = PushToken::new("PUSH-TOKEN").unwrap();
        assert_eq!(
            sign_with(&token, &["1700000000", "nonce-42", encrypt]),
            "7cd03dfae8506fa9361c6ae338bfdfce49af3457"
        );
        // Padding of 0, padding bytes that disagree, a length past the end:
        // each refused, none a panic.
        assert_eq!(
            key.decrypt("N7vKw2Od6MGfIdpGfed2lN+/JZ72+0cRATOxqFoTmhqi4Qtd9HINgP/tDFCNhJKDQMcLDgjH9ahTnStHv9RaQg==").unwrap_err(),
            EnvelopeError::Padding
        );
        assert_eq!(
            key.decrypt("N7vKw2Od6MGfIdpGfed2lN+/JZ72+0cRATOxqFoTmhrS7HQfIJC3ceCpbVHhV9RuOe2AmoavhwBsKEg42TAIbg==").unwrap_err(),
            EnvelopeError::Padding
        );
        assert_eq!(
            key.decrypt("N7vKw2Od6MGfIdpGfed2lMXYVQo9ckO6kjkHemBbrc4WZTQoMBPtRzq3hzT4Ijo5poTGlFufOdRsIs1r/IYwug==").unwrap_err(),
            EnvelopeError::Length
        );
    }

    #[test]
    fn padding_goes_to_a_block_of_32() {
        let key = AesKey::from_encoding_aes_key(&"A".repeat(43)).unwrap();
        let sealed = key.encrypt_with([7; 16], b"x", "wxba5fad812f8e6fb9");
        // 16 + 4 + 1 + 18 = 39 -> 64: 25 bytes of padding, more than 16.
        assert_eq!(STANDARD.decode(&sealed).unwrap().len(), 64);
        assert_eq!(key.decrypt(&sealed).unwrap().message, b"x");
    }

    #[test]
    fn keys_and_tokens_are_checked_and_never_shown() {
        assert_eq!(
            AesKey::from_encoding_aes_key("short").unwrap_err(),
            KeyError::AesKeyLength
        );
        assert_eq!(
            AesKey::from_encoding_aes_key(&"!".repeat(43)).unwrap_err(),
            KeyError::AesKeyAlphabet
        );
        assert_eq!(PushToken::new("ab").unwrap_err(), KeyError::TokenLength);
        let key = AesKey::from_encoding_aes_key(&"Q".repeat(43)).unwrap();
        let token = PushToken::new("SECRET-TOKEN").unwrap();
        let shown = format!("{key:?} {token:?}");
        assert!(
            !shown.contains("SECRET") && !shown.contains("QQQ"),
            "{shown}"
        );
    }

    #[test]
    fn broken_envelopes_are_refused_without_panic() {
        let key = AesKey::from_encoding_aes_key(&"A".repeat(43)).unwrap();
        let other = AesKey::from_encoding_aes_key(&"B".repeat(43)).unwrap();
        let sealed = key.encrypt_with([1; 16], b"hello", "wxAPPID");
        assert!(other.decrypt(&sealed).is_err());
        assert_eq!(key.decrypt("!!!").unwrap_err(), EnvelopeError::NotBase64);
        assert_eq!(key.decrypt("").unwrap_err(), EnvelopeError::Truncated);
        let bytes = STANDARD.decode(&sealed).unwrap();
        let cut = STANDARD.encode(&bytes[..bytes.len() - 16]);
        assert!(key.decrypt(&cut).is_err());
        let odd = STANDARD.encode(&bytes[..bytes.len() - 3]);
        assert_eq!(key.decrypt(&odd).unwrap_err(), EnvelopeError::Truncated);
    }
}
