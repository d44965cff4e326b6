//! The account's subscribe templates: the private templates (the template
//! ids the emulator knows), the public library they are composed from, and
//! the template-management endpoints served from them with WeChat's rules
//! and errcodes.

use serde_json::{Map, Value, json};

use crate::config::{Config, PrivateTemplate, PublicTemplate};
use crate::error::WxError;

/// The endpoints served here, by cloud-call name.
const ADD: &str = "subscribeMessage.addTemplate";
const DELETE: &str = "subscribeMessage.deleteTemplate";
const CATEGORIES: &str = "subscribeMessage.getCategory";
const KEYWORDS: &str = "subscribeMessage.getPubTemplateKeyWordsById";
const TITLES: &str = "subscribeMessage.getPubTemplateTitleList";
const LIST: &str = "subscribeMessage.getTemplateList";

/// The longest `sceneDesc`, in characters.
const MAX_SCENE_DESC: usize = 15;
/// The most templates getPubTemplateTitleList answers a page.
const MAX_PAGE: i64 = 30;

/// The account's private templates, in the order they were added, and the
/// library from the configuration.
#[derive(Debug)]
pub(crate) struct TemplateStore {
    private: Vec<Stored>,
    max_private: usize,
}

/// A private template and, when addTemplate made it, what it was made of.
#[derive(Debug)]
struct Stored {
    template: PrivateTemplate,
    origin: Option<(i64, Vec<i64>)>,
}

impl TemplateStore {
    /// The configured templates, then each `known.template_ids` entry not
    /// among them, without keywords.
    pub fn new(config: &Config) -> Self {
        let mut store = TemplateStore {
            private: Vec::new(),
            max_private: config.templates.max_private,
        };
        for t in &config.templates.private {
            store.insert(t.clone());
        }
        for id in &config.known.template_ids {
            store.insert_bare(id);
        }
        store
    }

    /// Whether `id` is a private template of the account.
    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    fn get(&self, id: &str) -> Option<&PrivateTemplate> {
        self.private
            .iter()
            .map(|s| &s.template)
            .find(|t| t.id == id)
    }

    /// Adds `id` as a template without keywords, unless it is one already.
    pub fn insert_bare(&mut self, id: &str) {
        if !self.contains(id) {
            self.insert(PrivateTemplate::bare(id));
        }
    }

    /// Adds or replaces a private template.
    pub fn insert(&mut self, template: PrivateTemplate) {
        let stored = Stored {
            template,
            origin: None,
        };
        match self
            .private
            .iter_mut()
            .find(|s| s.template.id == stored.template.id)
        {
            Some(slot) => *slot = stored,
            None => self.private.push(stored),
        }
    }

    /// Removes a private template; whether it was there.
    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.private.len();
        self.private.retain(|s| s.template.id != id);
        self.private.len() != before
    }

    /// The private templates, in order.
    pub fn list(&self) -> Vec<PrivateTemplate> {
        self.private.iter().map(|s| s.template.clone()).collect()
    }

    /// 47003 when `body` (a message to template `template_id`, in the HTTP
    /// form) gives an enum keyword a value its template does not allow.
    pub fn check_enums(&self, template_id: &str, body: &Value) -> Result<(), WxError> {
        let Some(template) = self.get(template_id) else {
            return Ok(());
        };
        for (key, allowed) in &template.enums {
            let value = body
                .get("data")
                .and_then(|d| d.get(key))
                .and_then(|k| k.get("value"))
                .and_then(Value::as_str);
            if let Some(value) = value
                && !allowed.iter().any(|a| a == value)
            {
                return Err(WxError::new(
                    47003,
                    format!("argument invalid! data.{key}.value invalid"),
                ));
            }
        }
        Ok(())
    }

    /// Serves a template-management endpoint: `Some` answer fields (HTTP
    /// form) for the endpoints it owns, `None` for any other. `body` is the
    /// validated request in the HTTP form; `new_id` makes a template id.
    pub fn serve(
        &mut self,
        config: &Config,
        endpoint: &str,
        body: &Value,
        new_id: impl FnOnce() -> String,
    ) -> Result<Option<Map<String, Value>>, WxError> {
        let templates = &config.templates;
        let answer = match endpoint {
            ADD => self.add(&templates.library, body, new_id)?,
            DELETE => {
                let id = text(body, "priTmplId");
                if !self.remove(id) {
                    return Err(WxError::new(40037, "invalid template_id (priTmplId)"));
                }
                json!({})
            }
            CATEGORIES => json!({
                "data": templates.categories.iter()
                    .map(|c| json!({"id": c.id, "name": c.name}))
                    .collect::<Vec<_>>(),
            }),
            KEYWORDS => {
                let public = find_public(&templates.library, text(body, "tid"))?;
                json!({
                    "count": public.keywords.len(),
                    "data": public.keywords.iter()
                        .map(|k| json!({"kid": k.kid, "name": k.name, "example": k.example, "rule": k.rule}))
                        .collect::<Vec<_>>(),
                })
            }
            TITLES => titles(config, body)?,
            LIST => json!({
                "data": self.private.iter().map(|s| answer_item(&s.template)).collect::<Vec<_>>(),
            }),
            _ => return Ok(None),
        };
        Ok(match answer {
            Value::Object(map) => Some(map),
            _ => Some(Map::new()),
        })
    }

    /// addTemplate: a private template from a public one and some of its
    /// keywords, each named `{rule}{kid}` in the content.
    fn add(
        &mut self,
        library: &[PublicTemplate],
        body: &Value,
        new_id: impl FnOnce() -> String,
    ) -> Result<Value, WxError> {
        let public = find_public(library, text(body, "tid"))?;
        let kids: Vec<i64> = body
            .get("kidList")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        let bad_kids = |why: String| WxError::new(200020, format!("invalid kidList: {why}"));
        if !(2..=5).contains(&kids.len()) {
            return Err(bad_kids(format!(
                "{} keywords; 2 to 5 are allowed",
                kids.len()
            )));
        }
        let mut keywords = Vec::new();
        for (i, kid) in kids.iter().enumerate() {
            if kids[..i].contains(kid) {
                return Err(bad_kids(format!("kid {kid} is given twice")));
            }
            match public.keywords.iter().find(|k| k.kid == *kid) {
                Some(k) => keywords.push(k),
                None => {
                    return Err(bad_kids(format!(
                        "template {} has no keyword {kid}",
                        public.tid
                    )));
                }
            }
        }
        let scene = body.get("sceneDesc").and_then(Value::as_str).unwrap_or("");
        if scene.chars().count() > MAX_SCENE_DESC {
            return Err(WxError::new(
                200021,
                format!("invalid sceneDesc: longer than {MAX_SCENE_DESC} characters"),
            ));
        }
        let origin = (public.tid, kids);
        if self
            .private
            .iter()
            .any(|s| s.origin.as_ref() == Some(&origin))
        {
            return Err(WxError::new(
                200022,
                "the account already has this template with these keywords",
            ));
        }
        if self.private.len() >= self.max_private {
            return Err(WxError::new(
                200012,
                format!(
                    "private template count reaches the limit of {}",
                    self.max_private
                ),
            ));
        }
        let lines = |value: &dyn Fn(&crate::config::PublicKeyword) -> String| {
            keywords
                .iter()
                .map(|k| format!("{}:{}", k.name, value(k)))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut template = PrivateTemplate::bare(new_id());
        template.title = public.title.clone();
        template.content = lines(&|k| format!("{{{{{}{}.DATA}}}}", k.rule, k.kid));
        template.example = lines(&|k| k.example.clone());
        template.template_type = public.template_type;
        let id = template.id.clone();
        self.private.push(Stored {
            template,
            origin: Some(origin),
        });
        Ok(json!({ "priTmplId": id }))
    }
}

/// getPubTemplateTitleList: the library's templates of the categories in
/// `ids`, a page from `start`.
fn titles(config: &Config, body: &Value) -> Result<Value, WxError> {
    let templates = &config.templates;
    let ids = text(body, "ids");
    if ids.is_empty() {
        return Err(WxError::new(200018, "category ids missing"));
    }
    let mut categories = Vec::new();
    for id in ids.split(',') {
        match id.parse::<i64>() {
            Ok(id) if templates.categories.iter().any(|c| c.id == id) => categories.push(id),
            _ => {
                return Err(WxError::new(
                    200019,
                    format!("invalid category ids: {id:?} is not a category of the account"),
                ));
            }
        }
    }
    let start = body.get("start").and_then(Value::as_i64).unwrap_or(-1);
    if start < 0 {
        return Err(WxError::new(200016, "invalid start"));
    }
    let limit = body.get("limit").and_then(Value::as_i64).unwrap_or(0);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(WxError::new(
            200017,
            format!("invalid limit: 1 to {MAX_PAGE}"),
        ));
    }
    let matching: Vec<&PublicTemplate> = templates
        .library
        .iter()
        .filter(|t| categories.contains(&t.category_id))
        .collect();
    let page = matching
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|t| {
            json!({
                "tid": t.tid,
                "title": t.title,
                "type": t.template_type,
                // WeChat sends the category id as a string.
                "categoryId": t.category_id.to_string(),
            })
        })
        .collect::<Vec<_>>();
    Ok(json!({"count": matching.len(), "data": page}))
}

/// A public template by its `tid` (a string of digits), or 200014.
fn find_public<'l>(
    library: &'l [PublicTemplate],
    tid: &str,
) -> Result<&'l PublicTemplate, WxError> {
    tid.parse::<i64>()
        .ok()
        .and_then(|tid| library.iter().find(|t| t.tid == tid))
        .ok_or_else(|| WxError::new(200014, format!("invalid tid: {tid:?}")))
}

/// A private template as getTemplateList answers it (HTTP form).
pub(crate) fn answer_item(t: &PrivateTemplate) -> Value {
    let mut item = json!({
        "priTmplId": t.id,
        "title": t.title,
        "content": t.content,
        "example": t.example,
        "type": t.template_type,
    });
    if !t.enums.is_empty() {
        item["keywordEnumValueList"] = t
            .enums
            .iter()
            .map(|(key, values)| json!({"keywordCode": format!("{key}.DATA"), "enumValueList": values}))
            .collect();
    }
    item
}

/// A string field of a validated body, `""` when absent.
fn text<'b>(body: &'b Value, key: &str) -> &'b str {
    body.get(key).and_then(Value::as_str).unwrap_or("")
}
