//! The two push encodings, JSON and XML, and the conversion between them.
//!
//! The JSON push form (`{"ToUserName": ..., "MsgType": "text", ...}`) is the
//! one the typed pushes read and write. An XML push is read into that form:
//! each child of `<xml>` becomes a key, text and CDATA become strings,
//! elements with children become objects, repeated elements become arrays,
//! and the wrappers the spec names (`<SubscribeMsgPopupEvent><List>...`) are
//! lifted to their inner key (`List`). Writing XML does the reverse, with
//! every string in CDATA and numbers bare, as WeChat writes them.

use std::io::Cursor;

use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesCData, BytesEnd, BytesStart, BytesText, Event};
use serde_json::{Map, Value};

/// A push body's encoding, as configured in the Mini Program's console.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `{"ToUserName": ..., ...}`
    Json,
    /// `<xml><ToUserName><![CDATA[...]]></ToUserName>...</xml>`
    Xml,
}

impl Encoding {
    /// `"json"` or `"xml"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Xml => "xml",
        }
    }

    /// The encoding a body is in, by its first non-blank byte.
    pub fn sniff(body: &[u8]) -> Option<Encoding> {
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Some(Encoding::Json),
            Some(b'<') => Some(Encoding::Xml),
            _ => None,
        }
    }
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(Encoding::Json),
            "xml" => Ok(Encoding::Xml),
            other => Err(format!(
                "unknown push encoding `{other}`; expected `json` or `xml`"
            )),
        }
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a push body cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Not JSON, or a JSON body that is not an object.
    #[error("invalid JSON push: {0}")]
    Json(String),
    /// Not well-formed XML, or not an `<xml>` document.
    #[error("invalid XML push: {0}")]
    Xml(String),
    /// Elements nested deeper than any push.
    #[error("invalid XML push: nested deeper than {MAX_DEPTH} elements")]
    TooDeep,
}

/// No push nests deeper than `<xml><Wrapper><List><Field>`.
const MAX_DEPTH: usize = 8;

/// Reads a body in `encoding` into the JSON push form. `wrappers` lists the
/// XML wrapper elements and the key each holds (`("SubscribeMsgPopupEvent",
/// "List")`).
pub fn read(
    body: &[u8],
    encoding: Encoding,
    wrappers: &[(&str, &str)],
) -> Result<Map<String, Value>, BodyError> {
    match encoding {
        Encoding::Json => match crate::wire::parse_json(body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(BodyError::Json("not an object".to_owned())),
            Err(err) => Err(BodyError::Json(err.to_string())),
        },
        Encoding::Xml => read_xml(body, wrappers),
    }
}

/// One open element while reading XML.
struct Open {
    name: String,
    text: String,
    children: Option<Map<String, Value>>,
}

fn read_xml(body: &[u8], wrappers: &[(&str, &str)]) -> Result<Map<String, Value>, BodyError> {
    let text = std::str::from_utf8(body).map_err(|_| BodyError::Xml("not UTF-8".to_owned()))?;
    let mut reader = Reader::from_str(text);
    let xml_err = |e: quick_xml::Error| BodyError::Xml(e.to_string());
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().map_err(xml_err)? {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(BodyError::Xml("content after the root element".to_owned()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(BodyError::TooDeep);
                }
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                if stack.is_empty() && name != "xml" {
                    return Err(BodyError::Xml(format!(
                        "the root element is <{}>, not <xml>",
                        shown(&name)
                    )));
                }
                stack.push(Open {
                    name,
                    text: String::new(),
                    children: None,
                });
            }
            Event::Empty(start) => {
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                match stack.last_mut() {
                    Some(parent) => add_child(parent, name, Value::String(String::new())),
                    None => return Err(BodyError::Xml("an empty root element".to_owned())),
                }
            }
            Event::Text(t) => {
                if let Some(open) = stack.last_mut() {
                    open.text
                        .push_str(&t.decode().map_err(|e| BodyError::Xml(e.to_string()))?);
                } else if !t.iter().all(u8::is_ascii_whitespace) {
                    return Err(BodyError::Xml("text outside the root element".to_owned()));
                }
            }
            Event::CData(t) => {
                let open = stack
                    .last_mut()
                    .ok_or_else(|| BodyError::Xml("CDATA outside the root element".to_owned()))?;
                open.text
                    .push_str(&t.decode().map_err(|e| BodyError::Xml(e.to_string()))?);
            }
            Event::GeneralRef(r) => {
                let open = stack
                    .last_mut()
                    .ok_or_else(|| BodyError::Xml("a reference outside the root".to_owned()))?;
                if let Some(c) = r.resolve_char_ref().map_err(xml_err)? {
                    open.text.push(c);
                } else {
                    let name = r.decode().map_err(|e| BodyError::Xml(e.to_string()))?;
                    let resolved = resolve_xml_entity(&name).ok_or_else(|| {
                        BodyError::Xml(format!("unknown entity &{};", shown(&name)))
                    })?;
                    open.text.push_str(resolved);
                }
            }
            Event::End(_) => {
                let open = stack
                    .pop()
                    .ok_or_else(|| BodyError::Xml("unbalanced".to_owned()))?;
                let value = match open.children {
                    Some(children) => Value::Object(children),
                    None => Value::String(open.text),
                };
                match stack.last_mut() {
                    Some(parent) => add_child(parent, open.name, value),
                    None => root = Some(value),
                }
            }
            Event::Eof => break,
            Event::DocType(_) => {
                return Err(BodyError::Xml("a DOCTYPE is not allowed".to_owned()));
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(BodyError::Xml(
            "the document ends inside an element".to_owned(),
        ));
    }
    let mut map = match root {
        Some(Value::Object(map)) => map,
        Some(_) => Map::new(),
        None => return Err(BodyError::Xml("no <xml> element".to_owned())),
    };
    for (wrapper, key) in wrappers {
        if let Some(Value::Object(inner)) = map.get(*wrapper)
            && let Some(value) = inner.get(*key)
        {
            let value = value.clone();
            map.remove(*wrapper);
            map.insert((*key).to_owned(), value);
        }
    }
    Ok(map)
}

fn add_child(parent: &mut Open, name: String, value: Value) {
    let children = parent.children.get_or_insert_with(Map::new);
    match children.get_mut(&name) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            children.insert(name, value);
        }
    }
}

/// A name from the input, with control characters escaped for messages.
fn shown(name: &str) -> String {
    name.chars().take(64).flat_map(char::escape_debug).collect()
}

/// Writes a push in the JSON push form as `encoding`. In XML, a key listed
/// in `wrappers` (key, wrapper element) is written inside its wrapper, each
/// array item as one element named by the key.
pub fn write(map: &Map<String, Value>, encoding: Encoding, wrappers: &[(&str, &str)]) -> Vec<u8> {
    match encoding {
        Encoding::Json => serde_json::to_vec(map).unwrap_or_default(),
        Encoding::Xml => {
            let mut writer = Writer::new(Cursor::new(Vec::new()));
            let _ = write_element(
                &mut writer,
                "xml",
                &Value::Object(map.clone()),
                wrappers,
                true,
            );
            writer.into_inner().into_inner()
        }
    }
}

fn write_element(
    writer: &mut Writer<Cursor<Vec<u8>>>,
    name: &str,
    value: &Value,
    wrappers: &[(&str, &str)],
    top: bool,
) -> std::io::Result<()> {
    match value {
        Value::Array(items) => {
            for item in items {
                write_element(writer, name, item, wrappers, false)?;
            }
            return Ok(());
        }
        Value::Null => return Ok(()),
        _ => {}
    }
    writer.write_event(Event::Start(BytesStart::new(name)))?;
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                let wrapper = top
                    .then(|| wrappers.iter().find(|(k, _)| k == key).map(|(_, w)| *w))
                    .flatten();
                match wrapper {
                    Some(wrapper) => {
                        writer.write_event(Event::Start(BytesStart::new(wrapper)))?;
                        write_element(writer, key, inner, wrappers, false)?;
                        writer.write_event(Event::End(BytesEnd::new(wrapper)))?;
                    }
                    None => write_element(writer, key, inner, wrappers, false)?,
                }
            }
        }
        Value::String(text) => {
            for part in BytesCData::escaped(text) {
                writer.write_event(Event::CData(part))?;
            }
        }
        Value::Number(n) => writer.write_event(Event::Text(BytesText::new(&n.to_string())))?,
        Value::Bool(b) => writer.write_event(Event::Text(BytesText::new(if *b {
            "true"
        } else {
            "false"
        })))?,
        Value::Array(_) | Value::Null => {}
    }
    writer.write_event(Event::End(BytesEnd::new(name)))
}

/// The outer body of a safe-mode push: the gh_ id and the sealed push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// `ToUserName`, when present.
    pub to_user_name: Option<String>,
    /// `Encrypt`: the base64 envelope.
    pub encrypt: String,
}

/// The `Encrypt` (and `ToUserName`) of an outer body, if it has one.
pub fn sealed(map: &Map<String, Value>) -> Option<Sealed> {
    let encrypt = map.get("Encrypt")?.as_str()?.to_owned();
    Some(Sealed {
        to_user_name: map
            .get("ToUserName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        encrypt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const WRAPPERS: &[(&str, &str)] = &[("SubscribeMsgPopupEvent", "List")];

    #[test]
    fn xml_reads_into_the_json_form() {
        let xml = br#"<xml><ToUserName><![CDATA[gh_123]]></ToUserName>
            <FromUserName><![CDATA[OPENID]]></FromUserName><CreateTime>1700000000</CreateTime>
            <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a &lt; b]]> &amp; c&#33;</Content>
            <MsgId>23847327493287432123</MsgId></xml>"#;
        let map = read(xml, Encoding::Xml, WRAPPERS).unwrap();
        assert_eq!(
            Value::Object(map),
            json!({"ToUserName":"gh_123","FromUserName":"OPENID","CreateTime":"1700000000",
                   "MsgType":"text","Content":"a &lt; b & c!","MsgId":"23847327493287432123"})
        );
    }

    #[test]
    fn xml_lists_are_one_or_many_and_unwrapped() {
        let one = br#"<xml><MsgType>event</MsgType><SubscribeMsgPopupEvent><List><TemplateId>T1</TemplateId><PopupScene>0</PopupScene></List></SubscribeMsgPopupEvent></xml>"#;
        let map = read(one, Encoding::Xml, WRAPPERS).unwrap();
        assert_eq!(map["List"], json!({"TemplateId":"T1","PopupScene":"0"}));
        let two = br#"<xml><SubscribeMsgPopupEvent><List><TemplateId>T1</TemplateId></List><List><TemplateId>T2</TemplateId></List></SubscribeMsgPopupEvent></xml>"#;
        let map = read(two, Encoding::Xml, WRAPPERS).unwrap();
        assert_eq!(
            map["List"],
            json!([{"TemplateId":"T1"},{"TemplateId":"T2"}])
        );
        // And back: the wrapper is written around the items.
        let written = write(&map, Encoding::Xml, &[("List", "SubscribeMsgPopupEvent")]);
        assert_eq!(read(&written, Encoding::Xml, WRAPPERS).unwrap(), map);
    }

    #[test]
    fn xml_round_trips_text_that_needs_escaping() {
        let map = json!({"MsgType":"text","Content":"]]> <b> & \u{1F600}","CreateTime":17})
            .as_object()
            .cloned()
            .unwrap();
        let written = write(&map, Encoding::Xml, &[]);
        let back = read(&written, Encoding::Xml, &[]).unwrap();
        assert_eq!(back["Content"], "]]> <b> & \u{1F600}");
        assert_eq!(back["CreateTime"], "17");
    }

    #[test]
    fn hostile_xml_is_refused() {
        for bad in [
            &b"<xml><a>"[..],
            b"<notxml/>",
            b"<root><a>1</a></root>",
            b"<!DOCTYPE xml [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><a>&e;</a></xml>",
            b"<xml><a>&e;</a></xml>",
            b"<xml><a><b><c><d><e><f><g><h><i>1</i></h></g></f></e></d></c></b></a></xml>",
            b"<xml></a></xml>",
            b"\xff\xfe",
            b"<xml/>",
        ] {
            assert!(
                read(bad, Encoding::Xml, WRAPPERS).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(read(b"[1]", Encoding::Json, WRAPPERS).is_err());
        assert!(read(br#"{"a":1,"a":2}"#, Encoding::Json, WRAPPERS).is_err());
    }
}
