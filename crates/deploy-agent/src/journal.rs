//! The crash-safety journal: deployment → phase, on disk, written atomically (temp file +
//! rename) before every step that matters. One journal is shared by all the targets of an
//! agent: clones share the same entries, and each write holds a short lock (never across a
//! hook), so targets run in parallel.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Where a deployment is in its handling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// `in_progress` posted; hooks may be running.
    Running,
    /// Hooks finished; this final status still has to be posted.
    Done {
        /// `success`, `failure`, `error`.
        state: String,
        /// Status description.
        description: String,
        /// Reported environment URL.
        #[serde(default)]
        environment_url: Option<String>,
        /// Log URL.
        #[serde(default)]
        log_url: Option<String>,
    },
}

/// The journal of one agent (cheap to clone; clones share the entries).
#[derive(Debug, Clone, Default)]
pub struct Journal {
    path: Option<PathBuf>,
    entries: Arc<Mutex<BTreeMap<String, Phase>>>,
}

/// The journal key of a deployment.
pub fn key(repo: &str, environment: &str, id: u64) -> String {
    format!("{repo}#{environment}#{id}")
}

impl Journal {
    /// An in-memory journal (no crash safety).
    pub fn memory() -> Self {
        Self::default()
    }

    /// Opens (or starts) `<dir>/journal.json`.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("journal.json");
        let entries = match std::fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(Self {
            path: Some(path),
            entries: Arc::new(Mutex::new(entries)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Phase>> {
        // A panic while holding the lock cannot leave the map half-written: take it anyway.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, entries: &BTreeMap<String, Phase>) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(entries)?)?;
        std::fs::rename(&tmp, path)
    }

    /// Records a phase (on disk before returning).
    pub fn set(&self, key: &str, phase: Phase) -> std::io::Result<()> {
        let mut e = self.lock();
        e.insert(key.to_owned(), phase);
        self.save(&e)
    }

    /// Forgets a deployment (its final status is posted).
    pub fn clear(&self, key: &str) -> std::io::Result<()> {
        let mut e = self.lock();
        if e.remove(key).is_some() {
            self.save(&e)?;
        }
        Ok(())
    }

    /// The entries whose key starts with `prefix` (`repo#environment#`).
    pub fn pending(&self, prefix: &str) -> Vec<(String, Phase)> {
        self.lock()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
