//! Links to Mini Program pages inside customer service text.
//!
//! WeChat renders `<a href="..." data-miniprogram-appid="..."
//! data-miniprogram-path="...">label</a>` inside a text message as a link that
//! opens a Mini Program page. [`MiniProgramLink`] writes that tag with every
//! attribute and the label escaped, so no input can end the attribute, the
//! tag or the label early; [`LinkText`] joins plain text and links.

use std::fmt::{self, Write as _};

/// One `<a>` tag opening a Mini Program page.
///
/// ```
/// use wechat_msg::MiniProgramLink;
///
/// let link = MiniProgramLink::new("Tap to open", "wx123", "pages/index/index?x=1&y=\"2\"")
///     .href("http://www.qq.com");
/// assert_eq!(
///     link.to_string(),
///     r#"<a href="http://www.qq.com" data-miniprogram-appid="wx123" data-miniprogram-path="pages/index/index?x=1&amp;y=&quot;2&quot;">Tap to open</a>"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MiniProgramLink {
    label: String,
    appid: String,
    path: String,
    href: Option<String>,
}

impl MiniProgramLink {
    /// A link labelled `label` that opens `path` (as in app.json, with an
    /// optional query) of the Mini Program `appid`. When a Mini Program sends
    /// it, `appid` must be its own AppID.
    pub fn new(
        label: impl Into<String>,
        appid: impl Into<String>,
        path: impl Into<String>,
    ) -> Self {
        MiniProgramLink {
            label: label.into(),
            appid: appid.into(),
            path: path.into(),
            href: None,
        }
    }

    /// The web address old WeChat clients (6.5.16 and earlier) open instead.
    pub fn href(mut self, href: impl Into<String>) -> Self {
        self.href = Some(href.into());
        self
    }
}

impl fmt::Display for MiniProgramLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<a")?;
        if let Some(href) = &self.href {
            attribute(f, "href", href)?;
        }
        attribute(f, "data-miniprogram-appid", &self.appid)?;
        attribute(f, "data-miniprogram-path", &self.path)?;
        f.write_char('>')?;
        escape(f, &self.label)?;
        f.write_str("</a>")
    }
}

fn attribute(f: &mut fmt::Formatter<'_>, name: &str, value: &str) -> fmt::Result {
    write!(f, " {name}=\"")?;
    escape(f, value)?;
    f.write_char('"')
}

/// Escapes the characters that could end an attribute, a tag or an entity.
/// Control characters other than tab and newline are dropped: they have no
/// place in a tag and some clients cut the text at them.
fn escape(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for c in text.chars() {
        match c {
            '&' => f.write_str("&amp;")?,
            '<' => f.write_str("&lt;")?,
            '>' => f.write_str("&gt;")?,
            '"' => f.write_str("&quot;")?,
            '\'' => f.write_str("&#39;")?,
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

/// Text made of plain parts and Mini Program links, for a text message's
/// `content`.
///
/// Plain parts are escaped like link labels, so text a user typed cannot turn
/// into a tag.
///
/// ```
/// use wechat_msg::{LinkText, MiniProgramLink};
///
/// let content = LinkText::new()
///     .text("Your order <#42> shipped. ")
///     .link(MiniProgramLink::new("Track it", "wx123", "pages/order/index?id=42"))
///     .to_string();
/// assert_eq!(
///     content,
///     r#"Your order &lt;#42&gt; shipped. <a data-miniprogram-appid="wx123" data-miniprogram-path="pages/order/index?id=42">Track it</a>"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkText {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Link(MiniProgramLink),
}

impl LinkText {
    /// Empty text.
    pub fn new() -> Self {
        LinkText::default()
    }

    /// Appends plain text.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::Text(text.into()));
        self
    }

    /// Appends a link.
    pub fn link(mut self, link: MiniProgramLink) -> Self {
        self.parts.push(Part::Link(link));
        self
    }
}

impl fmt::Display for LinkText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(text) => escape(f, text)?,
                Part::Link(link) => fmt::Display::fmt(link, f)?,
            }
        }
        Ok(())
    }
}

impl From<LinkText> for String {
    fn from(text: LinkText) -> String {
        text.to_string()
    }
}

impl From<MiniProgramLink> for String {
    fn from(link: MiniProgramLink) -> String {
        link.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses the output back the way a lenient HTML tokenizer would and
    /// checks the structure survived: one `<a`, one `>` ending the start tag,
    /// one `</a>`, and attribute values without raw quotes.
    fn assert_one_tag(html: &str) {
        assert_eq!(html.matches('<').count(), 2, "{html}");
        assert_eq!(html.matches('>').count(), 2, "{html}");
        assert!(html.ends_with("</a>"), "{html}");
        let start_tag = &html[..html.find('>').unwrap()];
        // Every attribute value is a balanced pair of quotes.
        assert_eq!(start_tag.matches('"').count() % 2, 0, "{html}");
        assert!(!start_tag.contains('\''), "{html}");
    }

    #[test]
    fn hostile_inputs_stay_inside_the_tag() {
        let hostile = [
            "\"><script>alert(1)</script>",
            "' onmouseover='x",
            "a&b<c>d\"e'f",
            "</a><a href=\"evil\">",
            "路径/页面?名字=\"值\"&x=<y>",
            "line\nbreak\u{0}nul\u{7}bell",
        ];
        for input in hostile {
            let link = MiniProgramLink::new(input, input, input).href(input);
            let html = link.to_string();
            assert_one_tag(&html);
            assert!(!html.contains('\u{0}'));
        }
    }

    #[test]
    fn non_ascii_is_kept() {
        let link = MiniProgramLink::new("点击进入小程序", "wx1", "pages/首页/index");
        assert_eq!(
            link.to_string(),
            "<a data-miniprogram-appid=\"wx1\" data-miniprogram-path=\"pages/首页/index\">点击进入小程序</a>"
        );
    }

    #[test]
    fn escapes_round_trip() {
        let link = MiniProgramLink::new("a&amp;b", "x", "y");
        // An entity in the input is text, not markup: its `&` is escaped.
        assert!(link.to_string().contains(">a&amp;amp;b<"));
    }

    #[test]
    fn plain_text_cannot_open_a_tag() {
        let text = LinkText::new().text("<a href=\"x\">fake</a>").to_string();
        assert!(!text.contains('<'));
        assert_eq!(text, "&lt;a href=&quot;x&quot;&gt;fake&lt;/a&gt;");
    }
}
