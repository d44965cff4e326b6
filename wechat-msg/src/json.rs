//! The fast path's JSON reader: a serde [`Deserializer`] over a whole `&str`
//! that accepts a subset of what `serde_json` accepts and hands the
//! generated readers ([`Wire::read_from`](crate::Wire::read_from)) the same
//! visits `serde_json` would.
//!
//! It is the first of two reads. Anything it does not handle (a float, an
//! integer beyond 64 bits, `-0`, nesting deeper than [`MAX_DEPTH`]) and
//! anything that is not JSON is one opaque [`Unread`] error, and the caller
//! reads the text again with `serde_json` through a
//! [`Value`](serde_json::Value), whose reader accepts or refuses it and
//! names what is wrong. So the reader never needs to be more than correct on
//! what it accepts: every text it reads is read exactly as `serde_json`
//! reads it (a property test holds it to that).
//!
//! It is faster than `serde_json` on the short strings and keys of message
//! bodies because it does less: no error positions, no number forms it
//! would hand back anyway, a byte table for the end of a string.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// How deep arrays and objects may nest before the reader gives the text
/// up (`serde_json` allows 128).
pub(crate) const MAX_DEPTH: u32 = 100;

/// The reader gave the text up: it is not JSON, not of the type asked for,
/// or beyond what the reader handles. It says nothing more on purpose: the
/// caller reads the text again with the reader that names the fault.
#[derive(Debug)]
pub(crate) struct Unread;

impl fmt::Display for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the text is left to the full reader")
    }
}

impl std::error::Error for Unread {}

impl de::Error for Unread {
    #[inline]
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unread
    }
}

/// Bytes that end the plain run of a string: the quote, the backslash and
/// the control characters JSON forbids raw.
static STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// A string read from the text: borrowed when it holds no escape, else
/// decoded into the reader's scratch buffer.
enum Str<'de, 's> {
    Borrowed(&'de str),
    Copied(&'s str),
}

impl<'de> Str<'de, '_> {
    /// Hands the string to `visitor`, borrowed from the text when it is.
    #[inline]
    fn visit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        match self {
            Str::Borrowed(s) => visitor.visit_borrowed_str(s),
            Str::Copied(s) => visitor.visit_str(s),
        }
    }
}

/// Reads one JSON text; see the module's documentation.
pub(crate) struct Reader<'de> {
    text: &'de str,
    pos: usize,
    depth: u32,
    scratch: String,
}

impl<'de> Reader<'de> {
    /// A reader at the start of `text`.
    pub(crate) fn new(text: &'de str) -> Self {
        Reader {
            text,
            pos: 0,
            depth: 0,
            scratch: String::new(),
        }
    }

    /// Whether only whitespace is left after the value read.
    pub(crate) fn end(&mut self) -> Result<(), Unread> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Unread),
        }
    }

    /// The next byte that is not JSON whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b' ' | b'\n' | b'\t' | b'\r' => self.pos += 1,
                _ => return Some(b),
            }
        }
        None
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Result<(), Unread> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Unread)
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), Unread> {
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        if rest.starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Unread)
        }
    }

    /// The string whose opening quote is at `pos`.
    #[inline]
    fn string(&mut self) -> Result<Str<'de, '_>, Unread> {
        let bytes = self.text.as_bytes();
        let start = self.pos + 1;
        // Most keys and values are short: their first bytes one by one.
        let short = bytes.len().min(start + 16);
        let mut at = start;
        while at < short {
            if STOP[bytes[at] as usize] {
                return self.string_at_stop(start, at);
            }
            at += 1;
        }
        self.long_string(start, at)
    }

    /// The rest of a string longer than the first bytes `string` scans:
    /// eight bytes at a time while eight are left, then byte by byte.
    #[inline(never)]
    fn long_string(&mut self, start: usize, mut at: usize) -> Result<Str<'de, '_>, Unread> {
        let bytes = self.text.as_bytes();
        while let Some(chunk) = bytes.get(at..at + 8) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let stops = stop_bytes(u64::from_le_bytes(word));
            if stops != 0 {
                at += (stops.trailing_zeros() / 8) as usize;
                return self.string_at_stop(start, at);
            }
            at += 8;
        }
        while let Some(&b) = bytes.get(at) {
            if STOP[b as usize] {
                return self.string_at_stop(start, at);
            }
            at += 1;
        }
        Err(Unread)
    }

    /// The string from `start` whose first stop byte is at `at`: its end
    /// when that is the closing quote, else an escape to decode.
    #[inline]
    fn string_at_stop(&mut self, start: usize, at: usize) -> Result<Str<'de, '_>, Unread> {
        if self.text.as_bytes().get(at) == Some(&b'"') {
            self.pos = at + 1;
            // Both ends are ASCII bytes, so char boundaries.
            return self.text.get(start..at).map(Str::Borrowed).ok_or(Unread);
        }
        self.escaped(start, at)
    }

    /// The rest of a string from its first backslash or control byte at
    /// `at`, decoded into the scratch buffer.
    #[cold]
    fn escaped(&mut self, start: usize, mut at: usize) -> Result<Str<'de, '_>, Unread> {
        let text = self.text;
        let bytes = text.as_bytes();
        self.scratch.clear();
        let mut run = start;
        loop {
            let &b = bytes.get(at).ok_or(Unread)?;
            if !STOP[b as usize] {
                at += 1;
                continue;
            }
            self.scratch.push_str(text.get(run..at).ok_or(Unread)?);
            match b {
                b'"' => {
                    self.pos = at + 1;
                    return Ok(Str::Copied(&self.scratch));
                }
                b'\\' => {
                    let &kind = bytes.get(at + 1).ok_or(Unread)?;
                    at += 2;
                    let c = match kind {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let unit = hex4(bytes, at)?;
                            at += 4;
                            match unit {
                                0xD800..=0xDBFF => {
                                    if bytes.get(at..at + 2) != Some(b"\\u") {
                                        return Err(Unread);
                                    }
                                    let low = hex4(bytes, at + 2)?;
                                    if !(0xDC00..=0xDFFF).contains(&low) {
                                        return Err(Unread);
                                    }
                                    at += 6;
                                    let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                                    char::from_u32(code).ok_or(Unread)?
                                }
                                0xDC00..=0xDFFF => return Err(Unread),
                                _ => char::from_u32(unit).ok_or(Unread)?,
                            }
                        }
                        _ => return Err(Unread),
                    };
                    self.scratch.push(c);
                    run = at;
                }
                // A raw control character.
                _ => return Err(Unread),
            }
        }
    }

    /// An integer in JSON's grammar that fits 64 bits and is not `-0`,
    /// visited as serde_json visits it (`u64` when not negative). Anything
    /// else is given up.
    fn number<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, Unread> {
        let bytes = self.text.as_bytes();
        let negative = bytes.get(self.pos) == Some(&b'-');
        let mut at = self.pos + usize::from(negative);
        let mut value: u64 = match bytes.get(at) {
            Some(b'0') => {
                at += 1;
                0
            }
            Some(&d @ b'1'..=b'9') => {
                at += 1;
                let mut value = u64::from(d - b'0');
                while let Some(&d @ b'0'..=b'9') = bytes.get(at) {
                    value = value
                        .checked_mul(10)
                        .and_then(|v| v.checked_add(u64::from(d - b'0')))
                        .ok_or(Unread)?;
                    at += 1;
                }
                value
            }
            _ => return Err(Unread),
        };
        // A fraction or an exponent: a float, left to serde_json.
        if matches!(bytes.get(at), Some(b'.' | b'e' | b'E' | b'0'..=b'9')) {
            return Err(Unread);
        }
        self.pos = at;
        if negative {
            if value == 0 || value > i64::MAX as u64 + 1 {
                return Err(Unread);
            }
            value = value.wrapping_neg();
            visitor.visit_i64(value as i64)
        } else {
            visitor.visit_u64(value)
        }
    }

    /// An object or an array: `open`, what `read` reads, `close`, one
    /// level deeper.
    #[inline]
    fn nested<T>(
        &mut self,
        open: u8,
        close: u8,
        read: impl FnOnce(&mut Self) -> Result<T, Unread>,
    ) -> Result<T, Unread> {
        self.expect(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Unread);
        }
        let value = read(self)?;
        self.depth -= 1;
        self.expect(close)?;
        Ok(value)
    }
}

/// A mask whose lowest set bit is in the first byte of `word` (read little
/// endian) that is a quote, a backslash or below 0x20; zero when none is.
/// (Bits above the first such byte may be set spuriously by borrows: only
/// the lowest counts.)
#[inline]
fn stop_bytes(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero(quote) | zero(backslash) | (word.wrapping_sub(ONES * 0x20) & !word)) & HIGH
}

fn hex4(bytes: &[u8], at: usize) -> Result<u32, Unread> {
    let digits = bytes.get(at..at + 4).ok_or(Unread)?;
    let mut unit = 0;
    for &d in digits {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(Unread),
        };
        unit = unit << 4 | u32::from(v);
    }
    Ok(unit)
}

impl<'de> Deserializer<'de> for &mut Reader<'de> {
    type Error = Unread;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        match self.peek().ok_or(Unread)? {
            b'"' => self.string()?.visit(visitor),
            b'{' => self.deserialize_map(visitor),
            b'[' => self.deserialize_seq(visitor),
            b't' => {
                self.literal("true")?;
                visitor.visit_bool(true)
            }
            b'f' => {
                self.literal("false")?;
                visitor.visit_bool(false)
            }
            b'n' => {
                self.literal("null")?;
                visitor.visit_unit()
            }
            b'-' | b'0'..=b'9' => self.number(visitor),
            _ => Err(Unread),
        }
    }

    #[inline]
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        self.nested(b'{', b'}', |reader| {
            visitor.visit_map(Entries {
                reader,
                first: true,
            })
        })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        self.nested(b'[', b']', |reader| {
            visitor.visit_seq(Items {
                reader,
                first: true,
            })
        })
    }

    #[inline]
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        if self.peek() != Some(b'"') {
            return Err(Unread);
        }
        self.string()?.visit(visitor)
    }

    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        if self.peek() == Some(b'n') {
            self.literal("null")?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Unread> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unread> {
        self.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
        unit unit_struct tuple tuple_struct enum identifier ignored_any
    }
}

/// The entries of an object being read.
struct Entries<'a, 'de> {
    reader: &'a mut Reader<'de>,
    first: bool,
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = Unread;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Unread> {
        let reader = &mut *self.reader;
        match reader.peek() {
            Some(b'}') => return Ok(None),
            Some(b',') if !self.first => {
                reader.pos += 1;
                if reader.peek() != Some(b'"') {
                    return Err(Unread);
                }
            }
            Some(b'"') if self.first => {}
            _ => return Err(Unread),
        }
        self.first = false;
        let key = reader.string()?;
        seed.deserialize(KeyReader(key)).map(Some)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Unread> {
        self.reader.expect(b':')?;
        seed.deserialize(&mut *self.reader)
    }
}

/// The items of an array being read.
struct Items<'a, 'de> {
    reader: &'a mut Reader<'de>,
    first: bool,
}

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = Unread;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Unread> {
        let reader = &mut *self.reader;
        match reader.peek() {
            Some(b']') => return Ok(None),
            Some(b',') if !self.first => reader.pos += 1,
            Some(_) if self.first => {}
            _ => return Err(Unread),
        }
        self.first = false;
        seed.deserialize(&mut *reader).map(Some)
    }
}

/// An object key: a string to every visitor.
struct KeyReader<'de, 's>(Str<'de, 's>);

impl<'de> Deserializer<'de> for KeyReader<'de, '_> {
    type Error = Unread;

    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unread> {
        self.0.visit(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
        struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::Value;

    fn read(text: &str) -> Option<Value> {
        let mut reader = Reader::new(text);
        let value = Value::deserialize(&mut reader).ok()?;
        reader.end().ok().map(|()| value)
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"touser":"OPENID","msgtype":"text","text":{"content":"Hello World"}}"#,
            r#" { "a" : [ 1 , -2 , true , false , null , "" , {} , [] ] } "#,
            r#"["\"\\\/\b\f\n\r\t\u00e9\u4e2d\ud83d\ude00 tail"]"#,
            r#"[18446744073709551615, -9223372036854775808, 0]"#,
        ] {
            let expected: Value = serde_json::from_str(text).unwrap();
            assert_eq!(read(text), Some(expected), "{text}");
        }
    }

    #[test]
    fn gives_up_on_what_it_leaves_to_serde_json_and_on_what_is_not_json() {
        for text in [
            "",
            " ",
            "1.5",
            "1e3",
            "-0",
            "18446744073709551616",
            "-9223372036854775809",
            "01",
            "[1,]",
            "{\"a\":1,}",
            "{,}",
            "[,1]",
            "{\"a\" 1}",
            "{\"a\":}",
            "tru",
            "nul",
            "\"a",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\u{1}\"",
            "\"\\u12\"",
            "{} {}",
            "\u{feff}{}",
            "{\"a\":1]",
            "[1}",
            "-",
            "+1",
            ".5",
        ] {
            assert_eq!(read(text), None, "{text:?}");
        }
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_DEPTH as usize + 1),
            "]".repeat(MAX_DEPTH as usize + 1)
        );
        assert_eq!(read(&deep), None);
        let deep_enough = format!(
            "{}{}",
            "[".repeat(MAX_DEPTH as usize),
            "]".repeat(MAX_DEPTH as usize)
        );
        assert!(read(&deep_enough).is_some());
    }

    proptest! {
        /// The word-at-a-time scan finds the first stop byte the table finds.
        #[test]
        fn the_word_scan_finds_the_first_stop_byte(word in any::<[u8; 8]>()) {
            let first = word.iter().position(|&b| STOP[b as usize]);
            let stops = stop_bytes(u64::from_le_bytes(word));
            let found = (stops != 0).then(|| (stops.trailing_zeros() / 8) as usize);
            prop_assert_eq!(found, first);
        }
    }

    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            Just("-0".to_owned()),
            Just("1.25".to_owned()),
            r#""([a-z ]|\\\\|\\"|\\u00e9|\\ud83d\\ude00|\\n|中){0,6}""#,
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec(("[a-c]{1,2}", inner), 0..4).prop_map(|entries| {
                    let entries: Vec<String> = entries
                        .into_iter()
                        .map(|(k, v)| format!("\"{k}\":{v}"))
                        .collect();
                    format!("{{{}}}", entries.join(","))
                }),
            ]
        })
    }

    proptest! {
        /// Whatever the reader accepts, serde_json accepts as the same value:
        /// over JSON texts and over the same texts with a byte dropped,
        /// doubled or replaced by structure or whitespace.
        #[test]
        fn what_it_reads_serde_json_reads_alike(
            text in json_text(),
            cut in any::<prop::sample::Index>(),
            edit in 0u8..6,
            insert in prop::sample::select(vec![",", ":", "\"", "\\", " ", "}", "]", "0", "-", "\u{1}"]),
        ) {
            let mut edited = text.clone();
            if edit > 0 && !text.is_empty() {
                let mut at = cut.index(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                match edit {
                    1 => { edited.remove(at); }
                    2 => edited.insert_str(at, insert),
                    _ => {
                        let c = edited.remove(at);
                        let _ = c;
                        edited.insert_str(at, insert);
                    }
                }
            }
            for text in [&text, &edited] {
                let ours = read(text);
                let theirs = serde_json::from_str::<Value>(text).ok();
                if let Some(ours) = ours {
                    prop_assert_eq!(Some(ours), theirs, "{:?}", text);
                }
            }
            // The unedited text is read unless it holds what is left to serde_json.
            if !text.contains("-0") && !text.contains("1.25") {
                prop_assert!(read(&text).is_some(), "{:?}", text);
            }
        }
    }
}
