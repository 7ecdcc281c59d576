//! The one factory of installation clients: given a [`ClientConfig`] with GitHub App
//! credentials, a connected [`GitHub`] acting as an installation — found by id, repository or
//! organisation — optionally with a token narrowed to a permission set and to some
//! repositories. Clients are cached
//! until shortly before their token expires; concurrent callers for one installation share
//! one mint, and callers for other installations never wait for it.
//!
//! With a plain token every installation shares that token's one client.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use super::{ClientConfig, GitHub, InstallationTarget};
use crate::auth::{Credentials, SecretString, TokenSource};
use crate::error::Result;
use crate::retry::Idempotency;

/// Installation permissions by name (`contents`, `pull_requests`, ...) → `read` / `write` /
/// `admin`, as GitHub's `POST /app/installations/{id}/access_tokens` takes them.
pub type Permissions = BTreeMap<String, String>;

/// A minted token is replaced this long before GitHub says it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

struct Cached {
    client: GitHub,
    /// `None`: never expires (a plain token, or octocrab refreshes it itself).
    refresh_at: Option<Instant>,
}

/// One cache entry: its own lock, held while its client is connected (its token minted), so
/// that concurrent callers for the same entry wait for one mint instead of minting each, and
/// callers for other entries do not wait at all.
type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

type Slots = HashMap<Vec<String>, HashMap<Permissions, HashMap<Key, Slot>>>;

/// Which installation a cache entry acts as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// Not an App (a plain token): one client for every installation.
    Plain,
    /// An installation found by a repository or an organisation (or a known id).
    Target(InstallationTarget),
}

/// Installation clients of a GitHub App (see the module docs).
pub struct Installations {
    base: ClientConfig,
    /// Repositories → permission set → installation → slot (looked up by reference: a caller
    /// allocates nothing when its slot exists, for an id). This lock is only held to find or
    /// add a slot, never across an await.
    slots: std::sync::Mutex<Slots>,
}

impl std::fmt::Debug for Installations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the credentials nor a minted token: only where the clients go.
        f.debug_struct("Installations")
            .field("api_url", &self.base.api_url)
            .field("is_app", &self.is_app())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct MintedToken {
    token: String,
    #[serde(default)]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Deserialize)]
struct Installation {
    #[serde(default)]
    permissions: BTreeMap<String, String>,
    #[serde(default)]
    app_slug: Option<String>,
}

fn level(l: &str) -> u8 {
    match l {
        "read" => 1,
        "write" => 2,
        "admin" => 3,
        _ => 0,
    }
}

/// What may be asked for: each wanted permission the installation holds, at the lower of the
/// wanted and granted levels (asking for more than granted makes GitHub refuse the token).
pub fn narrow(wanted: &Permissions, granted: &Permissions) -> Permissions {
    wanted
        .iter()
        .filter_map(|(name, want)| {
            let have = granted.get(name)?;
            let l = if level(want) <= level(have) {
                want
            } else {
                have
            };
            (level(l) > 0).then(|| (name.clone(), l.clone()))
        })
        .collect()
}

/// Shorthand for building a [`Permissions`] set: `perms(&[("contents", "write")])`.
pub fn perms(list: &[(&str, &str)]) -> Permissions {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Installations {
    /// From the App's client config (credentials must be a GitHub App to mint installation
    /// tokens; with a plain token, every installation shares that token). The config's own
    /// `installation` is ignored: each call names its installation.
    pub fn new(base: ClientConfig) -> Self {
        Self {
            base,
            slots: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// True when the credentials are a GitHub App's (otherwise every installation shares the
    /// token's one client).
    pub fn is_app(&self) -> bool {
        matches!(self.base.credentials, Credentials::App { .. })
    }

    /// The client acting as installation `id` with the installation's full permissions (for a
    /// token config, or no id, the token's / App's own client).
    pub async fn client(&self, id: Option<u64>) -> Result<GitHub> {
        self.client_with(id, &Permissions::new()).await
    }

    /// The client acting as the installation on a repository or organisation (resolved with
    /// one JWT-authenticated GET, `/repos/{o}/{r}/installation` or `/orgs/{org}/installation`),
    /// with the installation's full permissions; octocrab refreshes its token. With a plain
    /// token, the token's client.
    pub async fn for_target(&self, target: InstallationTarget) -> Result<GitHub> {
        let key = if self.is_app() {
            Key::Target(target)
        } else {
            Key::Plain
        };
        self.cached(key, &Permissions::new(), &[]).await
    }

    /// The client acting as installation `id` with a token narrowed to `wanted` (intersected
    /// with what the installation was granted); an empty set means the installation's full
    /// permissions. Tokens are cached per (installation, permission set) and re-minted five
    /// minutes before they expire. Concurrent calls for one (installation, permission set)
    /// share one mint; calls for others never wait for it.
    pub async fn client_with(&self, id: Option<u64>, wanted: &Permissions) -> Result<GitHub> {
        self.client_for_repos(id, wanted, &[]).await
    }

    /// [`client_with`](Self::client_with), the token further limited to `repositories` (names
    /// without the owner, as `POST /app/installations/{id}/access_tokens` takes them; empty:
    /// every repository the installation can reach). Cached per (installation, permission
    /// set, repositories).
    pub async fn client_for_repos(
        &self,
        id: Option<u64>,
        wanted: &Permissions,
        repositories: &[String],
    ) -> Result<GitHub> {
        match (self.is_app(), id) {
            (true, Some(id)) => {
                let key = Key::Target(InstallationTarget::Id(id));
                self.cached(key, wanted, repositories).await
            }
            _ => self.cached(Key::Plain, &Permissions::new(), &[]).await,
        }
    }

    async fn cached(&self, key: Key, wanted: &Permissions, repos: &[String]) -> Result<GitHub> {
        let slot = self.slot(&key, wanted, repos);
        let mut entry = slot.lock().await;
        if let Some(c) = entry.as_ref()
            && c.refresh_at.is_none_or(|t| Instant::now() < t)
        {
            return Ok(c.client.clone());
        }
        let cached = match key {
            Key::Target(InstallationTarget::Id(id)) if !wanted.is_empty() || !repos.is_empty() => {
                self.mint(id, wanted, repos).await?
            }
            Key::Target(target) => Cached {
                client: self.connect(Some(target)).await?,
                refresh_at: None,
            },
            Key::Plain => Cached {
                client: self.connect(None).await?,
                refresh_at: None,
            },
        };
        let client = cached.client.clone();
        *entry = Some(cached);
        Ok(client)
    }

    /// The cache slot of (installation, permission set), created empty on first use.
    fn slot(&self, key: &Key, wanted: &Permissions, repos: &[String]) -> Slot {
        let mut map = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map
            .get(repos)
            .and_then(|m| m.get(wanted))
            .and_then(|m| m.get(key))
        {
            return s.clone();
        }
        map.entry(repos.to_vec())
            .or_default()
            .entry(wanted.clone())
            .or_default()
            .entry(key.clone())
            .or_default()
            .clone()
    }

    async fn connect(&self, target: Option<InstallationTarget>) -> Result<GitHub> {
        let mut cfg = self.base.clone();
        cfg.installation = target;
        GitHub::connect(cfg).await
    }

    async fn mint(&self, id: u64, wanted: &Permissions, repos: &[String]) -> Result<Cached> {
        let app = self.app_client().await?;
        let inst: Installation = app.get(&format!("/app/installations/{id}")).await?;
        // No `permissions`: the installation's own; no `repositories`: all it can reach.
        let mut body = serde_json::Map::new();
        if !wanted.is_empty() {
            body.insert(
                "permissions".into(),
                json!(narrow(wanted, &inst.permissions)),
            );
        }
        if !repos.is_empty() {
            body.insert("repositories".into(), json!(repos));
        }
        let body = serde_json::Value::Object(body);
        let minted: Option<MintedToken> = app
            .post(
                &format!("/app/installations/{id}/access_tokens"),
                &body,
                // Minting twice only leaves a spare token that expires unused.
                Idempotency::Idempotent,
            )
            .await?;
        let Some(minted) = minted else {
            // --dry-run: no token was minted; act with the installation's own client.
            return Ok(Cached {
                client: self.connect(Some(InstallationTarget::Id(id))).await?,
                refresh_at: None,
            });
        };
        let lifetime = minted
            .expires_at
            .and_then(|t| (t - chrono::Utc::now()).to_std().ok())
            .unwrap_or(Duration::from_secs(3600));
        let mut cfg = self.base.clone();
        cfg.installation = None;
        cfg.credentials = Credentials::Token {
            token: SecretString::from(minted.token),
            source: TokenSource::Minted,
        };
        // Comments and statuses made with this token are authored by the App's bot.
        cfg.login = inst.app_slug.map(|s| format!("{s}[bot]"));
        Ok(Cached {
            client: GitHub::connect(cfg).await?,
            refresh_at: Some(Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN)),
        })
    }

    /// The base client configuration (credentials, API URL, retries).
    pub fn base_config(&self) -> ClientConfig {
        self.base.clone()
    }

    /// A client authenticated as the App itself (JWT), for `/app/...` endpoints.
    pub async fn app_client(&self) -> Result<GitHub> {
        self.connect(None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_keeps_the_lower_level_and_drops_what_is_not_granted() {
        let wanted = perms(&[
            ("contents", "write"),
            ("issues", "write"),
            ("members", "read"),
            ("actions", "read"),
        ]);
        let granted = perms(&[
            ("contents", "read"),
            ("issues", "write"),
            ("actions", "write"),
            ("metadata", "read"),
        ]);
        assert_eq!(
            narrow(&wanted, &granted),
            perms(&[
                ("actions", "read"),
                ("contents", "read"),
                ("issues", "write")
            ])
        );
    }
}
