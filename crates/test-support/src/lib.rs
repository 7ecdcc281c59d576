//! Test support for ghops: a wiremock GitHub fake with helpers that assert the exact requests
//! received, fixture loading, webhook signing and insta settings.
//!
//! ```no_run
//! # async fn t() {
//! use ghops_test_support::MockGitHub;
//! use wiremock::{Mock, ResponseTemplate, matchers::{method, path}};
//! let gh = MockGitHub::start().await;
//! Mock::given(method("GET")).and(path("/user"))
//!     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"login": "octocat"})))
//!     .mount(&gh.server).await;
//! // ... run the code under test against gh.uri() ...
//! gh.assert_no_writes().await;
//! # }
//! ```

use std::path::PathBuf;

use serde_json::Value;
use wiremock::MockServer;

/// One request a mock received, reduced to what tests assert.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// JSON body (`Null` when empty or not JSON).
    pub body: Value,
}

impl Seen {
    /// A received request, reduced.
    pub fn of(r: &wiremock::Request) -> Self {
        Seen {
            method: r.method.to_string(),
            path: match r.url.query() {
                Some(q) => format!("{}?{q}", r.url.path()),
                None => r.url.path().to_owned(),
            },
            body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        }
    }

    /// `"METHOD /path"`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// True for anything but GET/HEAD and GraphQL queries (a GraphQL `mutation` is a write).
    pub fn is_write(&self) -> bool {
        if self.method == "GET" || self.method == "HEAD" {
            return false;
        }
        let graphql_query = self.path.ends_with("/graphql")
            && self.body["query"]
                .as_str()
                .is_some_and(|q| !q.trim_start().starts_with("mutation"));
        !graphql_query
    }
}

/// A wiremock server standing in for the GitHub API.
///
/// With `GHOPS_TEST_GHES=1` in the environment, [`MockGitHub::start`] puts a GitHub
/// Enterprise Server front before the server: ghops is given `http://FRONT/api/v3`, the front
/// serves only GHES's API paths (`/api/v3/…` → `/…`, `/api/graphql` → `/graphql`,
/// `/api/uploads/…` → `/…`) and forwards them to the mocks as written for github.com; any
/// other path is answered [`NOT_GHES_STATUS`] and shows up in [`MockGitHub::seen`] as a
/// `STRAY` request, so every test that asserts its exact requests also proves that ghops
/// used GHES's paths.
pub struct MockGitHub {
    /// The server; mount mocks on it.
    pub server: MockServer,
    /// Shaped like GitHub Enterprise Server (see [`MockGitHub::start_ghes`]).
    ghes: bool,
    /// The GHES front and the requests it refused (`GHOPS_TEST_GHES=1`).
    front: Option<(MockServer, std::sync::Arc<std::sync::Mutex<Vec<Seen>>>)>,
}

/// The status a GitHub Enterprise Server mock answers for a path GHES does not serve: loud
/// (no code path treats it as "absent", as it would a 404).
pub const NOT_GHES_STATUS: u16 = 599;

/// True for the paths GitHub Enterprise Server serves its APIs under: REST `/api/v3/…`,
/// GraphQL `/api/graphql`, uploads `/api/uploads/…`.
pub fn is_ghes_api_path(path: &str) -> bool {
    path.starts_with("/api/v3/") || path == "/api/graphql" || path.starts_with("/api/uploads/")
}

impl MockGitHub {
    /// Starts a server on 127.0.0.1 shaped like github.com (`api.github.com` paths); behind a
    /// GHES front when `GHOPS_TEST_GHES=1` (see [`MockGitHub`]).
    pub async fn start() -> Self {
        if std::env::var("GHOPS_TEST_GHES").is_ok_and(|v| v == "1") {
            Self::start_behind_ghes_front().await
        } else {
            Self {
                server: MockServer::start().await,
                ghes: false,
                front: None,
            }
        }
    }

    /// A github.com-shaped mock behind a GitHub Enterprise Server front (what
    /// `GHOPS_TEST_GHES=1` makes of [`MockGitHub::start`]; see [`MockGitHub`]).
    pub async fn start_behind_ghes_front() -> Self {
        let server = MockServer::start().await;
        let strays = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let front = MockServer::builder().start().await;
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(ghes_front::Front {
                inner: *server.address(),
                strays: Some(strays.clone()),
                drop_headers: &[],
            })
            .mount(&front)
            .await;
        Self {
            server,
            ghes: false,
            front: Some((front, strays)),
        }
    }

    /// The API base path ghops is given (`/api/v3` behind a GHES front, else empty): what a
    /// `--dry-run` line shows before each path.
    pub fn base_path(&self) -> &'static str {
        if self.ghes || self.front.is_some() {
            "/api/v3"
        } else {
            ""
        }
    }

    /// Starts a server shaped like GitHub Enterprise Server: mount REST mocks under
    /// `/api/v3`, GraphQL at `/api/graphql`; [`MockGitHub::uri`] is then the REST base
    /// (`http://127.0.0.1:PORT/api/v3`). Any request outside those paths is answered
    /// [`NOT_GHES_STATUS`] and fails [`MockGitHub::assert_only_ghes_paths`].
    pub async fn start_ghes() -> Self {
        let server = MockServer::start().await;
        wiremock::Mock::given(|r: &wiremock::Request| !is_ghes_api_path(r.url.path()))
            .respond_with(
                wiremock::ResponseTemplate::new(NOT_GHES_STATUS)
                    .set_body_string("ghes mock: GitHub Enterprise Server serves no such path"),
            )
            .with_priority(1)
            .named("not a GHES API path")
            .mount(&server)
            .await;
        Self {
            server,
            ghes: true,
            front: None,
        }
    }

    /// Base URL for `--api-url` (`…/api/v3` for a GHES mock).
    pub fn uri(&self) -> String {
        match &self.front {
            Some((front, _)) => format!("{}/api/v3", front.uri()),
            None if self.ghes => format!("{}/api/v3", self.server.uri()),
            None => self.server.uri(),
        }
    }

    /// Asserts that every request went to a path GitHub Enterprise Server serves.
    pub async fn assert_only_ghes_paths(&self) {
        let stray: Vec<String> = self
            .lines()
            .await
            .into_iter()
            .filter(|l| {
                let path = l.split_once(' ').map_or("", |(_, p)| p);
                !is_ghes_api_path(path.split('?').next().unwrap_or(""))
            })
            .collect();
        assert!(
            stray.is_empty(),
            "requests outside GHES's API paths: {stray:#?}"
        );
    }

    /// Every request received, in order (behind a GHES front, the requests it refused come
    /// first, with the method `STRAY <METHOD>`).
    pub async fn seen(&self) -> Vec<Seen> {
        let mut seen: Vec<Seen> = match &self.front {
            Some((_, strays)) => strays.lock().expect("lock").clone(),
            None => Vec::new(),
        };
        seen.extend(
            self.server
                .received_requests()
                .await
                .unwrap_or_default()
                .iter()
                .map(Seen::of),
        );
        seen
    }

    /// `"METHOD /path?query"` of every request, in order.
    pub async fn lines(&self) -> Vec<String> {
        self.seen().await.iter().map(Seen::line).collect()
    }

    /// The side-effecting requests (anything but GET/HEAD), in order.
    pub async fn writes(&self) -> Vec<Seen> {
        self.seen()
            .await
            .into_iter()
            .filter(Seen::is_write)
            .collect()
    }

    /// Asserts that no side-effecting request was received.
    pub async fn assert_no_writes(&self) {
        let w = self.writes().await;
        assert!(w.is_empty(), "unexpected writes: {w:#?}");
    }

    /// Asserts that the writes were exactly these `"METHOD /path"` lines, in order.
    pub async fn assert_writes(&self, expected: &[&str]) {
        let got: Vec<String> = self.writes().await.iter().map(Seen::line).collect();
        assert_eq!(got, expected, "writes differ");
    }

    /// Asserts the full request sequence (`"METHOD /path?query"`), reads included.
    pub async fn assert_lines(&self, expected: &[&str]) {
        assert_eq!(self.lines().await, expected, "requests differ");
    }
}

mod ghes_front {
    //! The GHES front: a wiremock responder that forwards GHES API paths to the github.com-
    //! shaped mock over plain HTTP/1.1 (the front runs on wiremock's own server thread, so a
    //! blocking forward is fine) and refuses everything else.

    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::sync::{Arc, Mutex};

    use wiremock::{Request, Respond, ResponseTemplate};

    use super::{NOT_GHES_STATUS, Seen};

    pub(super) struct Front {
        pub(super) inner: SocketAddr,
        /// GHES mode: map GHES paths, refuse and record the rest. `None`: forward as is.
        pub(super) strays: Option<Arc<Mutex<Vec<Seen>>>>,
        /// Response headers not passed on.
        pub(super) drop_headers: &'static [&'static str],
    }

    /// The github.com path for a GHES path, or `None` when GHES serves no such path.
    fn to_dotcom(path: &str) -> Option<String> {
        if path == "/api/graphql" {
            return Some("/graphql".to_owned());
        }
        ["/api/v3/", "/api/uploads/"]
            .iter()
            .find_map(|p| path.strip_prefix(p))
            .map(|rest| format!("/{rest}"))
    }

    impl Respond for Front {
        fn respond(&self, req: &Request) -> ResponseTemplate {
            let mapped = match &self.strays {
                None => Some(req.url.path().to_owned()),
                Some(_) => to_dotcom(req.url.path()),
            };
            let Some(path) = mapped else {
                let mut stray = Seen::of(req);
                stray.method = format!("STRAY {}", stray.method);
                if let Some(strays) = &self.strays {
                    strays.lock().expect("lock").push(stray);
                }
                return ResponseTemplate::new(NOT_GHES_STATUS)
                    .set_body_string("ghes front: GitHub Enterprise Server serves no such path");
            };
            let target = match req.url.query() {
                Some(q) => format!("{path}?{q}"),
                None => path,
            };
            forward(self.inner, req, &target, self.drop_headers).unwrap_or_else(|e| {
                ResponseTemplate::new(502).set_body_string(format!("ghes front: {e}"))
            })
        }
    }

    fn forward(
        inner: SocketAddr,
        req: &Request,
        target: &str,
        drop_headers: &[&str],
    ) -> std::io::Result<ResponseTemplate> {
        let mut head = format!(
            "{} {target} HTTP/1.1\r\nhost: {inner}\r\nconnection: close\r\n",
            req.method
        );
        for (k, v) in &req.headers {
            if matches!(
                k.as_str(),
                "host" | "connection" | "content-length" | "transfer-encoding"
            ) {
                continue;
            }
            head.push_str(&format!(
                "{k}: {}\r\n",
                String::from_utf8_lossy(v.as_bytes())
            ));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", req.body.len()));
        let mut conn = TcpStream::connect(inner)?;
        conn.write_all(head.as_bytes())?;
        conn.write_all(&req.body)?;
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw)?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| std::io::Error::other("no end of headers"))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut body = raw[split + 4..].to_vec();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("bad status line"))?;
        let mut out = ResponseTemplate::new(status);
        let mut chunked = false;
        for line in lines {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "content-length" | "connection" | "date" => {}
                _ if drop_headers.contains(&k.as_str()) => {}
                _ => out = out.append_header(k.as_str(), v),
            }
        }
        if chunked {
            body = dechunk(&body)?;
        }
        Ok(out.set_body_bytes(body))
    }

    fn dechunk(mut b: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            let eol = b
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| std::io::Error::other("bad chunk"))?;
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&b[..eol])
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim(),
                16,
            )
            .map_err(|_| std::io::Error::other("bad chunk size"))?;
            b = &b[eol + 2..];
            if size == 0 {
                return Ok(out);
            }
            out.extend_from_slice(
                b.get(..size)
                    .ok_or_else(|| std::io::Error::other("short chunk"))?,
            );
            b = b.get(size + 2..).unwrap_or_default();
        }
    }
}

/// Starts a front on 127.0.0.1 that forwards every request to `inner` as is and passes the
/// answers back without the response headers named in `drop_headers` (lower case). The
/// contract test puts one before Prism, whose canned `Link` examples name pages it does not
/// serve. Returns the front's base URL; the front lives as long as the returned server.
pub async fn start_forwarder(
    inner: std::net::SocketAddr,
    drop_headers: &'static [&'static str],
) -> MockServer {
    let front = MockServer::builder().start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(ghes_front::Front {
            inner,
            strays: None,
            drop_headers,
        })
        .mount(&front)
        .await;
    front
}

/// The repository root (for `testdata/` and `examples/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Path of a webhook fixture in `testdata/webhooks/`.
pub fn fixture_path(name: &str) -> PathBuf {
    repo_root().join("testdata/webhooks").join(name)
}

/// The bytes of a webhook fixture.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// A webhook fixture as JSON, for editing before use.
pub fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).expect("fixture JSON")
}

/// `sha256=<hex>` signature of a body, as GitHub sends in `X-Hub-Signature-256`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// insta settings shared by all snapshot tests: snapshots next to the test in `snapshots/`,
/// with the mock server's random port redacted.
pub fn insta_settings(mock_uri: Option<&str>) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    if let Some(u) = mock_uri {
        s.add_filter(&regex_escape(u), "http://mock-github");
    }
    s
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A throwaway RSA private key (PEM, PKCS#1) for GitHub App tests. Generated for ghops's tests;
/// it protects nothing.
pub const TEST_APP_KEY: &str = include_str!("test-app-key.pem");

/// For bench binaries: runs `f` once to warm up, then `runs` times, and returns the median
/// wall time of one run with the last run's output (kept from the optimiser).
pub fn median_time<T>(runs: usize, mut f: impl FnMut() -> T) -> (std::time::Duration, T) {
    let mut out = std::hint::black_box(f());
    let mut times = Vec::with_capacity(runs.max(1));
    for _ in 0..runs.max(1) {
        let t = std::time::Instant::now();
        out = std::hint::black_box(f());
        times.push(t.elapsed());
    }
    times.sort();
    (times[times.len() / 2], out)
}
