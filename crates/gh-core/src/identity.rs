//! Who ghops is acting as: the identity behind the credentials (`ghops auth status`), and
//! the login whose comments count as ghops's own.

use http::{HeaderMap, Method};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::TokenKind;
use crate::client::{GitHub, RateLimit};
use crate::error::Result;
use crate::retry::Idempotency;

/// The identity behind the credentials.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Identity {
    /// The login that appears on comments and statuses (`octocat`, `my-app[bot]`,
    /// `github-actions[bot]`).
    pub login: String,
    /// `user`, `app`, `app_installation`, `installation_token`.
    pub kind: String,
    /// Token kind, from its prefix.
    pub token_kind: Option<TokenKind>,
    /// Classic OAuth scopes (`X-OAuth-Scopes`), when GitHub reports them.
    pub scopes: Option<Vec<String>>,
    /// App installation permissions, when known.
    pub permissions: Option<Value>,
    /// The installation id, for App installations.
    pub installation_id: Option<u64>,
    /// The core rate-limit budget.
    pub rate_limit: Option<RateLimit>,
    /// The server has rate limiting turned off (GitHub Enterprise Server's default: its
    /// `/rate_limit` answers 404 "Rate limiting is not enabled").
    pub rate_limiting_disabled: bool,
}

#[derive(Deserialize)]
struct UserInfo {
    login: String,
}

#[derive(Deserialize)]
struct ViewerData {
    viewer: UserInfo,
}

#[derive(Deserialize)]
struct AppInfo {
    slug: String,
}

#[derive(Deserialize)]
struct RateLimits {
    resources: RateResources,
}
#[derive(Deserialize)]
struct RateResources {
    core: RateLimit2,
}
#[derive(Deserialize)]
struct RateLimit2 {
    limit: u64,
    remaining: u64,
    reset: u64,
}

impl GitHub {
    /// Reads the identity: `GET /user` for user tokens (scopes from `X-OAuth-Scopes`); for
    /// App installations the slug and permissions read when connecting; for other installation
    /// tokens (an App's in `GH_TOKEN`, the Actions `GITHUB_TOKEN`) GraphQL's `viewer`.
    /// Then `GET /rate_limit` (which costs no budget).
    pub async fn identity(&self) -> Result<Identity> {
        let installation_like = self.is_app() || self.token_kind() == Some(TokenKind::Installation);
        let mut id = if installation_like {
            // Installation tokens cannot read /user. An App installation acts as `<slug>[bot]`;
            // an installation token handed over in `GH_TOKEN` (an App's, or the Actions
            // `GITHUB_TOKEN`) is asked who it is through GraphQL's `viewer`, which also proves it.
            let login = if self.is_app() {
                format!("{}[bot]", self.app_slug().await?)
            } else {
                self.login().await?
            };
            Identity {
                login,
                kind: if self.is_app() {
                    if self.installation_id().is_some() {
                        "app_installation".into()
                    } else {
                        "app".into()
                    }
                } else {
                    "installation_token".into()
                },
                token_kind: self.token_kind(),
                scopes: None,
                permissions: self.installation_info().map(|(_, p)| p.clone()),
                installation_id: self.installation_id(),
                rate_limit: None,
                rate_limiting_disabled: false,
            }
        } else {
            let resp = self
                .request(
                    Method::GET,
                    "/user",
                    None,
                    &HeaderMap::new(),
                    Idempotency::Idempotent,
                )
                .await?;
            let resp = GitHub::check(&Method::GET, "/user", resp)?;
            let u: UserInfo = resp.json(&Method::GET, "/user")?;
            let scopes = resp.header("x-oauth-scopes").map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_owned())
                    .filter(|x| !x.is_empty())
                    .collect()
            });
            Identity {
                login: u.login,
                kind: "user".into(),
                token_kind: self.token_kind(),
                scopes,
                permissions: None,
                installation_id: None,
                rate_limit: None,
                rate_limiting_disabled: false,
            }
        };
        // /rate_limit does not count against the budget; an App JWT cannot read it.
        if !(self.is_app() && self.installation_id().is_none()) {
            match self.get::<RateLimits>("/rate_limit").await {
                Ok(r) => {
                    id.rate_limit = Some(RateLimit {
                        limit: r.resources.core.limit,
                        remaining: r.resources.core.remaining,
                        reset: r.resources.core.reset,
                    });
                }
                Err(e) if e.is_status(404) => id.rate_limiting_disabled = true,
                Err(e) => tracing::debug!(error = %e, "rate limit not read"),
            }
        }
        Ok(id)
    }

    /// Only the login ghops acts as (what its comments and statuses are authored by), with the
    /// fewest calls: none for an App installation whose slug is known, one GraphQL `viewer`
    /// read for an installation token given as a token (an App's or the Actions
    /// `GITHUB_TOKEN`), `GET /user` for a user token. Use it to recognise ghops's own
    /// comments; [`GitHub::identity`] is the full report.
    pub async fn login(&self) -> Result<String> {
        if let Some(l) = self.known_login() {
            return Ok(l.to_owned());
        }
        if self.is_app() {
            return Ok(format!("{}[bot]", self.app_slug().await?));
        }
        if self.token_kind() == Some(TokenKind::Installation) {
            // An installation token in `GH_TOKEN` may be any App's (actions/create-github-app-token)
            // or the Actions `GITHUB_TOKEN`: never guessed, asked (one GraphQL read, which
            // installation tokens may make; `GET /app` needs the App's JWT). `GHOPS_APP_SLUG`,
            // when set, still saves that call.
            if let Some(slug) = std::env::var("GHOPS_APP_SLUG")
                .ok()
                .filter(|s| !s.is_empty())
            {
                return Ok(format!("{slug}[bot]"));
            }
            return Ok(self
                .graphql::<ViewerData>("query { viewer { login } }", serde_json::json!({}))
                .await?
                .viewer
                .login);
        }
        Ok(self.get::<UserInfo>("/user").await?.login)
    }

    /// The App's slug: `GHOPS_APP_SLUG`, else the installation's `app_slug` read when the
    /// client connected, else `GET /app` (App JWT clients).
    pub async fn app_slug(&self) -> Result<String> {
        if let Some(s) = std::env::var("GHOPS_APP_SLUG")
            .ok()
            .filter(|s| !s.is_empty())
        {
            return Ok(s);
        }
        if let Some((Some(slug), _)) = self.installation_info() {
            return Ok(slug.to_owned());
        }
        Ok(self.get::<AppInfo>("/app").await?.slug)
    }
}
