//! Raw spec -> model. Every check the spec needs happens here, and every
//! mistake is reported, not only the first. One module a concern:
//!
//! - [`names`]: identifiers, wire names and their duplicates;
//! - [`cloud`]: wx-server-sdk's rule from cloud names to HTTP names;
//! - [`types`]: object types, fields, unions, enums, references, recursion;
//! - [`errcodes`]: the shared table and each endpoint's entries;
//! - [`endpoints`]: endpoints and their request types;
//! - [`placement`]: where request fields may travel (query, files, GET);
//! - [`graph`]: the one walk over the object graph the checks share;
//! - [`keywords`]: template keyword types, their rules and the fields that
//!   hold keywords.

mod cloud;
mod endpoints;
mod errcodes;
mod graph;
mod keywords;
mod names;
mod placement;
mod push;
mod types;

use std::collections::HashMap;

pub use cloud::sdk_snake_case;

use crate::error::{Pos, SpecErrors};
use crate::model::*;
use crate::raw::*;

/// Validates the raw files into a model, or reports every mistake.
pub(crate) fn validate(files: &[RawFile], errors: &mut SpecErrors) -> Option<Model> {
    let mut v = Validator {
        errors,
        names: HashMap::new(),
        objects: HashMap::new(),
        enums: HashMap::new(),
    };
    let raw_types: Vec<&RawType> = files.iter().flat_map(|f| &f.types).collect();
    let raw_enums: Vec<&RawEnum> = files.iter().flat_map(|f| &f.enums).collect();
    let raw_endpoints: Vec<&RawEndpoint> = files.iter().flat_map(|f| &f.endpoints).collect();

    // Pass 1: names, so references can point forward and across files.
    for (i, t) in raw_types.iter().enumerate() {
        if let Some(name) = v.type_name(&t.name) {
            // Its builder's state module shares the namespace: `HTTPLink`
            // and `HttpLink` would both want `http_link_builder`.
            let module = builder_module(&name);
            if let Some(pos) = t.name.as_ref().map(|n| &n.pos) {
                v.claim(&module, pos, &format!("the builder module of `{name}`"));
            }
            v.objects.insert(name, i);
        }
    }
    for (i, e) in raw_enums.iter().enumerate() {
        if let Some(name) = v.type_name(&e.name) {
            v.enums.insert(name, i);
        }
    }

    let mut objects: Vec<Object> = raw_types.iter().map(|t| v.object(t)).collect();
    let enums: Vec<StrEnum> = raw_enums.iter().map(|e| v.enumeration(e)).collect();
    v.check_recursion(&raw_types, &objects);
    let shared = v.shared_errcodes(files);
    let endpoints = v.endpoints(&raw_endpoints, &objects, &shared);
    // Each request type is the request of one endpoint (checked above).
    for (i, e) in endpoints.iter().enumerate() {
        objects[e.request].endpoint = Some(i);
    }
    v.field_errcodes(&raw_types, &objects, &endpoints);

    let push = push::validate(files, v.errors, &mut v.names);
    let keywords = v.keywords(files);
    let declared = files.iter().any(|f| !f.keywords.is_empty());
    v.keyword_fields(&raw_types, &mut objects, declared);

    v.errors.is_empty().then_some(Model {
        endpoints,
        objects,
        enums,
        push,
        keywords,
        files: Vec::new(),
    })
}

/// The state of a validation: the mistakes so far and the names defined.
struct Validator<'e> {
    errors: &'e mut SpecErrors,
    /// Every generated Rust type name, and where it was first defined.
    names: HashMap<String, Pos>,
    /// Object types by name, as indexes into the model's objects.
    objects: HashMap<String, usize>,
    /// String enums by name, as indexes into the model's enums.
    enums: HashMap<String, usize>,
}

/// The text of an optional value, empty when absent.
fn text(sp: &Option<Sp<String>>) -> String {
    sp.as_ref().map(|s| s.value.clone()).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::validate;
    use crate::error::{LineIndex, SpecErrors};
    use crate::model::Model;
    use crate::raw::read_file;

    /// Validates one spec file's text: the model, or every mistake shown.
    pub(crate) fn check(text: &str) -> Result<Model, Vec<String>> {
        let mut errors = SpecErrors::default();
        let index = LineIndex::new("spec.toml".to_owned(), text);
        let raw = read_file(&index, text, &mut errors);
        let model = validate(&[raw], &mut errors);
        match model {
            Some(model) if errors.is_empty() => Ok(model),
            _ => Err(errors
                .into_sorted()
                .iter()
                .map(ToString::to_string)
                .collect()),
        }
    }

    const ENDPOINT: &str = r#"
[[endpoint]]
name = "thing.send"
method = "POST"
path = "/cgi-bin/thing/send"
request = "Request"
doc = "Sends a thing."
"#;

    /// A `[[type]]` with the given fields, each `(name, type)` or
    /// `(name, type, extra TOML line)`.
    fn object(name: &str, fields: &[(&str, &str, &str)]) -> String {
        let mut out = format!("\n[[type]]\nname = \"{name}\"\ndoc = \"{name}.\"\n");
        for (field, ty, extra) in fields {
            out.push_str(&format!(
                "\n[[type.field]]\nhttp = \"{field}\"\ncloud = \"{field}\"\ntype = \"{ty}\"\ndoc = \"{field}.\"\n{extra}\n"
            ));
        }
        out
    }

    #[test]
    fn each_request_type_knows_its_endpoint() {
        let spec = format!(
            "{ENDPOINT}{}{}",
            object("Request", &[("item", "Item", "")]),
            object("Item", &[("name", "string", "")])
        );
        let model = check(&spec).unwrap();
        let by_name = |n: &str| model.objects.iter().find(|o| o.name == n).unwrap();
        assert_eq!(by_name("Request").endpoint, Some(0));
        assert_eq!(by_name("Item").endpoint, None);
    }

    #[test]
    fn two_types_whose_builder_modules_collide_are_reported() {
        let spec = format!(
            "{ENDPOINT}{}{}{}",
            object("Request", &[("a", "HTTPLink", ""), ("b", "HttpLink", "")]),
            object("HTTPLink", &[("url", "string", "")]),
            object("HttpLink", &[("url", "string", "")])
        );
        let errors = check(&spec).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].contains(
                "duplicate Rust name `http_link_builder` (the builder module of `HttpLink`)"
            ),
            "{errors:#?}"
        );
    }

    #[test]
    fn types_that_contain_themselves_inline_are_named_each() {
        let spec = format!(
            "{ENDPOINT}{}{}{}",
            object("Request", &[("a", "A", "")]),
            object("A", &[("b", "B", "")]),
            object("B", &[("a", "A", ""), ("list", "list<B>", "")])
        );
        let errors = check(&spec).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(
            errors[0].ends_with(
                "type `A` contains itself; wrap the recursion in `list<...>` or `map<...>`"
            ),
            "{errors:#?}"
        );
        assert!(
            errors[1].contains("type `B` contains itself"),
            "{errors:#?}"
        );
        // Through a list, recursion is fine.
        let spec = format!(
            "{ENDPOINT}{}{}",
            object("Request", &[("node", "Node", "")]),
            object(
                "Node",
                &[("children", "list<Node>", ""), ("tags", "map<Node>", "")]
            )
        );
        check(&spec).unwrap();
    }

    #[test]
    fn a_nested_file_is_reported_once_even_inside_a_cycle() {
        let spec = format!(
            "{ENDPOINT}{}{}",
            object("Request", &[("items", "list<Item>", "")]),
            object(
                "Item",
                &[("next", "list<Item>", ""), ("picture", "file", "")]
            )
        );
        let errors = check(&spec).unwrap_err();
        assert_eq!(
            errors,
            [
                "spec.toml:6:11: field `picture` of `Item`: query fields and files are allowed only at the top of a request"
            ]
        );
    }

    #[test]
    fn a_query_field_in_a_nested_union_payload_is_reported() {
        let spec = format!(
            "{ENDPOINT}{}{}\n[type.union]\nrust = \"body\"\nenum = \"Body\"\ntag = \"kind\"\ndoc = \"The kind.\"\n\n[[type.union.variant]]\nvalue = \"deep\"\npayload = \"Deep\"\ndoc = \"Deep.\"\n{}",
            object("Request", &[("inner", "Inner", "")]),
            object("Inner", &[]),
            object("Deep", &[("page", "string", "in = \"query\"")])
        );
        let errors = check(&spec).unwrap_err();
        assert_eq!(
            errors,
            [
                "spec.toml:6:11: field `page` of `Deep`: query fields and files are allowed only at the top of a request"
            ]
        );
    }

    const SHARED: &str = r#"
[[errcode]]
code = 40001
rust = "InvalidCredential"
class = "refresh_token"
description = "The token is invalid."
"#;

    /// Two token-like endpoints: `auth = "none"`, `cloud = false`, the
    /// first with its own codes only, the second sharing them.
    const TOKEN: &str = r#"
[[endpoint]]
name = "auth.get"
rust = "Token"
method = "POST"
path = "/token"
request = "Request"
doc = "Gets a token."
auth = "none"
cloud = false
shared_errcodes = false

[[endpoint.errcode]]
code = 41002
rust = "AppidMissing"
class = "permanent"
description = "appid missing."

[[endpoint]]
name = "auth.getStable"
method = "POST"
path = "/stable"
request = "Stable"
doc = "Gets the stable token."
auth = "none"
cloud = false
errcodes_of = "auth.get"
"#;

    #[test]
    fn token_endpoints_take_no_token_have_no_cloud_form_and_share_an_enum() {
        let spec = format!(
            "{SHARED}{TOKEN}{}{}",
            object(
                "Request",
                &[
                    ("appid", "string", "errcode_missing = 41002"),
                    ("secret", "string", "role = \"secret\"")
                ]
            ),
            object("Stable", &[("appid", "string", "errcode_missing = 41002")])
        );
        let model = check(&spec).unwrap();
        let [classic, stable] = model.endpoints.as_slice() else {
            panic!("two endpoints")
        };
        assert_eq!(classic.auth, crate::model::Auth::None);
        assert!(!classic.cloud && !stable.cloud);
        // The shared table's 40001 is not part of a `shared_errcodes = false` enum.
        let codes: Vec<i64> = classic.errcodes.iter().map(|c| c.code).collect();
        assert_eq!(codes, [41002]);
        assert!(classic.owns_errcodes());
        assert!(!stable.owns_errcodes());
        assert_eq!(stable.errcode_stem, "Token");
        assert_eq!(stable.errcodes.len(), 1);
        let request = &model.objects[classic.request];
        assert_eq!(request.fields[0].errcode_missing, Some(41002));
        assert_eq!(request.fields[1].role, Some(crate::model::Role::Secret));
    }

    #[test]
    fn token_endpoint_keys_misused_are_reported_at_their_line() {
        let spec = format!(
            "{}\nauth = \"cookie\"\ncloud = false\nerrcodes_of = \"nowhere.at_all\"\n{}",
            ENDPOINT.trim_end(),
            object(
                "Request",
                &[
                    ("count", "integer", "role = \"secret\""),
                    ("appid", "string", "errcode_missing = 41002"),
                    ("item", "Item", "")
                ]
            ) + &object("Item", &[("name", "string", "errcode_invalid = 40002")])
        );
        let errors = check(&spec).unwrap_err();
        let expect = [
            "spec.toml:8:8: unknown auth `cookie`; expected `access_token` or `none`",
            "spec.toml:10:15: `errcodes_of`: no endpoint is named `nowhere.at_all`",
            "`role = \"secret\"` is for a string field, and `count` is `integer`",
            "`errcode_missing = 41002`: `thing.send` does not list errcode 41002",
            "`errcode_invalid` is for the top-level fields of a request type, and `Item` is not the request of an endpoint",
        ];
        assert_eq!(errors.len(), expect.len(), "{errors:#?}");
        for e in expect {
            assert!(
                errors.iter().any(|got| got.contains(e)),
                "missing {e:?} in {errors:#?}"
            );
        }
        // Each error names a line.
        for got in &errors {
            assert!(got.starts_with("spec.toml:"), "{got}");
        }
    }

    #[test]
    fn an_endpoint_sharing_errcodes_lists_none_of_its_own() {
        let spec = format!(
            "{TOKEN}\n[[endpoint.errcode]]\ncode = 41004\nrust = \"SecretMissing\"\nclass = \"permanent\"\ndescription = \"x\"\n{}{}",
            object("Request", &[]),
            object("Stable", &[])
        );
        let errors = check(&spec).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].contains("shares the errcodes of `auth.get` (`errcodes_of`)"),
            "{errors:#?}"
        );
    }
}
