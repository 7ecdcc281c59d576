//! Chart dependencies: which charts a chart is built from, so that a change to one redeploys
//! the hubs of every chart that depends on it. Derived from each chart's `Chart.yaml`
//! (`dependencies[].repository: file://../basehub`, as 2i2c's `daskhub` names `basehub`) and
//! from `[plan].chart_dependencies`. `Chart.yaml` is PR input: parsed with gh-core's limits,
//! symlinks refused, dependencies outside the charts directory not followed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::PlanConfig;
use crate::error::PlanError;
use crate::inventory::{Warning, parse_yaml, read_tree_file};
use crate::paths::normalize;

/// Chart → the charts it depends on (directory names under the charts directory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartDeps {
    deps: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Deserialize)]
struct ChartFile {
    #[serde(default)]
    dependencies: Option<Vec<Dependency>>,
}

#[derive(Deserialize)]
struct Dependency {
    #[serde(default)]
    repository: Option<Spanned<String>>,
}

impl ChartDeps {
    /// The dependencies `[plan].chart_dependencies` declares.
    pub fn from_config(cfg: &PlanConfig) -> Self {
        let mut d = Self::default();
        for (dependent, deps) in &cfg.chart_dependencies {
            for dep in deps {
                d.add(dependent, dep);
            }
        }
        d
    }

    /// The configured dependencies plus, unless `derive_chart_dependencies` is off, those the
    /// `Chart.yaml` of every chart directory under `charts_dir` names by a `file://`
    /// repository; with a warning per `file://` dependency that resolves outside the charts
    /// directory (not followed). A missing charts directory or `Chart.yaml` adds nothing.
    pub fn load(root: &Path, cfg: &PlanConfig) -> Result<(Self, Vec<Warning>), PlanError> {
        let mut d = Self::from_config(cfg);
        let mut warnings = Vec::new();
        if !cfg.derive_chart_dependencies {
            return Ok((d, warnings));
        }
        let dir = root.join(&cfg.charts_dir);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok((d, warnings));
            }
            Err(e) => {
                return Err(PlanError::Io {
                    path: dir,
                    message: e.to_string(),
                });
            }
        };
        let mut charts = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| PlanError::Io {
                path: dir.clone(),
                message: e.to_string(),
            })?;
            // Symlinked chart directories are not followed: the tree is PR input.
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if let (true, Some(name)) = (is_dir, entry.file_name().to_str()) {
                charts.push(name.to_owned());
            }
        }
        charts.sort();
        let base = normalize(&cfg.charts_dir);
        for chart in &charts {
            let rel = format!("{}/{chart}/Chart.yaml", cfg.charts_dir);
            let Some(text) = read_tree_file(root, &rel)? else {
                continue;
            };
            let file: ChartFile = parse_yaml(&text, &rel)?;
            for (i, dep) in file.dependencies.into_iter().flatten().enumerate() {
                let Some(repo) = dep.repository else { continue };
                let Some(target) = repo.value.strip_prefix("file://") else {
                    continue;
                };
                let resolved = normalize(&format!("{base}/{chart}/{target}"));
                let inside = resolved
                    .strip_prefix(&format!("{base}/"))
                    .filter(|name| !name.is_empty() && !name.contains('/'));
                match inside {
                    Some(name) if name == chart => {}
                    Some(name) => d.add(chart, name),
                    // A subchart inside the chart's own directory: already part of its changes.
                    None if resolved.starts_with(&format!("{base}/{chart}/")) => {}
                    None => warnings.push(Warning {
                        file: rel.clone(),
                        line: repo.referenced.line(),
                        column: repo.referenced.column(),
                        message: format!(
                            "dependencies[{i}].repository {:?} resolves outside {}/; not followed",
                            repo.value, cfg.charts_dir
                        ),
                    }),
                }
            }
        }
        Ok((d, warnings))
    }

    /// Records that `dependent` is built from `dependency`.
    pub fn add(&mut self, dependent: &str, dependency: &str) {
        self.deps
            .entry(dependent.to_owned())
            .or_default()
            .insert(dependency.to_owned());
    }

    /// Adds every dependency of `other`.
    pub fn extend(&mut self, other: &ChartDeps) {
        for (dependent, deps) in &other.deps {
            for dep in deps {
                self.add(dependent, dep);
            }
        }
    }

    /// The charts a change to `chart` affects: itself and every chart that depends on it,
    /// transitively (cycles end where they meet a chart already seen). Sorted.
    pub fn affected(&self, chart: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::from([chart.to_owned()]);
        let mut queue = VecDeque::from([chart.to_owned()]);
        while let Some(cur) = queue.pop_front() {
            for (dependent, deps) in &self.deps {
                if deps.contains(&cur) && seen.insert(dependent.clone()) {
                    queue.push_back(dependent.clone());
                }
            }
        }
        seen
    }

    /// Every (dependent, dependency) pair, sorted.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.deps
            .iter()
            .flat_map(|(a, bs)| bs.iter().map(move |b| (a.as_str(), b.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affected_is_transitive_and_cycle_safe() {
        let mut d = ChartDeps::default();
        d.add("daskhub", "basehub");
        d.add("binderhub", "daskhub");
        d.add("basehub", "binderhub"); // a cycle
        d.add("other", "other"); // a self-loop
        let v = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>();
        assert_eq!(
            v(&d.affected("basehub")),
            ["basehub", "binderhub", "daskhub"]
        );
        assert_eq!(v(&d.affected("other")), ["other"]);
        assert_eq!(v(&d.affected("unknown")), ["unknown"]);
    }

    #[test]
    fn configuration_edges_are_kept() {
        let mut cfg = PlanConfig::default();
        cfg.chart_dependencies
            .insert("daskhub".into(), vec!["basehub".into()]);
        let d = ChartDeps::from_config(&cfg);
        assert_eq!(d.pairs().collect::<Vec<_>>(), [("daskhub", "basehub")]);
    }
}
