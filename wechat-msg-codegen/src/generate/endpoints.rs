//! Per-endpoint metadata, the `Endpoint` and `Answer` impls, and the
//! `ENDPOINTS` registry the runtime, the CLI and the emulator walk.

use proc_macro2::TokenStream;
use quote::quote;

use super::{errcodes, ident, rt};
use crate::model::{
    AnswerKind, Auth, BodyKind, Endpoint, Location, Method, Model, Object, Role, Ty,
};

pub fn endpoints(model: &Model) -> TokenStream {
    let rt = rt();
    let impls = model.endpoints.iter().map(|e| endpoint(model, e));
    let answers = model.endpoints.iter().filter_map(|e| match e.answer {
        AnswerKind::Object(i) => Some(i),
        _ => None,
    });
    let mut answer_types: Vec<usize> = answers.collect();
    answer_types.sort_unstable();
    answer_types.dedup();
    let answer_impls = answer_types.iter().map(|&i| {
        let name = ident(&model.objects[i].name);
        quote! {
            #[allow(deprecated)]
            impl #rt::Answer for #name {
                fn from_json(value: &#rt::Value, form: #rt::Form) -> ::core::result::Result<Self, #rt::WireError> {
                    <Self as #rt::Wire>::read_wire(value, &mut #rt::Cx::new(form, false))
                }

                fn from_text(text: &str, form: #rt::Form) -> ::core::result::Result<Self, #rt::WireError> {
                    #rt::answer_from_text::<Self>(text, form)
                }
            }
        }
    });
    let registry = |auth: Auth| {
        let infos = model.endpoints.iter().filter(|e| e.auth == auth).map(|e| {
            let request = ident(&model.objects[e.request].name);
            quote!(<#request as #rt::Endpoint>::INFO,)
        });
        quote!(#(#infos)*)
    };
    let registry_token = registry(Auth::AccessToken);
    let registry_none = registry(Auth::None);
    quote! {
        #(#impls)*
        #(#answer_impls)*

        /// Every endpoint of the spec sent with an access_token (what
        /// `Client::send`, the CLI and the cloud relay call), in spec order.
        #[allow(deprecated)]
        pub static ENDPOINTS: &[&#rt::EndpointInfo] = &[#registry_token];

        /// The endpoints of the spec called without an access_token
        /// (`auth = "none"`: the token endpoints), in spec order. The
        /// client calls them itself; they are not in [`ENDPOINTS`].
        #[allow(deprecated)]
        pub static AUTH_ENDPOINTS: &[&#rt::EndpointInfo] = &[#registry_none];
    }
}

fn endpoint(model: &Model, e: &Endpoint) -> TokenStream {
    let rt = rt();
    let request_obj = &model.objects[e.request];
    let request = ident(&request_obj.name);
    let errcode = errcodes::enum_ident(e);
    let answer = match e.answer {
        AnswerKind::Ack => quote!(#rt::Ack),
        AnswerKind::Binary => quote!(#rt::MediaBytes),
        AnswerKind::Object(i) => {
            let name = ident(&model.objects[i].name);
            quote!(#name)
        }
    };
    let convert_answer = match e.answer {
        AnswerKind::Object(i) => {
            let name = ident(&model.objects[i].name);
            quote!(#rt::convert_answer::<#name>)
        }
        AnswerKind::Ack | AnswerKind::Binary => quote!(#rt::convert_untyped_answer),
    };
    let answer_kind = ident(match e.answer {
        AnswerKind::Ack => "Ack",
        AnswerKind::Binary => "Binary",
        AnswerKind::Object(_) => "Json",
    });
    let method = ident(match e.method {
        Method::Get => "Get",
        Method::Post => "Post",
    });
    let body = ident(match e.body {
        BodyKind::Json => "Json",
        BodyKind::Multipart => "Multipart",
        BodyKind::Form => "Form",
    });
    let auth = ident(match e.auth {
        Auth::AccessToken => "AccessToken",
        Auth::None => "None",
    });
    let cloud = e.cloud;
    let name = &e.name;
    let request_name = &request_obj.name;
    let path = &e.path;
    let doc = &e.doc;
    let deprecated = match &e.deprecated {
        None => quote!(::core::option::Option::None),
        Some(d) => {
            let since = opt_str(&d.since);
            let successor = opt_str(&d.successor);
            let note = &d.note;
            quote!(::core::option::Option::Some(#rt::Deprecation { since: #since, successor: #successor, note: #note }))
        }
    };
    let fields = field_infos(&request_obj.fields);
    let answer_fields = match e.answer {
        AnswerKind::Object(i) => field_infos(&model.objects[i].fields),
        _ => quote!(),
    };
    let mut roles = Vec::new();
    collect_roles(model, request_obj, "", &mut roles, 0);
    let roles = roles.iter().map(|(path, role)| {
        let role = role_tokens(*role);
        quote!(#rt::RoleInfo { path: #path, role: #role },)
    });
    quote! {
        #[allow(deprecated)]
        impl #rt::Endpoint for #request {
            type Answer = #answer;
            type Errcode = #errcode;
            const INFO: &'static #rt::EndpointInfo = &#rt::EndpointInfo {
                name: #name,
                request_type: #request_name,
                method: #rt::Method::#method,
                path: #path,
                doc: #doc,
                deprecated: #deprecated,
                auth: #rt::Auth::#auth,
                cloud: #cloud,
                body: #rt::BodyKind::#body,
                answer: #rt::AnswerKind::#answer_kind,
                fields: &[#fields],
                answer_fields: &[#answer_fields],
                roles: &[#(#roles)*],
                errcodes: #errcode::TABLE,
                convert: #rt::convert::<#request>,
                convert_answer: #convert_answer,
                parse: #rt::parse_any::<#request>,
            };
        }
    }
}

fn role_tokens(role: Role) -> TokenStream {
    let rt = rt();
    let role = ident(&role.variant());
    quote!(#rt::Role::#role)
}

fn field_infos(fields: &[crate::model::Field]) -> TokenStream {
    let rt = rt();
    let infos = fields.iter().map(|f| {
        let (http, cloud) = (&f.http, &f.cloud);
        let location = ident(match f.location {
            Location::Body => "Body",
            Location::Query => "Query",
        });
        let file = f.ty == Ty::File;
        let required = f.required;
        let role = match f.role {
            Some(role) => {
                let role = role_tokens(role);
                quote!(::core::option::Option::Some(#role))
            }
            None => quote!(::core::option::Option::None),
        };
        let list = matches!(f.ty, Ty::List(_));
        let kind = kind_tokens(&f.ty);
        let join = opt_str(&f.join);
        let missing = opt_i64(f.errcode_missing);
        let invalid = opt_i64(f.errcode_invalid);
        quote!(#rt::FieldInfo { http: #http, cloud: #cloud, kind: #kind, location: #rt::Location::#location, file: #file, list: #list, join: #join, required: #required, role: #role, errcode_missing: #missing, errcode_invalid: #invalid },)
    });
    quote!(#(#infos)*)
}

/// The `FieldKind` of a field type (a list's or a map's item kind behind a
/// reference, which a constant promotes to a `'static`).
fn kind_tokens(ty: &Ty) -> TokenStream {
    let rt = rt();
    let leaf = |name: &str| {
        let name = ident(name);
        quote!(#rt::FieldKind::#name)
    };
    match ty {
        Ty::String => leaf("String"),
        Ty::Integer => leaf("Integer"),
        Ty::Bool => leaf("Bool"),
        Ty::File => leaf("File"),
        Ty::Enum(_) => leaf("Enum"),
        Ty::Object(_) => leaf("Object"),
        Ty::Map(inner) => {
            let inner = kind_tokens(inner);
            quote!(#rt::FieldKind::Map(&#inner))
        }
        Ty::List(inner) => {
            let inner = kind_tokens(inner);
            quote!(#rt::FieldKind::List(&#inner))
        }
    }
}

fn opt_i64(n: Option<i64>) -> TokenStream {
    match n {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    }
}

fn opt_str(s: &Option<String>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

/// Dotted HTTP paths of every field with a role, through nested objects and
/// union payloads (not through maps and lists, whose keys are data).
fn collect_roles(
    model: &Model,
    o: &Object,
    prefix: &str,
    out: &mut Vec<(String, Role)>,
    depth: usize,
) {
    if depth > 16 {
        return;
    }
    for f in &o.fields {
        let path = format!("{prefix}{}", f.http);
        if let Some(role) = f.role {
            out.push((path.clone(), role));
        }
        if let Ty::Object(i) = f.ty {
            collect_roles(
                model,
                &model.objects[i],
                &format!("{path}."),
                out,
                depth + 1,
            );
        }
    }
    if let Some(u) = &o.union {
        for v in &u.variants {
            collect_roles(
                model,
                &model.objects[v.payload],
                &format!("{prefix}{}.", v.value),
                out,
                depth + 1,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::check;

    /// The `FieldKind` of every field of a spec with one field of each
    /// type, request and answer, without spaces.
    #[test]
    fn every_field_type_has_its_kind() {
        let spec = r#"
[[endpoint]]
name = "thing.send"
method = "POST"
path = "/cgi-bin/thing/send"
request = "Request"
answer = "Reply"
doc = "Sends a thing."

[[endpoint]]
name = "thing.upload"
method = "POST"
path = "/cgi-bin/thing/upload"
request = "Upload"
body = "multipart"
doc = "Uploads a thing."

[[type]]
name = "Upload"
doc = "An upload."

[[type.field]]
http = "media"
cloud = "media"
type = "file"
doc = "The file."

[[enum]]
name = "Colour"
doc = "A colour."

[[enum.value]]
wire = "red"
doc = "Red."

[[type]]
name = "Item"
doc = "An item."

[[type.field]]
http = "name"
cloud = "name"
type = "string"
doc = "Its name."

[[type]]
name = "Reply"
doc = "The answer."

[[type.field]]
http = "items"
cloud = "items"
type = "list<Item>"
doc = "Items."

[[type.field]]
http = "created_at"
cloud = "createdAt"
type = "integer"
doc = "When."

[[type]]
name = "Request"
doc = "The request."
"#;
        let fields = [
            ("s", "string", ""),
            ("i", "integer", ""),
            ("b", "bool", ""),
            ("e", "Colour", ""),
            ("o", "Item", ""),
            ("m", "map<Item>", ""),
            ("l", "list<integer>", ""),
            ("ll", "list<list<bool>>", ""),
            ("q", "list<Colour>", "in = \"query\"\njoin = \",\""),
        ];
        let mut spec = spec.to_owned();
        for (name, ty, extra) in fields {
            spec.push_str(&format!(
                "\n[[type.field]]\nhttp = \"{name}\"\ncloud = \"{name}\"\ntype = \"{ty}\"\ndoc = \"{name}.\"\n{extra}\n"
            ));
        }
        let model = check(&spec).unwrap();
        let kinds = |object: &str| -> Vec<String> {
            let o = model.objects.iter().find(|o| o.name == object).unwrap();
            o.fields
                .iter()
                .map(|f| {
                    kind_tokens(&f.ty)
                        .to_string()
                        .replace(' ', "")
                        .replace("::wechat_msg::__private::", "")
                })
                .collect()
        };
        assert_eq!(
            kinds("Request"),
            [
                "FieldKind::String",
                "FieldKind::Integer",
                "FieldKind::Bool",
                "FieldKind::Enum",
                "FieldKind::Object",
                "FieldKind::Map(&FieldKind::Object)",
                "FieldKind::List(&FieldKind::Integer)",
                "FieldKind::List(&FieldKind::List(&FieldKind::Bool))",
                "FieldKind::List(&FieldKind::Enum)",
            ]
        );
        assert_eq!(kinds("Upload"), ["FieldKind::File"]);
        assert_eq!(
            kinds("Reply"),
            ["FieldKind::List(&FieldKind::Object)", "FieldKind::Integer"]
        );
        // The tables carry them, and the answer converts through its type.
        let generated = endpoints(&model).to_string().replace(' ', "");
        assert!(
            generated.contains("http:\"ll\",cloud:\"ll\",kind:::wechat_msg::__private::FieldKind::List(&::wechat_msg::__private::FieldKind::List(&::wechat_msg::__private::FieldKind::Bool))"),
            "{generated}"
        );
        assert!(
            generated.contains("http:\"created_at\",cloud:\"createdAt\",kind:::wechat_msg::__private::FieldKind::Integer"),
            "{generated}"
        );
        assert!(
            generated.contains("convert_answer:::wechat_msg::__private::convert_answer::<Reply>"),
            "{generated}"
        );
        assert!(
            generated.contains("convert_answer:::wechat_msg::__private::convert_untyped_answer"),
            "{generated}"
        );
    }
}
