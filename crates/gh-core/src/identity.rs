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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

#[derive(Deserialize)]
struct UserInfo {
    login: String,
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
    /// Reads the identity: `GET /user` for user tokens (scopes from `X-OAuth-Scopes`);
    /// for App installations `GET /installation/repositories` proves the token and the App's
    /// slug comes from `GHOPS_APP_SLUG` or defaults to the Actions bot; and `GET /rate_limit`
    /// (which costs no budget).
    pub async fn identity(&self) -> Result<Identity> {
        let resp = self
            .request(Method::GET, "/user", None, &HeaderMap::new(), Idempotency::Idempotent)
            .await?;
        let mut id = if resp.status == 200 {
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
            }
        } else if self.is_app() || resp.status == 403 {
            // Installation tokens cannot read /user. An App installation acts as
            // `<slug>[bot]`; the Actions GITHUB_TOKEN as `github-actions[bot]`.
            let resp = GitHub::check(&Method::GET, "/user", resp);
            if !self.is_app() {
                resp?;
            }
            let slug = std::env::var("GHOPS_APP_SLUG").ok().filter(|s| !s.is_empty());
            let perms: Option<Value> = self.installation_info().map(|(_, p)| p.clone());
            let login = match (&slug, self.is_app()) {
                (Some(s), _) => format!("{s}[bot]"),
                (None, true) => self.app_slug().await.map(|s| format!("{s}[bot]"))?,
                (None, false) => "github-actions[bot]".to_owned(),
            };
            Identity {
                login,
                kind: if self.is_app() {
                    "app_installation".into()
                } else {
                    "installation_token".into()
                },
                token_kind: self.token_kind(),
                scopes: None,
                permissions: perms,
                installation_id: self.installation_id(),
                rate_limit: None,
            }
        } else {
            GitHub::check(&Method::GET, "/user", resp)?;
            unreachable!("check returns an error for non-2xx")
        };
        if let Ok(r) = self.get::<RateLimits>("/rate_limit").await {
            id.rate_limit = Some(RateLimit {
                limit: r.resources.core.limit,
                remaining: r.resources.core.remaining,
                reset: r.resources.core.reset,
            });
        }
        Ok(id)
    }

    /// The App's slug: `GHOPS_APP_SLUG`, else the installation's `app_slug` read when the
    /// client connected, else `GET /app` (App JWT clients).
    pub async fn app_slug(&self) -> Result<String> {
        if let Some(s) = std::env::var("GHOPS_APP_SLUG").ok().filter(|s| !s.is_empty()) {
            return Ok(s);
        }
        if let Some((Some(slug), _)) = self.installation_info() {
            return Ok(slug.to_owned());
        }
        Ok(self.get::<AppInfo>("/app").await?.slug)
    }
}
