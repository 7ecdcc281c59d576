//! The GitHub client: octocrab as the transport (auth, base URL, App JWTs and installation
//! tokens), wrapped in ghops's own retries, pagination, conditional requests and `--dry-run`.
//!
//! octocrab's own retry layer is compiled out (it re-sends POSTs on a 502 with no backoff);
//! every request goes through [`GitHub::request`], which retries by [`RetryPolicy`] and
//! [`Idempotency`].

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use octocrab::Octocrab;
use octocrab::secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::{Credentials, TokenKind};

pub mod installations;
use crate::error::{Error, Result};
use crate::repo::RepoRef;
use crate::retry::{Idempotency, RetryPolicy, Verdict, classify};
pub use installations::Installations;

/// The public GitHub API base URL.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// What an installation token is minted for (GitHub Apps only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InstallationTarget {
    /// The installation on this repository (`GET /repos/{o}/{r}/installation`).
    Repo(RepoRef),
    /// The installation on this organisation (`GET /orgs/{org}/installation`).
    Org(String),
    /// A known installation id (webhook deliveries carry it).
    Id(u64),
}

/// Everything needed to build a [`GitHub`] client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API base URL (`https://api.github.com`, `https://ghe.example.com/api/v3`, a mock).
    pub api_url: String,
    /// Credentials.
    pub credentials: Credentials,
    /// For a GitHub App: which installation to act as.
    pub installation: Option<InstallationTarget>,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Perform GETs only; print and record every write instead of sending it.
    pub dry_run: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The login this client acts as, when the caller knows it (e.g. `<slug>[bot]` for an
    /// installation token minted from App credentials); returned by [`GitHub::login`].
    pub login: Option<String>,
}

impl ClientConfig {
    /// A config with defaults: public GitHub, default retries, no dry-run, 30 s timeout.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            api_url: DEFAULT_API_URL.to_owned(),
            credentials,
            installation: None,
            retry: RetryPolicy::default(),
            dry_run: false,
            timeout: Duration::from_secs(30),
            login: None,
        }
    }
}

/// A write that `--dry-run` did not send.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedWrite {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// JSON body, if any.
    pub body: Option<Value>,
}

impl std::fmt::Display for PlannedWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(b) = &self.body {
            write!(f, " {b}")?;
        }
        Ok(())
    }
}

/// The last rate-limit figures GitHub reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, schemars::JsonSchema)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left in the window.
    pub remaining: u64,
    /// Window reset, Unix seconds (an RFC 3339 UTC time in JSON).
    #[serde(serialize_with = "unix_as_rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub reset: u64,
}

impl RateLimit {
    /// When the window resets, as an RFC 3339 UTC time (`2030-03-17T17:46:40Z`).
    pub fn reset_rfc3339(&self) -> String {
        rfc3339(self.reset)
    }
}

/// Unix seconds as an RFC 3339 UTC time, to the second (`1970-01-01T00:00:00Z`); times past
/// what chrono represents print as its maximum.
pub fn rfc3339(unix_seconds: u64) -> String {
    let t = i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn unix_as_rfc3339<S: serde::Serializer>(unix_seconds: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*unix_seconds))
}

/// A raw API answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Response {
    /// The body as JSON (`null` when empty).
    pub fn json<T: DeserializeOwned>(&self, method: &Method, path: &str) -> Result<T> {
        let bytes: &[u8] = if self.body.is_empty() {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(bytes).map_err(|e| Error::Decode {
            method: method.to_string(),
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Result of a conditional GET.
#[derive(Debug, Clone, PartialEq)]
pub enum Conditional<T> {
    /// 304: unchanged since the ETag given (costs no rate limit).
    NotModified,
    /// Changed: the value and its new ETag.
    Modified {
        /// The value.
        value: T,
        /// The ETag to send next time.
        etag: Option<String>,
    },
}

struct Inner {
    octo: Octocrab,
    /// GitHub Enterprise Server only: GraphQL lives at `/api/graphql`, outside the REST base
    /// `/api/v3` that octocrab prefixes to every path, so it is reached through a second,
    /// unauthenticated transport whose base is the server's origin; each query carries the
    /// REST client's current token explicitly (see [`GitHub::graphql`]).
    graphql: Option<GraphqlRoute>,
    api_url: String,
    /// The API base's path (`/api/v3` on GHES, empty on github.com), shown in dry-run lines.
    base_path: String,
    /// The base looks like a web URL (`https://HOST` that is not an API host): a 404 then
    /// carries a hint to add `/api/v3`.
    web_url_hint: bool,
    retry: RetryPolicy,
    dry_run: bool,
    planned: Mutex<Vec<PlannedWrite>>,
    rate: Mutex<Option<RateLimit>>,
    calls: AtomicU64,
    token_kind: Option<TokenKind>,
    is_app: bool,
    installation: Option<InstallationInfo>,
    timeout: Duration,
    login: Option<String>,
}

/// A GitHub API client. Cheap to clone.
#[derive(Clone)]
pub struct GitHub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api_url", &self.inner.api_url)
            .field("dry_run", &self.inner.dry_run)
            .finish_non_exhaustive()
    }
}

/// `url` with any `user:password@` in its authority replaced by `***@` (for messages).
pub fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}***@{host}{tail}"),
        None => url.to_owned(),
    }
}

fn base_builder(
    api_url: &str,
    timeout: Duration,
) -> Result<
    octocrab::OctocrabBuilder<
        octocrab::NoSvc,
        octocrab::DefaultOctocrabBuilderConfig,
        octocrab::NoAuth,
        octocrab::NotLayerReady,
    >,
> {
    // Never echo credentials embedded in the URL (`https://user:pass@host`): not in errors,
    // not in `auth status`, not in `Debug`. Such a URL is refused.
    let shown = redact_userinfo(api_url);
    let url = url::Url::parse(api_url)
        .map_err(|e| Error::invalid("--api-url / GITHUB_API_URL", format!("{shown:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid(
            "--api-url / GITHUB_API_URL",
            format!("{shown:?} is not an http(s) URL"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            "--api-url / GITHUB_API_URL",
            format!(
                "{shown:?}: credentials in the URL are not accepted (use GH_TOKEN or a GitHub App)"
            ),
        ));
    }
    Octocrab::builder()
        .base_uri(api_url.trim_end_matches('/'))
        .map_err(|e| Error::invalid("--api-url / GITHUB_API_URL", e.to_string()))
        .map(|b| {
            b.set_connect_timeout(Some(timeout))
                .set_read_timeout(Some(timeout))
                .set_write_timeout(Some(timeout))
        })
}

/// The transport and path for GraphQL when it does not sit under the REST base.
struct GraphqlRoute {
    octo: Octocrab,
    /// The full path on the server (`/api/graphql`); `octo`'s base is the bare origin.
    path: String,
    /// The token of a token-authenticated client (App installations ask octocrab for theirs).
    token: Option<SecretString>,
}

/// The GraphQL endpoint for a REST API base: `{base}/graphql` on github.com (and any base
/// not ending in `/api/v3`), `https://HOST/api/graphql` for a GitHub Enterprise Server base
/// `https://HOST/api/v3`.
///
/// ```
/// use gh_core::client::graphql_url;
/// assert_eq!(graphql_url("https://api.github.com"), "https://api.github.com/graphql");
/// assert_eq!(graphql_url("https://ghe.example.com/api/v3/"), "https://ghe.example.com/api/graphql");
/// ```
pub fn graphql_url(api_url: &str) -> String {
    let base = api_url.trim_end_matches('/');
    match base.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{base}/graphql"),
    }
}

fn graphql_route(
    api_url: &str,
    timeout: Duration,
    token: Option<SecretString>,
) -> Result<Option<GraphqlRoute>> {
    if !api_url.trim_end_matches('/').ends_with("/api/v3") {
        return Ok(None);
    }
    let url = url::Url::parse(&graphql_url(api_url))
        .map_err(|e| Error::invalid("--api-url / GITHUB_API_URL", format!("{api_url:?}: {e}")))?;
    let origin = url.origin().ascii_serialization();
    let octo = base_builder(&origin, timeout)?
        .build()
        .map_err(|e| Error::invalid("--api-url", e.to_string()))?;
    Ok(Some(GraphqlRoute {
        octo,
        path: url.path().to_owned(),
        token,
    }))
}

/// `https://HOST` with no path, on a host that is not an API host (`api.github.com`,
/// `api.*.ghe.com`): probably a GitHub Enterprise Server web URL given as the API base.
fn looks_like_web_url(api_url: &str) -> bool {
    url::Url::parse(api_url).is_ok_and(|u| {
        u.scheme() == "https"
            && matches!(u.path(), "" | "/")
            && !u.host_str().is_some_and(|h| h.starts_with("api."))
    })
}

#[cfg(test)]
mod redact_tests {
    use super::*;

    #[test]
    fn userinfo_is_redacted_and_refused() {
        assert_eq!(
            redact_userinfo("https://u:p@ghe.example/api/v3?x=1"),
            "https://***@ghe.example/api/v3?x=1"
        );
        assert_eq!(
            redact_userinfo("https://ghe.example/a@b"),
            "https://ghe.example/a@b"
        );
        assert_eq!(redact_userinfo("no-scheme:pw@x y"), "***@x y");
        let e = base_builder(
            "https://bob:hunter2@ghe.example/api/v3",
            Duration::from_secs(1),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(!e.contains("hunter2") && !e.contains("bob"), "{e}");
        assert!(e.contains("credentials in the URL"), "{e}");
        let e = base_builder("ftp://bob:hunter2@x", Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}

fn octo_err(method: &Method, path: &str, e: octocrab::Error) -> Error {
    // octocrab's Display can include a request URI but never the Authorization header.
    let message = match &e {
        octocrab::Error::GitHub { source, .. } => source.message.clone(),
        other => transport_cause(other),
    };
    Error::Transport {
        method: method.to_string(),
        path: path.to_owned(),
        message,
    }
}

/// What actually went wrong under a transport error: octocrab's own message is the generic
/// `Service Error: client error (Connect)`; the cause is at the bottom of its source chain
/// (`tcp connect error: Connection refused (os error 111)`, `dns error: failed to lookup
/// address information: …`, `invalid peer certificate: UnknownIssuer`). Returns the last two
/// distinct messages of the chain.
fn transport_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut chain: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let m = err.to_string();
        if !m.is_empty() && chain.last() != Some(&m) {
            chain.push(m);
        }
        cur = err.source();
    }
    match chain.len() {
        0 => "unknown transport error".to_owned(),
        1 => chain.remove(0),
        n if chain[n - 2].contains(&chain[n - 1]) => chain.remove(n - 2),
        n => format!("{}: {}", chain[n - 2], chain[n - 1]),
    }
}

/// The likely cause of an error status, for people: the one place ghops explains a 401, 403
/// or 404 (the missing permission when GitHub names it in `x-accepted-github-permissions` or
/// `x-accepted-oauth-scopes`, a rate limit, SAML SSO; a wrong repository or no access).
/// `None` for statuses whose message says it all (422, 409, 5xx).
fn api_hint(status: u16, path: &str, message: &str, headers: &HeaderMap) -> Option<String> {
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let repo = path
        .split('?')
        .next()
        .and_then(|p| p.strip_prefix("/repos/"))
        .and_then(|rest| {
            let mut it = rest.split('/');
            Some(format!("{}/{}", it.next()?, it.next()?))
        });
    let lower = message.to_ascii_lowercase();
    match status {
        401 => Some(
            "the credentials are invalid, expired or revoked: check GH_TOKEN / GITHUB_TOKEN / \
             --token, or the GitHub App id and key"
                .to_owned(),
        ),
        403 | 429 if header("x-ratelimit-remaining") == Some("0") => {
            let reset = header("x-ratelimit-reset").and_then(|r| r.parse::<u64>().ok());
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            Some(match reset {
                Some(r) if r > now => format!(
                    "the rate limit is used up; it resets in {} min, `ghops auth status` \
                     shows the budget",
                    (r - now).div_ceil(60)
                ),
                _ => "the rate limit is used up; `ghops auth status` shows the budget".to_owned(),
            })
        }
        403 | 429 if lower.contains("secondary rate limit") || lower.contains("abuse") => Some(
            "GitHub's secondary rate limit: too many requests too fast; retry later".to_owned(),
        ),
        403 if header("x-github-sso").is_some_and(|v| v.starts_with("required")) => {
            let url = header("x-github-sso")
                .and_then(|v| v.split_once("url="))
                .map(|(_, u)| format!(" at {u}"))
                .unwrap_or_default();
            Some(format!(
                "the organisation uses SAML single sign-on: authorise this token for it{url}"
            ))
        }
        403 => {
            let needs = if let Some(p) = header("x-accepted-github-permissions") {
                let sets: Vec<String> = p
                    .split(';')
                    .map(|set| set.trim().replace(',', ", "))
                    .filter(|set| !set.is_empty())
                    .collect();
                format!("; it needs the permission {}", sets.join(" or "))
            } else if let Some(s) = header("x-accepted-oauth-scopes") {
                let has = header("x-oauth-scopes").unwrap_or("none");
                format!("; it accepts the scopes {s}, the token has {has}")
            } else {
                String::new()
            };
            Some(format!(
                "the credentials lack a permission for this{}{needs}",
                repo.map(|r| format!(" on {r}")).unwrap_or_default()
            ))
        }
        404 => Some(match repo {
            Some(r) => format!(
                "wrong repository ({r}) or resource, or the credentials cannot see it; check \
                 --repo and the token's or App installation's access to {r}"
            ),
            None => "it does not exist, or the credentials cannot see it".to_owned(),
        }),
        _ => None,
    }
}

impl GitHub {
    /// Builds a client. For a GitHub App, resolves the installation (one JWT-authenticated
    /// GET) and from then on authenticates with installation tokens, minted and refreshed by
    /// octocrab before they expire.
    pub async fn connect(config: ClientConfig) -> Result<Self> {
        let api_url = config.api_url.trim_end_matches('/').to_owned();
        let plain_token = match &config.credentials {
            Credentials::Token { token, .. } => Some(token.clone()),
            Credentials::App { .. } => None,
        };
        let graphql = graphql_route(&api_url, config.timeout, plain_token)?;
        let (octo, token_kind, is_app, installation) = match &config.credentials {
            Credentials::Token { token, .. } => {
                let octo = base_builder(&api_url, config.timeout)?
                    .personal_token(token.expose_secret().to_owned())
                    .build()
                    .map_err(|e| Error::invalid("--api-url", e.to_string()))?;
                (
                    octo,
                    Some(TokenKind::of(token.expose_secret())),
                    false,
                    None,
                )
            }
            Credentials::App {
                app_id,
                private_key,
            } => {
                let key = octocrab::jsonwebtoken::EncodingKey::from_rsa_pem(
                    private_key.expose_secret().as_bytes(),
                )
                .map_err(|e| {
                    Error::invalid(
                        "--app-key / GHOPS_APP_PRIVATE_KEY",
                        format!("not a valid RSA private key: {e}"),
                    )
                })?;
                let app_octo = base_builder(&api_url, config.timeout)?
                    .app(octocrab::models::AppId(*app_id), key)
                    .build()
                    .map_err(|e| Error::invalid("--api-url", e.to_string()))?;
                let app_client = GitHub::from_octocrab(
                    app_octo.clone(),
                    None,
                    &api_url,
                    &config,
                    None,
                    true,
                    None,
                );
                let path = match &config.installation {
                    None => None,
                    Some(InstallationTarget::Id(id)) => Some(format!("/app/installations/{id}")),
                    Some(InstallationTarget::Repo(r)) => {
                        Some(format!("{}/installation", r.api_path()))
                    }
                    Some(InstallationTarget::Org(o)) => Some(format!(
                        "/orgs/{}/installation",
                        crate::repo::encode_segment(o)
                    )),
                };
                let info = match path {
                    Some(p) => Some(app_client.get::<InstallationInfo>(&p).await?),
                    None => None,
                };
                match info {
                    Some(info) => {
                        let inst = app_octo
                            .installation(octocrab::models::InstallationId(info.id))
                            .map_err(|e| Error::invalid("GitHub App", e.to_string()))?;
                        (inst, Some(TokenKind::Installation), true, Some(info))
                    }
                    None => (app_octo, None, true, None),
                }
            }
        };
        Ok(Self::from_octocrab(
            octo,
            graphql,
            &api_url,
            &config,
            token_kind,
            is_app,
            installation,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn from_octocrab(
        octo: Octocrab,
        graphql: Option<GraphqlRoute>,
        api_url: &str,
        config: &ClientConfig,
        token_kind: Option<TokenKind>,
        is_app: bool,
        installation: Option<InstallationInfo>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                octo,
                graphql,
                api_url: api_url.to_owned(),
                base_path: url::Url::parse(api_url)
                    .map(|u| u.path().trim_end_matches('/').to_owned())
                    .unwrap_or_default(),
                web_url_hint: looks_like_web_url(api_url),
                retry: config.retry.clone(),
                dry_run: config.dry_run,
                planned: Mutex::new(Vec::new()),
                rate: Mutex::new(None),
                calls: AtomicU64::new(0),
                token_kind,
                is_app,
                installation,
                timeout: config.timeout,
                login: config.login.clone(),
            }),
        }
    }

    /// The login given in [`ClientConfig::login`], if any.
    pub fn known_login(&self) -> Option<&str> {
        self.inner.login.as_deref()
    }

    /// The API base URL.
    pub fn api_url(&self) -> &str {
        &self.inner.api_url
    }

    /// The retry policy of this client's requests. A caller that retries a step of its own
    /// (re-reading after an ambiguous write, then writing again) waits
    /// [`RetryPolicy::backoff`] of it between attempts: one backoff strategy for the
    /// workspace, and tests that pass [`RetryPolicy::fast`] wait milliseconds.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// True in `--dry-run` mode.
    pub fn is_dry_run(&self) -> bool {
        self.inner.dry_run
    }

    /// The kind of token in use (installation for Apps acting on an installation).
    pub fn token_kind(&self) -> Option<TokenKind> {
        self.inner.token_kind
    }

    /// True when authenticated as a GitHub App (JWT or installation).
    pub fn is_app(&self) -> bool {
        self.inner.is_app
    }

    /// The installation id, when acting as an App installation.
    pub fn installation_id(&self) -> Option<u64> {
        self.inner.installation.as_ref().map(|i| i.id)
    }

    /// The App slug and installation permissions, when acting as an App installation.
    pub fn installation_info(&self) -> Option<(Option<&str>, &Value)> {
        self.inner
            .installation
            .as_ref()
            .map(|i| (i.app_slug.as_deref(), &i.permissions))
    }

    /// Writes `--dry-run` did not send, in order.
    pub fn planned_writes(&self) -> Vec<PlannedWrite> {
        self.inner.planned.lock().expect("lock").clone()
    }

    /// The last rate-limit figures seen.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        *self.inner.rate.lock().expect("lock")
    }

    /// Requests sent so far (each retry counts).
    pub fn request_count(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    fn record_rate(&self, headers: &HeaderMap) {
        let h = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if let (Some(limit), Some(remaining), Some(reset)) = (
            h("x-ratelimit-limit"),
            h("x-ratelimit-remaining"),
            h("x-ratelimit-reset"),
        ) {
            *self.inner.rate.lock().expect("lock") = Some(RateLimit {
                limit,
                remaining,
                reset,
            });
        }
    }

    async fn send_once(
        &self,
        octo: &Octocrab,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        headers: &HeaderMap,
    ) -> std::result::Result<Response, octocrab::Error> {
        let mut builder = http::Request::builder().method(method.clone()).uri(path);
        for (k, v) in headers {
            builder = builder.header(k, v);
        }
        let req = octo.build_request(builder, body)?;
        self.inner.calls.fetch_add(1, Ordering::Relaxed);
        let resp = octo.execute(req).await?;
        let (parts, body) = resp.into_parts();
        use http_body_util::BodyExt;
        let bytes = body.collect().await?.to_bytes();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: bytes,
        })
    }

    /// Sends one request with retries; returns the final answer whatever its status, or an
    /// error when no answer came. In `--dry-run`, a non-GET is recorded, reported as a
    /// [`crate::output::DRY_RUN`] event and answered with status 0 and an empty body, without being sent.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &HeaderMap,
        idem: Idempotency,
    ) -> Result<Response> {
        if self.inner.dry_run && method != Method::GET && method != Method::HEAD {
            let pw = PlannedWrite {
                method: method.to_string(),
                path: path.to_owned(),
                body: body.cloned(),
            };
            tracing::info!(
                target: crate::output::DRY_RUN,
                method = %pw.method,
                path = %format_args!("{}{}", self.inner.base_path, pw.path),
                body = pw.body.as_ref().map(tracing::field::display),
                "would send"
            );
            self.inner.planned.lock().expect("lock").push(pw);
            return Ok(Response {
                status: 0,
                headers: HeaderMap::new(),
                body: Bytes::new(),
            });
        }
        self.send_with_retries(&self.inner.octo, method, path, body, headers, idem)
            .await
    }

    async fn send_with_retries(
        &self,
        octo: &Octocrab,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &HeaderMap,
        idem: Idempotency,
    ) -> Result<Response> {
        let policy = &self.inner.retry;
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.send_once(octo, &method, path, body, headers).await;
            let wait = match &outcome {
                Ok(resp) => {
                    self.record_rate(&resp.headers);
                    match classify(resp.status, &resp.headers, &resp.body, idem) {
                        Verdict::Final => None,
                        Verdict::Backoff => Some(policy.backoff(attempt)),
                        Verdict::RateLimited(d) => Some(d),
                    }
                }
                // No answer: safe to resend only when idempotent.
                Err(_) if idem == Idempotency::Idempotent => Some(policy.backoff(attempt)),
                Err(_) => None,
            };
            let give_up = match wait {
                None => true,
                Some(w) => attempt >= policy.max_attempts || start.elapsed() + w > policy.max_total,
            };
            if give_up {
                return match outcome {
                    Ok(resp) => Ok(resp),
                    Err(e) => Err(match octo_err(&method, path, e) {
                        Error::Transport {
                            method,
                            path,
                            message,
                        } => Error::Transport {
                            method,
                            path,
                            message: format!(
                                "no answer from {} ({message})",
                                link_origin(&self.inner.api_url)
                            ),
                        },
                        other => other,
                    }),
                };
            }
            let w = wait.unwrap_or_default();
            tracing::warn!(
                method = %method,
                path,
                attempt,
                status = outcome.as_ref().map(|r| r.status).unwrap_or(0),
                wait_ms = w.as_millis() as u64,
                "retrying GitHub request"
            );
            tokio::time::sleep(w).await;
        }
    }

    /// The `Authorization` header for a query sent through the GraphQL route: the client's
    /// token, or the App installation's current token (cached and refreshed by octocrab).
    async fn graphql_auth(&self, route: &GraphqlRoute) -> Result<HeaderMap> {
        let token = match (&route.token, &self.inner.installation) {
            (Some(t), _) => t.clone(),
            (None, Some(info)) => self.inner.octo.installation_token().await.map_err(|e| {
                let path = format!("/app/installations/{}/access_tokens", info.id);
                octo_err(&Method::POST, &path, e)
            })?,
            (None, None) => {
                return Err(Error::invalid(
                    "GitHub App",
                    "GraphQL needs an installation token (a JWT alone cannot query it)",
                ));
            }
        };
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| Error::invalid("token", "contains characters not allowed in a header"))?;
        value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, value);
        Ok(headers)
    }

    /// [`GitHub::check`], plus a hint on a 404 when the API base looks like a web URL.
    fn checked(&self, method: &Method, path: &str, resp: Response) -> Result<Response> {
        match Self::check(method, path, resp) {
            Err(Error::Api {
                method,
                path,
                status: 404,
                message,
                hint,
            }) if self.inner.web_url_hint => Err(Error::Api {
                method,
                path,
                status: 404,
                message,
                hint: Some(format!(
                    "is {} the API base? GitHub Enterprise Server's is https://HOST/api/v3{}",
                    self.inner.api_url,
                    hint.map(|h| format!("; else {h}")).unwrap_or_default()
                )),
            }),
            other => other,
        }
    }

    /// Turns a non-2xx answer into [`Error::Api`].
    pub fn check(method: &Method, path: &str, resp: Response) -> Result<Response> {
        if (200..300).contains(&resp.status) || resp.status == 0 || resp.status == 304 {
            return Ok(resp);
        }
        let message = serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|v| {
                let m = v.get("message")?.as_str()?.to_owned();
                let detail = v
                    .get("errors")
                    .and_then(|e| e.as_array())
                    .map(|errs| {
                        errs.iter()
                            .filter_map(|e| {
                                e.get("message")
                                    .and_then(|m| m.as_str())
                                    .map(str::to_owned)
                                    .or_else(|| {
                                        e.get("code").and_then(|c| c.as_str()).map(str::to_owned)
                                    })
                            })
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
                    .filter(|s| !s.is_empty());
                Some(match detail {
                    Some(d) => format!("{m} ({d})"),
                    None => m,
                })
            })
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&resp.body[..resp.body.len().min(200)]).into_owned()
            });
        let hint = api_hint(resp.status, path, &message, &resp.headers);
        Err(Error::Api {
            method: method.to_string(),
            path: path.to_owned(),
            status: resp.status,
            message,
            hint,
        })
    }

    /// GET a JSON value.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let resp = self
            .request(
                Method::GET,
                path,
                None,
                &HeaderMap::new(),
                Idempotency::Idempotent,
            )
            .await?;
        self.checked(&Method::GET, path, resp)?
            .json(&Method::GET, path)
    }

    /// GET a JSON value; 404 is `None`.
    pub async fn get_opt<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        match self.get(path).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_status(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Conditional GET with `If-None-Match`; a 304 costs no rate limit.
    pub async fn get_conditional<T: DeserializeOwned>(
        &self,
        path: &str,
        etag: Option<&str>,
    ) -> Result<Conditional<T>> {
        let mut headers = HeaderMap::new();
        if let Some(tag) = etag
            && let Ok(v) = HeaderValue::from_str(tag)
        {
            headers.insert(http::header::IF_NONE_MATCH, v);
        }
        let resp = self
            .request(Method::GET, path, None, &headers, Idempotency::Idempotent)
            .await?;
        if resp.status == 304 {
            return Ok(Conditional::NotModified);
        }
        let resp = self.checked(&Method::GET, path, resp)?;
        let etag = resp.header("etag").map(str::to_owned);
        Ok(Conditional::Modified {
            value: resp.json(&Method::GET, path)?,
            etag,
        })
    }

    /// Starts a page-by-page walk of a list endpoint (adds `per_page=100` unless given).
    /// `field` names the array inside a wrapper object (`workflow_runs`, `jobs`), or `None`
    /// when the endpoint returns a bare array.
    pub fn pages<'a>(&'a self, path: &str, field: Option<&'a str>) -> Pager<'a> {
        let path = if path.contains("per_page=") {
            path.to_owned()
        } else if path.contains('?') {
            format!("{path}&per_page=100")
        } else {
            format!("{path}?per_page=100")
        };
        Pager {
            client: self,
            next: Some(path),
            field,
        }
    }

    /// Every item of a list endpoint, following `Link: rel="next"` to the end.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        field: Option<&str>,
    ) -> Result<Vec<T>> {
        let mut pager = self.pages(path, field);
        let mut all = Vec::new();
        while let Some(page) = pager.next_page::<T>().await? {
            all.extend(page);
        }
        Ok(all)
    }

    /// Sends a write and decodes the answer; `Ok(None)` in `--dry-run` (nothing was sent).
    pub async fn write<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idem: Idempotency,
    ) -> Result<Option<T>> {
        let resp = self
            .request(method.clone(), path, body, &HeaderMap::new(), idem)
            .await?;
        if resp.status == 0 {
            return Ok(None);
        }
        Ok(Some(
            self.checked(&method, path, resp)?.json(&method, path)?,
        ))
    }

    /// POST (not retried on ambiguous failures unless `idem` says it is safe).
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        idem: Idempotency,
    ) -> Result<Option<T>> {
        self.write(Method::POST, path, Some(body), idem).await
    }

    /// PATCH (idempotent).
    pub async fn patch<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<Option<T>> {
        self.write(Method::PATCH, path, Some(body), Idempotency::Idempotent)
            .await
    }

    /// PUT (idempotent).
    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<T>> {
        self.write(Method::PUT, path, body, Idempotency::Idempotent)
            .await
    }

    /// DELETE (idempotent); a 404 counts as done.
    pub async fn delete(&self, path: &str) -> Result<()> {
        let resp = self
            .request(
                Method::DELETE,
                path,
                None,
                &HeaderMap::new(),
                Idempotency::Idempotent,
            )
            .await?;
        if resp.status == 404 {
            return Ok(());
        }
        self.checked(&Method::DELETE, path, resp).map(|_| ())
    }

    /// The GraphQL endpoint's path on the server (`/graphql`; `/api/graphql` on GitHub
    /// Enterprise Server, beside its `/api/v3` REST base), as named in errors.
    pub fn graphql_path(&self) -> String {
        match &self.inner.graphql {
            Some(route) => route.path.clone(),
            None => "/graphql".to_owned(),
        }
    }

    /// Runs a GraphQL query (a read: retried like a GET). GraphQL `errors` become
    /// [`Error::Api`] with status 200 and the first message. On GitHub Enterprise Server the
    /// query goes to `https://HOST/api/graphql` with the same credentials as REST calls.
    pub async fn graphql<T: DeserializeOwned>(&self, query: &str, variables: Value) -> Result<T> {
        let path = self.graphql_path();
        let body = serde_json::json!({ "query": query, "variables": variables });
        // A GraphQL query is a read: sent (and retried) even under --dry-run.
        let resp = match &self.inner.graphql {
            None => {
                self.send_with_retries(
                    &self.inner.octo,
                    Method::POST,
                    &path,
                    Some(&body),
                    &HeaderMap::new(),
                    Idempotency::Idempotent,
                )
                .await?
            }
            Some(route) => {
                let headers = self.graphql_auth(route).await?;
                self.send_with_retries(
                    &route.octo,
                    Method::POST,
                    &path,
                    Some(&body),
                    &headers,
                    Idempotency::Idempotent,
                )
                .await?
            }
        };
        let resp = self.checked(&Method::POST, &path, resp)?;
        let v: Value = resp.json(&Method::POST, &path)?;
        if let Some(errs) = v
            .get("errors")
            .and_then(|e| e.as_array())
            .filter(|e| !e.is_empty())
        {
            return Err(Error::Api {
                method: "POST".into(),
                path,
                status: 200,
                message: errs[0]
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("GraphQL error")
                    .to_owned(),
                hint: None,
            });
        }
        serde_json::from_value(v.get("data").cloned().unwrap_or(Value::Null)).map_err(|e| {
            Error::Decode {
                method: "POST".into(),
                path,
                message: e.to_string(),
            }
        })
    }
}

#[derive(serde::Deserialize, Debug, Clone)]
struct InstallationInfo {
    id: u64,
    #[serde(default)]
    app_slug: Option<String>,
    #[serde(default)]
    permissions: Value,
}

/// A page-by-page walk over a list endpoint; see [`GitHub::pages`].
pub struct Pager<'a> {
    client: &'a GitHub,
    next: Option<String>,
    field: Option<&'a str>,
}

impl Pager<'_> {
    /// The next page, or `None` past the last.
    pub async fn next_page<T: DeserializeOwned>(&mut self) -> Result<Option<Vec<T>>> {
        match self.fetch(None).await? {
            None => Ok(None),
            Some(Conditional::Modified { value, .. }) => Ok(Some(value)),
            // No ETag sent, so never a 304.
            Some(Conditional::NotModified) => Ok(Some(Vec::new())),
        }
    }

    /// The first page as a conditional request: sent with `If-None-Match: etag` when `etag`
    /// is given, and answered [`Conditional::NotModified`] on a `304` (the list is unchanged
    /// since that ETag; a 304 costs no rate-limit unit), else the page with its new ETag.
    /// Later pages come from [`Pager::next_page`] as usual. After a 304 the walk still stands
    /// before the first page: [`Pager::next_page`] then reads it unconditionally.
    ///
    /// Call it first (before any [`Pager::next_page`]); a walk past its end answers an empty
    /// page.
    pub async fn first_page_if_none_match<T: DeserializeOwned>(
        &mut self,
        etag: Option<&str>,
    ) -> Result<Conditional<Vec<T>>> {
        Ok(self.fetch(etag).await?.unwrap_or(Conditional::Modified {
            value: Vec::new(),
            etag: None,
        }))
    }

    /// Whether a page remains to be read (the last answer's `Link` named a next page).
    pub fn has_next(&self) -> bool {
        self.next.is_some()
    }

    /// One page: `None` past the last; a 304 when `etag` was sent and matched.
    async fn fetch<T: DeserializeOwned>(
        &mut self,
        etag: Option<&str>,
    ) -> Result<Option<Conditional<Vec<T>>>> {
        let Some(path) = self.next.take() else {
            return Ok(None);
        };
        let mut headers = HeaderMap::new();
        if let Some(tag) = etag
            && let Ok(v) = HeaderValue::from_str(tag)
        {
            headers.insert(http::header::IF_NONE_MATCH, v);
        }
        let resp = self
            .client
            .request(Method::GET, &path, None, &headers, Idempotency::Idempotent)
            .await?;
        if etag.is_some() && resp.status == 304 {
            self.next = Some(path);
            return Ok(Some(Conditional::NotModified));
        }
        let resp = self.client.checked(&Method::GET, &path, resp)?;
        let new_etag = resp.header("etag").map(str::to_owned);
        self.next = match resp.header("link").and_then(next_link) {
            None => None,
            Some(url) => {
                Some(
                    follow_link(&url, self.client.api_url()).ok_or_else(|| Error::Decode {
                        method: "GET".into(),
                        path: path.clone(),
                        message: format!(
                            "the next page's link ({}) is outside the API base {}: refusing to \
                         return a partial list (is --api-url the address this server reports?)",
                            link_origin(&url),
                            self.client.api_url()
                        ),
                    })?,
                )
            }
        };
        let v: Value = resp.json(&Method::GET, &path)?;
        let items = match (self.field, v) {
            (None, Value::Array(a)) => a,
            (Some(f), Value::Object(mut o)) => match o.remove(f) {
                Some(Value::Array(a)) => a,
                _ => {
                    return Err(Error::Decode {
                        method: "GET".into(),
                        path,
                        message: format!("expected an array in field `{f}`"),
                    });
                }
            },
            _ => {
                return Err(Error::Decode {
                    method: "GET".into(),
                    path,
                    message: "expected a list".into(),
                });
            }
        };
        let value = items
            .into_iter()
            .map(|i| {
                serde_json::from_value(i).map_err(|e| Error::Decode {
                    method: "GET".into(),
                    path: path.clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<T>>>()?;
        Ok(Some(Conditional::Modified {
            value,
            etag: new_etag,
        }))
    }
}

/// Extracts the `rel="next"` URL of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let mut segs = part.split(';');
        let url = segs.next()?.trim();
        let is_next = segs.any(|s| {
            let s = s.trim().replace(' ', "");
            s == "rel=\"next\"" || s == "rel=next"
        });
        (is_next && url.starts_with('<') && url.ends_with('>'))
            .then(|| url[1..url.len() - 1].to_owned())
    })
}

/// The path (and query) of a `Link` URL to request next, always sent to the configured API
/// host (so credentials never go to a host the user did not choose).
///
/// A link on the API host is followed as is. A link on another origin (a GitHub Enterprise
/// Server reached by IP, an alias or through a load balancer reports its own hostname) is
/// followed on the API host when its path lies under the API base path (`/api/v3/...`): the
/// same server, another name for it. Anything else is `None`: the caller fails the read rather
/// than return a shortened list as complete. octocrab does not prefix a path that already
/// starts with the base path.
fn follow_link(link: &str, api_url: &str) -> Option<String> {
    let l = url::Url::parse(link).ok()?;
    let b = url::Url::parse(api_url).ok()?;
    let same_origin = l.scheme() == b.scheme()
        && l.host_str() == b.host_str()
        && l.port_or_known_default() == b.port_or_known_default();
    let base_path = b.path().trim_end_matches('/');
    if !same_origin {
        let under_base = !base_path.is_empty()
            && l.path()
                .strip_prefix(base_path)
                .is_some_and(|rest| rest.starts_with('/'));
        if !under_base {
            return None;
        }
        tracing::debug!(
            link_origin = %l.origin().ascii_serialization(),
            "following a pagination link on the API host (the server reports another name)"
        );
    }
    Some(match l.query() {
        Some(q) => format!("{}?{q}", l.path()),
        None => l.path().to_owned(),
    })
}

/// `scheme://host:port` of a URL, for messages (never its path, query or userinfo).
fn link_origin(link: &str) -> String {
    url::Url::parse(link)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| "an unparsable URL".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rate limit's reset prints as an RFC 3339 UTC time in JSON (it was Unix seconds).
    #[test]
    fn rate_limit_reset_is_rfc3339_in_json() {
        let r = RateLimit {
            limit: 5000,
            remaining: 4999,
            reset: 1_900_000_000,
        };
        assert_eq!(
            serde_json::to_value(r).unwrap(),
            serde_json::json!({"limit": 5000, "remaining": 4999, "reset": "2030-03-17T17:46:40Z"})
        );
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert!(rfc3339(u64::MAX).starts_with("+262142-12-31T23:59:59"));
    }

    #[test]
    fn link_parsing() {
        let h = r#"<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last""#;
        assert_eq!(
            next_link(h).unwrap(),
            "https://api.github.com/repositories/1/issues?page=2"
        );
        assert_eq!(next_link(r#"<https://x/y?page=1>; rel="prev""#), None);
        assert_eq!(
            follow_link(
                "https://api.github.com/repositories/1/issues?page=2",
                "https://api.github.com"
            )
            .unwrap(),
            "/repositories/1/issues?page=2"
        );
        assert_eq!(
            follow_link(
                "https://ghe.x/api/v3/repos/a/b/issues?page=2",
                "https://ghe.x/api/v3"
            )
            .unwrap(),
            "/api/v3/repos/a/b/issues?page=2"
        );
        // GHES reached by IP / alias: its links name its own hostname; same path prefix.
        assert_eq!(
            follow_link(
                "https://ghe.internal/api/v3/repos/a/b/issues?page=2",
                "http://10.0.0.5:8080/api/v3/"
            )
            .unwrap(),
            "/api/v3/repos/a/b/issues?page=2"
        );
        // Another host outside the base path, or any other host on github.com: not followed.
        assert_eq!(
            follow_link("https://evil.example/x?page=2", "https://api.github.com"),
            None
        );
        assert_eq!(
            follow_link(
                "https://ghe.internal/api/v3x/repos?page=2",
                "https://10.0.0.5/api/v3"
            ),
            None
        );
        assert_eq!(
            follow_link(
                "https://ghe.internal/other?page=2",
                "https://10.0.0.5/api/v3"
            ),
            None
        );
        assert!(looks_like_web_url("https://ghe.example.com"));
        assert!(looks_like_web_url("https://ghe.example.com/"));
        assert!(!looks_like_web_url("https://ghe.example.com/api/v3"));
        assert!(!looks_like_web_url("https://api.github.com"));
        assert!(!looks_like_web_url("https://api.octo.ghe.com"));
        assert!(!looks_like_web_url("http://127.0.0.1:8080"));
        assert_eq!(
            link_origin("https://user:pw@ghe.internal:8443/api/v3/x?token=1"),
            "https://ghe.internal:8443"
        );
    }
}
