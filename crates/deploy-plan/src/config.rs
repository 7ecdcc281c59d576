//! The planner's rules: the `[plan]` table of `ghops.toml`. The defaults follow 2i2c's
//! infrastructure layout and need no config at all.

use std::collections::BTreeMap;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::error::PlanError;

/// How a hub is recognised as staging when its file does not say `staging: true|false`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct StagingRule {
    /// Exact hub names that are staging.
    pub names: Vec<String>,
    /// Name suffixes that make a hub staging (never a bare substring).
    pub suffixes: Vec<String>,
}

impl Default for StagingRule {
    fn default() -> Self {
        Self {
            names: vec!["staging".into()],
            suffixes: vec!["-staging".into()],
        }
    }
}

impl StagingRule {
    /// True when `name` is a staging hub's name under this rule.
    pub fn is_staging_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
            || self
                .suffixes
                .iter()
                .any(|s| !s.is_empty() && name.len() > s.len() && name.ends_with(s.as_str()))
    }
}

/// Label names that steer the plan.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Labels {
    /// Nothing is deployed.
    pub skip_deploy: String,
    /// Support charts only.
    pub skip_deploy_hubs: String,
    /// Support on every cluster.
    pub deploy_support: String,
    /// Every hub.
    pub deploy_hubs: String,
}

impl Default for Labels {
    fn default() -> Self {
        Self {
            skip_deploy: "deployer:skip-deploy".into(),
            skip_deploy_hubs: "deployer:skip-deploy-hubs".into(),
            deploy_support: "deployer:deploy-support".into(),
            deploy_hubs: "deployer:deploy-hubs".into(),
        }
    }
}

#[cfg(feature = "config")]
impl gh_core::config::Section for PlanConfig {
    const NAME: &'static str = "plan";
    type Error = PlanError;
}

/// `[plan]` in `ghops.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PlanConfig {
    /// Where cluster directories live, relative to the config root.
    pub clusters_dir: String,
    /// Where the Helm charts live.
    pub charts_dir: String,
    /// The support chart's directory name under `charts_dir`.
    pub support_chart: String,
    /// Hub chart types (directory names under `charts_dir`).
    pub chart_types: Vec<String>,
    /// Chart → charts it depends on: a change to a dependency redeploys the dependent's hubs.
    /// Added to those derived from the charts' `Chart.yaml` files.
    pub chart_dependencies: BTreeMap<String, Vec<String>>,
    /// Derive chart dependencies from each chart's `Chart.yaml` (`dependencies[].repository:
    /// file://../<chart>`, transitively). On by default.
    pub derive_chart_dependencies: bool,
    /// Paths (globs) whose change redeploys every hub and support chart everywhere.
    pub everything: Vec<String>,
    /// Paths (globs) that match `everything` but redeploy nothing by themselves (2i2c's
    /// exclusions: the deployer's health-check tests, its dev commands, its README).
    pub everything_exclude: Vec<String>,
    /// Paths (globs) never considered (docs, tests).
    pub exclude: Vec<String>,
    /// Staging naming rule.
    pub staging: StagingRule,
    /// Label names.
    pub labels: Labels,
    /// Accept unknown keys in cluster files without a warning.
    pub allow_unknown_fields: bool,
    /// Refuse unknown keys in cluster files (an error with file:line instead of a warning).
    pub strict: bool,
    /// Largest matrix GitHub accepts; bigger job lists are split into numbered chunks.
    pub max_matrix_jobs: usize,
}

impl Default for PlanConfig {
    fn default() -> Self {
        Self {
            clusters_dir: "config/clusters".into(),
            charts_dir: "helm-charts".into(),
            support_chart: "support".into(),
            chart_types: vec!["basehub".into(), "daskhub".into(), "binderhub".into()],
            chart_dependencies: BTreeMap::new(),
            derive_chart_dependencies: true,
            everything: vec![
                "deployer/**".into(),
                "src/deployer/**".into(),
                "pyproject.toml".into(),
                "requirements.txt".into(),
                "setup.py".into(),
                "setup.cfg".into(),
            ],
            everything_exclude: ["deployer", "src/deployer"]
                .iter()
                .flat_map(|d| {
                    [
                        format!("{d}/health_check_tests/**"),
                        format!("{d}/dev/**"),
                        format!("{d}/commands/dev/**"),
                        format!("{d}/README*"),
                    ]
                })
                .collect(),
            exclude: vec![
                "docs/**".into(),
                "**/*.md".into(),
                "**/tests/**".into(),
                "tests/**".into(),
            ],
            staging: StagingRule::default(),
            labels: Labels::default(),
            allow_unknown_fields: false,
            strict: false,
            max_matrix_jobs: 256,
        }
    }
}

/// The path globs of a [`PlanConfig`], compiled once.
#[derive(Debug, Clone)]
pub struct CompiledGlobs {
    /// `everything`.
    pub everything: GlobSet,
    /// `everything_exclude`.
    pub everything_exclude: GlobSet,
    /// `exclude`.
    pub exclude: GlobSet,
}

fn build(field: &str, globs: &[String]) -> Result<GlobSet, PlanError> {
    let mut b = GlobSetBuilder::new();
    for (i, g) in globs.iter().enumerate() {
        let glob = globset::GlobBuilder::new(g)
            .literal_separator(true)
            .build()
            .or_else(|_| Glob::new(g))
            .map_err(|e| PlanError::input(format!("[plan].{field}[{i}]"), e.to_string()))?;
        b.add(glob);
    }
    b.build()
        .map_err(|e| PlanError::input(format!("[plan].{field}"), e.to_string()))
}

impl PlanConfig {
    /// The `[plan]` table of a config file (the defaults when it has none). Errors name the
    /// file, line and field (gh-core's section loader). Needs the `config` feature.
    #[cfg(feature = "config")]
    pub fn from_config(file: &gh_core::config::ConfigFile) -> Result<Self, PlanError> {
        file.load_section()
    }

    /// Applies the command line's unknown-key choice on top of the file's: `allow` accepts
    /// unknown keys in cluster files silently, `strict` refuses them; either flag only turns
    /// its setting on (a file's `strict = true` stays strict without `--strict`).
    pub fn with_unknown_fields(mut self, allow: bool, strict: bool) -> Self {
        self.allow_unknown_fields |= allow;
        self.strict |= strict;
        self
    }

    /// Compiles the globs (errors name the field and index).
    pub fn compile(&self) -> Result<CompiledGlobs, PlanError> {
        Ok(CompiledGlobs {
            everything: build("everything", &self.everything)?,
            everything_exclude: build("everything_exclude", &self.everything_exclude)?,
            exclude: build("exclude", &self.exclude)?,
        })
    }

    /// Charts whose hubs must be redeployed when `chart` changes, by the configured
    /// dependencies alone: itself and every chart that depends on it, transitively. Sorted.
    /// (The planner also follows the dependencies the charts' `Chart.yaml` files declare:
    /// [`crate::charts::ChartDeps::load`].)
    pub fn affected_charts(&self, chart: &str) -> Vec<String> {
        crate::charts::ChartDeps::from_config(self)
            .affected(chart)
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_is_a_name_or_suffix_never_a_substring() {
        let r = StagingRule::default();
        assert!(r.is_staging_name("staging"));
        assert!(r.is_staging_name("dask-staging"));
        assert!(!r.is_staging_name("stagingish"));
        assert!(!r.is_staging_name("prod-staging-copy"));
        assert!(!r.is_staging_name("-staging"));
    }

    #[test]
    #[cfg(feature = "config")]
    fn config_file_then_flags() {
        let file = gh_core::config::ConfigFile::parse(
            "[plan]\nstrict = true\nmax_matrix_jobs = 3\n",
            None,
        )
        .unwrap();
        let c = PlanConfig::from_config(&file).unwrap();
        assert!(c.strict && !c.allow_unknown_fields);
        assert_eq!(c.max_matrix_jobs, 3);
        // A flag turns its setting on; it never turns the file's off.
        let c = c.with_unknown_fields(true, false);
        assert!(c.strict && c.allow_unknown_fields);
        let empty = gh_core::config::ConfigFile::parse("", None).unwrap();
        assert_eq!(
            PlanConfig::from_config(&empty).unwrap(),
            PlanConfig::default()
        );
        let bad = gh_core::config::ConfigFile::parse("[plan]\nstrictt = true\n", None).unwrap();
        let e = PlanConfig::from_config(&bad).unwrap_err();
        assert!(e.to_string().contains("strictt"), "{e}");
        assert_eq!(
            gh_core::ExitStatus::location(&e).map(|(f, _)| f),
            Some("ghops.toml".to_owned())
        );
    }

    #[test]
    fn chart_dependencies_are_transitive() {
        let mut c = PlanConfig::default();
        c.chart_dependencies
            .insert("daskhub".into(), vec!["basehub".into()]);
        c.chart_dependencies
            .insert("binderhub".into(), vec!["daskhub".into()]);
        assert_eq!(
            c.affected_charts("basehub"),
            ["basehub", "binderhub", "daskhub"]
        );
        assert_eq!(c.affected_charts("daskhub"), ["binderhub", "daskhub"]);
        assert_eq!(
            PlanConfig::default().affected_charts("basehub"),
            ["basehub"]
        );
    }
}
