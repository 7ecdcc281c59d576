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
//!
//! It is for tests only: not a complete GitHub fake (unmatched requests answer 404, so a test
//! mounts exactly the endpoints the code under test may call), and no part of the ghops
//! binary.

pub mod fake;
pub mod schema;

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
    front: Option<(String, std::sync::Arc<std::sync::Mutex<Vec<Seen>>>)>,
}

/// The status a GitHub Enterprise Server mock answers for a path GHES does not serve: loud
/// (no code path treats it as "absent", as it would a 404).
pub const NOT_GHES_STATUS: u16 = 599;

/// True for the paths GitHub Enterprise Server serves its APIs under: REST `/api/v3/…`,
/// GraphQL `/api/graphql`, uploads `/api/uploads/…`.
pub fn is_ghes_api_path(path: &str) -> bool {
    ghes_to_dotcom(path).is_some()
}

/// The github.com path of a GitHub Enterprise Server API path (`/api/v3/x` → `/x`,
/// `/api/graphql` → `/graphql`, `/api/uploads/x` → `/x`), or `None` when GHES serves no such
/// path.
fn ghes_to_dotcom(path: &str) -> Option<String> {
    if path == "/api/graphql" {
        return Some("/graphql".to_owned());
    }
    ["/api/v3/", "/api/uploads/"]
        .iter()
        .find_map(|p| path.strip_prefix(p))
        .map(|rest| format!("/{rest}"))
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
        let addr = front::start(
            *server.address(),
            front::Mode {
                strays: Some(strays.clone()),
                drop_headers: &[],
            },
        );
        Self {
            server,
            ghes: false,
            front: Some((format!("http://{addr}"), strays)),
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
            Some((front, _)) => format!("{front}/api/v3"),
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

    /// Waits until at least `n` received requests satisfy `pred` and returns those requests;
    /// panics, naming every request received, when [`WAIT_DEADLINE`] passes first. Use it
    /// instead of a fixed sleep: to wait for a side effect, and before asserting that
    /// something did *not* happen, to wait for the positive signal (a later request) that
    /// proves the input was processed.
    pub async fn wait_for_requests(&self, n: usize, pred: impl Fn(&Seen) -> bool) -> Vec<Seen> {
        let deadline = std::time::Instant::now() + WAIT_DEADLINE;
        loop {
            let seen = self.seen().await;
            let matching: Vec<Seen> = seen.iter().filter(|s| pred(s)).cloned().collect();
            if matching.len() >= n {
                return matching;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited {WAIT_DEADLINE:?} for {n} matching requests, got {}: {:#?}",
                matching.len(),
                seen.iter().map(Seen::line).collect::<Vec<_>>()
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Asserts the full request sequence (`"METHOD /path?query"`), reads included.
    pub async fn assert_lines(&self, expected: &[&str]) {
        assert_eq!(self.lines().await, expected, "requests differ");
    }
}

/// How long [`MockGitHub::wait_for_requests`] and [`wait_until`] wait before failing: far
/// beyond what any condition needs on a loaded machine, so reaching it means "never".
pub const WAIT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

/// `"METHOD /path"` of a request (no query): how the Kubernetes API tests list what a plain
/// wiremock server received ([`MockGitHub::lines`] does the same for GitHub, query included).
pub fn method_path(r: &wiremock::Request) -> String {
    format!("{} {}", r.method, r.url.path())
}

/// Polls `done` until it holds; panics with `what` when [`WAIT_DEADLINE`] passes first. For
/// counts a test records itself (handler calls, metrics); see
/// [`MockGitHub::wait_for_requests`] for requests to a mock.
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT_DEADLINE;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {WAIT_DEADLINE:?} for {what}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

mod front {
    //! A front before a mock: a small HTTP/1.1 proxy on its own thread and runtime (so
    //! concurrent requests stay concurrent). In GHES mode it maps GHES API paths to the
    //! github.com-shaped mock and refuses (and records) the rest; it can drop response headers.

    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::{NOT_GHES_STATUS, Seen};

    #[derive(Clone)]
    pub(super) struct Mode {
        /// GHES mode: map GHES paths, refuse and record the rest. `None`: forward as is.
        pub(super) strays: Option<Arc<Mutex<Vec<Seen>>>>,
        /// Response headers not passed on (lower case).
        pub(super) drop_headers: &'static [&'static str],
    }

    /// Starts the front; returns its address. It serves until the process ends.
    pub(super) fn start(inner: SocketAddr, mode: Mode) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind front");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("front address");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("front runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("front listener");
                while let Ok((sock, _)) = listener.accept().await {
                    tokio::spawn(serve(sock, inner, mode.clone()));
                }
            });
        });
        addr
    }

    /// Reads from `sock` into `buf` until it holds a blank line; returns the head's length.
    async fn read_head(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
        loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                return Some(i + 4);
            }
            if buf.len() > 1 << 20 {
                return None;
            }
            let mut chunk = [0u8; 8192];
            let n = sock.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn serve(mut client: TcpStream, inner: SocketAddr, mode: Mode) -> Option<()> {
        let mut buf = Vec::new();
        let head_len = read_head(&mut client, &mut buf).await?;
        let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
        let mut lines = head.split("\r\n");
        let mut parts = lines.next()?.split(' ');
        let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target.clone(), None),
        };
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mapped = match &mode.strays {
            None => Some(path.clone()),
            Some(_) => super::ghes_to_dotcom(&path),
        };
        let Some(new_path) = mapped else {
            // Refused: read the body to record it, answer loudly, close.
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = buf[head_len..].to_vec();
            while body.len() < len {
                let mut chunk = vec![0u8; len - body.len()];
                let n = client.read(&mut chunk).await.ok()?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
            if let Some(strays) = &mode.strays {
                strays.lock().expect("lock").push(Seen {
                    method: format!("STRAY {method}"),
                    path: target.clone(),
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                });
            }
            let msg = "ghes front: GitHub Enterprise Server serves no such path";
            let answer = format!(
                "HTTP/1.1 {NOT_GHES_STATUS} Not A GHES Path\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{msg}",
                msg.len()
            );
            client.write_all(answer.as_bytes()).await.ok()?;
            return client.shutdown().await.ok();
        };
        let mut out = format!(
            "{method} {new_path}{} HTTP/1.1\r\n",
            query.map(|q| format!("?{q}")).unwrap_or_default()
        );
        for (k, v) in &headers {
            if !matches!(k.as_str(), "connection" | "keep-alive" | "host") {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        out.push_str(&format!("host: {inner}\r\nconnection: close\r\n\r\n"));
        let mut upstream = TcpStream::connect(inner).await.ok()?;
        upstream.write_all(out.as_bytes()).await.ok()?;
        upstream.write_all(&buf[head_len..]).await.ok()?;
        let (mut client_rd, mut client_wr) = client.into_split();
        let (mut up_rd, mut up_wr) = upstream.into_split();
        // The rest of the request body, if any, flows on while the answer comes back.
        let body_pump = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut client_rd, &mut up_wr).await;
        });
        let mut rbuf = Vec::new();
        let head_len = {
            loop {
                if let Some(i) = rbuf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
                let mut chunk = [0u8; 8192];
                let n = up_rd.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                rbuf.extend_from_slice(&chunk[..n]);
            }
        };
        let rhead = String::from_utf8_lossy(&rbuf[..head_len]).into_owned();
        let mut kept = String::new();
        for (i, line) in rhead.split("\r\n").enumerate() {
            let name = line
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if i > 0 && !line.is_empty() && mode.drop_headers.contains(&name.as_str()) {
                continue;
            }
            if !line.is_empty() {
                kept.push_str(line);
                kept.push_str("\r\n");
            }
        }
        kept.push_str("\r\n");
        client_wr.write_all(kept.as_bytes()).await.ok()?;
        client_wr.write_all(&rbuf[head_len..]).await.ok()?;
        let _ = tokio::io::copy(&mut up_rd, &mut client_wr).await;
        let _ = client_wr.shutdown().await;
        body_pump.abort();
        Some(())
    }
}

/// Starts a front on 127.0.0.1 that forwards every request to `inner` as is and passes the
/// answers back without the response headers named in `drop_headers` (lower case). The
/// contract test puts one before Prism, whose canned `Link` examples name pages it does not
/// serve. Returns the front's base URL; the front serves until the process ends.
pub fn start_forwarder(
    inner: std::net::SocketAddr,
    drop_headers: &'static [&'static str],
) -> String {
    let addr = front::start(
        inner,
        front::Mode {
            strays: None,
            drop_headers,
        },
    );
    format!("http://{addr}")
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
