//! One client per App installation, created on first use and kept: octocrab caches each
//! installation token and mints a new one shortly before it expires.

use std::collections::HashMap;

use gh_core::GitHub;
use gh_core::client::{ClientConfig, InstallationTarget};
use tokio::sync::Mutex;

/// Installation clients for a GitHub App.
pub struct Installations {
    base: ClientConfig,
    clients: Mutex<HashMap<u64, GitHub>>,
}

impl Installations {
    /// From the App's client config (credentials must be a GitHub App to mint installation
    /// tokens; with a plain token, every installation shares that token).
    pub fn new(base: ClientConfig) -> Self {
        Self {
            base,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client acting as installation `id` (for a token config, the token's client).
    pub async fn client(&self, id: Option<u64>) -> gh_core::Result<GitHub> {
        let key = id.unwrap_or(0);
        let mut map = self.clients.lock().await;
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let mut cfg = self.base.clone();
        if matches!(cfg.credentials, gh_core::auth::Credentials::App { .. }) {
            cfg.installation = id.map(InstallationTarget::Id);
        }
        let c = GitHub::connect(cfg).await?;
        map.insert(key, c.clone());
        Ok(c)
    }

    /// A client authenticated as the App itself (JWT), for `/app/...` endpoints.
    pub async fn app_client(&self) -> gh_core::Result<GitHub> {
        let mut cfg = self.base.clone();
        cfg.installation = None;
        GitHub::connect(cfg).await
    }
}
