//! The checking behind the generated [`keyword`](crate::keyword) module:
//! the error, and a rule as `[[keyword]]` declares it (a length, a pattern,
//! a stricter length when the value contains something), compiled on first
//! use.
//!
//! # Matching patterns
//!
//! Values are checked on every parse and every send, so a pattern is
//! compiled once into a full DFA (`regex-automata`'s dense DFA: a table
//! lookup a byte, no per-search setup). A pattern the DFA cannot hold
//! within [`DFA_SIZE_LIMIT`] (or one it does not support, such as a Unicode
//! word boundary) is matched by the `regex` crate instead. Both read the
//! pattern with the same syntax and the same Unicode tables, so they match
//! the same values.
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
use regex_automata::Anchored;
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
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
    compiled: OnceLock<Option<Matcher>>,
    compiled_when: OnceLock<Option<Matcher>>,
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
        // A text has at most as many characters as bytes: it is counted
        // only when its bytes exceed a limit.
        let over = |max: usize| -> Option<usize> {
            if text.len() <= max {
                return None;
            }
            let found = count_chars(text);
            (found > max).then_some(found)
        };
        if let Some((pattern, max, what)) = self.when_contains
            && let Some(found) = over(max)
            && compile(&self.compiled_when, pattern).is_some_and(|m| m.is_match(text))
        {
            return Err(KeywordError::TooLong {
                max,
                found,
                when: Some(what),
            });
        }
        if let Some(max) = self.max_chars
            && let Some(found) = over(max)
        {
            return Err(KeywordError::TooLong {
                max,
                found,
                when: None,
            });
        }
        if let Some((pattern, rule)) = self.pattern
            && !compile(&self.compiled, pattern).is_some_and(|m| m.is_match(text))
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

/// The most memory a pattern's DFA may take; a pattern whose DFA would be
/// larger is matched by the `regex` crate. The spec's largest (a symbol or
/// a digit, Latin letter or symbol: Unicode's punctuation and symbol
/// classes) take well under it.
pub const DFA_SIZE_LIMIT: usize = 4 << 20;

/// A compiled pattern: a full DFA with its start state for a search from
/// the beginning of a text, or the `regex` crate's matcher when no DFA
/// within [`DFA_SIZE_LIMIT`] holds the pattern.
enum Matcher {
    Dfa(Box<dense::DFA<Vec<u32>>>, StateID),
    Regex(Regex),
}

impl Matcher {
    fn new(pattern: &str) -> Option<Matcher> {
        Matcher::within(pattern, DFA_SIZE_LIMIT)
    }

    /// A DFA of at most `limit` bytes, else the `regex` crate's matcher.
    fn within(pattern: &str, limit: usize) -> Option<Matcher> {
        let config = dense::Config::new()
            .start_kind(StartKind::Unanchored)
            .dfa_size_limit(Some(limit))
            .determinize_size_limit(Some(limit));
        let dfa = dense::Builder::new().configure(config).build(pattern);
        if let Ok(dfa) = dfa
            && let Ok(start) = dfa.start_state(&start::Config::new().anchored(Anchored::No))
        {
            return Some(Matcher::Dfa(Box::new(dfa), start));
        }
        Regex::new(pattern).ok().map(Matcher::Regex)
    }

    /// Whether the pattern matches somewhere in `text`.
    fn is_match(&self, text: &str) -> bool {
        match self {
            Matcher::Dfa(dfa, start) => {
                // The walk of `Automaton::next_state`'s documentation, ended
                // early by a dead state or a match. A match state is entered
                // one byte after the match (or on the end-of-input
                // transition), so entering one means there is a match. The
                // DFA has no quit bytes, so no quit state.
                let mut state = *start;
                for &byte in text.as_bytes() {
                    state = dfa.next_state(state, byte);
                    if dfa.is_special_state(state) {
                        if dfa.is_match_state(state) {
                            return true;
                        }
                        if dfa.is_dead_state(state) {
                            return false;
                        }
                    }
                }
                dfa.is_match_state(dfa.next_eoi_state(state))
            }
            Matcher::Regex(re) => re.is_match(text),
        }
    }
}

/// The compiled pattern. The generator compiled every pattern with the same
/// crate and features, so `None` (a pattern that does not compile) cannot
/// happen; it would make the check refuse every value rather than pass it.
fn compile<'a>(cell: &'a OnceLock<Option<Matcher>>, pattern: &str) -> Option<&'a Matcher> {
    cell.get_or_init(|| Matcher::new(pattern)).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pattern of the spec, with the rule it belongs to.
    fn spec_patterns() -> Vec<(crate::keyword::KeywordType, &'static str)> {
        let mut patterns = Vec::new();
        for &ty in crate::keyword::KeywordType::ALL {
            let rule = ty.rule();
            patterns.extend(rule.pattern.map(|(p, _)| (ty, p)));
            patterns.extend(rule.when_contains.map(|(p, _, _)| (ty, p)));
        }
        patterns
    }

    #[test]
    fn every_pattern_of_the_spec_is_matched_by_a_dfa() {
        let patterns = spec_patterns();
        assert!(patterns.len() >= 10, "{patterns:?}");
        for (ty, pattern) in patterns {
            assert!(
                matches!(Matcher::new(pattern), Some(Matcher::Dfa(..))),
                "{ty}: {pattern} is not held by a DFA within the size limit"
            );
        }
    }

    #[test]
    fn a_pattern_no_dfa_holds_is_matched_by_the_regex_crate() {
        let pattern = r"^[\p{Han}a-z]{2,4}$";
        assert!(matches!(
            Matcher::within(pattern, 1 << 20),
            Some(Matcher::Dfa(..))
        ));
        let matcher = Matcher::within(pattern, 64).unwrap();
        assert!(matches!(matcher, Matcher::Regex(_)));
        assert!(matcher.is_match("中文ab"));
        assert!(!matcher.is_match("中"));
        assert!(Matcher::within("(", 1 << 20).is_none());
    }

    #[test]
    fn the_dfa_and_the_regex_crate_agree_on_values_of_every_type() {
        let values = [
            "Order shipped",
            "339208499",
            "3.14",
            "2015-01-05",
            "2019年10月1日",
            "10月1日",
            "2019/10/01 15:01",
            "2019.10.01~2019.10.02",
            "15:01",
            "15:01:02~16:00",
            "24:00",
            "已发货",
            "已发货了吗呀",
            "SF1234567890",
            "¥100.50元",
            "$5",
            "+86-010-1234",
            "粤A12345",
            "A12345",
            "张三",
            "John Smith",
            "!?",
            "😀",
            "e\u{301}",
            "",
            " ",
        ];
        let mut matched = 0;
        for (ty, pattern) in spec_patterns() {
            let dfa = Matcher::new(pattern).unwrap();
            let re = Regex::new(pattern).unwrap();
            for value in values {
                assert_eq!(dfa.is_match(value), re.is_match(value), "{ty}: {value:?}");
                matched += usize::from(re.is_match(value));
            }
        }
        // The values hold matches, not only refusals.
        assert!(matched > 20, "{matched}");
    }

    proptest::proptest! {
        /// The DFA and the regex crate agree on every pattern of the spec,
        /// over texts made of what the patterns speak of.
        #[test]
        fn the_dfa_matches_what_the_regex_crate_matches(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "0", "1", "2", "5", "9", "12", "2019", "23", "59", "a", "Z", "x", " ", "-", "/",
                    ".", ":", "~", "年", "月", "日", "元", "¥", "$", "中", "文", "!", "?", "%",
                    "😀", "é", "\u{301}", "\u{200d}", "_", "@", "\n",
                ]),
                0..12,
            )
        ) {
            static COMPILED: std::sync::LazyLock<Vec<(crate::keyword::KeywordType, Matcher, Regex)>> =
                std::sync::LazyLock::new(|| {
                    spec_patterns()
                        .into_iter()
                        .map(|(ty, p)| (ty, Matcher::new(p).unwrap(), Regex::new(p).unwrap()))
                        .collect()
                });
            let text: String = pieces.concat();
            for (ty, dfa, re) in COMPILED.iter() {
                proptest::prop_assert_eq!(dfa.is_match(&text), re.is_match(&text), "{}: {:?}", ty, text);
            }
        }
    }

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
