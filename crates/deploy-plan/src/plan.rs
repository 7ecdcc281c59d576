//! The rules: changed paths (and labels) → support, staging and prod jobs.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::charts::ChartDeps;
use crate::config::{CompiledGlobs, PlanConfig};
use crate::error::PlanError;
use crate::inventory::{Inventory, Scope};

/// One Helm upgrade: a cluster's support chart (no hub) or one hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Job {
    /// Cluster name.
    pub cluster_name: String,
    /// Cloud provider.
    pub provider: String,
    /// Hub name (hub jobs only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hub_name: Option<String>,
    /// Chart type (hub jobs only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub chart: Option<String>,
    /// Why this job runs.
    pub reason: String,
}

/// The plan: support first, then staging, then prod (gated per cluster on its staging jobs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct Plan {
    /// Support chart upgrades.
    pub support: Vec<Job>,
    /// Staging hub upgrades.
    pub staging: Vec<Job>,
    /// Prod hub upgrades.
    pub prod: Vec<Job>,
    /// Clusters with prod jobs but no staging hub: their prod goes ungated (in the JSON
    /// when any: the tables' and the comment's "no staging hub gates prod" note).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ungated: Vec<String>,
    /// Notes for the user (deleted clusters, skipped by label); in the JSON when any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    /// True when nothing is to be deployed.
    pub fn is_empty(&self) -> bool {
        self.support.is_empty() && self.staging.is_empty() && self.prod.is_empty()
    }
}

/// Why a job runs; rendered in a fixed order with the established phrasing.
#[derive(Debug, Default, Clone)]
struct Reasons {
    labels: BTreeSet<String>,
    everything: bool,
    cluster_file: bool,
    support_chart: bool,
    charts: BTreeSet<String>,
    values: BTreeSet<String>,
    follows: BTreeSet<String>,
}

impl Reasons {
    fn render(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        for l in &self.labels {
            out.push(format!("{l} label detected"));
        }
        if self.everything {
            out.push("Core infrastructure has been modified".into());
        }
        if self.cluster_file {
            out.push("cluster.yaml file was modified".into());
        }
        if self.support_chart {
            out.push("Support helm chart has been modified".into());
        }
        if !self.charts.is_empty() {
            out.push(format!(
                "Following helm charts were modified: {}",
                join(&self.charts)
            ));
        }
        if !self.values.is_empty() {
            out.push(format!(
                "Following helm chart values files were modified: {}",
                join(&self.values)
            ));
        }
        if !self.follows.is_empty() {
            out.push(format!(
                "Following prod hubs require redeploy: {}",
                join(&self.follows)
            ));
        }
        out.join("; ")
    }
}

/// Names joined with ", "; a name that itself holds a comma or a quote is quoted (JSON-style),
/// so `"common values, shared.yaml"` cannot be read as two files.
fn join(s: &BTreeSet<String>) -> String {
    s.iter()
        .map(|n| {
            if n.contains([',', '"']) {
                serde_json::to_string(n).unwrap_or_else(|_| n.clone())
            } else {
                n.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Support(usize),
    Hub(usize, usize),
}

/// A changed path under the clusters directory.
#[derive(Debug, Clone)]
pub struct ClusterPath<'p> {
    /// The path.
    pub path: &'p str,
    /// Its cluster directory (the first component under the clusters directory).
    pub dir: &'p str,
    /// True for `<dir>/cluster.yaml`.
    pub cluster_file: bool,
    /// True when an `exclude` glob matches (and it is not a cluster file): only a values file
    /// a cluster names counts then.
    pub excluded: bool,
}

/// The changed paths and labels, classified once, before any cluster file is read: what
/// reaches every cluster (an "everything" path, the support chart, a hub chart, a label)
/// and which paths fall under which cluster directory.
#[derive(Debug, Clone, Default)]
pub struct Changes<'p> {
    /// An `everything` path changed (and no `everything_exclude` glob matched it).
    pub everything: bool,
    /// The support chart changed.
    pub support_chart: bool,
    /// Every chart directory under `charts_dir` with a change (hub chart types, the support
    /// chart, charts other charts depend on).
    pub charts: BTreeSet<&'p str>,
    /// Paths under the clusters directory, in input order.
    pub cluster_paths: Vec<ClusterPath<'p>>,
    /// `skip_deploy` label.
    pub skip_deploy: bool,
    /// The PR's labels.
    pub labels: &'p [String],
}

impl<'p> Changes<'p> {
    /// Classifies normalised `paths` and `labels` under `cfg` (globs compiled by the caller).
    pub fn classify(
        cfg: &'p PlanConfig,
        globs: &CompiledGlobs,
        paths: &'p [String],
        labels: &'p [String],
    ) -> Self {
        let mut ch = Changes {
            skip_deploy: labels.contains(&cfg.labels.skip_deploy),
            labels,
            ..Changes::default()
        };
        let clusters_prefix = format!("{}/", cfg.clusters_dir);
        let charts_prefix = format!("{}/", cfg.charts_dir);
        for p in paths {
            let p = p.as_str();
            let under = p.strip_prefix(&clusters_prefix);
            let in_dir = under.and_then(|rest| rest.split_once('/'));
            let cluster_file = in_dir.is_some_and(|(_, f)| f == "cluster.yaml");
            let excluded = !cluster_file && globs.exclude.is_match(p);
            if let Some((dir, _)) = in_dir {
                ch.cluster_paths.push(ClusterPath {
                    path: p,
                    dir,
                    cluster_file,
                    excluded,
                });
            }
            if excluded {
                continue;
            }
            if !ch.everything
                && globs.everything.is_match(p)
                && !globs.everything_exclude.is_match(p)
            {
                ch.everything = true;
            }
            if under.is_none()
                && let Some(rest) = p.strip_prefix(&charts_prefix)
                && let Some((chart, _)) = rest.split_once('/')
            {
                ch.support_chart |= chart == cfg.support_chart;
                ch.charts.insert(chart);
            }
        }
        ch
    }

    /// The cluster files the plan needs: none when nothing is deployed; all of them when a
    /// rule reaches every cluster (a changed chart reaches every cluster when it, or a chart
    /// that depends on it under `deps`, is the support chart or a hub chart type); else those
    /// of the directories the paths fall under.
    pub fn scope(&self, cfg: &PlanConfig, deps: &ChartDeps) -> Scope {
        let has = |l: &str| self.labels.iter().any(|x| x == l);
        if self.skip_deploy {
            return Scope::Dirs(BTreeSet::new());
        }
        let deployed = |c: &String| *c == cfg.support_chart || cfg.chart_types.contains(c);
        if self.everything
            || self.support_chart
            || self
                .charts
                .iter()
                .any(|c| deps.affected(c).iter().any(deployed))
            || has(&cfg.labels.deploy_support)
            || has(&cfg.labels.deploy_hubs)
        {
            return Scope::All;
        }
        Scope::Dirs(
            self.cluster_paths
                .iter()
                .map(|c| c.dir.to_owned())
                .collect(),
        )
    }
}

/// A planner for one inventory and config: indexes built and globs compiled once, then
/// [`Planner::plan`] runs in time linear in the number of changed paths.
pub struct Planner<'a> {
    inv: &'a Inventory,
    cfg: &'a PlanConfig,
    globs: CompiledGlobs,
    values: HashMap<&'a str, Vec<Target>>,
    dirs: HashMap<&'a str, usize>,
    deps: ChartDeps,
}

fn basename(p: &str) -> String {
    p.rsplit('/').next().unwrap_or(p).to_owned()
}

impl<'a> Planner<'a> {
    /// Indexes the inventory. Chart dependencies: the inventory's (read from `Chart.yaml` by
    /// [`Inventory::load`]) and the configured ones.
    pub fn new(inv: &'a Inventory, cfg: &'a PlanConfig) -> Result<Self, PlanError> {
        Ok(Self::with_globs(inv, cfg, cfg.compile()?))
    }

    /// Indexes the inventory, with the config's globs already compiled.
    pub fn with_globs(inv: &'a Inventory, cfg: &'a PlanConfig, globs: CompiledGlobs) -> Self {
        let mut values: HashMap<&str, Vec<Target>> = HashMap::new();
        let mut dirs = HashMap::new();
        for (ci, c) in inv.clusters.iter().enumerate() {
            dirs.insert(c.dir.as_str(), ci);
            for v in c.support.iter().flatten() {
                values
                    .entry(v.as_str())
                    .or_default()
                    .push(Target::Support(ci));
            }
            for (hi, h) in c.hubs.iter().enumerate() {
                for v in &h.values_files {
                    values
                        .entry(v.as_str())
                        .or_default()
                        .push(Target::Hub(ci, hi));
                }
            }
        }
        let mut deps = inv.charts.clone();
        deps.extend(&ChartDeps::from_config(cfg));
        Self {
            inv,
            cfg,
            globs,
            values,
            dirs,
            deps,
        }
    }

    /// Plans for normalised changed `paths` and PR `labels`.
    pub fn plan(&self, paths: &[String], labels: &[String]) -> Plan {
        self.plan_changes(&Changes::classify(self.cfg, &self.globs, paths, labels))
    }

    /// Plans for classified changes (see [`Changes::scope`] for the clusters they need).
    pub fn plan_changes(&self, ch: &Changes<'_>) -> Plan {
        let cfg = self.cfg;
        let inv = self.inv;
        let mut plan = Plan::default();
        if ch.skip_deploy {
            plan.notes.push(format!(
                "{} label detected: nothing will be deployed",
                cfg.labels.skip_deploy
            ));
            return plan;
        }
        let mut support: Vec<Option<Reasons>> = vec![None; inv.clusters.len()];
        let mut hubs: Vec<Vec<Option<Reasons>>> = inv
            .clusters
            .iter()
            .map(|c| vec![None; c.hubs.len()])
            .collect();
        let everything = ch.everything;
        let support_chart = ch.support_chart;
        let mut unknown_dirs: BTreeSet<&str> = BTreeSet::new();

        for cp in &ch.cluster_paths {
            // A values file a cluster file names always counts, even when an exclude glob
            // would match it (a cluster called `tests` or `docs`, a `*.md` values file).
            if let Some(targets) = self.values.get(cp.path) {
                let name = basename(cp.path);
                for t in targets {
                    let r = match *t {
                        Target::Support(ci) => &mut support[ci],
                        Target::Hub(ci, hi) => &mut hubs[ci][hi],
                    };
                    r.get_or_insert_with(Reasons::default)
                        .values
                        .insert(name.clone());
                }
            }
            if cp.excluded {
                continue;
            }
            match self.dirs.get(cp.dir) {
                Some(&ci) if cp.cluster_file => {
                    let c = &inv.clusters[ci];
                    if c.support.is_some() {
                        support[ci]
                            .get_or_insert_with(Reasons::default)
                            .cluster_file = true;
                    }
                    for r in &mut hubs[ci] {
                        r.get_or_insert_with(Reasons::default).cluster_file = true;
                    }
                }
                Some(_) => {}
                None if !cp.dir.contains("templates") => {
                    unknown_dirs.insert(cp.dir);
                }
                None => {}
            }
        }
        let charts = &ch.charts;
        let has = |l: &str| ch.labels.iter().any(|x| x == l);

        for (ci, c) in inv.clusters.iter().enumerate() {
            if c.support.is_some() && (everything || support_chart) {
                let r = support[ci].get_or_insert_with(Reasons::default);
                r.everything |= everything;
                r.support_chart |= support_chart;
            }
            if c.support.is_some() && has(&cfg.labels.deploy_support) {
                support[ci]
                    .get_or_insert_with(Reasons::default)
                    .labels
                    .insert(cfg.labels.deploy_support.clone());
            }
        }
        // A changed chart redeploys the hubs of its chart type and of every chart type that
        // depends on it; the support chart too when it depends on it.
        let mut chart_hits: HashMap<&str, BTreeSet<String>> = HashMap::new();
        let mut support_hits: BTreeSet<String> = BTreeSet::new();
        for changed in charts {
            for affected in self.deps.affected(changed) {
                if affected == cfg.support_chart {
                    if *changed != cfg.support_chart {
                        support_hits.insert((*changed).to_owned());
                    }
                } else if let Some(k) = cfg.chart_types.iter().find(|c| **c == affected) {
                    chart_hits
                        .entry(k.as_str())
                        .or_default()
                        .insert((*changed).to_owned());
                }
            }
        }
        if !support_hits.is_empty() {
            for (ci, c) in inv.clusters.iter().enumerate() {
                if c.support.is_some() {
                    support[ci]
                        .get_or_insert_with(Reasons::default)
                        .charts
                        .extend(support_hits.iter().cloned());
                }
            }
        }
        let deploy_hubs = has(&cfg.labels.deploy_hubs);
        for (ci, c) in inv.clusters.iter().enumerate() {
            for (hi, h) in c.hubs.iter().enumerate() {
                let hit = chart_hits.get(h.chart.as_str());
                if everything || hit.is_some() || deploy_hubs {
                    let r = hubs[ci][hi].get_or_insert_with(Reasons::default);
                    r.everything |= everything;
                    if let Some(hit) = hit {
                        r.charts.extend(hit.iter().cloned());
                    }
                    if deploy_hubs {
                        r.labels.insert(cfg.labels.deploy_hubs.clone());
                    }
                }
            }
        }
        if has(&cfg.labels.skip_deploy_hubs) {
            plan.notes.push(format!(
                "{} label detected: only support charts will be deployed",
                cfg.labels.skip_deploy_hubs
            ));
            for h in &mut hubs {
                h.iter_mut().for_each(|r| *r = None);
            }
        }

        // Staging before prod: every staging hub of a cluster with prod jobs runs first.
        for (ci, c) in inv.clusters.iter().enumerate() {
            let prod: BTreeSet<String> = c
                .hubs
                .iter()
                .zip(&hubs[ci])
                .filter(|(h, r)| !h.staging && r.is_some())
                .map(|(h, _)| h.name.clone())
                .collect();
            if prod.is_empty() {
                continue;
            }
            let mut gated = false;
            for (hi, h) in c.hubs.iter().enumerate() {
                if h.staging {
                    gated = true;
                    hubs[ci][hi]
                        .get_or_insert_with(Reasons::default)
                        .follows
                        .extend(prod.iter().cloned());
                }
            }
            if !gated {
                plan.ungated.push(c.name.clone());
            }
        }

        for (ci, c) in inv.clusters.iter().enumerate() {
            if let Some(r) = &support[ci] {
                plan.support.push(Job {
                    cluster_name: c.name.clone(),
                    provider: c.provider.clone(),
                    hub_name: None,
                    chart: None,
                    reason: r.render(),
                });
            }
            let mut order: Vec<usize> = (0..c.hubs.len()).collect();
            order.sort_by(|a, b| c.hubs[*a].name.cmp(&c.hubs[*b].name));
            for hi in order {
                let h = &c.hubs[hi];
                if let Some(r) = &hubs[ci][hi] {
                    let job = Job {
                        cluster_name: c.name.clone(),
                        provider: c.provider.clone(),
                        hub_name: Some(h.name.clone()),
                        chart: Some(h.chart.clone()),
                        reason: r.render(),
                    };
                    if h.staging {
                        plan.staging.push(job);
                    } else {
                        plan.prod.push(job);
                    }
                }
            }
        }
        for d in unknown_dirs {
            plan.notes.push(format!(
                "{}/{d}/ changed but no cluster {d:?} exists (deleted or renamed?): nothing to deploy there",
                cfg.clusters_dir
            ));
        }
        plan
    }
}

/// A plan made from a config tree, with what reading the tree reported.
#[derive(Debug, Clone)]
pub struct TreePlan {
    /// The plan.
    pub plan: Plan,
    /// Unknown keys in the cluster files read.
    pub warnings: Vec<crate::inventory::Warning>,
    /// How many cluster files were read and parsed.
    pub clusters_read: usize,
}

/// Plans for the config tree at `root`, reading only the cluster files the change needs (all
/// of them only when a rule reaches every cluster). Same plan as [`Planner::plan`] over the
/// whole [`Inventory::load`].
pub fn plan_tree(
    root: &std::path::Path,
    cfg: &PlanConfig,
    paths: &[String],
    labels: &[String],
) -> Result<TreePlan, PlanError> {
    let globs = cfg.compile()?;
    let changes = Changes::classify(cfg, &globs, paths, labels);
    // The charts' `Chart.yaml` files are read only when a chart changed.
    let (deps, chart_warnings) = if changes.charts.is_empty() || changes.skip_deploy {
        (ChartDeps::from_config(cfg), Vec::new())
    } else {
        ChartDeps::load(root, cfg)?
    };
    let inv = Inventory::load_clusters(root, cfg, &changes.scope(cfg, &deps))?
        .with_charts(deps, chart_warnings);
    let plan = Planner::with_globs(&inv, cfg, globs).plan_changes(&changes);
    Ok(TreePlan {
        plan,
        clusters_read: inv.clusters.len(),
        warnings: inv.warnings,
    })
}
