//! The checking behind the generated [`keyword`](crate::keyword) module:
//! the error, and a rule as `[[keyword]]` declares it (a length, a pattern,
//! a stricter length when the value contains something), compiled on first
//! use.
//!
//! # Counting characters
//!
//! A character is a Unicode scalar value (Rust's [`char`]): `中` is 1, `😀`
//! is 1, `👨‍👩‍👧` (three people joined by two zero-width joiners) is 5, and an
//! `é` written as `e` + U+0301 (a combining accent) is 2. WeChat's docs do
//! not say how it counts; this reading never counts a CJK character as more
//! than one and never counts less than WeChat could.

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

/// The ellipsis a truncated value ends in; it counts toward the limit.
pub const ELLIPSIS: &str = "…";

/// Why a template keyword's value does not fit its type.
///
/// Its `Display` is the rule the value breaks, as it follows the value's
/// path: `data.thing1.value: longer than 20 characters (23)`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeywordError {
    /// The value is empty (WeChat: `data.thing1.value is empty`).
    #[error("is empty")]
    Empty,
    /// The value has more characters than the type allows.
    #[error("longer than {max} characters{} ({found})", with(*.when))]
    TooLong {
        /// The limit, in characters.
        max: usize,
        /// The value's length, in characters.
        found: usize,
        /// Set when a stricter limit applies because the value contains
        /// something: "Chinese characters".
        when: Option<&'static str>,
    },
    /// The value breaks the type's pattern.
    #[error("must be {rule}")]
    Rule {
        /// What the type asks for, in words.
        rule: &'static str,
    },
}

fn with(when: Option<&'static str>) -> String {
    when.map(|w| format!(" with {w}")).unwrap_or_default()
}

/// The number of characters of `text` as the keyword rules count them: its
/// Unicode scalar values.
pub fn count_chars(text: &str) -> usize {
    text.chars().count()
}

/// One keyword type's rule, as the spec declares it. Generated code makes
/// one `static` per type; the patterns are compiled on first use.
pub struct KeywordRule {
    max_chars: Option<usize>,
    pattern: Option<(&'static str, &'static str)>,
    when_contains: Option<(&'static str, usize, &'static str)>,
    compiled: OnceLock<Option<Regex>>,
    compiled_when: OnceLock<Option<Regex>>,
}

impl fmt::Debug for KeywordRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeywordRule")
            .field("max_chars", &self.max_chars)
            .field("pattern", &self.pattern)
            .field("when_contains", &self.when_contains)
            .finish()
    }
}

impl KeywordRule {
    /// A rule: at most `max_chars` characters; matching `pattern` (whole
    /// value) described by `rule`; at most the given characters when the
    /// value contains a match of `when_contains.0`, described by its `.2`.
    pub const fn new(
        max_chars: Option<usize>,
        pattern: Option<(&'static str, &'static str)>,
        when_contains: Option<(&'static str, usize, &'static str)>,
    ) -> Self {
        KeywordRule {
            max_chars,
            pattern,
            when_contains,
            compiled: OnceLock::new(),
            compiled_when: OnceLock::new(),
        }
    }

    /// The limit in characters, if the rule has one.
    pub fn max_chars(&self) -> Option<usize> {
        self.max_chars
    }

    /// Checks `text`: empty, then length, then the pattern.
    pub fn check(&self, text: &str) -> Result<(), KeywordError> {
        if text.is_empty() {
            return Err(KeywordError::Empty);
        }
        let found = count_chars(text);
        if let Some((pattern, max, what)) = self.when_contains
            && found > max
            && compile(&self.compiled_when, pattern).is_some_and(|re| re.is_match(text))
        {
            return Err(KeywordError::TooLong {
                max,
                found,
                when: Some(what),
            });
        }
        if let Some(max) = self.max_chars
            && found > max
        {
            return Err(KeywordError::TooLong {
                max,
                found,
                when: None,
            });
        }
        if let Some((pattern, rule)) = self.pattern
            && !compile(&self.compiled, pattern).is_some_and(|re| re.is_match(text))
        {
            return Err(KeywordError::Rule { rule });
        }
        Ok(())
    }

    /// `text` if it fits; else its longest prefix of whole grapheme clusters
    /// that fits once `…` is added, with `…` (which counts toward the
    /// limit); `…` alone when no prefix does (an empty text included). The
    /// generator allows truncation only for rules that `…` alone passes, so
    /// the result always fits.
    pub fn truncate(&self, text: &str) -> String {
        if self.check(text).is_ok() {
            return text.to_owned();
        }
        let budget = self.max_chars.unwrap_or(usize::MAX).saturating_sub(1);
        // Ends of grapheme clusters, shortest prefix first, within the budget.
        let mut ends = Vec::new();
        let mut chars = 0;
        for (start, grapheme) in text.grapheme_indices(true) {
            chars += grapheme.chars().count();
            if chars > budget {
                break;
            }
            ends.push(start + grapheme.len());
        }
        for end in ends.into_iter().rev() {
            let candidate = format!("{}{ELLIPSIS}", &text[..end]);
            if self.check(&candidate).is_ok() {
                return candidate;
            }
        }
        ELLIPSIS.to_owned()
    }
}

/// The compiled pattern. The generator compiled every pattern with the same
/// crate and features, so `None` (a pattern that does not compile) cannot
/// happen; it would make the check refuse every value rather than pass it.
fn compile<'a>(cell: &'a OnceLock<Option<Regex>>, pattern: &str) -> Option<&'a Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ellipsis_is_one_character() {
        assert_eq!(count_chars(ELLIPSIS), 1);
    }

    #[test]
    fn truncation_never_splits_a_grapheme_cluster() {
        let rule = KeywordRule::new(Some(4), None, None);
        // e + combining acute: one cluster of two characters.
        let text = "abe\u{301}cd";
        let cut = rule.truncate(text);
        assert_eq!(cut, "ab…");
        assert!(rule.check(&cut).is_ok());
        assert_eq!(rule.truncate(""), ELLIPSIS);
        assert_eq!(rule.truncate("abcd"), "abcd");
    }
}
