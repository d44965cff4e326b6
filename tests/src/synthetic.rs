//! A synthetic spec of `n` endpoints, for scale tests: each endpoint has its
//! own request type with fields of every kind (string, integer, bool, string
//! enum, nested object, template keyword map, list, optional and required),
//! a tagged union of two payload types, and errcodes of its own on top of a
//! shared table. One file per endpoint, as a real spec is written.

use std::fmt::Write as _;
use std::path::Path;

/// The files of the synthetic spec: `(file name, contents)`, shared ones first.
pub fn spec_files(n: usize) -> Vec<(String, String)> {
    let mut files = vec![
        ("errcodes.toml".to_owned(), SHARED_ERRCODES.to_owned()),
        ("types.toml".to_owned(), SHARED_TYPES.to_owned()),
    ];
    files.extend((0..n).map(|i| (format!("synth{i:04}.toml"), endpoint_file(i))));
    files
}

/// Writes the synthetic spec of `n` endpoints into `dir` (created if needed),
/// replacing any `*.toml` already there.
pub fn write_spec(n: usize, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            std::fs::remove_file(path)?;
        }
    }
    for (name, text) in spec_files(n) {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

const SHARED_ERRCODES: &str = r#"# Codes every synthetic endpoint answers.

[[errcode]]
code = -1
rust = "SystemBusy"
class = "retry"
description = "System is busy."

[[errcode]]
code = 40001
rust = "InvalidCredential"
class = "refresh_token"
description = "Invalid access_token."

[[errcode]]
code = 45009
rust = "DailyQuotaExceeded"
class = "permanent"
description = "Daily quota exceeded."
"#;

const SHARED_TYPES: &str = r#"# Types every synthetic endpoint uses.

[[type]]
name = "TemplateKeyword"
doc = "A template keyword's value."

[[type.field]]
http = "value"
cloud = "value"
type = "string"
required = true
doc = "The text."

[[type.field]]
http = "color"
cloud = "color"
type = "string"
doc = "The color."

[[enum]]
name = "Level"
doc = "How loud a message is."

[[enum.value]]
wire = "quiet"
doc = "Quiet."

[[enum.value]]
wire = "normal"
doc = "Normal."

[[enum.value]]
wire = "loud"
doc = "Loud."
"#;

/// One endpoint, its request, its nested object, its union and its errcodes.
fn endpoint_file(i: usize) -> String {
    let p = format!("Synth{i:04}");
    let mut s = String::new();
    let _ = write!(
        s,
        r#"# Synthetic endpoint {i}.

[[endpoint]]
name = "synth{i:04}.send"
method = "POST"
path = "/cgi-bin/synth/{i}/send"
request = "{p}Request"
doc = "Synthetic endpoint {i}."

[[endpoint.errcode]]
code = {code1}
rust = "QuotaGone"
class = "permanent"
description = "The endpoint's quota is gone."

[[endpoint.errcode]]
code = {code2}
rust = "TryLater"
class = "retry"
description = "Try again later."

[[type]]
name = "{p}Request"
doc = "The request of synthetic endpoint {i}."
"#,
        code1 = 90_000 + 2 * i,
        code2 = 90_001 + 2 * i,
    );
    let fields: [(&str, &str, String, bool); 10] = [
        ("touser", "touser", "string".into(), true),
        ("template_id", "templateId", "string".into(), true),
        ("page_path", "pagePath", "string".into(), false),
        ("retry_count", "retryCount", "integer".into(), false),
        ("is_urgent", "isUrgent", "bool".into(), false),
        ("level", "level", "Level".into(), false),
        ("target", "target", format!("{p}Target"), true),
        ("data", "data", "map<TemplateKeyword>".into(), false),
        ("tag_list", "tagList", "list<string>".into(), false),
        (
            "emphasis_keyword",
            "emphasisKeyword",
            "string".into(),
            false,
        ),
    ];
    for (http, cloud, ty, required) in fields {
        field(&mut s, http, cloud, &ty, required);
    }
    let _ = write!(
        s,
        r#"
[type.union]
rust = "body"
enum = "{p}Body"
tag = "kind"
doc = "What is sent."

[[type.union.variant]]
value = "note"
payload = "{p}Note"
doc = "A note."

[[type.union.variant]]
value = "card"
payload = "{p}Card"
doc = "A card."

[[type]]
name = "{p}Target"
doc = "Where the message leads."
"#
    );
    field(&mut s, "appid", "appid", "string", true);
    field(&mut s, "pagepath", "pagepath", "string", true);
    let _ = write!(
        s,
        r#"
[[type]]
name = "{p}Note"
doc = "A note's payload."
"#
    );
    field(&mut s, "content", "content", "string", true);
    let _ = write!(
        s,
        r#"
[[type]]
name = "{p}Card"
doc = "A card's payload."
"#
    );
    field(&mut s, "title", "title", "string", true);
    field(&mut s, "thumb_media_id", "thumbMediaId", "string", true);
    field(&mut s, "sort_order", "sortOrder", "integer", false);
    s
}

fn field(s: &mut String, http: &str, cloud: &str, ty: &str, required: bool) {
    let _ = write!(
        s,
        r#"
[[type.field]]
http = "{http}"
cloud = "{cloud}"
type = "{ty}"
required = {required}
doc = "The `{http}` field."
"#
    );
}
