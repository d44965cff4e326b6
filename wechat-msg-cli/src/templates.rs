//! `wechat-msg templates pull`: the account's subscribe templates
//! (getTemplateList) as the templates file `wechat_msg::templates!` reads.
//!
//! Each keyword's key and type come from the template's content
//! (`会议时间:{{date2.DATA}}` is the key `date2`, of type `date`, labelled
//! `会议时间`); enum keywords get their `values` from
//! `keywordEnumValueList`. Struct names come from an ASCII title
//! (`Order shipped` -> `OrderShipped`), else `Template1`, `Template2`, ...
//! in list order; field names are the keys. Both are meant to be edited.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use heck::ToUpperCamelCase;
use wechat_msg::client::AnyError;
use wechat_msg::{GetTemplateList, TemplateList};
use wechat_msg_codegen::templates::{keyword_type, parse_templates};

use crate::failure::{Failure, failure_of};
use crate::output::{self, Foreign};
use crate::target::{Connected, Target, connect};

/// The endpoint that lists the account's templates.
const LIST: &str = "subscribeMessage.getTemplateList";

/// Pulls the template list through `target` and prints the templates file.
pub async fn pull(target: Target) -> Result<(), Failure> {
    let Connected {
        client,
        embedded,
        redactions,
        ..
    } = connect(target).await?;
    let result = client.send(&GetTemplateList::builder().build()).await;
    if let Some(emulator) = embedded {
        emulator.shutdown().await;
    }
    let list = result.map_err(|e| failure_of(&AnyError::from(e).into_inner(), &redactions))?;
    let text = render(&list).map_err(|e| Failure::answered(format!("{LIST}: {e}")))?;
    output::write_text(&text)
        .map_err(|e| Failure::invalid(format!("cannot write to standard output: {e}")))
}

/// A placeholder of a template's content: `{{KEY.DATA}}` and the text
/// before it on its line.
#[derive(Debug, PartialEq, Eq)]
pub struct Placeholder {
    /// The keyword's key (`thing1`).
    pub key: String,
    /// The label before it on its line, without the trailing colon.
    pub label: Option<String>,
}

/// The placeholders of a template's content, in order, each key once.
pub fn placeholders(content: &str) -> Vec<Placeholder> {
    let mut out: Vec<Placeholder> = Vec::new();
    for line in content.lines() {
        let mut rest = line;
        let mut before_start = 0;
        while let Some(open) = rest.find("{{") {
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else { break };
            let inner = after[..close].trim();
            let consumed = line.len() - rest.len();
            if let Some(key) = inner.strip_suffix(".DATA") {
                let label = line[before_start..consumed + open]
                    .trim()
                    .trim_end_matches([':', '：'])
                    .trim();
                if !out.iter().any(|p| p.key == key) {
                    out.push(Placeholder {
                        key: key.to_owned(),
                        label: (!label.is_empty()).then(|| label.to_owned()),
                    });
                }
            }
            rest = &after[close + 2..];
            before_start = line.len() - rest.len();
        }
    }
    out
}

/// The templates file of a getTemplateList answer.
pub fn render(list: &TemplateList) -> Result<String, String> {
    let mut out = String::from(
        "# The account's subscribe templates, from `wechat-msg templates pull`.\n\
         # Read by `wechat_msg::templates!(\"FILE\")`: rename `rust` names freely.\n",
    );
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (i, t) in list.data.iter().enumerate() {
        let (id, title, content) = (&t.pri_tmpl_id, &t.title, &t.content);
        let mut name = struct_name(title).unwrap_or_else(|| format!("Template{}", i + 1));
        let stem = name.clone();
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{stem}{n}");
            n += 1;
        }
        writeln!(out, "\n[[template]]").ok();
        writeln!(out, "id = {}", toml_string(id)).ok();
        writeln!(out, "rust = {}", toml_string(&name)).ok();
        writeln!(out, "title = {}", toml_string(title)).ok();
        let enums = t.keyword_enum_value_list.as_deref().unwrap_or_default();
        let keywords = placeholders(content);
        for p in keywords {
            let Some(ty) = keyword_type(&p.key) else {
                return Err(format!(
                    "template {}: keyword `{}` is not a type followed by digits",
                    Foreign(id),
                    Foreign(&p.key)
                ));
            };
            writeln!(out, "\n[[template.keyword]]").ok();
            writeln!(out, "key = {}", toml_string(&p.key)).ok();
            writeln!(out, "rust = {}", toml_string(&p.key)).ok();
            writeln!(out, "type = {}", toml_string(ty)).ok();
            if let Some(label) = &p.label {
                writeln!(out, "name = {}", toml_string(label)).ok();
            }
            let values = enums.iter().find(|e| {
                // WeChat writes the code as in the content: `phrase5.DATA`.
                let code = &e.keyword_code;
                code.strip_suffix(".DATA").unwrap_or(code) == p.key
            });
            if let Some(values) = values {
                let values: Vec<String> = values
                    .enum_value_list
                    .iter()
                    .map(|v| toml_string(v))
                    .collect();
                writeln!(out, "values = [{}]", values.join(", ")).ok();
            }
        }
    }
    // What is printed must be what `templates!` reads.
    parse_templates(&out, "templates.toml").map_err(|errors| {
        let shown: Vec<String> = errors
            .iter()
            .map(|e| Foreign(&e.to_string()).to_string())
            .collect();
        format!(
            "the account's templates do not make a valid templates file:\n{}",
            shown.join("\n")
        )
    })?;
    Ok(out)
}

/// `Order shipped` -> `OrderShipped`; `None` unless the title is ASCII
/// words that make a type name.
fn struct_name(title: &str) -> Option<String> {
    let ascii = title
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-' || c == '_');
    let name = title.to_upper_camel_case();
    (ascii && name.starts_with(|c: char| c.is_ascii_uppercase())).then_some(name)
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if output::is_unsafe(c) => {
                write!(out, "\\u{:04X}", c as u32).ok();
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use wechat_msg::{Answer, Form};

    use super::*;

    /// A getTemplateList answer in the HTTP form, typed.
    fn list(answer: Value) -> TemplateList {
        TemplateList::from_json(&answer, Form::Http).unwrap()
    }

    #[test]
    fn placeholders_give_key_and_label() {
        let content = "会议时间:{{date2.DATA}}\n会议地点：{{thing1.DATA}}\n{{phrase3.DATA}} and {{thing1.DATA}}";
        let got = placeholders(content);
        assert_eq!(
            got,
            vec![
                Placeholder {
                    key: "date2".into(),
                    label: Some("会议时间".into())
                },
                Placeholder {
                    key: "thing1".into(),
                    label: Some("会议地点".into())
                },
                Placeholder {
                    key: "phrase3".into(),
                    label: None
                },
            ]
        );
    }

    #[test]
    fn render_names_types_and_enum_values() {
        let answer = serde_json::json!({"errcode": 0, "data": [
            {"priTmplId": "A1", "title": "Order shipped", "type": 2,
             "content": "Item:{{thing1.DATA}}\nState:{{phrase2.DATA}}",
             "keywordEnumValueList": [{"keywordCode": "phrase2.DATA", "enumValueList": ["已发货", "已签收"]}]},
            {"priTmplId": "B\"2", "title": "会议提醒", "type": 2,
             "content": "会议时间:{{date2.DATA}}\n备注:{{short_thing3.DATA}}"},
            {"priTmplId": "C3", "title": "Order shipped", "type": 3,
             "content": "{{character_string12.DATA}}"}
        ]});
        let text = render(&list(answer)).unwrap();
        let parsed = parse_templates(&text, "t.toml").unwrap();
        let names: Vec<&str> = parsed.templates.iter().map(|t| t.rust.as_str()).collect();
        assert_eq!(names, ["OrderShipped", "Template2", "OrderShipped2"]);
        assert_eq!(parsed.templates[1].id, "B\"2");
        let k = &parsed.templates[0].keywords[1];
        assert_eq!((k.key.as_str(), k.ty.as_str()), ("phrase2", "phrase"));
        assert_eq!(
            k.values.as_deref(),
            Some(&["已发货".to_owned(), "已签收".to_owned()][..])
        );
        assert_eq!(parsed.templates[1].keywords[1].ty, "short_thing");
        assert_eq!(
            parsed.templates[1].keywords[0].name.as_deref(),
            Some("会议时间")
        );
    }

    #[test]
    fn a_key_that_is_not_a_type_is_an_error() {
        let answer = serde_json::json!({"data": [
            {"priTmplId": "A1", "title": "x", "type": 2, "content": "{{Bad.DATA}}"}
        ]});
        let err = render(&list(answer)).unwrap_err();
        assert!(
            err.contains("`Bad` is not a type followed by digits"),
            "{err}"
        );
    }

    #[test]
    fn unsafe_characters_are_escaped() {
        assert_eq!(
            toml_string("a\u{1b}[31m\u{202e}\"\\"),
            "\"a\\u001B[31m\\u202E\\\"\\\\\""
        );
    }
}
