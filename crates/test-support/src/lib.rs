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
pub struct MockGitHub {
    /// The server; mount mocks on it.
    pub server: MockServer,
    /// Shaped like GitHub Enterprise Server (see [`MockGitHub::start_ghes`]).
    ghes: bool,
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
    /// Starts a server on 127.0.0.1 shaped like github.com (`api.github.com` paths).
    pub async fn start() -> Self {
        Self {
            server: MockServer::start().await,
            ghes: false,
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
        Self { server, ghes: true }
    }

    /// Base URL for `--api-url` (`…/api/v3` for a GHES mock).
    pub fn uri(&self) -> String {
        if self.ghes {
            format!("{}/api/v3", self.server.uri())
        } else {
            self.server.uri()
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

    /// Every request received, in order.
    pub async fn seen(&self) -> Vec<Seen> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| Seen {
                method: r.method.to_string(),
                path: match r.url.query() {
                    Some(q) => format!("{}?{q}", r.url.path()),
                    None => r.url.path().to_owned(),
                },
                body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
            })
            .collect()
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
