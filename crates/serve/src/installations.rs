//! One client per (App installation, permission set): each handler acts with an installation
//! token narrowed to the permissions it needs, minted on first use and kept until shortly
//! before it expires.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gh_core::GitHub;
use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::{ClientConfig, InstallationTarget};
use gh_core::retry::Idempotency;
use serde::Deserialize;
use serde_json::json;

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

/// One cache entry: its own lock, held while its token is minted, so that concurrent
/// deliveries for the same (installation, permission set) wait for one mint instead of
/// minting each, and deliveries for other entries do not wait at all.
type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// Installation clients for a GitHub App.
pub struct Installations {
    base: ClientConfig,
    /// Permission set → installation id → slot (looked up by reference: a delivery allocates
    /// nothing when its slot exists). This lock is only held to find or add a slot, never
    /// across an await.
    slots: std::sync::Mutex<HashMap<Permissions, HashMap<u64, Slot>>>,
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

impl Installations {
    /// From the App's client config (credentials must be a GitHub App to mint installation
    /// tokens; with a plain token, every installation shares that token).
    pub fn new(base: ClientConfig) -> Self {
        Self {
            base,
            slots: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The client acting as installation `id` with the installation's full permissions (for a
    /// token config, the token's client).
    pub async fn client(&self, id: Option<u64>) -> gh_core::Result<GitHub> {
        self.client_with(id, &Permissions::new()).await
    }

    /// The client acting as installation `id` with a token narrowed to `wanted` (intersected
    /// with what the installation was granted); an empty set means the installation's full
    /// permissions. Tokens are cached per (installation, permission set) and re-minted five
    /// minutes before they expire. Concurrent calls for one (installation, permission set)
    /// share one mint; calls for others never wait for it.
    pub async fn client_with(
        &self,
        id: Option<u64>,
        wanted: &Permissions,
    ) -> gh_core::Result<GitHub> {
        let is_app = matches!(self.base.credentials, Credentials::App { .. });
        let none = Permissions::new();
        let (key, wanted) = match (is_app, id) {
            (true, Some(id)) => (id, wanted),
            _ => (0, &none),
        };
        let slot = self.slot(key, wanted);
        let mut entry = slot.lock().await;
        if let Some(c) = entry.as_ref()
            && c.refresh_at.is_none_or(|t| Instant::now() < t)
        {
            return Ok(c.client.clone());
        }
        let cached = match (is_app, id) {
            (true, Some(id)) if !wanted.is_empty() => self.mint(id, wanted).await?,
            (true, Some(id)) => {
                let mut cfg = self.base.clone();
                cfg.installation = Some(InstallationTarget::Id(id));
                Cached {
                    client: GitHub::connect(cfg).await?,
                    refresh_at: None,
                }
            }
            _ => {
                let mut cfg = self.base.clone();
                cfg.installation = None;
                Cached {
                    client: GitHub::connect(cfg).await?,
                    refresh_at: None,
                }
            }
        };
        let client = cached.client.clone();
        *entry = Some(cached);
        Ok(client)
    }

    /// The cache slot of (installation, permission set), created empty on first use.
    fn slot(&self, key: u64, wanted: &Permissions) -> Slot {
        let mut map = self.slots.lock().expect("lock");
        if let Some(s) = map.get(wanted).and_then(|m| m.get(&key)) {
            return s.clone();
        }
        map.entry(wanted.clone())
            .or_default()
            .entry(key)
            .or_default()
            .clone()
    }

    async fn mint(&self, id: u64, wanted: &Permissions) -> gh_core::Result<Cached> {
        let app = self.app_client().await?;
        let inst: Installation = app.get(&format!("/app/installations/{id}")).await?;
        let narrowed = narrow(wanted, &inst.permissions);
        let body = json!({ "permissions": narrowed });
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
            let mut cfg = self.base.clone();
            cfg.installation = Some(InstallationTarget::Id(id));
            return Ok(Cached {
                client: GitHub::connect(cfg).await?,
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
    pub async fn app_client(&self) -> gh_core::Result<GitHub> {
        let mut cfg = self.base.clone();
        cfg.installation = None;
        GitHub::connect(cfg).await
    }
}

/// Shorthand for building a [`Permissions`] set: `perms(&[("contents", "write")])`.
pub fn perms(list: &[(&str, &str)]) -> Permissions {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
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
