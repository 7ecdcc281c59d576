//! The crash-safety journal: deployment → phase, on disk, written atomically (temp file +
//! rename) before every step that matters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// The journal of one agent.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    path: Option<PathBuf>,
    entries: BTreeMap<String, Phase>,
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
            entries,
        })
    }

    fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.entries)?)?;
        std::fs::rename(&tmp, path)
    }

    /// Records a phase.
    pub fn set(&mut self, key: &str, phase: Phase) -> std::io::Result<()> {
        self.entries.insert(key.to_owned(), phase);
        self.save()
    }

    /// Forgets a deployment (its final status is posted).
    pub fn clear(&mut self, key: &str) -> std::io::Result<()> {
        if self.entries.remove(key).is_some() {
            self.save()?;
        }
        Ok(())
    }

    /// The entries whose key starts with `prefix` (`repo#environment#`).
    pub fn pending(&self, prefix: &str) -> Vec<(String, Phase)> {
        self.entries
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
