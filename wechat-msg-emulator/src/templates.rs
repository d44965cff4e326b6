//! The account's subscribe templates: the private templates (the template
//! ids the emulator knows), the public library they are composed from, and
//! the template-management endpoints served from them with WeChat's rules
//! and errcodes.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use wechat_msg as wx;

use crate::config::{Config, PrivateTemplate, PublicTemplate};
use crate::error::WxError;
use crate::typed::{answer, is, request};

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

    /// Whether template `template_id` has enum keywords (whose values
    /// [`TemplateStore::check_enums`] checks).
    pub fn has_enums(&self, template_id: &str) -> bool {
        self.get(template_id).is_some_and(|t| !t.enums.is_empty())
    }

    /// 47003 when a message to template `template_id` gives an enum
    /// keyword a value its template does not allow. `values` are the
    /// message's keyword values (`data`), by key.
    pub fn check_enums(
        &self,
        template_id: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<(), WxError> {
        let Some(template) = self.get(template_id) else {
            return Ok(());
        };
        for (key, allowed) in &template.enums {
            if let Some(value) = values.get(key)
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
        let answer = if is::<wx::AddTemplate>(endpoint) {
            answer(&self.add(&templates.library, request(body)?, new_id)?)
        } else if is::<wx::DeleteTemplate>(endpoint) {
            let wx::DeleteTemplate { pri_tmpl_id, .. } = request(body)?;
            if !self.remove(&pri_tmpl_id) {
                return Err(WxError::new(40037, "invalid template_id (priTmplId)"));
            }
            Map::new()
        } else if is::<wx::GetCategory>(endpoint) {
            let data = templates
                .categories
                .iter()
                .map(|c| wx::Category::builder().id(c.id).name(&c.name).build())
                .collect::<Vec<_>>();
            answer(&wx::Categories::builder().data(data).build())
        } else if is::<wx::GetPubTemplateKeywords>(endpoint) {
            let wx::GetPubTemplateKeywords { tid, .. } = request(body)?;
            let public = find_public(&templates.library, &tid)?;
            let data = public
                .keywords
                .iter()
                .map(|k| {
                    wx::PubTemplateKeyword::builder()
                        .kid(k.kid)
                        .name(&k.name)
                        .rule(&k.rule)
                        .example(&k.example)
                        .build()
                })
                .collect::<Vec<_>>();
            let count = i64::try_from(data.len()).unwrap_or(i64::MAX);
            answer(
                &wx::PubTemplateKeywords::builder()
                    .data(data)
                    .count(count)
                    .build(),
            )
        } else if is::<wx::GetPubTemplateTitles>(endpoint) {
            answer(&titles(config, request(body)?)?)
        } else if is::<wx::GetTemplateList>(endpoint) {
            let data = self.private.iter().map(|s| answer_item(&s.template));
            answer(
                &wx::TemplateList::builder()
                    .data(data.collect::<Vec<_>>())
                    .build(),
            )
        } else {
            return Ok(None);
        };
        Ok(Some(answer))
    }

    /// addTemplate: a private template from a public one and some of its
    /// keywords, each named `{rule}{kid}` in the content.
    fn add(
        &mut self,
        library: &[PublicTemplate],
        request: wx::AddTemplate,
        new_id: impl FnOnce() -> String,
    ) -> Result<wx::AddedTemplate, WxError> {
        let public = find_public(library, &request.tid)?;
        let kids = request.kid_list;
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
        let scene = request.scene_desc.unwrap_or_default();
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
        Ok(wx::AddedTemplate::builder().pri_tmpl_id(id).build())
    }
}

/// getPubTemplateTitleList: the library's templates of the categories in
/// `ids`, a page from `start`.
fn titles(
    config: &Config,
    request: wx::GetPubTemplateTitles,
) -> Result<wx::PubTemplateTitles, WxError> {
    let templates = &config.templates;
    if request.ids.is_empty() {
        return Err(WxError::new(200018, "category ids missing"));
    }
    let mut categories = Vec::new();
    for &id in &request.ids {
        if !templates.categories.iter().any(|c| c.id == id) {
            return Err(WxError::new(
                200019,
                format!(
                    "invalid category ids: {:?} is not a category of the account",
                    id.to_string()
                ),
            ));
        }
        categories.push(id);
    }
    if request.start < 0 {
        return Err(WxError::new(200016, "invalid start"));
    }
    if !(1..=MAX_PAGE).contains(&request.limit) {
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
        .skip(usize::try_from(request.start).unwrap_or(usize::MAX))
        .take(usize::try_from(request.limit).unwrap_or(0))
        .map(|t| {
            wx::PubTemplateTitle::builder()
                .tid(t.tid)
                .title(&t.title)
                .template_type(t.template_type)
                // WeChat sends the category id as a string.
                .category_id(t.category_id.to_string())
                .build()
        })
        .collect::<Vec<_>>();
    let count = i64::try_from(matching.len()).unwrap_or(i64::MAX);
    Ok(wx::PubTemplateTitles::builder()
        .count(count)
        .data(page)
        .build())
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

/// A private template as getTemplateList answers it.
fn answer_item(t: &PrivateTemplate) -> wx::PrivateTemplate {
    let mut item = wx::PrivateTemplate::builder()
        .pri_tmpl_id(&t.id)
        .title(&t.title)
        .content(&t.content)
        .template_type(t.template_type)
        .example(&t.example);
    if !t.enums.is_empty() {
        let enums = t.enums.iter().map(|(key, values)| {
            wx::KeywordEnumValues::builder()
                .keyword_code(format!("{key}.DATA"))
                .enum_value_list(values.clone())
                .build()
        });
        item = item.keyword_enum_value_list(enums.collect::<Vec<_>>());
    }
    item.build()
}
