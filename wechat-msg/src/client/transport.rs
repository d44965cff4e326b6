//! One HTTP exchange: sending a request made ready by a wire form (`http`,
//! `cloud`), reading the answer under a size cap, and sorting failures by
//! what they say about delivery.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use crate::Form;
use crate::answer::{self, MalformedAnswer, Refusal, read_status};
use crate::endpoint::{MediaBytes, Method};

use super::failure::{AnswerProblem, BadAnswer, DeliveryUnknown, Failure, TransportError};
use super::secrets::{AccessToken, Scrub};

/// The HTTP side of a client: connection pool, base URL and answer cap.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    /// The base URL, without a trailing `/`.
    pub(crate) base: Arc<str>,
    /// The base URL joined to each path, parsed once per path.
    pub(crate) joined: Arc<Joined>,
    pub(crate) max_answer: usize,
}

/// The base URL joined to each endpoint path: a request's URL is a copy of
/// its path's, with the query appended. Joining a path parses it (thousands
/// of instructions), so the spec's endpoints (the token endpoints too) are
/// joined when the client is built and read without a lock; any other path
/// (an endpoint of another `api!` crate) is joined on first use and kept behind
/// a lock. Paths are static strings, so both lists are bounded, and they
/// hold no secret (the token goes in the query of the copy).
#[derive(Debug)]
pub(crate) struct Joined {
    /// Tells tables apart in [`LAST_URL`].
    id: u64,
    base: reqwest::Url,
    /// The paths of [`crate::ENDPOINTS`] and [`crate::AUTH_ENDPOINTS`], sorted.
    known: Box<[(&'static str, reqwest::Url)]>,
    others: RwLock<Vec<(&'static str, reqwest::Url)>>,
}

impl Joined {
    /// `base`, a URL that can be a base and has no query.
    pub(crate) fn new(base: reqwest::Url) -> Self {
        let mut known: Vec<_> = crate::ENDPOINTS
            .iter()
            .chain(crate::AUTH_ENDPOINTS)
            .map(|info| (info.path, join(&base, info.path)))
            .collect();
        known.sort_by(|a, b| a.0.cmp(b.0));
        known.dedup_by(|a, b| a.0 == b.0);
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Joined {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            base,
            known: known.into_boxed_slice(),
            others: RwLock::new(Vec::new()),
        }
    }

    /// The base URL with `path` appended to its own path.
    fn url(&self, path: &'static str) -> reqwest::Url {
        if let Ok(i) = self.known.binary_search_by(|(p, _)| (*p).cmp(path)) {
            return self.known[i].1.clone();
        }
        let found = |urls: &[(&'static str, reqwest::Url)]| {
            urls.iter()
                .find(|(p, _)| *p == path)
                .map(|(_, url)| url.clone())
        };
        if let Some(url) = found(&self.others.read().unwrap_or_else(PoisonError::into_inner)) {
            return url;
        }
        let url = join(&self.base, path);
        let mut others = self.others.write().unwrap_or_else(PoisonError::into_inner);
        if found(&others).is_none() {
            others.push((path, url.clone()));
        }
        url
    }
}

thread_local! {
    /// The last URL this thread made that carries a token and nothing else
    /// in its query: the next call to the same path of the same client with
    /// the same token copies it (one allocation of the right size) instead
    /// of appending the escaped token to a copy of the path's URL (a
    /// reallocation, which takes the allocator's lock). It holds a clone of
    /// the token, which no error, log or Debug print can reach.
    static LAST_URL: RefCell<Option<LastUrl>> = const { RefCell::new(None) };
}

struct LastUrl {
    joined: u64,
    path: &'static str,
    token: AccessToken,
    url: reqwest::Url,
}

/// `base` with `path` appended to its own path.
fn join(base: &reqwest::Url, path: &str) -> reqwest::Url {
    let mut url = base.clone();
    let base_path = url.path().trim_end_matches('/');
    if base_path.is_empty() {
        url.set_path(path);
    } else {
        let path = format!("{base_path}{path}");
        url.set_path(&path);
    }
    url
}

/// A request ready to be sent, once per attempt. No Debug: its query and
/// body may hold the app secret.
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    /// Query pairs besides the access_token.
    pub(crate) query: Vec<QueryPair>,
    pub(crate) body: OutBody,
}

/// One `key=value` of a query. A joined list's items are escaped one by
/// one and its separator is written as is: `ids=2,616`.
pub(crate) struct QueryPair {
    pub(crate) key: String,
    pub(crate) items: Vec<String>,
    pub(crate) join: &'static str,
}

impl QueryPair {
    /// A pair with one text value.
    pub(crate) fn text(key: impl Into<String>, value: impl Into<String>) -> Self {
        QueryPair {
            key: key.into(),
            items: vec![value.into()],
            join: "",
        }
    }

    fn write(&self, out: &mut String) {
        out.extend(form_urlencoded::byte_serialize(self.key.as_bytes()));
        out.push('=');
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push_str(self.join);
            }
            out.extend(form_urlencoded::byte_serialize(item.as_bytes()));
        }
    }
}

/// A request's body. A JSON or form body is copied into each attempt's
/// request: a copy the HTTP stack frees alone is cheaper than sharing one
/// body between attempts, whose count every attempt would change twice
/// (an atomic increment and decrement, on whichever thread ends the write).
pub(crate) enum OutBody {
    Empty,
    Json(Vec<u8>),
    Multipart(Vec<OutPart>),
    /// `application/x-www-form-urlencoded`, already encoded.
    Form(Vec<u8>),
}

pub(crate) enum OutPart {
    Text {
        name: String,
        value: String,
    },
    /// A file part: its bytes as they go out (shared by every attempt).
    File {
        name: String,
        file_name: String,
        content_type: String,
        bytes: Bytes,
    },
}

/// A complete answer: status, content type, body. Its `Debug` shows the
/// body's length only: a token answer's bytes are secret.
pub(crate) struct Received {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Received")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Received {
    pub(crate) fn bad(&self, problem: AnswerProblem, scrub: &Scrub<'_>) -> Failure {
        Failure::Unknown(DeliveryUnknown::BadAnswer(BadAnswer::new(
            self.status,
            self.content_type.as_deref(),
            problem,
            &self.body,
            scrub,
        )))
    }
}

/// A WeChat answer, its errcode read.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The form of `payload` (and of its status keys).
    pub(crate) form: Form,
    /// The refusal, `None` on success.
    pub(crate) status: Option<Refusal>,
    pub(crate) payload: Payload,
}

#[derive(Debug)]
pub(crate) enum Payload {
    Json(Value),
    /// A success's JSON text, as it came: an object whose errcode is 0 or
    /// absent, no key given twice, no secret and no escape in it (so there
    /// is nothing to scrub).
    Text(String),
    Binary(MediaBytes),
}

impl Transport {
    /// Sends `out` once, with `token` in the query when given, and reads the
    /// whole answer.
    pub(crate) async fn exchange(
        &self,
        out: &Outgoing,
        token: Option<&AccessToken>,
        scrub: &Scrub<'_>,
    ) -> Result<Received, Failure> {
        let url = self.url(out, token);
        let method = match out.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut request = self.http.request(method, url);
        match &out.body {
            OutBody::Empty => {}
            OutBody::Json(bytes) => {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(bytes.clone());
            }
            OutBody::Multipart(parts) => request = request.multipart(multipart(parts)),
            OutBody::Form(bytes) => {
                request = request
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(bytes.clone());
            }
        }
        let mut response = request.send().await.map_err(|e| classify(e, scrub))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // Read here rather than in a function of its own: one state
        // machine less to copy and resume on every send.
        let cap = self.max_answer;
        let too_large = |head: Vec<u8>| {
            Received {
                status,
                content_type: content_type.clone(),
                body: head,
            }
            .bad(AnswerProblem::TooLarge { limit: cap }, scrub)
        };
        if response
            .content_length()
            .is_some_and(|len| len > cap as u64)
        {
            return Err(too_large(Vec::new()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(e, scrub))? {
            if body.len() + chunk.len() > cap {
                let room = cap - body.len();
                body.extend_from_slice(&chunk[..room]);
                return Err(too_large(body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Received {
            status,
            content_type,
            body,
        })
    }

    fn url(&self, out: &Outgoing, token: Option<&AccessToken>) -> reqwest::Url {
        let Some(token) = token.filter(|_| out.query.is_empty()) else {
            return self.url_with_query(out, token);
        };
        let id = self.joined.id;
        let last = LAST_URL.with_borrow(|last| {
            last.as_ref()
                .filter(|l| l.joined == id && std::ptr::eq(l.path, out.path) && l.token == *token)
                .map(|l| l.url.clone())
        });
        if let Some(url) = last {
            return url;
        }
        let url = self.url_with_query(out, Some(token));
        LAST_URL.set(Some(LastUrl {
            joined: id,
            path: out.path,
            token: token.clone(),
            url: url.clone(),
        }));
        url
    }

    /// [`Transport::url`] made afresh.
    fn url_with_query(&self, out: &Outgoing, token: Option<&AccessToken>) -> reqwest::Url {
        let mut url = self.joined.url(out.path);
        if out.query.iter().any(|pair| pair.items.len() > 1) {
            // A joined list's separator goes in as is, which the URL's own
            // query writer would escape.
            let mut query = String::with_capacity(64);
            if let Some(token) = token {
                query.push_str("access_token=");
                query.extend(form_urlencoded::byte_serialize(token.expose().as_bytes()));
            }
            for pair in &out.query {
                if !query.is_empty() {
                    query.push('&');
                }
                pair.write(&mut query);
            }
            url.set_query(Some(&query));
        } else if token.is_some() || !out.query.is_empty() {
            let mut query = url.query_pairs_mut();
            if let Some(token) = token {
                query.append_pair("access_token", token.expose());
            }
            for pair in &out.query {
                query.append_pair(&pair.key, pair.items.first().map_or("", String::as_str));
            }
        }
        url
    }
}

/// Sorts a reqwest failure: a connection never made means nothing was sent;
/// anything later leaves delivery unknown.
fn classify(err: reqwest::Error, scrub: &Scrub<'_>) -> Failure {
    let not_sent = err.is_connect() || err.is_builder();
    let transport = TransportError::from_reqwest(err, scrub);
    if not_sent {
        Failure::NotSent(transport)
    } else if transport.is_timeout() {
        Failure::Unknown(DeliveryUnknown::Timeout(transport))
    } else {
        Failure::Unknown(DeliveryUnknown::Interrupted(transport))
    }
}

fn multipart(parts: &[OutPart]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for part in parts {
        form = match part {
            OutPart::Text { name, value } => form.text(name.clone(), value.clone()),
            OutPart::File {
                name,
                file_name,
                content_type,
                bytes,
            } => {
                let len = bytes.len() as u64;
                let base = || {
                    reqwest::multipart::Part::stream_with_length(bytes.clone(), len)
                        .file_name(file_name.clone())
                };
                let part = base().mime_str(content_type).unwrap_or_else(|_| base());
                form.part(name.clone(), part)
            }
        };
    }
    form
}

/// Parses a JSON answer and its errcode in `form`. A body that is not
/// UTF-8 is read only as far as a refusal: its errmsg decoded lossily.
pub(crate) fn read_json(
    received: &Received,
    form: Form,
    scrub: &Scrub<'_>,
) -> Result<(Option<Refusal>, Value), Failure> {
    if received.body.iter().all(u8::is_ascii_whitespace) {
        return Err(received.bad(AnswerProblem::Empty, scrub));
    }
    let malformed = |m| received.bad(AnswerProblem::Malformed(m), scrub);
    let parsed = answer::parse(&received.body).map_err(malformed)?;
    match read_status(&parsed.value, form).map_err(malformed)? {
        None if parsed.lossy => Err(malformed(MalformedAnswer::NotUtf8)),
        status => Ok((status, parsed.value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(base: &str) -> Transport {
        let base = reqwest::Url::parse(base).unwrap();
        Transport {
            http: reqwest::Client::new(),
            base: Arc::from(base.as_str().trim_end_matches('/')),
            joined: Arc::new(Joined::new(base)),
            max_answer: 1024,
        }
    }

    fn outgoing(path: &'static str, query: Vec<QueryPair>) -> Outgoing {
        Outgoing {
            method: Method::Get,
            path,
            query,
            body: OutBody::Empty,
        }
    }

    #[test]
    fn a_url_is_the_base_and_path_with_the_token_and_pairs_escaped() {
        let transport = transport("http://127.0.0.1:8080/prefix/");
        let token = AccessToken::new("a b&c=d/é");
        let out = outgoing(
            "/cgi-bin/elsewhere",
            vec![
                QueryPair::text("appid", "wx 1"),
                QueryPair::text("empty", ""),
            ],
        );
        let expected = "http://127.0.0.1:8080/prefix/cgi-bin/elsewhere\
                        ?access_token=a+b%26c%3Dd%2F%C3%A9&appid=wx+1&empty=";
        // The first call joins the path; the second copies the joined URL.
        for _ in 0..2 {
            assert_eq!(transport.url(&out, Some(&token)).as_str(), expected);
        }
        let bare = outgoing("/cgi-bin/elsewhere", Vec::new());
        assert_eq!(
            transport.url(&bare, None).as_str(),
            "http://127.0.0.1:8080/prefix/cgi-bin/elsewhere"
        );
        assert_eq!(transport.joined.others.read().unwrap().len(), 1);
    }

    #[test]
    fn a_joined_list_keeps_its_separator_and_escapes_its_items() {
        let transport = transport("http://127.0.0.1:8080");
        let out = outgoing(
            "/wxaapi/newtmpl/getpubtemplatekeywords",
            vec![
                QueryPair {
                    key: "ids".to_owned(),
                    items: vec!["2".to_owned(), "6 16".to_owned()],
                    join: ",",
                },
                QueryPair::text("start", "0"),
            ],
        );
        assert_eq!(
            transport.url(&out, Some(&AccessToken::new("T"))).as_str(),
            "http://127.0.0.1:8080/wxaapi/newtmpl/getpubtemplatekeywords\
             ?access_token=T&ids=2,6+16&start=0"
        );
    }

    #[test]
    fn each_path_is_joined_once() {
        let transport = transport("http://127.0.0.1:8080/base");
        for path in ["/a", "/b", "/a", "/b", "/c"] {
            let url = transport.url(&outgoing(path, Vec::new()), None);
            assert_eq!(url.path(), format!("/base{path}"));
        }
        assert_eq!(transport.joined.others.read().unwrap().len(), 3);
        // The spec's endpoints were joined when the client was built.
        let known = crate::ENDPOINTS
            .iter()
            .chain(crate::AUTH_ENDPOINTS)
            .map(|info| info.path);
        for path in known
            .clone()
            .chain(known.map(|p| &*Box::leak(p.to_owned().into())))
        {
            let url = transport.url(&outgoing(path, Vec::new()), None);
            assert_eq!(url.path(), format!("/base{path}"));
        }
        assert_eq!(transport.joined.others.read().unwrap().len(), 3);
    }

    #[test]
    fn the_last_url_is_reused_only_for_the_same_client_path_and_token() {
        let (a, b) = (transport("http://a.test"), transport("http://b.test"));
        let (one, two) = (AccessToken::new("ONE"), AccessToken::new("TWO"));
        let send = outgoing("/cgi-bin/message/custom/send", Vec::new());
        let typing = outgoing("/cgi-bin/message/custom/business/typing", Vec::new());
        let cases = [
            (
                &a,
                &send,
                &one,
                "http://a.test/cgi-bin/message/custom/send?access_token=ONE",
            ),
            (
                &a,
                &send,
                &one,
                "http://a.test/cgi-bin/message/custom/send?access_token=ONE",
            ),
            (
                &a,
                &send,
                &two,
                "http://a.test/cgi-bin/message/custom/send?access_token=TWO",
            ),
            (
                &b,
                &send,
                &two,
                "http://b.test/cgi-bin/message/custom/send?access_token=TWO",
            ),
            (
                &b,
                &typing,
                &two,
                "http://b.test/cgi-bin/message/custom/business/typing?access_token=TWO",
            ),
            (
                &b,
                &typing,
                &two,
                "http://b.test/cgi-bin/message/custom/business/typing?access_token=TWO",
            ),
            (
                &a,
                &typing,
                &two,
                "http://a.test/cgi-bin/message/custom/business/typing?access_token=TWO",
            ),
        ];
        for (transport, out, token, expected) in cases {
            assert_eq!(transport.url(out, Some(token)).as_str(), expected);
        }
        assert_eq!(
            a.url(&send, None).as_str(),
            "http://a.test/cgi-bin/message/custom/send"
        );
    }
}
