//! The cluster/hub inventory: `config/clusters/<dir>/cluster.yaml` files, parsed as untrusted
//! input (bounded YAML, unknown fields refused, errors with file:line:column).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::PlanConfig;
use crate::error::PlanError;
use crate::paths::normalize;

/// One hub of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hub {
    /// Hub name (unique within its cluster).
    pub name: String,
    /// Chart type (`basehub`, `daskhub`, ...).
    pub chart: String,
    /// Values files, normalised, relative to the config root.
    pub values_files: Vec<String>,
    /// Whether this is a staging hub (explicit `staging:` or the naming rule).
    pub staging: bool,
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// Directory name under the clusters directory (equals `name`).
    pub dir: String,
    /// `name:`.
    pub name: String,
    /// `provider:`.
    pub provider: String,
    /// Support chart values files (normalised, relative to the config root), when the cluster
    /// has a support chart.
    pub support: Option<Vec<String>>,
    /// Hubs, in file order.
    pub hubs: Vec<Hub>,
    /// The cluster file, relative to the config root.
    pub file: String,
}

/// Every cluster of a config tree, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Clusters by name.
    pub clusters: Vec<Cluster>,
}

macro_rules! cluster_file_types {
    ($modname:ident, $($deny:tt)*) => {
        mod $modname {
            use serde::Deserialize;
            #[derive(Deserialize)]
            $($deny)*
            pub struct ClusterFile {
                pub name: String,
                pub provider: String,
                #[serde(default)]
                pub support: Option<SupportFile>,
                #[serde(default)]
                pub hubs: Vec<HubFile>,
            }
            #[derive(Deserialize)]
            $($deny)*
            pub struct SupportFile {
                #[serde(default)]
                pub helm_chart_values_files: Vec<String>,
            }
            #[derive(Deserialize)]
            $($deny)*
            pub struct HubFile {
                pub name: String,
                pub helm_chart: String,
                #[serde(default)]
                pub helm_chart_values_files: Vec<String>,
                #[serde(default)]
                pub staging: Option<bool>,
            }
        }
    };
}

// The same shape twice: strict (typo protection, the default) and lenient
// (`--allow-unknown-fields`, e.g. 2i2c's `domain`, `auth0` and `image_repo` keys).
cluster_file_types!(strict, #[serde(deny_unknown_fields)]);
cluster_file_types!(lenient,);

/// Parses a cluster file (untrusted YAML) with gh-core's limits; errors name file:line:column.
pub fn parse_yaml<T: for<'de> Deserialize<'de>>(text: &str, file: &str) -> Result<T, PlanError> {
    gh_core::config::parse_yaml(text, file).map_err(|e| PlanError::Yaml {
        file: e.file,
        line: e.line,
        column: e.column,
        message: e.message,
    })
}

fn convert_strict(f: strict::ClusterFile) -> lenient::ClusterFile {
    lenient::ClusterFile {
        name: f.name,
        provider: f.provider,
        support: f.support.map(|s| lenient::SupportFile {
            helm_chart_values_files: s.helm_chart_values_files,
        }),
        hubs: f
            .hubs
            .into_iter()
            .map(|h| lenient::HubFile {
                name: h.name,
                helm_chart: h.helm_chart,
                helm_chart_values_files: h.helm_chart_values_files,
                staging: h.staging,
            })
            .collect(),
    }
}

/// Loads the cluster files of `dirs` (in order); a directory without a cluster file is skipped.
fn load_dirs(root: &Path, dirs: &[String], config: &PlanConfig) -> Result<Vec<Cluster>, PlanError> {
    let mut clusters = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let rel = format!("{}/{dir}/cluster.yaml", config.clusters_dir);
        let path: PathBuf = root.join(&rel);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(PlanError::Io {
                    path,
                    message: e.to_string(),
                });
            }
        };
        if !meta.is_file() {
            return Err(PlanError::Invalid {
                file: rel,
                message: "not a regular file (symlinks are refused)".into(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| PlanError::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        clusters.push(Inventory::parse_cluster(&text, &rel, dir, config)?);
    }
    Ok(clusters)
}

impl Inventory {
    /// Loads every `<clusters_dir>/<dir>/cluster.yaml` under `root` (directories whose path
    /// contains `templates` are skipped).
    pub fn load(root: &Path, config: &PlanConfig) -> Result<Self, PlanError> {
        let clusters_dir = root.join(&config.clusters_dir);
        let entries = std::fs::read_dir(&clusters_dir).map_err(|e| PlanError::Io {
            path: clusters_dir.clone(),
            message: e.to_string(),
        })?;
        let mut dirs: Vec<String> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| PlanError::Io {
                path: clusters_dir.clone(),
                message: e.to_string(),
            })?;
            // Symlinks are not followed: the tree is PR input.
            let ft = entry.file_type().map_err(|e| PlanError::Io {
                path: entry.path(),
                message: e.to_string(),
            })?;
            if !ft.is_dir() {
                continue;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if name.contains("templates") || name.starts_with('.') {
                continue;
            }
            dirs.push(name);
        }
        dirs.sort();
        // Reading and parsing dominate a plan's time: spread the files over the cores. The
        // result (and the error reported: the first in directory order) does not depend on
        // the thread count.
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        let chunk = dirs.len().div_ceil(threads).max(16);
        let results: Vec<Result<Vec<Cluster>, PlanError>> = if dirs.len() <= chunk {
            vec![load_dirs(root, &dirs, config)]
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = dirs
                    .chunks(chunk)
                    .map(|part| s.spawn(move || load_dirs(root, part, config)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("cluster loader thread panicked"))
                    .collect()
            })
        };
        let mut clusters = Vec::with_capacity(dirs.len());
        for r in results {
            clusters.extend(r?);
        }
        Ok(Inventory { clusters })
    }

    /// Parses one cluster file (`rel` is its path relative to the config root).
    pub fn parse_cluster(
        text: &str,
        rel: &str,
        dir: &str,
        config: &PlanConfig,
    ) -> Result<Cluster, PlanError> {
        let f: lenient::ClusterFile = if config.allow_unknown_fields {
            parse_yaml(text, rel)?
        } else {
            convert_strict(parse_yaml::<strict::ClusterFile>(text, rel)?)
        };
        if f.name != dir {
            return Err(PlanError::Invalid {
                file: rel.to_owned(),
                message: format!(
                    "name: {:?} does not match its directory {:?} (they must be equal)",
                    f.name, dir
                ),
            });
        }
        let base = format!("{}/{dir}", config.clusters_dir);
        let resolve = |v: &str| normalize(&format!("{base}/{v}"));
        let mut seen = BTreeSet::new();
        let mut hubs = Vec::with_capacity(f.hubs.len());
        for (i, h) in f.hubs.into_iter().enumerate() {
            if h.name.is_empty() {
                return Err(PlanError::Invalid {
                    file: rel.to_owned(),
                    message: format!("hubs[{i}].name is empty"),
                });
            }
            if !seen.insert(h.name.clone()) {
                return Err(PlanError::Invalid {
                    file: rel.to_owned(),
                    message: format!("hubs[{i}].name: duplicate hub name {:?}", h.name),
                });
            }
            if !config.chart_types.iter().any(|c| c == &h.helm_chart) {
                return Err(PlanError::Invalid {
                    file: rel.to_owned(),
                    message: format!(
                        "hubs[{i}].helm_chart: {:?} is not a declared chart type ({})",
                        h.helm_chart,
                        config.chart_types.join(", ")
                    ),
                });
            }
            let staging = h
                .staging
                .unwrap_or_else(|| config.staging.is_staging_name(&h.name));
            hubs.push(Hub {
                values_files: h
                    .helm_chart_values_files
                    .iter()
                    .map(|v| resolve(v))
                    .collect(),
                name: h.name,
                chart: h.helm_chart,
                staging,
            });
        }
        Ok(Cluster {
            dir: dir.to_owned(),
            name: f.name,
            provider: f.provider,
            support: f.support.map(|s| {
                s.helm_chart_values_files
                    .iter()
                    .map(|v| resolve(v))
                    .collect()
            }),
            hubs,
            file: rel.to_owned(),
        })
    }

    /// The cluster with this name.
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters
            .binary_search_by(|c| c.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.clusters[i])
    }

    /// Number of hubs in all clusters.
    pub fn hub_count(&self) -> usize {
        self.clusters.iter().map(|c| c.hubs.len()).sum()
    }
}
