//! The cluster/hub inventory: `config/clusters/<dir>/cluster.yaml` files, parsed as untrusted
//! input (bounded YAML, errors with file:line:column). 2i2c's schema is known; other keys are
//! warnings with their place and a did-you-mean (errors with `strict`). Only the files a plan
//! needs are read ([`Scope`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::charts::ChartDeps;
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

/// The clusters of a config tree (all, or those a plan needs), sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Clusters by name.
    pub clusters: Vec<Cluster>,
    /// Unknown keys met in the files read, in directory and file order (then the charts'
    /// dependencies that were not followed).
    pub warnings: Vec<Warning>,
    /// Chart dependencies: those the charts' `Chart.yaml` files declare and the configured
    /// ones.
    pub charts: ChartDeps,
}

/// A problem in a cluster file that does not stop the plan: a key ghops does not know
/// (`--strict` makes it an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file, relative to the config root.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// 2i2c's `cluster.yaml` schema (their `cluster.schema.yaml`, current and past keys): what the
/// planner does not read is accepted without looking at its value, except that the keys of
/// the blocks the schema closes (provider blocks, billing) are checked too.
mod schema {
    /// The keys accepted in a block.
    #[derive(Debug, Clone, Copy)]
    pub enum Shape {
        /// Any value (free-form or a scalar).
        Any,
        /// A mapping with these keys.
        Map(&'static [(&'static str, Shape)]),
    }
    use Shape::{Any, Map};

    const GCP: Shape = Map(&[
        ("key", Any),
        ("project", Any),
        ("cluster", Any),
        ("zone", Any),
        (
            "billing",
            Map(&[
                ("paid_by_us", Any),
                (
                    "bigquery",
                    Map(&[("project", Any), ("dataset", Any), ("billing_id", Any)]),
                ),
            ]),
        ),
    ]);
    const AWS: Shape = Map(&[
        ("account", Any),
        ("key", Any),
        ("clusterType", Any),
        ("clusterName", Any),
        ("region", Any),
        (
            "billing",
            Map(&[("paid_by_us", Any), ("active_cost_tags", Any)]),
        ),
    ]);
    const AZURE: Shape = Map(&[("key", Any), ("resource_group", Any), ("cluster", Any)]);

    /// Top-level keys the planner reads.
    pub const CLUSTER_READ: &[&str] = &["name", "provider", "support", "hubs"];
    /// Top-level keys accepted and not read.
    pub const CLUSTER_OTHER: &[(&str, Shape)] = &[
        ("metadata", Any),
        ("provider_url", Any),
        ("tenancy", Any),
        ("account", Any),
        ("image_repo", Any),
        ("auth0", Any),
        ("kubeconfig", Map(&[("file", Any)])),
        ("gcp", GCP),
        ("aws", AWS),
        ("azure", AZURE),
    ];
    /// `support:` keys.
    pub const SUPPORT_READ: &[&str] = &["helm_chart_values_files"];
    /// Hub keys the planner reads (`staging` is ghops's own).
    pub const HUB_READ: &[&str] = &["name", "helm_chart", "helm_chart_values_files", "staging"];
    /// Hub keys accepted and not read.
    pub const HUB_OTHER: &[(&str, Shape)] = &[
        ("display_name", Any),
        ("domain", Any),
        ("domain_override_file", Any),
        ("uptime_check", Map(&[("expected_status", Any)])),
        ("chart_override", Any),
        ("auth0", Any),
    ];
}

/// The known key nearest to `key` when it is close enough to be a typo (gh-core's, shared
/// with `ghops.toml`'s checks).
pub use gh_core::config::did_you_mean;

/// The raw file, as read by the visitors below (one pass; unknown keys recorded with their
/// place, their values skipped).
mod file {
    use std::cell::RefCell;
    use std::fmt;

    use serde::de::{
        self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };
    use serde_saphyr::Spanned;

    use super::schema::{self, Shape};

    pub struct ClusterFile {
        pub name: String,
        pub provider: String,
        pub support: Option<Vec<String>>,
        pub hubs: Vec<HubFile>,
        /// Keys not in the schema, in file order.
        pub unknown: Vec<Unknown>,
    }

    impl<'de> de::Deserialize<'de> for ClusterFile {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            read(d, false)
        }
    }

    /// The same file read again with key locations (slower: only when a key is unknown).
    pub struct Located(pub ClusterFile);

    impl<'de> de::Deserialize<'de> for Located {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            read(d, true).map(Located)
        }
    }

    fn read<'de, D: Deserializer<'de>>(d: D, spans: bool) -> Result<ClusterFile, D::Error> {
        let sink = Ctx {
            unknown: RefCell::new(Vec::new()),
            spans,
        };
        let mut f = d.deserialize_map(Cluster(&sink))?;
        f.unknown = sink.unknown.into_inner();
        Ok(f)
    }

    /// Where unknown keys go, and whether key locations are read.
    struct Ctx {
        unknown: RefCell<Vec<Unknown>>,
        spans: bool,
    }

    /// A key, with its location when `spans` (serde-saphyr's `Spanned` costs a lot per key).
    fn next_key<'de, A: MapAccess<'de>>(
        map: &mut A,
        sink: Sink<'_>,
    ) -> Result<Option<(String, u64, u64)>, A::Error> {
        if sink.spans {
            Ok(map
                .next_key::<Spanned<Key>>()?
                .map(|k| (k.value.0, k.referenced.line(), k.referenced.column())))
        } else {
            Ok(map.next_key::<Key>()?.map(|k| (k.0, 0, 0)))
        }
    }

    pub struct HubFile {
        pub name: String,
        pub helm_chart: String,
        pub helm_chart_values_files: Vec<String>,
        pub staging: Option<bool>,
    }

    /// A key not in the schema: where, and what was expected there.
    pub struct Unknown {
        pub line: u64,
        pub column: u64,
        pub key: String,
        pub within: String,
        pub suggestion: Option<&'static str>,
    }

    /// A mapping key of any scalar type, as text.
    struct Key(String);

    impl<'de> de::Deserialize<'de> for Key {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Key;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a scalar key")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                    Ok(Key(v.to_owned()))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
                    Ok(Key(v))
                }
                fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                    Ok(Key(v.to_string()))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                    Ok(Key(v.to_string()))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                    Ok(Key(v.to_string()))
                }
                fn visit_i128<E: de::Error>(self, v: i128) -> Result<Key, E> {
                    Ok(Key(v.to_string()))
                }
                fn visit_u128<E: de::Error>(self, v: u128) -> Result<Key, E> {
                    Ok(Key(v.to_string()))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                    Ok(Key(v.to_string()))
                }
                fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                    Ok(Key("null".into()))
                }
            }
            d.deserialize_any(V)
        }
    }

    type Sink<'a> = &'a Ctx;

    fn unknown<'de, A: MapAccess<'de>>(
        map: &mut A,
        (key, line, column): (String, u64, u64),
        within: &str,
        expected: &[&'static str],
        sink: Sink<'_>,
    ) -> Result<(), A::Error> {
        let suggestion = super::did_you_mean(&key, expected.iter().copied());
        sink.unknown.borrow_mut().push(Unknown {
            line,
            column,
            key,
            within: within.to_owned(),
            suggestion,
        });
        map.next_value::<IgnoredAny>()?;
        Ok(())
    }

    fn names(read: &[&'static str], other: &[(&'static str, Shape)]) -> Vec<&'static str> {
        read.iter()
            .copied()
            .chain(other.iter().map(|(k, _)| *k))
            .collect()
    }

    fn child(within: &str, key: &str) -> String {
        if within.is_empty() {
            key.to_owned()
        } else {
            format!("{within}.{key}")
        }
    }

    /// A block the planner does not read: keys checked against `shape`, values skipped.
    struct Other<'a> {
        shape: Shape,
        within: String,
        sink: Sink<'a>,
    }

    impl<'de> DeserializeSeed<'de> for Other<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            match self.shape {
                Shape::Any => d.deserialize_ignored_any(IgnoredAny).map(|_| ()),
                Shape::Map(_) => d.deserialize_any(self),
            }
        }
    }

    impl<'de> Visitor<'de> for Other<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
            Ok(())
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let Shape::Map(keys) = self.shape else {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(());
            };
            while let Some(k) = next_key(&mut map, self.sink)? {
                match keys.iter().find(|(name, _)| *name == k.0) {
                    Some((name, shape)) => map.next_value_seed(Other {
                        shape: *shape,
                        within: child(&self.within, name),
                        sink: self.sink,
                    })?,
                    None => {
                        let expected: Vec<&'static str> = keys.iter().map(|(n, _)| *n).collect();
                        unknown(&mut map, k, &self.within, &expected, self.sink)?
                    }
                }
            }
            Ok(())
        }
    }

    /// The whole file.
    struct Cluster<'a>(Sink<'a>);

    impl<'de> Visitor<'de> for Cluster<'_> {
        type Value = ClusterFile;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a cluster (a mapping with name, provider, support, hubs)")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClusterFile, A::Error> {
            let (mut name, mut provider, mut support, mut hubs) = (None, None, None, None);
            while let Some(k) = next_key(&mut map, self.0)? {
                match k.0.as_str() {
                    "name" => name = Some(map.next_value::<String>()?),
                    "provider" => provider = Some(map.next_value::<String>()?),
                    "support" => support = Some(map.next_value_seed(Support(self.0))?),
                    "hubs" => hubs = Some(map.next_value_seed(Hubs(self.0))?),
                    key => match schema::CLUSTER_OTHER.iter().find(|(n, _)| *n == key) {
                        Some((n, shape)) => map.next_value_seed(Other {
                            shape: *shape,
                            within: (*n).to_owned(),
                            sink: self.0,
                        })?,
                        None => unknown(
                            &mut map,
                            k,
                            "",
                            &names(schema::CLUSTER_READ, schema::CLUSTER_OTHER),
                            self.0,
                        )?,
                    },
                }
            }
            Ok(ClusterFile {
                name: name.ok_or_else(|| de::Error::missing_field("name"))?,
                provider: provider.ok_or_else(|| de::Error::missing_field("provider"))?,
                support: support.flatten(),
                hubs: hubs.unwrap_or_default(),
                unknown: Vec::new(),
            })
        }
    }

    /// `support:` (null means no support chart).
    struct Support<'a>(Sink<'a>);

    impl<'de> DeserializeSeed<'de> for Support<'_> {
        type Value = Option<Vec<String>>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_option(self)
        }
    }

    impl<'de> Visitor<'de> for Support<'_> {
        type Value = Option<Vec<String>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a mapping with helm_chart_values_files")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut files = None;
            while let Some(k) = next_key(&mut map, self.0)? {
                if k.0 == "helm_chart_values_files" {
                    files = Some(map.next_value::<Vec<String>>()?);
                } else {
                    unknown(&mut map, k, "support", schema::SUPPORT_READ, self.0)?;
                }
            }
            Ok(Some(files.unwrap_or_default()))
        }
    }

    /// `hubs:`.
    struct Hubs<'a>(Sink<'a>);

    impl<'de> DeserializeSeed<'de> for Hubs<'_> {
        type Value = Vec<HubFile>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Hubs<'_> {
        type Value = Vec<HubFile>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of hubs")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut hubs = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(h) = seq.next_element_seed(Hub {
                sink: self.0,
                index: hubs.len(),
            })? {
                hubs.push(h);
            }
            Ok(hubs)
        }
    }

    struct Hub<'a> {
        sink: Sink<'a>,
        index: usize,
    }

    impl<'de> DeserializeSeed<'de> for Hub<'_> {
        type Value = HubFile;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<HubFile, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Hub<'_> {
        type Value = HubFile;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a hub (a mapping with name, helm_chart, helm_chart_values_files)")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HubFile, A::Error> {
            let within = format!("hubs[{}]", self.index);
            let (mut name, mut chart, mut files, mut staging) = (None, None, None, None);
            while let Some(k) = next_key(&mut map, self.sink)? {
                match k.0.as_str() {
                    "name" => name = Some(map.next_value::<String>()?),
                    "helm_chart" => chart = Some(map.next_value::<String>()?),
                    "helm_chart_values_files" => files = Some(map.next_value::<Vec<String>>()?),
                    "staging" => staging = map.next_value::<Option<bool>>()?,
                    key => match schema::HUB_OTHER.iter().find(|(n, _)| *n == key) {
                        Some((n, shape)) => map.next_value_seed(Other {
                            shape: *shape,
                            within: child(&within, n),
                            sink: self.sink,
                        })?,
                        None => unknown(
                            &mut map,
                            k,
                            &within,
                            &names(schema::HUB_READ, schema::HUB_OTHER),
                            self.sink,
                        )?,
                    },
                }
            }
            Ok(HubFile {
                name: name.ok_or_else(|| de::Error::missing_field("name"))?,
                helm_chart: chart.ok_or_else(|| de::Error::missing_field("helm_chart"))?,
                helm_chart_values_files: files.unwrap_or_default(),
                staging,
            })
        }
    }
}

/// Parses a cluster file (untrusted YAML) with gh-core's limits; errors name file:line:column.
pub fn parse_yaml<T: for<'de> Deserialize<'de>>(text: &str, file: &str) -> Result<T, PlanError> {
    gh_core::config::parse_yaml(text, file).map_err(|e| PlanError::Yaml {
        file: e.file,
        line: e.line,
        column: e.column,
        message: e.message,
    })
}

type Loaded = (Cluster, Vec<Warning>);

/// Loads the cluster files of `dirs` (in order); a directory without a cluster file is skipped.
fn load_dirs(root: &Path, dirs: &[String], config: &PlanConfig) -> Result<Vec<Loaded>, PlanError> {
    let mut clusters = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let rel = format!("{}/{dir}/cluster.yaml", config.clusters_dir);
        let Some(text) = read_tree_file(root, &rel)? else {
            continue;
        };
        clusters.push(Inventory::parse_cluster(&text, &rel, dir, config)?);
    }
    Ok(clusters)
}

/// Reads `rel` under `root` (PR input): `None` when it does not exist; an error when it is not
/// a regular file (symlinks are not followed) or is larger than gh-core's YAML cap (checked
/// before reading, so a huge file is never read).
pub(crate) fn read_tree_file(root: &Path, rel: &str) -> Result<Option<String>, PlanError> {
    let path: PathBuf = root.join(rel);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(PlanError::Io {
                path,
                message: e.to_string(),
            });
        }
    };
    if !meta.is_file() {
        return Err(PlanError::Invalid {
            file: rel.to_owned(),
            message: "not a regular file (symlinks are refused)".into(),
        });
    }
    let cap = gh_core::config::MAX_YAML_BYTES;
    if meta.len() > cap as u64 {
        // The same error parse_yaml gives for a file over the cap.
        return Err(PlanError::Yaml {
            file: rel.to_owned(),
            line: 0,
            column: 0,
            message: format!("file is larger than {cap} bytes"),
        });
    }
    std::fs::read_to_string(&path)
        .map(Some)
        .map_err(|e| PlanError::Io {
            path,
            message: e.to_string(),
        })
}

/// Which cluster directories a plan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every cluster (an "everything" path, a chart, or a label that reaches every cluster).
    All,
    /// Only these directories (those the changed paths fall under).
    Dirs(BTreeSet<String>),
}

fn skipped_dir(name: &str) -> bool {
    name.contains("templates") || name.starts_with('.')
}

/// Reads and parses the cluster files of `dirs` (sorted), spread over the cores when there are
/// many. The result (and the error reported: the first in directory order) does not depend
/// on the thread count.
fn load_all(root: &Path, dirs: &[String], config: &PlanConfig) -> Result<Inventory, PlanError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = dirs.len().div_ceil(threads).max(16);
    let results: Vec<Result<Vec<Loaded>, PlanError>> = if dirs.len() <= chunk {
        vec![load_dirs(root, dirs, config)]
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
    let mut inv = Inventory {
        clusters: Vec::with_capacity(dirs.len()),
        warnings: Vec::new(),
        charts: ChartDeps::default(),
    };
    for r in results {
        for (c, w) in r? {
            inv.clusters.push(c);
            inv.warnings.extend(w);
        }
    }
    Ok(inv)
}

impl Inventory {
    /// Loads every `<clusters_dir>/<dir>/cluster.yaml` under `root` (directories whose path
    /// contains `templates` are skipped) and the chart dependencies ([`ChartDeps::load`]).
    pub fn load(root: &Path, config: &PlanConfig) -> Result<Self, PlanError> {
        Self::load_scoped(root, config, &Scope::All)
    }

    /// Loads the cluster files a plan needs: all of them, or only those of some directories
    /// (a directory that is not a plain directory or holds no cluster file is skipped, as
    /// [`Inventory::load`] would), and the chart dependencies.
    pub fn load_scoped(root: &Path, config: &PlanConfig, scope: &Scope) -> Result<Self, PlanError> {
        let (charts, warnings) = ChartDeps::load(root, config)?;
        Ok(Self::load_clusters(root, config, scope)?.with_charts(charts, warnings))
    }

    /// Sets the chart dependencies (and the warnings reading them gave).
    pub fn with_charts(mut self, charts: ChartDeps, warnings: Vec<Warning>) -> Self {
        self.charts = charts;
        self.warnings.extend(warnings);
        self
    }

    /// Loads the cluster files of `scope` only (no chart dependency is read).
    pub fn load_clusters(
        root: &Path,
        config: &PlanConfig,
        scope: &Scope,
    ) -> Result<Self, PlanError> {
        let clusters_dir = root.join(&config.clusters_dir);
        // One clear error, whichever the scope, for the common mistake: running from the
        // wrong directory (or a layout other than 2i2c's without `clusters_dir`).
        if !clusters_dir.is_dir() {
            return Err(PlanError::Io {
                message: "no such directory: run from the config repository's root or pass \
                          --config-root DIR (`clusters_dir` under [plan] names another layout's \
                          folder of cluster files)"
                    .into(),
                path: clusters_dir,
            });
        }
        let dirs: Vec<String> = match scope {
            Scope::All => {
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
                    if !skipped_dir(&name) {
                        dirs.push(name);
                    }
                }
                dirs.sort();
                dirs
            }
            Scope::Dirs(wanted) => {
                // Sorted (a BTreeSet); same filter as the full listing.
                wanted
                    .iter()
                    .filter(|d| !skipped_dir(d) && !d.is_empty() && *d != "..")
                    .filter(|d| {
                        std::fs::symlink_metadata(clusters_dir.join(d)).is_ok_and(|m| m.is_dir())
                    })
                    .cloned()
                    .collect()
            }
        };
        load_all(root, &dirs, config)
    }

    /// Parses one cluster file (`rel` is its path relative to the config root): the cluster,
    /// and a warning per unknown key (none with `allow_unknown_fields`; an error instead
    /// with `strict`).
    pub fn parse_cluster(
        text: &str,
        rel: &str,
        dir: &str,
        config: &PlanConfig,
    ) -> Result<(Cluster, Vec<Warning>), PlanError> {
        let mut f: file::ClusterFile = parse_yaml(text, rel)?;
        let report = !config.allow_unknown_fields || config.strict;
        if report && !f.unknown.is_empty() {
            // Read again for the keys' places (rare: only files with unknown keys).
            f = parse_yaml::<file::Located>(text, rel)?.0;
        }
        let mut warnings = Vec::new();
        if report {
            for u in &f.unknown {
                let mut message = format!("unknown key `{}`", u.key);
                if !u.within.is_empty() {
                    message.push_str(&format!(" in {}", u.within));
                }
                if let Some(s) = u.suggestion {
                    message.push_str(&format!(" (did you mean `{s}`?)"));
                }
                if config.strict {
                    return Err(PlanError::Yaml {
                        file: rel.to_owned(),
                        line: u.line,
                        column: u.column,
                        message: format!("{message} (refused: --strict)"),
                    });
                }
                message.push_str("; ignored");
                warnings.push(Warning {
                    file: rel.to_owned(),
                    line: u.line,
                    column: u.column,
                    message,
                });
            }
        }
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
        let inside = format!("{base}/");
        // Values files live in their cluster's directory (so a change to one is always under
        // the directory of the cluster that names it, and only that cluster file need be read).
        let resolve = |what: &str, v: &str| -> Result<String, PlanError> {
            let p = normalize(&format!("{base}/{v}"));
            if p.starts_with(&inside) {
                Ok(p)
            } else {
                Err(PlanError::Invalid {
                    file: rel.to_owned(),
                    message: format!(
                        "{what}: {v:?} resolves outside {inside} (values files must live in their cluster's directory)"
                    ),
                })
            }
        };
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
            let what = format!("hubs[{i}].helm_chart_values_files");
            hubs.push(Hub {
                values_files: h
                    .helm_chart_values_files
                    .iter()
                    .map(|v| resolve(&what, v))
                    .collect::<Result<_, _>>()?,
                name: h.name,
                chart: h.helm_chart,
                staging,
            });
        }
        let support = match f.support {
            Some(files) => Some(
                files
                    .iter()
                    .map(|v| resolve("support.helm_chart_values_files", v))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        Ok((
            Cluster {
                dir: dir.to_owned(),
                name: f.name,
                provider: f.provider,
                support,
                hubs,
                file: rel.to_owned(),
            },
            warnings,
        ))
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
