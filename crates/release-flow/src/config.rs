//! release-drafter's configuration format (`.github/release-drafter.yml`), read as-is so a
//! team can switch without rewriting it; the same keys also work under `[release]` in
//! `ghops.toml`. Unknown keys are warnings naming the key.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::ReleaseError;

/// One changelog category.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub struct Category {
    /// Heading text.
    #[serde(default)]
    pub title: String,
    /// A single label.
    #[serde(default)]
    pub label: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Collapse the list into `<details>` past this many entries.
    #[serde(default)]
    pub collapse_after: Option<usize>,
}

impl Category {
    /// Every label of the category.
    pub fn all_labels(&self) -> Vec<&str> {
        self.label
            .iter()
            .chain(self.labels.iter())
            .map(String::as_str)
            .collect()
    }
}

/// Labels for one bump level.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Labels {
    /// The labels.
    #[serde(default)]
    pub labels: Vec<String>,
}

/// `version-resolver`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct VersionResolver {
    /// Labels that bump the major version.
    pub major: Labels,
    /// Labels that bump the minor version.
    pub minor: Labels,
    /// Labels that bump the patch version.
    pub patch: Labels,
    /// The bump when no label says otherwise (`major`, `minor`, `patch`).
    pub default: String,
}

impl Default for VersionResolver {
    fn default() -> Self {
        Self {
            major: Labels::default(),
            minor: Labels::default(),
            patch: Labels::default(),
            default: "patch".into(),
        }
    }
}

/// The drafter configuration, with release-drafter's defaults.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", default)]
pub struct DrafterConfig {
    /// Release name (`v$RESOLVED_VERSION` when empty).
    pub name_template: String,
    /// Tag (`v$RESOLVED_VERSION` when empty).
    pub tag_template: String,
    /// Prefix of version tags (`v` tags are always understood).
    pub tag_prefix: String,
    /// How `$RESOLVED_VERSION` is printed.
    pub version_template: String,
    /// One change line.
    pub change_template: String,
    /// Characters escaped in titles (`@` and `#` become `@<!---->`/`#<!---->`).
    pub change_title_escapes: String,
    /// `$CHANGES` when there are none.
    pub no_changes_template: String,
    /// The body.
    pub template: String,
    /// Category heading.
    pub category_template: String,
    /// Categories.
    pub categories: Vec<Category>,
    /// PRs with these labels are left out (and do not bump).
    pub exclude_labels: Vec<String>,
    /// When set, only PRs with one of these labels.
    pub include_labels: Vec<String>,
    /// Bump rules.
    pub version_resolver: VersionResolver,
    /// Draft a prerelease.
    pub prerelease: bool,
    /// Prerelease identifier (`rc` → `1.2.3-rc.1`).
    pub prerelease_identifier: String,
    /// Only consider releases targeting the commitish.
    pub filter_by_commitish: bool,
    /// The target branch.
    pub commitish: String,
    /// Logins left out of `$CONTRIBUTORS`.
    pub exclude_contributors: Vec<String>,
    /// `$CONTRIBUTORS` when empty.
    pub no_contributors_template: String,
    /// (ghops) The label of hotfix reintegration PRs; always left out of the changelog and
    /// the bump.
    pub reintegration_label: String,
}

impl Default for DrafterConfig {
    fn default() -> Self {
        Self {
            name_template: String::new(),
            tag_template: String::new(),
            tag_prefix: String::new(),
            version_template: "$MAJOR.$MINOR.$PATCH".into(),
            change_template: "* $TITLE (#$NUMBER) @$AUTHOR".into(),
            change_title_escapes: String::new(),
            no_changes_template: "* No changes".into(),
            template: "## What's Changed\n\n$CHANGES".into(),
            category_template: "## $TITLE".into(),
            categories: Vec::new(),
            exclude_labels: Vec::new(),
            include_labels: Vec::new(),
            version_resolver: VersionResolver::default(),
            prerelease: false,
            prerelease_identifier: String::new(),
            filter_by_commitish: false,
            commitish: String::new(),
            exclude_contributors: Vec::new(),
            no_contributors_template: "No contributors".into(),
            reintegration_label: "release:reintegration".into(),
        }
    }
}

const KNOWN: &[&str] = &[
    "name-template",
    "tag-template",
    "tag-prefix",
    "version-template",
    "change-template",
    "change-title-escapes",
    "no-changes-template",
    "template",
    "header",
    "footer",
    "category-template",
    "categories",
    "exclude-labels",
    "include-labels",
    "version-resolver",
    "prerelease",
    "prerelease-identifier",
    "filter-by-commitish",
    "commitish",
    "exclude-contributors",
    "no-contributors-template",
    "reintegration-label",
];

impl DrafterConfig {
    /// Parses release-drafter YAML; returns the config and one warning per unknown key.
    pub fn from_yaml(text: &str, file: &str) -> Result<(Self, Vec<String>), ReleaseError> {
        let raw: BTreeMap<String, serde_json::Value> = parse_yaml(text, file)?;
        let cfg: DrafterConfig = parse_yaml(text, file)?;
        Ok(finish(cfg, &raw, file))
    }

    /// Reads the `[release]` table of `ghops.toml` (same keys as the YAML, kebab-case);
    /// release-drafter's defaults when the table is absent. Unknown keys are warnings naming
    /// `[release].key`.
    pub fn from_ghops_toml(
        config: &gh_core::config::ConfigFile,
    ) -> Result<(Self, Vec<String>), ReleaseError> {
        let Some(raw) = config.section::<BTreeMap<String, serde_json::Value>>("release")? else {
            return Ok((Self::default(), Vec::new()));
        };
        let cfg: DrafterConfig = config.section("release")?.unwrap_or_default();
        Ok(finish(cfg, &raw, "ghops.toml [release]"))
    }

    /// The tag for a version (`tag-template`, default `v$RESOLVED_VERSION`).
    pub fn tag_for(&self, version: &str) -> String {
        let t = if self.tag_template.is_empty() {
            "v$RESOLVED_VERSION"
        } else {
            &self.tag_template
        };
        t.replace("$RESOLVED_VERSION", version)
    }

    /// The release name for a version.
    pub fn name_for(&self, version: &str) -> String {
        let t = if self.name_template.is_empty() {
            "v$RESOLVED_VERSION"
        } else {
            &self.name_template
        };
        t.replace("$RESOLVED_VERSION", version)
    }
}

/// Warns about unknown keys and wraps the template in `header`/`footer`.
fn finish(
    mut cfg: DrafterConfig,
    raw: &BTreeMap<String, serde_json::Value>,
    file: &str,
) -> (DrafterConfig, Vec<String>) {
    let warnings = raw
        .keys()
        .filter(|k| !KNOWN.contains(&k.as_str()))
        .map(|k| format!("{file}: unknown key `{k}` ignored"))
        .collect();
    // release-drafter's header/footer wrap the template.
    if let Some(h) = raw.get("header").and_then(|v| v.as_str()) {
        cfg.template = format!("{h}{}", cfg.template);
    }
    if let Some(f) = raw.get("footer").and_then(|v| v.as_str()) {
        cfg.template = format!("{}{f}", cfg.template);
    }
    (cfg, warnings)
}

fn parse_yaml<T: for<'de> Deserialize<'de>>(text: &str, file: &str) -> Result<T, ReleaseError> {
    gh_core::config::parse_yaml(text, file).map_err(|e| ReleaseError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_drafter_yaml_with_unknown_keys() {
        let (c, w) = DrafterConfig::from_yaml(
            "name-template: 'v$RESOLVED_VERSION 🌈'\ntag-template: 'v$RESOLVED_VERSION'\ncategories:\n  - title: '🚀 Features'\n    labels: [feature, enhancement]\n  - title: '🐛 Bug Fixes'\n    label: bug\n    collapse-after: 3\nversion-resolver:\n  major: {labels: [major]}\n  minor: {labels: [minor]}\n  default: minor\nautolabeler: []\ntemplate: |\n  $CHANGES\n",
            ".github/release-drafter.yml",
        )
        .unwrap();
        assert_eq!(c.categories.len(), 2);
        assert_eq!(c.categories[1].all_labels(), ["bug"]);
        assert_eq!(c.version_resolver.default, "minor");
        assert_eq!(
            w,
            [".github/release-drafter.yml: unknown key `autolabeler` ignored"]
        );
        assert_eq!(c.tag_for("1.2.0"), "v1.2.0");
    }

    #[test]
    fn ghops_toml_release_table() {
        let f = gh_core::config::ConfigFile::parse(
            "[release]\ntag-prefix = 'app-v'\ntag-template = 'app-v$RESOLVED_VERSION'\nexclude-labels = ['skip']\nsort-by = 'title'\n[release.version-resolver]\ndefault = 'minor'\n",
            None,
        )
        .unwrap();
        let (c, w) = DrafterConfig::from_ghops_toml(&f).unwrap();
        assert_eq!(c.tag_prefix, "app-v");
        assert_eq!(c.exclude_labels, ["skip"]);
        assert_eq!(c.version_resolver.default, "minor");
        assert_eq!(w, ["ghops.toml [release]: unknown key `sort-by` ignored"]);
        let empty = gh_core::config::ConfigFile::parse("", None).unwrap();
        assert_eq!(
            DrafterConfig::from_ghops_toml(&empty).unwrap(),
            (DrafterConfig::default(), vec![])
        );
    }
}
