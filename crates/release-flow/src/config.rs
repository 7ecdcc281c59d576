//! release-drafter's configuration format (`.github/release-drafter.yml`), read as-is so a
//! team can switch without rewriting it; the same keys also work under `[release]` in
//! `ghops.toml`. Both category styles are understood: release-drafter v7's (`type`, `when`,
//! `exclusive`, `semver-increment`) and the older one (`label`/`labels`, `exclude-labels`,
//! `include-labels`, `include-paths`, `version-resolver`), which is turned into v7 categories
//! the way release-drafter migrates it. A key ghops cannot honour is a warning naming it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::ReleaseError;
use crate::version::Bump;

/// What a category does (release-drafter v7 `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryKind {
    /// A changelog section (the default).
    Changelog,
    /// Only changes matching some `pre-include` category are kept.
    PreInclude,
    /// Changes matching a `pre-exclude` category are dropped.
    PreExclude,
    /// Contributes `semver-increment` without a changelog section.
    VersionResolver,
}

/// How configured labels or paths are compared with a change's (`labels-mode`, `paths-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchMode {
    /// At least one configured value matches.
    #[default]
    Any,
    /// Every configured value matches.
    All,
    /// Every value of the change is among the configured ones.
    Only,
    /// Same set.
    Exactly,
}

/// One `when` condition: labels AND paths.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Condition {
    /// Label names.
    pub labels: Vec<String>,
    /// How labels match.
    pub labels_mode: MatchMode,
    /// Path globs (a plain path also matches everything under it).
    pub paths: Vec<String>,
    /// How paths match.
    pub paths_mode: MatchMode,
}

/// One category, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// What it does.
    pub kind: CategoryKind,
    /// Heading (changelog categories).
    pub title: String,
    /// Conditions, any of which matches; empty = the fallback (matches what nothing else did).
    pub when: Vec<Condition>,
    /// Later categories of the same kind no longer match a change this one matched.
    pub exclusive: bool,
    /// `<details>` past this many entries; 0 always, -1 never.
    pub collapse_after: i64,
    /// The bump this category contributes.
    pub semver_increment: Bump,
}

impl Category {
    /// Every label named by the category's conditions.
    pub fn all_labels(&self) -> Vec<&str> {
        self.when
            .iter()
            .flat_map(|c| c.labels.iter().map(String::as_str))
            .collect()
    }

    /// True for any condition that needs a PR's changed files.
    pub fn uses_paths(&self) -> bool {
        self.when.iter().any(|c| !c.paths.is_empty())
    }
}

/// A `replacers` entry: `search` is `/regex/flags` or a literal, `replace` may use `$1`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Replacer {
    /// What to find.
    pub search: String,
    /// What to put instead.
    #[serde(default)]
    pub replace: String,
}

/// `sort-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Merge time (default).
    #[default]
    MergedAt,
    /// Title.
    Title,
}

/// The drafter configuration, with release-drafter v7's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrafterConfig {
    /// Release name template (empty: the name is left empty, like release-drafter).
    pub name_template: String,
    /// Tag template (empty: the tag is left empty, like release-drafter).
    pub tag_template: String,
    /// Prefix of version tags: releases whose tag lacks it are ignored, and it is stripped
    /// before parsing.
    pub tag_prefix: String,
    /// How versions are printed (`$MAJOR.$MINOR.$PATCH$PRERELEASE`).
    pub version_template: String,
    /// One change line.
    pub change_template: String,
    /// Characters escaped in titles (`@`/`#` get `<!---->`, others a backslash).
    pub change_title_escapes: String,
    /// `$CHANGES` when there are none.
    pub no_changes_template: String,
    /// The body template (`header` + `template` + `footer` is rendered).
    pub template: String,
    /// Put before `template` (an action input can replace it).
    pub header: String,
    /// Put after `template` (an action input can replace it).
    pub footer: String,
    /// Category heading.
    pub category_template: String,
    /// Categories (v7 model; older keys migrated into it).
    pub categories: Vec<Category>,
    /// Search/replace on the body.
    pub replacers: Vec<Replacer>,
    /// Changelog order.
    pub sort_by: SortBy,
    /// Ascending instead of descending.
    pub sort_ascending: bool,
    /// Draft a prerelease.
    pub prerelease: bool,
    /// Prerelease identifier (`rc` → `1.2.3-rc.0`).
    pub prerelease_identifier: String,
    /// Published prereleases count as the last release.
    pub include_pre_releases: bool,
    /// `make_latest` sent with the release (`true`, `false`, `legacy`); empty when neither the
    /// config nor `--latest` sets it (then `true`; release-drafter v7 tells the two apart: an
    /// explicit `true` on a prerelease becomes `false`, see [`DrafterConfig::make_latest`]).
    pub latest: String,
    /// Only releases (and PRs) of the target branch count.
    pub filter_by_commitish: bool,
    /// Only releases whose version satisfies this range count (`*`: all).
    pub filter_by_range: String,
    /// The target branch.
    pub commitish: String,
    /// Logins left out of `$CONTRIBUTORS`.
    pub exclude_contributors: Vec<String>,
    /// `$CONTRIBUTORS` when empty.
    pub no_contributors_template: String,
    /// How many PRs GitHub lists per commit.
    pub pull_request_limit: u64,
    /// `initial-commits-since` (ISO 8601, UTC): a first release (no last release) lists only
    /// PRs merged since then.
    pub initial_commits_since: Option<chrono::DateTime<chrono::Utc>>,
    /// `_extends`: the config this one extends (resolved by [`load`]).
    pub extends: Option<String>,
    /// `autolabeler` rules are present (not applied by `draft`).
    pub has_autolabeler: bool,
    /// (ghops) Always neutralise mentions, references and HTML in titles (`@` `#` `<` `>`),
    /// whatever `change-title-escapes` says. Default: off for a release-drafter YAML, on in
    /// `ghops.toml`.
    pub escape_mentions: bool,
    /// (ghops) An empty `name-template`/`tag-template` means `v$RESOLVED_VERSION`. Default: off
    /// for a release-drafter YAML, on in `ghops.toml`.
    pub fill_empty_name: bool,
    /// (ghops) Identify the draft by a hidden marker per target branch instead of
    /// release-drafter's "first draft" rule. Default: off for a release-drafter YAML, on in
    /// `ghops.toml`.
    pub draft_marker: bool,
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
            version_template: "$MAJOR.$MINOR.$PATCH$PRERELEASE".into(),
            change_template: "* $TITLE (#$NUMBER) @$AUTHOR".into(),
            change_title_escapes: String::new(),
            no_changes_template: "* No changes".into(),
            template: String::new(),
            header: String::new(),
            footer: String::new(),
            category_template: "## $TITLE".into(),
            categories: Vec::new(),
            replacers: Vec::new(),
            sort_by: SortBy::MergedAt,
            sort_ascending: false,
            prerelease: false,
            prerelease_identifier: String::new(),
            include_pre_releases: false,
            latest: String::new(),
            filter_by_commitish: false,
            filter_by_range: "*".into(),
            commitish: String::new(),
            exclude_contributors: Vec::new(),
            no_contributors_template: "No contributors".into(),
            pull_request_limit: 5,
            initial_commits_since: None,
            extends: None,
            has_autolabeler: false,
            escape_mentions: false,
            fill_empty_name: false,
            draft_marker: false,
            reintegration_label: "release:reintegration".into(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawCondition {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    labels_mode: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    paths_mode: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawWhen {
    Many(Vec<RawCondition>),
    One(RawCondition),
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawCategory {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    when: Option<RawWhen>,
    #[serde(default)]
    exclusive: Option<bool>,
    #[serde(default)]
    collapse_after: Option<i64>,
    #[serde(default)]
    semver_increment: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawLabels {
    labels: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawResolver {
    major: RawLabels,
    minor: RawLabels,
    patch: RawLabels,
    default: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
struct RawConfig {
    name_template: Option<String>,
    tag_template: Option<String>,
    tag_prefix: Option<String>,
    version_template: Option<String>,
    change_template: Option<String>,
    change_title_escapes: Option<String>,
    no_changes_template: Option<String>,
    template: Option<String>,
    header: Option<String>,
    footer: Option<String>,
    category_template: Option<String>,
    categories: Vec<RawCategory>,
    exclude_labels: Vec<String>,
    include_labels: Vec<String>,
    include_paths: Vec<String>,
    exclude_paths: Vec<String>,
    version_resolver: Option<RawResolver>,
    replacers: Vec<Replacer>,
    sort_by: Option<String>,
    sort_direction: Option<String>,
    prerelease: Option<bool>,
    prerelease_identifier: Option<String>,
    include_pre_releases: Option<bool>,
    latest: Option<Value>,
    filter_by_commitish: Option<bool>,
    filter_by_range: Option<String>,
    commitish: Option<String>,
    exclude_contributors: Vec<String>,
    no_contributors_template: Option<String>,
    pull_request_limit: Option<u64>,
    initial_commits_since: Option<String>,
    #[serde(rename = "_extends")]
    extends: Option<String>,
    autolabeler: Option<Value>,
    escape_mentions: Option<bool>,
    fill_empty_name: Option<bool>,
    draft_marker: Option<bool>,
    reintegration_label: Option<String>,
}

/// Keys ghops understands (release-drafter v7's plus ghops's own).
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
    "include-paths",
    "exclude-paths",
    "version-resolver",
    "replacers",
    "sort-by",
    "sort-direction",
    "prerelease",
    "prerelease-identifier",
    "include-pre-releases",
    "latest",
    "filter-by-commitish",
    "filter-by-range",
    "commitish",
    "exclude-contributors",
    "no-contributors-template",
    "pull-request-limit",
    "initial-commits-since",
    "history-limit",
    "_extends",
    "autolabeler",
    "references",
    "escape-mentions",
    "fill-empty-name",
    "draft-marker",
    "reintegration-label",
];

/// Keys accepted and knowingly not acted on, with the reason shown in the warning.
const NOT_HONOURED: &[(&str, &str)] = &[
    (
        "references",
        "only used by release-drafter's GitHub App; ghops drafts the branch it is run for",
    ),
    (
        "history-limit",
        "ghops pages commits 100 at a time and halves the page on 502/504 by itself",
    ),
];

/// Keys of release-drafter's main branch beyond the v7 behaviour ghops follows: accepted with
/// a warning naming them, never silently.
const BEYOND_V7: &[&str] = &[
    "include-commits",
    "pr-template",
    "commit-template",
    "change-author-template",
    "change-authors-separator",
    "change-authors-final-separator",
    "new-contributor-template",
    "no-new-contributor-template",
    "group-changes",
];

/// Where a configuration came from: decides the defaults of ghops's own safety options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A release-drafter YAML file: behave exactly like release-drafter.
    ReleaseDrafter,
    /// `[release]` of `ghops.toml`: ghops's safer defaults.
    Ghops,
}

fn mode(s: Option<&str>, key: &str, warnings: &mut Vec<String>, file: &str) -> MatchMode {
    match s {
        None | Some("any") => MatchMode::Any,
        Some("all") => MatchMode::All,
        Some("only") => MatchMode::Only,
        Some("exactly") => MatchMode::Exactly,
        Some(other) => {
            warnings.push(format!(
                "{file}: `{key}: {other}` is not one of any/all/only/exactly; `any` used"
            ));
            MatchMode::Any
        }
    }
}

fn bump_of(s: Option<&str>, key: &str, warnings: &mut Vec<String>, file: &str) -> Bump {
    match s {
        None | Some("patch") => Bump::Patch,
        Some("minor") => Bump::Minor,
        Some("major") => Bump::Major,
        Some(other) => {
            warnings.push(format!(
                "{file}: `{key}: {other}` is not major/minor/patch; `patch` used"
            ));
            Bump::Patch
        }
    }
}

fn label_condition(labels: Vec<String>, paths: Vec<String>) -> Condition {
    Condition {
        labels,
        paths,
        ..Condition::default()
    }
}

fn categories(
    raw: &mut RawConfig,
    warnings: &mut Vec<String>,
    file: &str,
) -> Result<Vec<Category>, ReleaseError> {
    let mut out = Vec::new();
    for c in std::mem::take(&mut raw.categories) {
        for k in c.other.keys() {
            warnings.push(format!("{file}: categories: unknown key `{k}` ignored"));
        }
        let legacy: Vec<String> = c.labels.iter().cloned().chain(c.label.clone()).collect();
        let conds: Vec<RawCondition> = match c.when {
            Some(RawWhen::One(w)) => vec![w],
            Some(RawWhen::Many(v)) if v.is_empty() && !legacy.is_empty() => {
                vec![RawCondition::default()]
            }
            Some(RawWhen::Many(v)) => v,
            None if !legacy.is_empty() => vec![RawCondition::default()],
            None => Vec::new(),
        };
        for w in &conds {
            for k in w.other.keys() {
                warnings.push(format!(
                    "{file}: categories: `when` key `{k}` is not supported; the condition ignores it"
                ));
            }
        }
        let when: Vec<Condition> = conds
            .into_iter()
            .map(|w| Condition {
                labels: legacy
                    .iter()
                    .cloned()
                    .chain(w.labels)
                    .chain(w.label)
                    .collect(),
                labels_mode: mode(w.labels_mode.as_deref(), "labels-mode", warnings, file),
                paths: w.paths.into_iter().chain(w.path).collect(),
                paths_mode: mode(w.paths_mode.as_deref(), "paths-mode", warnings, file),
            })
            .filter(|w| !w.labels.is_empty() || !w.paths.is_empty())
            .collect();
        let kind = match c.kind.as_deref() {
            None | Some("changelog") => CategoryKind::Changelog,
            Some("pre-include") => CategoryKind::PreInclude,
            Some("pre-exclude") => CategoryKind::PreExclude,
            Some("version-resolver") => CategoryKind::VersionResolver,
            Some(other) => {
                return Err(ReleaseError::Config(format!(
                    "{file}: unsupported category type `{other}`"
                )));
            }
        };
        let exclusive = c.exclusive.unwrap_or(false);
        if exclusive && matches!(kind, CategoryKind::PreInclude | CategoryKind::PreExclude) {
            return Err(ReleaseError::Config(format!(
                "{file}: `exclusive` can only be set on changelog or version-resolver categories"
            )));
        }
        out.push(Category {
            kind,
            title: c.title.unwrap_or_default(),
            when,
            exclusive,
            collapse_after: c.collapse_after.unwrap_or(-1),
            semver_increment: bump_of(
                c.semver_increment.as_deref(),
                "semver-increment",
                warnings,
                file,
            ),
        });
    }
    if out
        .iter()
        .filter(|c| c.kind == CategoryKind::Changelog && c.when.is_empty())
        .count()
        > 1
    {
        return Err(ReleaseError::Config(format!(
            "{file}: more than one changelog category without labels or `when`; only one can collect the uncategorised changes"
        )));
    }
    // The older top-level keys, migrated the way release-drafter v7 does.
    let excl_labels = std::mem::take(&mut raw.exclude_labels);
    let excl_paths = std::mem::take(&mut raw.exclude_paths);
    if !excl_labels.is_empty() || !excl_paths.is_empty() {
        if out.iter().any(|c| c.kind == CategoryKind::PreExclude) {
            return Err(ReleaseError::Config(format!(
                "{file}: both `exclude-labels`/`exclude-paths` and a `pre-exclude` category"
            )));
        }
        out.push(Category {
            kind: CategoryKind::PreExclude,
            title: String::new(),
            when: vec![label_condition(excl_labels, excl_paths)],
            exclusive: false,
            collapse_after: -1,
            semver_increment: Bump::Patch,
        });
    }
    let incl_labels = std::mem::take(&mut raw.include_labels);
    let incl_paths = std::mem::take(&mut raw.include_paths);
    if !incl_labels.is_empty() || !incl_paths.is_empty() {
        if out.iter().any(|c| c.kind == CategoryKind::PreInclude) {
            return Err(ReleaseError::Config(format!(
                "{file}: both `include-labels`/`include-paths` and a `pre-include` category"
            )));
        }
        out.push(Category {
            kind: CategoryKind::PreInclude,
            title: String::new(),
            when: vec![label_condition(incl_labels, incl_paths)],
            exclusive: false,
            collapse_after: -1,
            semver_increment: Bump::Patch,
        });
    }
    if let Some(r) = raw.version_resolver.take() {
        let resolver = |bump, labels: Vec<String>| Category {
            kind: CategoryKind::VersionResolver,
            title: String::new(),
            when: if labels.is_empty() {
                Vec::new()
            } else {
                vec![label_condition(labels, Vec::new())]
            },
            exclusive: false,
            collapse_after: -1,
            semver_increment: bump,
        };
        if let Some(d) = r.default.as_deref().filter(|d| *d != "patch") {
            if out
                .iter()
                .any(|c| c.kind == CategoryKind::VersionResolver && c.when.is_empty())
            {
                return Err(ReleaseError::Config(format!(
                    "{file}: both `version-resolver.default` and a version-resolver category without `when`"
                )));
            }
            out.push(resolver(
                bump_of(Some(d), "version-resolver.default", warnings, file),
                Vec::new(),
            ));
        }
        for (bump, labels) in [
            (Bump::Major, r.major.labels),
            (Bump::Minor, r.minor.labels),
            (Bump::Patch, r.patch.labels),
        ] {
            if !labels.is_empty() {
                out.push(resolver(bump, labels));
            }
        }
    }
    Ok(out)
}

fn build(
    mut raw: RawConfig,
    keys: &BTreeMap<String, Value>,
    file: &str,
    source: Source,
) -> Result<(DrafterConfig, Vec<String>), ReleaseError> {
    let mut warnings: Vec<String> = keys
        .keys()
        .filter(|k| !KNOWN.contains(&k.as_str()))
        .map(|k| {
            if BEYOND_V7.contains(&k.as_str()) {
                format!(
                    "{file}: `{k}` is not honoured: a release-drafter key newer than the v7 behaviour ghops follows"
                )
            } else {
                // `tag_prefix` for `tag-prefix` (TOML habits) is the usual slip.
                let hint = gh_core::config::did_you_mean(k, KNOWN.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                format!("{file}: unknown key `{k}` ignored{hint}")
            }
        })
        .collect();
    for (k, why) in NOT_HONOURED {
        if keys.contains_key(*k) {
            warnings.push(format!("{file}: `{k}` is not honoured: {why}"));
        }
    }
    let d = DrafterConfig::default();
    let ghops = source == Source::Ghops;
    let categories = categories(&mut raw, &mut warnings, file)?;
    let latest = match raw.latest {
        None => d.latest.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::String(s)) if ["true", "false", "legacy"].contains(&s.as_str()) => s,
        Some(other) => {
            return Err(ReleaseError::Config(format!(
                "{file}: `latest` must be true, false or legacy (got {other})"
            )));
        }
    };
    let sort_by = match raw.sort_by.as_deref() {
        None | Some("merged_at") => SortBy::MergedAt,
        Some("title") => SortBy::Title,
        Some(o) => {
            return Err(ReleaseError::Config(format!(
                "{file}: `sort-by` must be merged_at or title (got {o})"
            )));
        }
    };
    let sort_ascending = match raw.sort_direction.as_deref() {
        None | Some("descending") => false,
        Some("ascending") => true,
        Some(o) => {
            return Err(ReleaseError::Config(format!(
                "{file}: `sort-direction` must be ascending or descending (got {o})"
            )));
        }
    };
    for r in &raw.replacers {
        crate::template::compile_replacer(r)
            .map_err(|e| ReleaseError::Config(format!("{file}: replacers: {e}")))?;
    }
    let initial_commits_since = match raw.initial_commits_since.as_deref() {
        None | Some("") => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| {
                    ReleaseError::Config(format!(
                        "{file}: `initial-commits-since: {t}` is not an ISO 8601 date-time ({e})"
                    ))
                })?
                .with_timezone(&chrono::Utc),
        ),
    };
    let prerelease_identifier = raw.prerelease_identifier.unwrap_or_default();
    // v7 (merge-input-and-config): an identifier turns `prerelease` on, even over the
    // config's own `prerelease: false` (only the action's `prerelease` input can keep it off).
    let prerelease = raw.prerelease.unwrap_or(false) || !prerelease_identifier.is_empty();
    let template = raw.template.unwrap_or_default();
    let cfg = DrafterConfig {
        name_template: raw.name_template.unwrap_or_default(),
        tag_template: raw.tag_template.unwrap_or_default(),
        tag_prefix: raw.tag_prefix.unwrap_or_default(),
        version_template: raw.version_template.unwrap_or(d.version_template),
        change_template: raw.change_template.unwrap_or(d.change_template),
        change_title_escapes: raw.change_title_escapes.unwrap_or_default(),
        no_changes_template: raw.no_changes_template.unwrap_or(d.no_changes_template),
        template,
        header: raw.header.unwrap_or_default(),
        footer: raw.footer.unwrap_or_default(),
        category_template: raw.category_template.unwrap_or(d.category_template),
        categories,
        replacers: raw.replacers,
        sort_by,
        sort_ascending,
        prerelease,
        prerelease_identifier,
        include_pre_releases: raw.include_pre_releases.unwrap_or(false),
        latest,
        filter_by_commitish: raw.filter_by_commitish.unwrap_or(false),
        filter_by_range: raw.filter_by_range.unwrap_or(d.filter_by_range),
        commitish: raw.commitish.unwrap_or_default(),
        exclude_contributors: raw.exclude_contributors,
        no_contributors_template: raw
            .no_contributors_template
            .unwrap_or(d.no_contributors_template),
        pull_request_limit: raw.pull_request_limit.unwrap_or(5).clamp(1, 100),
        initial_commits_since,
        extends: raw.extends,
        has_autolabeler: raw
            .autolabeler
            .as_ref()
            .is_some_and(|v| v.as_array().is_none_or(|a| !a.is_empty())),
        escape_mentions: raw.escape_mentions.unwrap_or(ghops),
        fill_empty_name: raw.fill_empty_name.unwrap_or(ghops),
        draft_marker: raw.draft_marker.unwrap_or(ghops),
        reintegration_label: raw.reintegration_label.unwrap_or(d.reintegration_label),
    };
    if cfg.template.is_empty() && source == Source::ReleaseDrafter && !keys.is_empty() {
        warnings.push(format!(
            "{file}: `template` is missing (release-drafter refuses such a config); the body will be empty"
        ));
    }
    if crate::version::range_filter(&cfg.filter_by_range).is_none() {
        warnings.push(format!(
            "{file}: `filter-by-range: {}` is not a range ghops understands; every release counts",
            cfg.filter_by_range
        ));
    }
    Ok((cfg, warnings))
}

/// release-drafter's action inputs that override the config file (`None`: not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `prerelease`.
    pub prerelease: Option<bool>,
    /// `prerelease-identifier` (an empty one is ignored, as release-drafter does).
    pub prerelease_identifier: Option<String>,
    /// `include-pre-releases`.
    pub include_pre_releases: Option<bool>,
    /// `latest` (`true`, `false`, `legacy`).
    pub latest: Option<String>,
    /// `header` (an empty one is ignored).
    pub header: Option<String>,
    /// `footer` (an empty one is ignored).
    pub footer: Option<String>,
}

impl DrafterConfig {
    /// Applies the action inputs over the config as release-drafter v7 merges them
    /// (`merge-input-and-config`): each given input wins; then an identifier (from either)
    /// turns `prerelease` on, unless `prerelease: false` was given as an input without an
    /// identifier input.
    pub fn apply_overrides(&mut self, o: Overrides) {
        let input_identifier = o.prerelease_identifier.filter(|i| !i.is_empty());
        let has_input_identifier = input_identifier.is_some();
        if let Some(id) = input_identifier {
            self.prerelease_identifier = id;
        }
        if let Some(p) = o.prerelease {
            self.prerelease = p;
        }
        if let Some(i) = o.include_pre_releases {
            self.include_pre_releases = i;
        }
        if let Some(l) = o.latest {
            self.latest = l;
        }
        if let Some(h) = o.header.filter(|h| !h.is_empty()) {
            self.header = h;
        }
        if let Some(f) = o.footer.filter(|f| !f.is_empty()) {
            self.footer = f;
        }
        if !self.prerelease_identifier.is_empty()
            && !self.prerelease
            && (o.prerelease.is_none() || has_input_identifier)
        {
            self.prerelease = true;
        }
    }

    /// ghops's defaults (the safety options on): what an absent `[release]` table means.
    pub fn ghops_default() -> Self {
        Self {
            escape_mentions: true,
            fill_empty_name: true,
            draft_marker: true,
            template: "## What's Changed\n\n$CHANGES".into(),
            ..Self::default()
        }
    }

    /// Parses release-drafter YAML; returns the config and one warning per key ghops does
    /// not honour. `_extends` is recorded, not resolved (see [`load`]).
    pub fn from_yaml(text: &str, file: &str) -> Result<(Self, Vec<String>), ReleaseError> {
        let keys: BTreeMap<String, Value> = if text.trim().is_empty() {
            BTreeMap::new()
        } else {
            parse_yaml(text, file)?
        };
        Self::from_map(keys, file, Source::ReleaseDrafter)
    }

    /// Builds a config from already parsed keys.
    pub fn from_map(
        keys: BTreeMap<String, Value>,
        file: &str,
        source: Source,
    ) -> Result<(Self, Vec<String>), ReleaseError> {
        let raw: RawConfig = serde_json::from_value(Value::Object(
            keys.clone().into_iter().collect::<serde_json::Map<_, _>>(),
        ))
        .map_err(|e| ReleaseError::Config(format!("{file}: {e}")))?;
        build(raw, &keys, file, source)
    }

    /// Reads the `[release]` table of `ghops.toml` (same keys as the YAML, kebab-case);
    /// [`DrafterConfig::ghops_default`] when the table is absent.
    pub fn from_ghops_toml(
        config: &gh_core::config::ConfigFile,
    ) -> Result<(Self, Vec<String>), ReleaseError> {
        let Some(raw) = config.section::<BTreeMap<String, Value>>("release")? else {
            return Ok((Self::ghops_default(), Vec::new()));
        };
        let mut raw = raw;
        raw.entry("template".into())
            .or_insert_with(|| Value::String(Self::ghops_default().template));
        Self::from_map(raw, "ghops.toml [release]", Source::Ghops)
    }

    /// The tag of a hotfix release (`tag-template`, `v$RESOLVED_VERSION` when empty: a
    /// published release needs a tag).
    pub fn tag_for(&self, version: &str) -> String {
        let t = if self.tag_template.is_empty() {
            "v$RESOLVED_VERSION"
        } else {
            &self.tag_template
        };
        t.replace("$RESOLVED_VERSION", version)
    }

    /// The name of a hotfix release.
    pub fn name_for(&self, version: &str) -> String {
        let t = if self.name_template.is_empty() {
            "v$RESOLVED_VERSION"
        } else {
            &self.name_template
        };
        t.replace("$RESOLVED_VERSION", version)
    }

    /// The `make_latest` sent, as release-drafter v7 resolves it: unset means `true`; an
    /// explicit `true` on a prerelease becomes `false` (v7 checks before applying defaults, so
    /// an unset `latest` stays `true` on a prerelease; GitHub never marks a prerelease latest).
    pub fn make_latest(&self) -> String {
        match self.latest.as_str() {
            "" => "true".to_owned(),
            "true" if self.prerelease => "false".to_owned(),
            l => l.to_owned(),
        }
    }

    /// True when some condition needs the PRs' changed files.
    pub fn needs_files(&self) -> bool {
        self.categories.iter().any(Category::uses_paths)
    }

    /// Warnings about what `ghops release draft` does not do with this config.
    pub fn draft_warnings(&self, file: &str) -> Vec<String> {
        let mut w = Vec::new();
        if self.has_autolabeler {
            w.push(format!(
                "{file}: `autolabeler` is not applied by `ghops release draft` (it labels PRs on pull_request events; keep release-drafter's autolabeler action for that)"
            ));
        }
        w
    }
}

/// Resolves `_extends` (up to 5 levels): `repo` (same owner, same file), `owner/repo`,
/// `repo:path`, or `owner/repo:path`; the base is read from the default branch through
/// GraphQL, and this file's top-level keys override the base's (release-drafter's merge).
pub async fn load(
    gh: &gh_core::GitHub,
    repo: &gh_core::RepoRef,
    text: &str,
    file: &str,
    default_path: &str,
) -> Result<(DrafterConfig, Vec<String>), ReleaseError> {
    let mut keys: BTreeMap<String, Value> = if text.trim().is_empty() {
        BTreeMap::new()
    } else {
        parse_yaml(text, file)?
    };
    for _ in 0..5 {
        let Some(ext) = keys.remove("_extends") else {
            break;
        };
        let ext = ext
            .as_str()
            .ok_or_else(|| ReleaseError::Config(format!("{file}: `_extends` must be a string")))?
            .to_owned();
        let (target, path) = match ext.split_once(':') {
            Some((r, p)) => (r.to_owned(), p.to_owned()),
            None => (ext.clone(), default_path.to_owned()),
        };
        let (owner, name) = match target.split_once('/') {
            Some((o, n)) => (o.to_owned(), n.to_owned()),
            None => (repo.owner.clone(), target.clone()),
        };
        let q = "query($owner: String!, $name: String!, $expr: String!) { repository(owner: $owner, name: $name) { object(expression: $expr) { ... on Blob { text } } } }";
        let data: Value = gh
            .graphql(
                q,
                serde_json::json!({"owner": owner, "name": name, "expr": format!("HEAD:{path}")}),
            )
            .await?;
        let base_text = data["repository"]["object"]["text"]
            .as_str()
            .ok_or_else(|| {
                ReleaseError::Config(format!(
                    "{file}: `_extends: {ext}`: {owner}/{name}:{path} not found"
                ))
            })?;
        let base: BTreeMap<String, Value> =
            parse_yaml(base_text, &format!("{owner}/{name}:{path}"))?;
        for (k, v) in base {
            keys.entry(k).or_insert(v);
        }
    }
    DrafterConfig::from_map(keys, file, Source::ReleaseDrafter)
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
            "name-template: 'v$RESOLVED_VERSION 🌈'\ntag-template: 'v$RESOLVED_VERSION'\ncategories:\n  - title: '🚀 Features'\n    labels: [feature, enhancement]\n  - title: '🐛 Bug Fixes'\n    label: bug\n    collapse-after: 3\nversion-resolver:\n  major: {labels: [major]}\n  minor: {labels: [minor]}\n  default: minor\nautolabeler: [{label: chore, files: ['*.md']}]\nreferences: [main]\nfrobnicate: 1\ntemplate: |\n  $CHANGES\n",
            ".github/release-drafter.yml",
        )
        .unwrap();
        assert_eq!(c.categories[1].all_labels(), ["bug"]);
        assert_eq!(c.categories[1].collapse_after, 3);
        // Two changelog categories, then the migrated resolver: default, major, minor.
        let kinds: Vec<_> = c
            .categories
            .iter()
            .map(|c| (c.kind, c.semver_increment, c.when.len()))
            .collect();
        assert_eq!(
            kinds,
            [
                (CategoryKind::Changelog, Bump::Patch, 1),
                (CategoryKind::Changelog, Bump::Patch, 1),
                (CategoryKind::VersionResolver, Bump::Minor, 0),
                (CategoryKind::VersionResolver, Bump::Major, 1),
                (CategoryKind::VersionResolver, Bump::Minor, 1),
            ]
        );
        assert_eq!(
            w,
            [
                ".github/release-drafter.yml: unknown key `frobnicate` ignored",
                ".github/release-drafter.yml: `references` is not honoured: only used by release-drafter's GitHub App; ghops drafts the branch it is run for",
            ]
        );
        assert!(c.has_autolabeler);
        assert!(!c.escape_mentions && !c.fill_empty_name && !c.draft_marker);
        assert_eq!(c.draft_warnings("f").len(), 1);
    }

    #[test]
    fn ghops_toml_release_table() {
        let f = gh_core::config::ConfigFile::parse(
            "[release]\ntag-prefix = 'app-v'\ntag-template = 'app-v$RESOLVED_VERSION'\nexclude-labels = ['skip']\nsort-by = 'title'\nnope = 1\nsort_direction = 'ascending'\n[release.version-resolver]\ndefault = 'minor'\n",
            None,
        )
        .unwrap();
        let (c, w) = DrafterConfig::from_ghops_toml(&f).unwrap();
        assert_eq!(c.tag_prefix, "app-v");
        assert_eq!(c.sort_by, SortBy::Title);
        assert_eq!(c.categories[0].kind, CategoryKind::PreExclude);
        assert_eq!(c.categories[0].all_labels(), ["skip"]);
        assert!(c.escape_mentions && c.fill_empty_name && c.draft_marker);
        assert_eq!(
            w,
            [
                "ghops.toml [release]: unknown key `nope` ignored",
                "ghops.toml [release]: unknown key `sort_direction` ignored (did you mean \
                 `sort-direction`?)"
            ]
        );
        let empty = gh_core::config::ConfigFile::parse("", None).unwrap();
        assert_eq!(
            DrafterConfig::from_ghops_toml(&empty).unwrap(),
            (DrafterConfig::ghops_default(), vec![])
        );
    }

    #[test]
    fn v7_categories_and_bad_values() {
        let (c, _) = DrafterConfig::from_yaml(
            "template: x\ncategories:\n  - title: Deps\n    exclusive: true\n    collapse-after: 0\n    when:\n      - labels: [deps]\n        labels-mode: all\n      - path: 'Cargo.lock'\n  - type: pre-exclude\n    when: {label: skip}\n  - title: Other\n",
            "f",
        )
        .unwrap();
        assert_eq!(c.categories[0].when.len(), 2);
        assert_eq!(c.categories[0].when[0].labels_mode, MatchMode::All);
        assert_eq!(c.categories[0].when[1].paths, ["Cargo.lock"]);
        assert!(c.needs_files());
        assert!(c.categories[2].when.is_empty());
        assert!(DrafterConfig::from_yaml("categories: [{title: a}, {title: b}]", "f").is_err());
        assert!(DrafterConfig::from_yaml("latest: maybe", "f").is_err());
        assert!(
            DrafterConfig::from_yaml("categories: [{type: pre-exclude, exclusive: true}]", "f")
                .is_err()
        );
        let (_, w) = DrafterConfig::from_yaml(
            "template: x\ncategories:\n  - title: Feat\n    emoji: x\n    when: {conventional: {type: feat}}\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            w,
            [
                "f: categories: unknown key `emoji` ignored",
                "f: categories: `when` key `conventional` is not supported; the condition ignores it"
            ]
        );
        let (c, _) = DrafterConfig::from_yaml("prerelease-identifier: beta", "f").unwrap();
        assert!(c.prerelease);
        // v7 turns it on even over the config's own `prerelease: false`.
        let (c, _) =
            DrafterConfig::from_yaml("prerelease-identifier: beta\nprerelease: false", "f")
                .unwrap();
        assert!(c.prerelease);
        let latest = |y: &str| DrafterConfig::from_yaml(y, "f").unwrap().0.make_latest();
        assert_eq!(latest("prerelease: true"), "true");
        assert_eq!(latest("prerelease: true\nlatest: true"), "false");
        assert_eq!(latest("latest: legacy"), "legacy");
        assert_eq!(latest("latest: false"), "false");
        assert_eq!(latest(""), "true");
        let (c, w) = DrafterConfig::from_yaml(
            "template: x\ninitial-commits-since: '2024-03-01T12:00:00Z'\ngroup-changes: []\n",
            "f",
        )
        .unwrap();
        assert_eq!(
            c.initial_commits_since.map(|t| t.to_rfc3339()),
            Some("2024-03-01T12:00:00+00:00".to_owned())
        );
        assert_eq!(
            w,
            [
                "f: `group-changes` is not honoured: a release-drafter key newer than the v7 behaviour ghops follows"
            ]
        );
        // The action inputs, merged as v7 does.
        let with = |y: &str, o: Overrides| {
            let mut c = DrafterConfig::from_yaml(y, "f").unwrap().0;
            c.apply_overrides(o);
            (
                c.prerelease,
                c.prerelease_identifier.clone(),
                c.make_latest(),
            )
        };
        let off = Overrides {
            prerelease: Some(false),
            ..Overrides::default()
        };
        assert!(!with("prerelease-identifier: rc", off.clone()).0);
        let both = Overrides {
            prerelease_identifier: Some("beta".into()),
            ..off.clone()
        };
        assert_eq!(with("", both), (true, "beta".into(), "true".into()));
        let empty_id = Overrides {
            prerelease_identifier: Some(String::new()),
            ..Overrides::default()
        };
        assert_eq!(with("prerelease-identifier: rc", empty_id).1, "rc");
        let latest = Overrides {
            prerelease: Some(true),
            latest: Some("true".into()),
            ..Overrides::default()
        };
        assert_eq!(with("", latest).2, "false");
        let mut c = DrafterConfig::from_yaml("header: \"H\\n\"\ntemplate: T\nfooter: F", "f")
            .unwrap()
            .0;
        assert_eq!((c.header.as_str(), c.template.as_str()), ("H\n", "T"));
        c.apply_overrides(Overrides {
            footer: Some("\n-- input".into()),
            header: Some(String::new()),
            ..Overrides::default()
        });
        assert_eq!(
            (c.header.as_str(), c.footer.as_str()),
            ("H\n", "\n-- input")
        );
        let e = DrafterConfig::from_yaml("initial-commits-since: yesterday", "f").unwrap_err();
        assert!(
            e.to_string().contains("`initial-commits-since: yesterday`"),
            "{e}"
        );
    }
}
