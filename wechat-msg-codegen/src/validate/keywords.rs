//! Template keywords: `[[keyword]]` types and their rules (names, limits,
//! patterns compiled with the same `regex` crate the runtime uses), and the
//! fields marked `keywords = "..."` that hold them.

use std::collections::HashMap;

use heck::ToUpperCamelCase;
use regex_syntax::hir::Look;

use super::{Validator, text};
use crate::error::Pos;
use crate::model::*;
use crate::raw::*;

/// The ellipsis a truncated value ends in; it counts toward the limit.
const ELLIPSIS: &str = "…";

/// Rust names the generated `keyword` module defines besides the newtypes.
const RESERVED: &[&str] = &["KeywordType", "KeywordError"];

impl Validator<'_> {
    /// Every `[[keyword]]` of the spec.
    pub(super) fn keywords(&mut self, files: &[RawFile]) -> Vec<Keyword> {
        let mut seen: HashMap<String, Pos> = HashMap::new();
        let mut out = Vec::new();
        for raw in files.iter().flat_map(|f| &f.keywords) {
            if let Some(keyword) = self.keyword(raw, &mut seen) {
                out.push(keyword);
            }
        }
        out
    }

    fn keyword(&mut self, k: &RawKeyword, seen: &mut HashMap<String, Pos>) -> Option<Keyword> {
        let name = k.name.as_ref()?;
        let mut ok = true;
        if !is_keyword_name(&name.value) {
            let msg = format!(
                "`{}` is not a keyword type name (lowercase letters and `_`, no digits: a key's type is the key without its trailing digits)",
                name.value
            );
            self.errors.push(&name.pos, msg);
            ok = false;
        } else if let Some(first) = seen.get(&name.value) {
            let msg = format!(
                "duplicate keyword type `{}`; it is already defined at {first}",
                name.value
            );
            self.errors.push(&name.pos, msg);
            ok = false;
        } else {
            seen.insert(name.value.clone(), name.pos.clone());
        }
        let rust = name.value.to_upper_camel_case();
        if RESERVED.contains(&rust.as_str()) {
            let msg = format!(
                "keyword type `{}` would be the Rust type `{rust}`, which the keyword module already defines",
                name.value
            );
            self.errors.push(&name.pos, msg);
            ok = false;
        }
        let max_chars = match &k.max_chars {
            Some(m) => {
                ok &= self.positive(m, "max_chars");
                usize::try_from(m.value).ok()
            }
            None => None,
        };
        let pattern = match &k.pattern {
            Some(p) => {
                ok &= self.pattern(p, true);
                Some(p.value.clone())
            }
            None => None,
        };
        match (&k.pattern, &k.rule) {
            (Some(p), None) => {
                self.errors.push(
                    &p.pos,
                    "a keyword with a `pattern` needs `rule`: what the pattern asks for, in words, for error messages",
                );
                ok = false;
            }
            (None, Some(r)) => {
                self.errors.push(
                    &r.pos,
                    "`rule` describes a `pattern`, and this keyword has none",
                );
                ok = false;
            }
            _ => {}
        }
        if k.max_chars.is_none() && k.pattern.is_none() {
            self.errors.push(
                &k.pos,
                format!(
                    "keyword type `{}` has no rule: give it `max_chars`, `pattern` or both",
                    name.value
                ),
            );
            ok = false;
        }
        let when_contains = match &k.when_contains {
            None => None,
            Some(w) => {
                let (Some(p), Some(m)) = (&w.pattern, &w.max_chars) else {
                    return None;
                };
                ok &= self.pattern(p, false) & self.positive(m, "max_chars");
                if k.max_chars.is_none() {
                    self.errors.push(
                        &w.pos,
                        "`when_contains` makes `max_chars` stricter, and this keyword has no `max_chars`",
                    );
                    ok = false;
                }
                Some(WhenContains {
                    pattern: p.value.clone(),
                    max_chars: usize::try_from(m.value).unwrap_or(0),
                    what: text(&w.what),
                })
            }
        };
        let truncate = k.truncate.as_ref().is_some_and(|t| t.value);
        if let Some(t) = k.truncate.as_ref().filter(|t| t.value) {
            ok &= self.truncatable(k, t, max_chars);
        }
        ok.then(|| Keyword {
            name: name.value.clone(),
            rust,
            doc: text(&k.doc),
            max_chars,
            pattern,
            rule: k.rule.as_ref().map(|r| r.value.clone()),
            when_contains,
            truncate,
        })
    }

    fn positive(&mut self, m: &Sp<i64>, key: &str) -> bool {
        if m.value < 1 {
            let msg = format!("`{key}` must be at least 1, not {}", m.value);
            self.errors.push(&m.pos, msg);
            return false;
        }
        true
    }

    /// A pattern compiles with the runtime's `regex` features; a whole-value
    /// pattern is anchored at both ends.
    fn pattern(&mut self, p: &Sp<String>, whole: bool) -> bool {
        if let Err(err) = regex::Regex::new(&p.value) {
            // The crate's message spans lines (the pattern, a caret, the
            // reason); the last line is the reason.
            let reason = err.to_string();
            let reason = reason.lines().last().unwrap_or_default().trim();
            let reason = reason.strip_prefix("error: ").unwrap_or(reason);
            let msg = format!("invalid pattern: {reason}");
            self.errors.push(&p.pos, msg);
            return false;
        }
        if whole {
            let anchored = regex_syntax::parse(&p.value).is_ok_and(|hir| {
                let props = hir.properties();
                props.look_set_prefix().contains(Look::Start)
                    && props.look_set_suffix().contains(Look::End)
            });
            if !anchored {
                self.errors.push(
                    &p.pos,
                    "the pattern must match the whole value: anchor every alternative with `^` at the start and `$` at the end",
                );
                return false;
            }
        }
        true
    }

    /// `truncate = true` is allowed where a cut value ending in `…` still
    /// fits: a fixed limit of at least 2 and a pattern that `…` passes.
    fn truncatable(&mut self, k: &RawKeyword, t: &Sp<bool>, max_chars: Option<usize>) -> bool {
        let mut ok = true;
        if max_chars.is_none_or(|m| m < 2) {
            self.errors.push(
                &t.pos,
                "`truncate` needs `max_chars` of at least 2 (the ellipsis counts toward it)",
            );
            ok = false;
        }
        if k.when_contains.is_some() {
            self.errors.push(
                &t.pos,
                "`truncate` needs one limit; this keyword's limit depends on `when_contains`",
            );
            ok = false;
        }
        if let Some(p) = &k.pattern
            && let Ok(re) = regex::Regex::new(&p.value)
            && !re.is_match(ELLIPSIS)
        {
            self.errors.push(
                &t.pos,
                format!("`truncate` ends a cut value in `{ELLIPSIS}`, which the pattern refuses"),
            );
            ok = false;
        }
        ok
    }

    /// Resolves each field's `keywords = "..."`: the field is a
    /// `map<Object>` and the name is a required string field of the object.
    pub(super) fn keyword_fields(
        &mut self,
        raw_types: &[&RawType],
        objects: &mut [Object],
        any_keywords: bool,
    ) {
        for (t, o) in raw_types.iter().zip(0..objects.len()) {
            for raw in &t.fields {
                let Some(mark) = &raw.keywords else { continue };
                let Some(http) = &raw.http else { continue };
                let Some(j) = objects[o].fields.iter().position(|f| f.http == http.value) else {
                    continue;
                };
                let resolved = match &objects[o].fields[j].ty {
                    Ty::Map(inner) => match **inner {
                        Ty::Object(i) => objects[i]
                            .fields
                            .iter()
                            .position(|f| f.http == mark.value && f.ty == Ty::String && f.required),
                        _ => None,
                    },
                    _ => None,
                };
                match resolved {
                    None => {
                        let msg = format!(
                            "`keywords = \"{}\"` marks a `map<T>` of template keywords whose type `T` has a required string field `{}` holding each keyword's text; field `{}` is not one",
                            mark.value, mark.value, http.value
                        );
                        self.errors.push(&mark.pos, msg);
                    }
                    Some(_) if !any_keywords => {
                        self.errors.push(
                            &mark.pos,
                            "`keywords` checks values against `[[keyword]]` types, and the spec declares none",
                        );
                    }
                    Some(k) => objects[o].fields[j].keywords = Some(k),
                }
            }
        }
    }
}

/// `thing`, `character_string`: lowercase ASCII letters joined by single
/// underscores.
fn is_keyword_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('_')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use crate::validate::tests::check;

    const MESSAGE: &str = r#"
[[endpoint]]
name = "msg.send"
method = "POST"
path = "/msg/send"
request = "Message"
doc = "Sends."

[[type]]
name = "Message"
doc = "A message."

[[type.field]]
http = "data"
cloud = "data"
type = "map<Item>"
required = true
keywords = "value"
doc = "Keywords."

[[type]]
name = "Item"
doc = "One keyword."

[[type.field]]
http = "value"
cloud = "value"
type = "string"
required = true
doc = "Its text."
"#;

    #[test]
    fn a_valid_keyword_table_reaches_the_model() {
        let spec = format!(
            "{MESSAGE}\n[[keyword]]\nname = \"character_string\"\ndoc = \"Codes.\"\nmax_chars = 32\npattern = '^[0-9A-Za-z]+$'\nrule = \"digits or letters\"\n"
        );
        let model = check(&spec).unwrap();
        assert_eq!(model.keywords.len(), 1);
        assert_eq!(model.keywords[0].rust, "CharacterString");
        assert_eq!(model.objects[0].fields[0].keywords, Some(0));
    }

    #[test]
    fn mistakes_are_reported_at_their_line() {
        let spec = format!(
            r#"{MESSAGE}
[[keyword]]
name = "thing"
doc = "Things."
max_chars = 20
pattern = '^[a-z+$'
rule = "letters"

[[keyword]]
name = "thing"
doc = "Again."
max_chars = 0

[[keyword]]
name = "short2"
doc = "Digits in the name."
pattern = '[a-z]+'
rule = "letters"

[[keyword]]
name = "phrase"
doc = "Cut."
max_chars = 5
pattern = '^[a-z]+$'
rule = "letters"
truncate = true

[[keyword]]
name = "empty"
doc = "No rule."
"#
        );
        let errors = check(&spec).unwrap_err();
        let at = |line: usize| {
            errors
                .iter()
                .filter(|e| e.starts_with(&format!("spec.toml:{line}:")))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert!(
            at(36)[0].contains("invalid pattern: unclosed character class"),
            "{errors:#?}"
        );
        assert!(
            at(40)[0].contains(
                "duplicate keyword type `thing`; it is already defined at spec.toml:33:8"
            ),
            "{errors:#?}"
        );
        assert_eq!(errors.len(), 7, "{errors:#?}");
        assert!(
            at(42)[0].contains("`max_chars` must be at least 1, not 0"),
            "{errors:#?}"
        );
        assert!(
            at(45)[0].contains("`short2` is not a keyword type name"),
            "{errors:#?}"
        );
        assert!(
            at(47)[0].contains("the pattern must match the whole value"),
            "{errors:#?}"
        );
        assert!(
            at(56)[0].contains("`truncate` ends a cut value in `…`, which the pattern refuses"),
            "{errors:#?}"
        );
        assert!(
            at(58)[0].contains("keyword type `empty` has no rule"),
            "{errors:#?}"
        );
    }

    #[test]
    fn a_keywords_mark_must_name_a_required_string_field_of_the_map_values() {
        let spec = MESSAGE.replace("keywords = \"value\"", "keywords = \"text\"")
            + "\n[[keyword]]\nname = \"thing\"\ndoc = \"Things.\"\nmax_chars = 20\n";
        let errors = check(&spec).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].starts_with("spec.toml:18:12: `keywords = \"text\"` marks a `map<T>`"),
            "{errors:#?}"
        );
        // Without any [[keyword]], the mark has nothing to check against.
        let errors = check(MESSAGE).unwrap_err();
        assert!(errors[0].contains("the spec declares none"), "{errors:#?}");
    }
}
