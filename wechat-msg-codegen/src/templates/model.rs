//! A templates file, validated: what the generator reads. Nothing here can
//! be invalid.

/// A templates file, validated.
#[derive(Clone, Debug, Default)]
pub struct Templates {
    /// The templates, in file order.
    pub templates: Vec<Template>,
}

/// One subscribe template of the account.
#[derive(Clone, Debug)]
pub struct Template {
    /// The template id (`priTmplId`), sent as `template_id`.
    pub id: String,
    /// The generated struct's name.
    pub rust: String,
    /// The template's title.
    pub title: String,
    /// Extra documentation, if any.
    pub doc: Option<String>,
    /// The keywords, in file order.
    pub keywords: Vec<Keyword>,
}

/// One keyword of a template.
#[derive(Clone, Debug)]
pub struct Keyword {
    /// The key in `data` (`thing1`).
    pub key: String,
    /// The keyword type: the key without its trailing digits (`thing`).
    pub ty: String,
    /// The struct field and setter name.
    pub rust: String,
    /// The keyword's label in the template, if known.
    pub name: Option<String>,
    /// The only values allowed, for an enum keyword.
    pub values: Option<Vec<String>>,
    /// Extra documentation, if any.
    pub doc: Option<String>,
}

/// The keyword type of a data key: the key without its trailing digits
/// (`character_string12` -> `character_string`). `None` when the key is not
/// a type name followed by digits.
pub fn keyword_type(key: &str) -> Option<&str> {
    let ty = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let well_formed = ty.len() < key.len()
        && ty.starts_with(|c: char| c.is_ascii_lowercase())
        && ty.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        && !ty.ends_with('_');
    well_formed.then_some(ty)
}
