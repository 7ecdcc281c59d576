//! deploy-plan: every rule and label, the bundled example (snapshots), hostile inputs,
//! property tests, the 256-job split, and the API paths against wiremock (exact requests).

use std::path::{Path, PathBuf};

use deploy_plan::paths::{ListFormat, parse_list};
use deploy_plan::render::{self, Compat};
use deploy_plan::{Inventory, Plan, PlanConfig, PlanError, Planner, comment, filter, pr};
use ghops_test_support::{MockGitHub, insta_settings, repo_root};
use proptest::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

fn example_root() -> PathBuf {
    repo_root().join("examples/infrastructure")
}

fn plan_for(root: &Path, cfg: &PlanConfig, changed: &[&str], labels: &[&str]) -> Plan {
    let inv = Inventory::load(root, cfg).unwrap();
    let changed: Vec<String> = changed
        .iter()
        .map(|s| deploy_plan::paths::normalize(s))
        .collect();
    let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
    Planner::new(&inv, cfg).unwrap().plan(&changed, &labels)
}

fn example_plan() -> Plan {
    let text = std::fs::read_to_string(example_root().join("changed-files.txt")).unwrap();
    let changed = parse_list(&text, ListFormat::Auto, "changed-files.txt").unwrap();
    let cfg = PlanConfig::default();
    let inv = Inventory::load(&example_root(), &cfg).unwrap();
    Planner::new(&inv, &cfg).unwrap().plan(&changed, &[])
}

/// `(section, cluster, hub)` of every job, for compact assertions.
fn ids(p: &Plan) -> Vec<String> {
    let mut v = Vec::new();
    for (s, jobs) in [
        ("support", &p.support),
        ("staging", &p.staging),
        ("prod", &p.prod),
    ] {
        for j in jobs {
            v.push(match &j.hub_name {
                Some(h) => format!("{s} {}/{h}", j.cluster_name),
                None => format!("{s} {}", j.cluster_name),
            });
        }
    }
    v
}

// ------------------------------------------------------------------ the bundled example

#[test]
fn example_snapshots() {
    let p = example_plan();
    let _g = insta_settings(None).bind_to_scope();
    insta::assert_snapshot!("example_json", render::to_json(&p));
    insta::assert_snapshot!("example_tables", render::to_tables(&p));
    insta::assert_snapshot!("example_markdown", render::to_markdown(&p));
    let (m, w) = render::matrix_outputs(&p, Compat::Ghops, 256);
    assert!(w.is_empty());
    insta::assert_snapshot!(
        "example_matrix",
        m.iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect::<String>()
    );
    let (m, _) = render::matrix_outputs(&p, Compat::TwoI2cV2024, 256);
    insta::assert_snapshot!(
        "example_matrix_2i2c_v2024",
        m.iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect::<String>()
    );
}

#[test]
fn example_tree_is_what_the_docs_say() {
    let inv = Inventory::load(&example_root(), &PlanConfig::default()).unwrap();
    assert!(inv.clusters.len() >= 6);
    assert!(inv.hub_count() >= 25);
    // The templates directory is not a cluster.
    assert!(inv.cluster("templates").is_none());
    assert!(inv.clusters.iter().any(|c| c.support.is_none()));
    assert!(
        inv.clusters
            .iter()
            .any(|c| c.hubs.iter().all(|h| !h.staging))
    );
    assert!(
        inv.clusters
            .iter()
            .any(|c| c.hubs.iter().filter(|h| h.staging).count() > 1)
    );
}

#[test]
fn example_daskhub_follows_basehub_through_its_chart_yaml() {
    let cfg = PlanConfig::default();
    let inv = Inventory::load(&example_root(), &cfg).unwrap();
    assert_eq!(
        inv.charts.pairs().collect::<Vec<_>>(),
        [("daskhub", "basehub")]
    );
    let p = plan_for(
        &example_root(),
        &cfg,
        &["helm-charts/basehub/values.yaml"],
        &[],
    );
    let dask: Vec<&deploy_plan::Job> = p
        .staging
        .iter()
        .chain(&p.prod)
        .filter(|j| j.chart.as_deref() == Some("daskhub"))
        .collect();
    assert!(!dask.is_empty());
    for j in dask {
        assert!(
            j.reason
                .starts_with("Following helm charts were modified: basehub"),
            "{j:?}"
        );
    }
}

#[test]
fn identical_input_gives_byte_identical_output() {
    let a = render::to_json(&example_plan());
    let b = render::to_json(&example_plan());
    assert_eq!(a, b);
}

// ------------------------------------------------------------------ rules on a small tree

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Clusters: `a` (gcp, support, hubs staging/basehub, prod/basehub, dask/daskhub, shared
/// file), `a-uk` (no staging hub), `b` (no support, staging via `staging: true`).
fn small_tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "config/clusters/a/cluster.yaml",
        "name: a\nprovider: gcp\nsupport:\n  helm_chart_values_files: [support.values.yaml]\nhubs:\n  - name: staging\n    helm_chart: basehub\n    helm_chart_values_files: [common.values.yaml, staging.values.yaml]\n  - name: prod\n    helm_chart: basehub\n    helm_chart_values_files: [common.values.yaml, prod.values.yaml]\n  - name: dask\n    helm_chart: daskhub\n    helm_chart_values_files: [dask.values.yaml]\n",
    );
    write(
        d.path(),
        "config/clusters/a-uk/cluster.yaml",
        "name: a-uk\nprovider: aws\nsupport:\n  helm_chart_values_files: [support.values.yaml]\nhubs:\n  - name: hub1\n    helm_chart: basehub\n    helm_chart_values_files: [hub1.values.yaml]\n",
    );
    write(
        d.path(),
        "config/clusters/b/cluster.yaml",
        "name: b\nprovider: azure\nhubs:\n  - name: qa\n    helm_chart: basehub\n    staging: true\n    helm_chart_values_files: [qa.values.yaml]\n  - name: prod\n    helm_chart: binderhub\n    helm_chart_values_files: [prod.values.yaml]\n",
    );
    write(
        d.path(),
        "config/clusters/templates/cluster.yaml",
        "this is: [not valid for a cluster\n",
    );
    d
}

#[test]
fn hub_values_file_redeploys_that_hub_and_staging_first() {
    let d = small_tree();
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["config/clusters/a/prod.values.yaml"],
        &[],
    );
    assert_eq!(ids(&p), ["staging a/staging", "prod a/prod"]);
    assert_eq!(
        p.prod[0].reason,
        "Following helm chart values files were modified: prod.values.yaml"
    );
    assert_eq!(
        p.staging[0].reason,
        "Following prod hubs require redeploy: prod"
    );
}

#[test]
fn shared_values_file_redeploys_each_hub_listing_it() {
    let d = small_tree();
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["config/clusters/a/common.values.yaml"],
        &[],
    );
    assert_eq!(ids(&p), ["staging a/staging", "prod a/prod"]);
    assert_eq!(
        p.staging[0].reason,
        "Following helm chart values files were modified: common.values.yaml; Following prod hubs require redeploy: prod"
    );
}

#[test]
fn support_values_and_support_chart() {
    let d = small_tree();
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["config/clusters/a/support.values.yaml"],
        &[],
    );
    assert_eq!(ids(&p), ["support a"]);
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["helm-charts/support/values.yaml"],
        &[],
    );
    assert_eq!(ids(&p), ["support a", "support a-uk"]);
    assert_eq!(p.support[0].reason, "Support helm chart has been modified");
}

#[test]
fn cluster_yaml_redeploys_support_and_every_hub_of_that_cluster() {
    let d = small_tree();
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["./config/clusters//a/cluster.yaml"],
        &[],
    );
    assert_eq!(
        ids(&p),
        [
            "support a",
            "staging a/staging",
            "prod a/dask",
            "prod a/prod"
        ]
    );
    assert!(
        p.support[0]
            .reason
            .starts_with("cluster.yaml file was modified")
    );
    // A cluster without support: hubs only.
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["config/clusters/b/cluster.yaml"],
        &[],
    );
    assert_eq!(ids(&p), ["staging b/qa", "prod b/prod"]);
}

#[test]
fn chart_change_redeploys_its_hubs_only_unless_declared_dependent() {
    let d = small_tree();
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["helm-charts/basehub/values.yaml"],
        &[],
    );
    // basehub hubs everywhere; NOT the daskhub hub.
    assert_eq!(
        ids(&p),
        [
            "staging a/staging",
            "staging b/qa",
            "prod a/prod",
            "prod a-uk/hub1"
        ]
    );
    let mut cfg = PlanConfig::default();
    cfg.chart_dependencies
        .insert("daskhub".into(), vec!["basehub".into()]);
    let p = plan_for(d.path(), &cfg, &["helm-charts/basehub/values.yaml"], &[]);
    assert!(ids(&p).contains(&"prod a/dask".to_owned()));
    let dask = p
        .prod
        .iter()
        .find(|j| j.hub_name.as_deref() == Some("dask"))
        .unwrap();
    assert_eq!(dask.reason, "Following helm charts were modified: basehub");
}

/// The charts of 2i2c's `helm-charts/`, shaped like theirs: `daskhub` depends on `basehub`
/// through `file://../basehub`; the others only on published charts.
fn write_2i2c_charts(root: &Path) {
    write(
        root,
        "helm-charts/basehub/Chart.yaml",
        "apiVersion: v2\nappVersion: \"1.0\"\ndescription: Deployment Chart for JupyterHub\nname: basehub\n# kept in sync with the dependency reference in the daskhub chart\nversion: \"0.1.0\"\ndependencies:\n  - name: jupyterhub\n    version: 4.3.3\n    repository: https://jupyterhub.github.io/helm-chart/\n  - name: dask-gateway\n    version: 2026.3.0\n    repository: https://helm.dask.org/\n    condition: dask-gateway.enabled\n  - name: jupyterhub-home-nfs\n    version: 1.2.1\n    repository: oci://ghcr.io/2i2c-org/jupyterhub-home-nfs\n    condition: jupyterhub-home-nfs.enabled\n",
    );
    write(
        root,
        "helm-charts/daskhub/Chart.yaml",
        "apiVersion: v2\nappVersion: \"1.0\"\ndescription: Deployment Chart for a dask-enabled JupyterHub\nname: daskhub\nversion: \"0.1.0\"\ndependencies:\n  - name: basehub\n    version: \"0.1.0\"\n    repository: file://../basehub\n",
    );
    write(
        root,
        "helm-charts/binderhub/Chart.yaml",
        "apiVersion: v2\nappVersion: \"1.0\"\ndescription: Deployment chart for BinderHub with Dask Gateway\nname: binderhub\nversion: \"0.1.0\"\ndependencies:\n  - name: binderhub\n    version: \"1.0.0-0.dev.git.3351.hbaf39b3\"\n    repository: \"https://jupyterhub.github.io/helm-chart/\"\n",
    );
    write(
        root,
        "helm-charts/support/Chart.yaml",
        "apiVersion: v2\nname: support\nversion: \"0.1.0\"\ndescription: Cluster wide dependencies for deployed hubs\n\ndependencies:\n  # Prometheus for collection of metrics.\n  - name: prometheus\n    version: 15.16.1\n    repository: https://prometheus-community.github.io/helm-charts\n  - name: cluster-autoscaler\n    version: 9.10.3\n    repository: https://kubernetes.github.io/autoscaler\n    condition: cluster-autoscaler.enabled\n",
    );
}

#[test]
fn chart_dependencies_come_from_chart_yaml_by_default() {
    let d = small_tree();
    write_2i2c_charts(d.path());
    let cfg = PlanConfig::default();
    let dask_reason = |p: &Plan| {
        p.prod
            .iter()
            .find(|j| j.cluster_name == "a" && j.hub_name.as_deref() == Some("dask"))
            .map(|j| j.reason.clone())
    };
    // A basehub change redeploys the daskhub hub (daskhub depends on file://../basehub),
    // through the whole-tree planner and through the scoped one alike.
    let p = plan_for(d.path(), &cfg, &["helm-charts/basehub/values.yaml"], &[]);
    assert_eq!(
        ids(&p),
        [
            "staging a/staging",
            "staging b/qa",
            "prod a/dask",
            "prod a/prod",
            "prod a-uk/hub1"
        ]
    );
    assert_eq!(
        dask_reason(&p).as_deref(),
        Some("Following helm charts were modified: basehub")
    );
    let t = deploy_plan::plan_tree(
        d.path(),
        &cfg,
        &["helm-charts/basehub/templates/nfs.yaml".to_owned()],
        &[],
    )
    .unwrap();
    assert_eq!(ids(&t.plan), ids(&p));
    // A chart no deployed chart depends on reads no cluster file and deploys nothing.
    let t = deploy_plan::plan_tree(
        d.path(),
        &cfg,
        &["helm-charts/unrelated/values.yaml".to_owned()],
        &[],
    )
    .unwrap();
    assert_eq!((t.clusters_read, t.plan.is_empty()), (0, true));
    // Not the other way round: a daskhub change leaves basehub hubs alone.
    let p = plan_for(d.path(), &cfg, &["helm-charts/daskhub/values.yaml"], &[]);
    assert_eq!(ids(&p), ["staging a/staging", "prod a/dask"]);
    // Off: only what the configuration declares.
    let off = PlanConfig {
        derive_chart_dependencies: false,
        ..PlanConfig::default()
    };
    let p = plan_for(d.path(), &off, &["helm-charts/basehub/values.yaml"], &[]);
    assert_eq!(dask_reason(&p), None);
}

#[test]
fn chart_dependencies_are_transitive_cycle_safe_and_configuration_adds_more() {
    let d = small_tree();
    write_2i2c_charts(d.path());
    // binderhub -> daskhub -> basehub -> common (a library chart no hub uses directly), and a
    // cycle common -> basehub that must not loop.
    write(
        d.path(),
        "helm-charts/binderhub/Chart.yaml",
        "apiVersion: v2\nname: binderhub\nversion: 0.1.0\ndependencies:\n  - name: daskhub\n    version: 0.1.0\n    repository: \"file://../daskhub/\"\n",
    );
    write(
        d.path(),
        "helm-charts/basehub/Chart.yaml",
        "apiVersion: v2\nname: basehub\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: 0.1.0\n    repository: file://../common\n  - name: jupyterhub\n    version: 4.3.3\n    repository: https://jupyterhub.github.io/helm-chart/\n",
    );
    write(
        d.path(),
        "helm-charts/common/Chart.yaml",
        "apiVersion: v2\nname: common\ntype: library\nversion: 0.1.0\ndependencies:\n  - name: basehub\n    version: 0.1.0\n    repository: file://../basehub\n",
    );
    let cfg = PlanConfig::default();
    let all_hubs = [
        "staging a/staging",
        "staging b/qa",
        "prod a/dask",
        "prod a/prod",
        "prod a-uk/hub1",
        "prod b/prod",
    ];
    let p = plan_for(
        d.path(),
        &cfg,
        &["helm-charts/common/templates/x.yaml"],
        &[],
    );
    assert_eq!(ids(&p), all_hubs);
    let b = p
        .prod
        .iter()
        .find(|j| j.cluster_name == "b" && j.hub_name.as_deref() == Some("prod"))
        .unwrap();
    assert_eq!(b.reason, "Following helm charts were modified: common");
    let t = deploy_plan::plan_tree(
        d.path(),
        &cfg,
        &["helm-charts/common/templates/x.yaml".to_owned()],
        &[],
    )
    .unwrap();
    assert_eq!(ids(&t.plan), all_hubs);
    // Configuration adds an edge Chart.yaml does not have: support follows basehub.
    let mut more = PlanConfig::default();
    more.chart_dependencies
        .insert("support".into(), vec!["basehub".into()]);
    let p = plan_for(d.path(), &more, &["helm-charts/basehub/values.yaml"], &[]);
    assert!(ids(&p).contains(&"support a".to_owned()), "{:?}", ids(&p));
    assert_eq!(
        p.support[0].reason,
        "Following helm charts were modified: basehub"
    );
}

#[test]
fn chart_yaml_is_untrusted_input() {
    let d = small_tree();
    write_2i2c_charts(d.path());
    // Invalid YAML: an error naming the file and place (only read when a chart changed).
    write(
        d.path(),
        "helm-charts/daskhub/Chart.yaml",
        "name: daskhub\ndependencies: [\n",
    );
    let cfg = PlanConfig::default();
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let e = deploy_plan::plan_tree(
        d.path(),
        &cfg,
        &strings(&["helm-charts/basehub/values.yaml"]),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("helm-charts/daskhub/Chart.yaml:"), "{e}");
    let t = deploy_plan::plan_tree(
        d.path(),
        &cfg,
        &strings(&["config/clusters/a/prod.values.yaml"]),
        &[],
    )
    .unwrap();
    assert_eq!(ids(&t.plan), ["staging a/staging", "prod a/prod"]);
    // A dependency outside the charts directory is not followed, and says so.
    write(
        d.path(),
        "helm-charts/daskhub/Chart.yaml",
        "name: daskhub\ndependencies:\n  - name: x\n    repository: file://../../../etc\n  - name: basehub\n    repository: file://../basehub\n",
    );
    let t = deploy_plan::plan_tree(
        d.path(),
        &cfg,
        &strings(&["helm-charts/basehub/values.yaml"]),
        &[],
    )
    .unwrap();
    assert!(ids(&t.plan).contains(&"prod a/dask".to_owned()));
    assert_eq!(
        t.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        [
            "helm-charts/daskhub/Chart.yaml:4:17: dependencies[0].repository \"file://../../../etc\" resolves outside helm-charts/; not followed"
        ]
    );
    // Over gh-core's YAML cap: refused before it is read.
    write(
        d.path(),
        "helm-charts/daskhub/Chart.yaml",
        &format!("# {}\n", "x".repeat(1024 * 1024)),
    );
    let e = deploy_plan::plan_tree(
        d.path(),
        &cfg,
        &strings(&["helm-charts/basehub/values.yaml"]),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("helm-charts/daskhub/Chart.yaml:0:0: file is larger than"),
        "{e}"
    );
    // A symlinked Chart.yaml is refused.
    #[cfg(unix)]
    {
        std::fs::remove_file(d.path().join("helm-charts/daskhub/Chart.yaml")).unwrap();
        std::os::unix::fs::symlink(
            d.path().join("helm-charts/basehub/Chart.yaml"),
            d.path().join("helm-charts/daskhub/Chart.yaml"),
        )
        .unwrap();
        let e = deploy_plan::plan_tree(
            d.path(),
            &cfg,
            &strings(&["helm-charts/basehub/values.yaml"]),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("helm-charts/daskhub/Chart.yaml: not a regular file"),
            "{e}"
        );
    }
}

#[test]
fn everything_paths_and_excludes() {
    let d = small_tree();
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["deployer/commands/deploy.py"],
        &[],
    );
    assert_eq!(
        ids(&p),
        [
            "support a",
            "support a-uk",
            "staging a/staging",
            "staging b/qa",
            "prod a/dask",
            "prod a/prod",
            "prod a-uk/hub1",
            "prod b/prod"
        ]
    );
    assert!(p.prod.iter().all(|j| {
        j.reason
            .starts_with("Core infrastructure has been modified")
    }));
    // Docs and tests under the deployer do not redeploy anything.
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &[
            "deployer/README.md",
            "deployer/tests/test_x.py",
            "docs/index.md",
        ],
        &[],
    );
    assert!(p.is_empty(), "{:?}", ids(&p));
    // The reference planner's path pattern bug: src/deployer/ is covered too.
    assert!(
        !plan_for(
            d.path(),
            &PlanConfig::default(),
            &["src/deployer/x.py"],
            &[]
        )
        .is_empty()
    );
}

#[test]
fn excludes_never_hide_files_a_cluster_names() {
    let d = tempfile::tempdir().unwrap();
    // A cluster called `tests`, with a Markdown-named values file: both match the default
    // excludes (`**/tests/**`, `**/*.md`), yet its values and cluster file still count.
    write(
        d.path(),
        "config/clusters/tests/cluster.yaml",
        "name: tests\nprovider: gcp\nhubs:\n  - name: prod\n    helm_chart: basehub\n    helm_chart_values_files: [prod.values.yaml, notes.md]\n",
    );
    let cfg = PlanConfig::default();
    for changed in [
        "config/clusters/tests/prod.values.yaml",
        "config/clusters/tests/notes.md",
        "config/clusters/tests/cluster.yaml",
    ] {
        let p = plan_for(d.path(), &cfg, &[changed], &[]);
        assert_eq!(ids(&p), ["prod tests/prod"], "{changed}");
    }
    // Files no cluster names stay excluded.
    assert!(plan_for(d.path(), &cfg, &["config/clusters/tests/README.md"], &[]).is_empty());
}

#[test]
fn labels() {
    let d = small_tree();
    let cfg = PlanConfig::default();
    let change = [
        "config/clusters/a/prod.values.yaml",
        "config/clusters/a/support.values.yaml",
    ];
    assert!(plan_for(d.path(), &cfg, &change, &["deployer:skip-deploy"]).is_empty());
    assert_eq!(
        ids(&plan_for(
            d.path(),
            &cfg,
            &change,
            &["deployer:skip-deploy-hubs"]
        )),
        ["support a"]
    );
    let p = plan_for(d.path(), &cfg, &[], &["deployer:deploy-support"]);
    assert_eq!(ids(&p), ["support a", "support a-uk"]);
    assert_eq!(
        p.support[1].reason,
        "deployer:deploy-support label detected"
    );
    let p = plan_for(d.path(), &cfg, &[], &["deployer:deploy-hubs"]);
    assert_eq!(p.prod.len(), 4);
    assert_eq!(p.staging.len(), 2);
    assert_eq!(p.prod[0].reason, "deployer:deploy-hubs label detected");
}

#[test]
fn staging_is_exact_and_ungated_clusters_are_reported() {
    let d = small_tree();
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["config/clusters/a-uk/hub1.values.yaml"],
        &[],
    );
    assert_eq!(ids(&p), ["prod a-uk/hub1"]);
    assert_eq!(p.ungated, ["a-uk"]);
    assert!(render::to_markdown(&p).contains("no staging hub gates prod on: a-uk"));
    // `staging: true` marks a hub whose name says nothing.
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["config/clusters/b/prod.values.yaml"],
        &[],
    );
    assert_eq!(ids(&p), ["staging b/qa", "prod b/prod"]);
}

#[test]
fn deleted_or_unknown_cluster_files_plan_nothing_and_say_so() {
    let d = small_tree();
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &[
            "config/clusters/gone/cluster.yaml",
            "config/clusters/gone/hub.values.yaml",
        ],
        &[],
    );
    assert!(p.is_empty());
    assert_eq!(p.notes.len(), 1);
    assert!(p.notes[0].contains("\"gone\""), "{:?}", p.notes);
}

#[test]
fn path_normalisation_applies_before_rules() {
    let d = small_tree();
    let p = plan_for(
        d.path(),
        &PlanConfig::default(),
        &["config/clusters/a-uk/../a/./prod.values.yaml"],
        &[],
    );
    assert_eq!(ids(&p), ["staging a/staging", "prod a/prod"]);
}

// ------------------------------------------------------------------ hostile inventories

fn load_err(files: &[(&str, &str)], cfg: &PlanConfig) -> String {
    let d = tempfile::tempdir().unwrap();
    for (p, t) in files {
        write(d.path(), p, t);
    }
    Inventory::load(d.path(), cfg).unwrap_err().to_string()
}

#[test]
fn inventory_errors_name_the_file_and_place() {
    let cfg = PlanConfig::default();
    let e = load_err(
        &[("config/clusters/x/cluster.yaml", "name: y\nprovider: gcp\n")],
        &cfg,
    );
    assert!(
        e.contains("config/clusters/x/cluster.yaml") && e.contains("does not match"),
        "{e}"
    );
    let e = load_err(
        &[(
            "config/clusters/x/cluster.yaml",
            "name: x\nprovider: gcp\nhubs:\n  - {name: h, helm_chart: basehub}\n  - {name: h, helm_chart: basehub}\n",
        )],
        &cfg,
    );
    assert!(e.contains("duplicate hub name \"h\""), "{e}");
    let e = load_err(
        &[(
            "config/clusters/x/cluster.yaml",
            "name: x\nprovider: gcp\nhubs:\n  - name: h\n    helm_chart: nohub\n",
        )],
        &cfg,
    );
    assert!(
        e.contains("hubs[0].helm_chart") && e.contains("nohub"),
        "{e}"
    );
    let e = load_err(
        &[(
            "config/clusters/x/cluster.yaml",
            "name: x\nprovider: [gcp\n",
        )],
        &cfg,
    );
    assert!(e.starts_with("config/clusters/x/cluster.yaml:"), "{e}");
    let strict = PlanConfig {
        strict: true,
        ..PlanConfig::default()
    };
    let e = load_err(
        &[(
            "config/clusters/x/cluster.yaml",
            "name: x\nprovider: gcp\nhubs:\n  - name: h\n    helm_chart: basehub\n    helm_chart_value_files: [a.yaml]\n",
        )],
        &strict,
    );
    assert!(
        e.contains("config/clusters/x/cluster.yaml:6:") && e.contains("helm_chart_value_files"),
        "{e}"
    );
}

#[test]
fn unknown_fields_are_accepted_when_asked() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "config/clusters/x/cluster.yaml",
        "name: x\nprovider: gcp\ngcp: {project: p}\nhubs:\n  - name: h\n    domain: h.example.org\n    helm_chart: basehub\n",
    );
    let cfg = PlanConfig {
        allow_unknown_fields: true,
        ..PlanConfig::default()
    };
    assert_eq!(Inventory::load(d.path(), &cfg).unwrap().hub_count(), 1);
}

#[test]
fn unknown_keys_are_warnings_with_place_and_did_you_mean_and_strict_refuses() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "config/clusters/x/cluster.yaml",
        "name: x\nprovider: gcp\nhubz: []\ngcp:\n  project: p\n  zonee: z\nhubs:\n  - name: h\n    helm_chart: basehub\n    helm_chart_value_files: [a.yaml]\n    colour: blue\n",
    );
    let inv = Inventory::load(d.path(), &PlanConfig::default()).unwrap();
    assert_eq!(inv.hub_count(), 1);
    let w: Vec<String> = inv.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "config/clusters/x/cluster.yaml:3:1: unknown key `hubz` (did you mean `hubs`?); ignored",
            "config/clusters/x/cluster.yaml:6:3: unknown key `zonee` in gcp (did you mean `zone`?); ignored",
            "config/clusters/x/cluster.yaml:10:5: unknown key `helm_chart_value_files` in hubs[0] (did you mean `helm_chart_values_files`?); ignored",
            "config/clusters/x/cluster.yaml:11:5: unknown key `colour` in hubs[0]; ignored",
        ]
    );
    let strict = PlanConfig {
        strict: true,
        ..PlanConfig::default()
    };
    let e = Inventory::load(d.path(), &strict).unwrap_err().to_string();
    assert_eq!(
        e,
        "config/clusters/x/cluster.yaml:3:1: unknown key `hubz` (did you mean `hubs`?) (refused: --strict)"
    );
    let quiet = PlanConfig {
        allow_unknown_fields: true,
        ..PlanConfig::default()
    };
    assert!(
        Inventory::load(d.path(), &quiet)
            .unwrap()
            .warnings
            .is_empty()
    );
}

/// Every key of 2i2c's cluster schema (current and past), as the example tree carries them.
const TWO_I2C_KEYS: &[&str] = &[
    "name",
    "provider",
    "provider_url",
    "metadata",
    "tenancy",
    "account",
    "image_repo",
    "auth0",
    "kubeconfig",
    "file",
    "gcp",
    "aws",
    "azure",
    "key",
    "project",
    "cluster",
    "zone",
    "billing",
    "paid_by_us",
    "bigquery",
    "dataset",
    "billing_id",
    "clusterType",
    "clusterName",
    "region",
    "active_cost_tags",
    "resource_group",
    "support",
    "helm_chart_values_files",
    "hubs",
    "display_name",
    "domain",
    "domain_override_file",
    "uptime_check",
    "expected_status",
    "helm_chart",
    "chart_override",
];

#[test]
fn the_example_tree_carries_2i2cs_whole_schema_and_loads_without_warnings() {
    let root = example_root();
    let mut text = String::new();
    for e in std::fs::read_dir(root.join("config/clusters")).unwrap() {
        let f = e.unwrap().path().join("cluster.yaml");
        if let Ok(t) = std::fs::read_to_string(f) {
            text.push_str(&t);
        }
    }
    for k in TWO_I2C_KEYS {
        assert!(
            text.contains(&format!(" {k}:")) || text.contains(&format!("\n{k}:")),
            "no cluster.yaml of the example uses `{k}`"
        );
    }
    let strict = PlanConfig {
        strict: true,
        ..PlanConfig::default()
    };
    let inv = Inventory::load(&root, &strict).unwrap();
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}

#[test]
fn values_files_outside_their_cluster_directory_are_refused() {
    let e = load_err(
        &[(
            "config/clusters/x/cluster.yaml",
            "name: x\nprovider: gcp\nhubs:\n  - name: h\n    helm_chart: basehub\n    helm_chart_values_files: [sub/../ok.yaml, ../y/prod.values.yaml]\n",
        )],
        &PlanConfig::default(),
    );
    assert!(
        e.contains("hubs[0].helm_chart_values_files: \"../y/prod.values.yaml\" resolves outside config/clusters/x/"),
        "{e}"
    );
}

#[test]
fn deployer_tests_dev_commands_and_readmes_do_not_redeploy_everything() {
    let d = small_tree();
    let cfg = PlanConfig::default();
    for layout in ["deployer", "src/deployer"] {
        for f in [
            "health_check_tests/test_hub_health.py",
            "health_check_tests/test-notebooks/basehub/simple.ipynb",
            "dev/commands/exec/gcx.py",
            "dev/app.py",
            "commands/dev/debug.py",
            "README.md",
            "README.rst",
        ] {
            let path = format!("{layout}/{f}");
            let p = plan_for(d.path(), &cfg, &[&path], &[]);
            assert!(p.is_empty(), "{path}: {:?}", ids(&p));
        }
        // The deployer's own code still does.
        let path = format!("{layout}/commands/deployer.py");
        assert_eq!(
            plan_for(d.path(), &cfg, &[&path], &[]).prod.len(),
            4,
            "{path}"
        );
    }
    // Configurable: with no exclusions, a health-check test redeploys everything again.
    let cfg = PlanConfig {
        everything_exclude: vec![],
        ..PlanConfig::default()
    };
    assert_eq!(
        plan_for(d.path(), &cfg, &["deployer/health_check_tests/t.py"], &[])
            .prod
            .len(),
        4
    );
}

#[test]
fn a_change_reads_only_the_cluster_files_it_can_touch() {
    let d = small_tree();
    // An invalid cluster file no change touches is not read.
    write(
        d.path(),
        "config/clusters/zz/cluster.yaml",
        "name: [broken\n",
    );
    let cfg = PlanConfig::default();
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let t = deploy_plan::plan_tree(
        d.path(),
        &cfg,
        &strings(&["config/clusters/a/prod.values.yaml", "docs/x.md"]),
        &[],
    )
    .unwrap();
    assert_eq!(t.clusters_read, 1);
    assert_eq!(ids(&t.plan), ["staging a/staging", "prod a/prod"]);
    let t = deploy_plan::plan_tree(d.path(), &cfg, &strings(&["docs/x.md"]), &[]).unwrap();
    assert_eq!(t.clusters_read, 0);
    assert!(t.plan.is_empty());
    // A rule that reaches every cluster reads every file (and finds the broken one).
    for (paths, labels) in [
        (vec!["helm-charts/basehub/values.yaml"], vec![]),
        (vec!["helm-charts/support/values.yaml"], vec![]),
        (vec!["deployer/x.py"], vec![]),
        (vec!["docs/x.md"], vec!["deployer:deploy-hubs"]),
        (vec!["docs/x.md"], vec!["deployer:deploy-support"]),
    ] {
        let e = deploy_plan::plan_tree(d.path(), &cfg, &strings(&paths), &strings(&labels))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("config/clusters/zz/cluster.yaml:1:"),
            "{paths:?} {labels:?}: {e}"
        );
    }
}

#[test]
fn yaml_bombs_are_refused() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        bomb.push_str(&format!(
            "{}: &{} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n",
            (b'a' + i as u8) as char,
            (b'a' + i as u8) as char,
            p = (b'a' + i as u8 - 1) as char
        ));
    }
    let e = deploy_plan::inventory::parse_yaml::<Value>(&bomb, "bomb.yaml").unwrap_err();
    assert!(e.to_string().starts_with("bomb.yaml:"), "{e}");
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert!(deploy_plan::inventory::parse_yaml::<Value>(&deep, "deep.yaml").is_err());
}

// ------------------------------------------------------------------ properties

fn arb_paths() -> impl Strategy<Value = Vec<String>> {
    let pool: Vec<&'static str> = vec![
        "config/clusters/a/prod.values.yaml",
        "config/clusters/a/common.values.yaml",
        "config/clusters/a/support.values.yaml",
        "config/clusters/a/cluster.yaml",
        "config/clusters/a-uk/hub1.values.yaml",
        "config/clusters/b/qa.values.yaml",
        "config/clusters/b/prod.values.yaml",
        "config/clusters/gone/x.yaml",
        "helm-charts/basehub/values.yaml",
        "helm-charts/daskhub/values.yaml",
        "helm-charts/support/values.yaml",
        "helm-charts/unrelated/values.yaml",
        "deployer/x.py",
        "docs/x.md",
        "README.md",
    ];
    proptest::collection::vec(proptest::sample::select(pool), 0..8)
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn adding_a_path_never_removes_a_job(paths in arb_paths(), extra in arb_paths()) {
        let d = small_tree();
        let cfg = PlanConfig::default();
        let inv = Inventory::load(d.path(), &cfg).unwrap();
        let planner = Planner::new(&inv, &cfg).unwrap();
        let before = ids(&planner.plan(&paths, &[]));
        let mut more = paths.clone();
        more.extend(extra);
        let after = ids(&planner.plan(&more, &[]));
        for j in before {
            prop_assert!(after.contains(&j), "{j} vanished");
        }
    }

    #[test]
    fn reading_only_the_touched_clusters_gives_the_full_trees_plan(
        paths in arb_paths(),
        labels in proptest::collection::vec(proptest::sample::select(vec![
            "deployer:skip-deploy", "deployer:skip-deploy-hubs",
            "deployer:deploy-support", "deployer:deploy-hubs", "other",
        ]), 0..2),
    ) {
        let d = small_tree();
        write_2i2c_charts(d.path());
        let cfg = PlanConfig::default();
        let labels: Vec<String> = labels.into_iter().map(str::to_owned).collect();
        let inv = Inventory::load(d.path(), &cfg).unwrap();
        let full = Planner::new(&inv, &cfg).unwrap().plan(&paths, &labels);
        let scoped = deploy_plan::plan_tree(d.path(), &cfg, &paths, &labels).unwrap();
        prop_assert_eq!(&full, &scoped.plan);
        prop_assert_eq!(render::to_tables(&full), render::to_tables(&scoped.plan));
    }

    #[test]
    fn output_does_not_depend_on_input_order(paths in arb_paths()) {
        let d = small_tree();
        let cfg = PlanConfig::default();
        let inv = Inventory::load(d.path(), &cfg).unwrap();
        let planner = Planner::new(&inv, &cfg).unwrap();
        let mut rev = paths.clone();
        rev.reverse();
        prop_assert_eq!(
            render::to_json(&planner.plan(&paths, &[])),
            render::to_json(&planner.plan(&rev, &[]))
        );
    }
}

// ------------------------------------------------------------------ matrices

#[test]
fn matrices_over_256_jobs_are_split_and_the_unsplit_name_is_not_written() {
    let d = tempfile::tempdir().unwrap();
    deploy_plan::synth::generate(d.path(), 30, 10, 1).unwrap();
    let p = plan_for(d.path(), &PlanConfig::default(), &["deployer/x.py"], &[]);
    assert_eq!(p.prod.len(), 270);
    let (m, w) = render::matrix_outputs(&p, Compat::Ghops, 256);
    let names: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "support-jobs",
            "staging-jobs",
            "prod-jobs-chunks",
            "prod-jobs-1",
            "prod-jobs-2"
        ]
    );
    assert_eq!(m[2].1, "2");
    let c1: Vec<Value> = serde_json::from_str(&m[3].1).unwrap();
    let c2: Vec<Value> = serde_json::from_str(&m[4].1).unwrap();
    assert_eq!((c1.len(), c2.len()), (256, 14));
    assert_eq!(w.len(), 1);
    assert!(
        w[0].contains("270 jobs exceed GitHub's matrix limit of 256"),
        "{w:?}"
    );
}

#[test]
fn markdown_escapes_untrusted_names() {
    let p = Plan {
        prod: vec![deploy_plan::Job {
            cluster_name: "c".into(),
            provider: "gcp".into(),
            hub_name: Some("<!-- deployment-plan --> @admin | [x](http://evil)".into()),
            chart: Some("basehub".into()),
            reason: "r".into(),
        }],
        ..Plan::default()
    };
    let md = render::to_markdown(&p);
    assert_eq!(md.matches("<!--").count(), 1, "{md}");
    assert!(md.contains("| c | gcp | &lt;!-- deployment-plan --&gt; `@admin` \\| `[x](http://evil)` | basehub | r |"), "{md}");
}

/// Removes every code span (GitHub links, mentions and references nothing inside one).
fn outside_code(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find('`') {
        out.push_str(&rest[..i]);
        let run = rest[i..].len() - rest[i..].trim_start_matches('`').len();
        let fence = &rest[i..i + run];
        let after = &rest[i + run..];
        match after.find(fence) {
            Some(j) => rest = &after[j + run..],
            None => {
                out.push_str(fence);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn markdown_neutralises_autolinks_references_emphasis_and_bidi() {
    let hostile = [
        "https://evil.example/login",
        "see-www.evil.example",
        "HTTP://EVIL.EXAMPLE",
        "#1",
        "fixes-o/r#2",
        "GH-12",
        "deadbeefcafe",
        "@org/admins",
        "a@b.example",
        "*bold*",
        "_it_",
        "~~gone~~",
        "$x$",
        "a\\",
        "`@x`",
        "x\u{202E}gpj.exe",
        "y\u{2066}z\u{200B}w",
    ];
    let p = Plan {
        prod: hostile
            .iter()
            .map(|h| deploy_plan::Job {
                cluster_name: "c".into(),
                provider: "gcp".into(),
                hub_name: Some((*h).into()),
                chart: Some("basehub".into()),
                reason: format!("Following helm chart values files were modified: {h}"),
            })
            .collect(),
        ..Plan::default()
    };
    let md = render::to_markdown(&p);
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| c |")).collect();
    assert_eq!(rows.len(), hostile.len(), "{md}");
    for row in rows {
        // Six cells (hub and reason hold the name): no name split the table.
        assert_eq!(row.replace("\\|", "").matches('|').count(), 6, "{row}");
        let text = outside_code(row);
        for bad in ["@", "#", "://", "www.", "GH-", "deadbeef"] {
            assert!(
                !text
                    .to_ascii_uppercase()
                    .contains(&bad.to_ascii_uppercase()),
                "{bad} outside code in {row}"
            );
        }
        // Emphasis and math markers only ever appear escaped.
        let unescaped = text
            .replace("\\\\", "")
            .replace("\\*", "")
            .replace("\\_", "")
            .replace("\\~", "")
            .replace("\\$", "");
        assert!(!unescaped.contains(['*', '_', '~', '$']), "{row}");
    }
    for c in ['\u{202E}', '\u{2066}', '\u{200B}'] {
        assert!(!md.contains(c), "{c:?} survived");
    }
    assert!(md.contains("x\u{FFFD}gpj.exe"), "{md}");
    assert!(
        md.contains("``` `@x` ```") || md.contains("`` `@x` ``"),
        "{md}"
    );
}

// ------------------------------------------------------------------ the example workflow

/// The job a matrix job takes its rows from: `fromJson(needs.<job>.outputs.<name>)`.
fn matrix_source(job: &Value) -> (String, String) {
    let m = job["strategy"]["matrix"]["job"]
        .as_str()
        .unwrap_or_default();
    let inner = m
        .trim()
        .strip_prefix("${{ fromJson(needs.")
        .and_then(|r| r.strip_suffix(") }}"))
        .unwrap_or_else(|| panic!("matrix not from a job output: {m:?}"));
    let (src, output) = inner.split_once(".outputs.").unwrap();
    (src.to_owned(), output.to_owned())
}

fn needs(job: &Value) -> Vec<String> {
    match &job["needs"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn example_deploy_workflow_gates_support_staging_prod_per_cluster() {
    let path = repo_root().join("examples/deploy-plan/deploy-hubs.yml");
    let wf: Value =
        deploy_plan::inventory::parse_yaml(&std::fs::read_to_string(&path).unwrap(), "wf").unwrap();
    let jobs = &wf["jobs"];
    // No job runs whatever happened before it: `always()` would also run on cancellation and
    // let a cluster's staging run after its support upgrade failed.
    for (name, job) in jobs.as_object().unwrap() {
        let cond = job["if"].as_str().unwrap_or_default();
        assert!(!cond.contains("always()"), "{name}: {cond}");
    }
    // Each deploy stage takes its rows from a filter job that ran `ghops plan filter` on this
    // run's results after every earlier stage, so a cluster whose support (or staging)
    // failed gets no staging (or prod) job.
    for (stage, earlier, output) in [
        ("staging", &["support"][..], "staging-jobs"),
        ("prod", &["support", "staging"][..], "prod-jobs"),
    ] {
        let (src, out) = matrix_source(&jobs[stage]);
        assert_eq!(out, output, "{stage}");
        let filter = &jobs[src.as_str()];
        for e in earlier {
            assert!(needs(filter).contains(&e.to_string()), "{src} needs {e}");
        }
        let run: String = filter["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .collect();
        assert!(
            run.contains("ghops plan filter")
                && run.contains("--run-id")
                && run.contains(&format!("--output-name {output}")),
            "{src}: {run}"
        );
        assert!(
            filter["outputs"][output]
                .as_str()
                .is_some_and(|o| o.contains(&format!("outputs.{output}"))),
            "{src}"
        );
        // The stage waits for its filter, and runs only when the filter succeeded.
        assert_eq!(needs(&jobs[stage]), std::slice::from_ref(&src), "{stage}");
        let cond = jobs[stage]["if"].as_str().unwrap();
        assert!(
            cond.contains(&format!("needs.{src}.result == 'success'")),
            "{stage}: {cond}"
        );
    }
}

// ------------------------------------------------------------------ filter

#[test]
fn filter_matches_clusters_exactly() {
    let jobs = json!([
        {"cluster_name": "2i2c", "hub_name": "a"},
        {"cluster_name": "2i2c-uk", "hub_name": "b"}
    ]);
    let failed = filter::parse_failed(r#"["2i2c-uk"]"#, "f").unwrap();
    let (keep, drop) = filter::filter_jobs(&jobs, &failed, "jobs").unwrap();
    assert_eq!(keep, vec![json!({"cluster_name": "2i2c", "hub_name": "a"})]);
    assert_eq!(
        drop,
        vec![json!({"cluster_name": "2i2c-uk", "hub_name": "b"})]
    );
}

// ------------------------------------------------------------------ API (wiremock)

async fn client(gh: &MockGitHub) -> gh_core::GitHub {
    let mut c = gh_core::client::ClientConfig::new(gh_core::auth::Credentials::Token {
        token: gh_core::auth::SecretString::from("ghp_test".to_owned()),
        source: gh_core::auth::TokenSource::Flag,
    });
    c.api_url = gh.uri();
    c.retry = gh_core::retry::RetryPolicy::fast();
    gh_core::GitHub::connect(c).await.unwrap()
}

fn repo() -> gh_core::RepoRef {
    "org/infra".parse().unwrap()
}

#[tokio::test]
async fn pr_files_are_paginated_with_renames_and_labels() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7, "state": "open", "changed_files": 3, "labels": [{"name": "deployer:deploy-support"}],
            "base": {"ref": "main", "sha": "b1"}, "head": {"ref": "topic", "sha": "h1"}
        })))
        .mount(&gh.server)
        .await;
    let next = format!(
        "<{}/repos/org/infra/pulls/7/files?per_page=100&page=2>; rel=\"next\"",
        gh.uri()
    );
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/pulls/7/files"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"filename": "config/clusters/a/new.values.yaml", "previous_filename": "config/clusters/a/old.values.yaml"}
        ])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/pulls/7/files"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", next.as_str())
                .set_body_json(json!([{"filename": "a.txt"}, {"filename": "./b//c.txt"}])),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let ch = pr::pr_changes(&c, &repo(), 7).await.unwrap();
    assert_eq!(
        ch.paths,
        [
            "a.txt",
            "b/c.txt",
            "config/clusters/a/new.values.yaml",
            "config/clusters/a/old.values.yaml"
        ]
    );
    assert_eq!(ch.labels, ["deployer:deploy-support"]);
    gh.assert_lines(&[
        "GET /repos/org/infra/pulls/7",
        "GET /repos/org/infra/pulls/7/files?per_page=100",
        "GET /repos/org/infra/pulls/7/files?per_page=100&page=2",
    ])
    .await;
}

#[tokio::test]
async fn lagging_files_index_falls_back_to_compare_and_huge_prs_are_a_clear_error() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/pulls/8"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 8, "state": "open", "changed_files": 2, "labels": [],
            "base": {"ref": "main", "sha": "b1"}, "head": {"ref": "topic", "sha": "h1"}
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/pulls/8/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{"filename": "a.txt"}])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/compare/b1...h1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "files": [{"filename": "a.txt"}, {"filename": "z.txt"}]
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/pulls/9"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 9, "state": "open", "changed_files": 3001, "labels": [],
            "base": {"ref": "main", "sha": "b1"}, "head": {"ref": "topic", "sha": "h1"}
        })))
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let ch = pr::pr_changes(&c, &repo(), 8).await.unwrap();
    assert_eq!(ch.paths, ["a.txt", "z.txt"]);
    let e = pr::pr_changes(&c, &repo(), 9).await.unwrap_err();
    assert!(e.to_string().contains("--base b1 --head h1"), "{e}");
    gh.assert_lines(&[
        "GET /repos/org/infra/pulls/8",
        "GET /repos/org/infra/pulls/8/files?per_page=100",
        "GET /repos/org/infra/compare/b1...h1?per_page=100",
        "GET /repos/org/infra/pulls/9",
    ])
    .await;
}

async fn mount_comment_endpoints(gh: &MockGitHub, existing: Value) {
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": "ghops-bot"})))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(existing))
        .mount(&gh.server)
        .await;
}

#[tokio::test]
async fn plan_comment_is_updated_in_place() {
    let gh = MockGitHub::start().await;
    let old = "<!-- deployment-plan -->\nold";
    mount_comment_endpoints(
        &gh,
        json!([
            {"id": 1, "body": old, "user": {"login": "someone-else"}, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"},
            {"id": 2, "body": old, "user": {"login": "ghops-bot"}, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
        ]),
    )
    .await;
    let body = render::to_markdown(&example_plan());
    Mock::given(method("PATCH"))
        .and(path("/repos/org/infra/issues/comments/2"))
        .and(body_json(json!({"body": body})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 2})))
        .expect(1)
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let r = comment::upsert_plan_comment(&c, &repo(), 7, &body)
        .await
        .unwrap();
    assert_eq!(r, gh_core::comments::Upserted::Updated(2));
    gh.assert_writes(&["PATCH /repos/org/infra/issues/comments/2"])
        .await;
}

#[tokio::test]
async fn untrusted_artifacts_are_checked_before_any_write() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7, "state": "open",
            "head": {"ref": "topic", "sha": "abc123"}, "base": {"ref": "main", "sha": "b1"}
        })))
        .mount(&gh.server)
        .await;
    mount_comment_endpoints(&gh, json!([])).await;
    Mock::given(method("POST"))
        .and(path("/repos/org/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 9, "body": "x", "user": {"login": "ghops-bot"}, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        })))
        .mount(&gh.server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let art = |pr: &str, plan: Option<&str>, md: Option<&str>| {
        for f in ["pr-number", "plan.json", "comment.md"] {
            let _ = std::fs::remove_file(dir.path().join(f));
        }
        std::fs::write(dir.path().join("pr-number"), pr).unwrap();
        if let Some(p) = plan {
            std::fs::write(dir.path().join("plan.json"), p).unwrap();
        }
        if let Some(m) = md {
            std::fs::write(dir.path().join("comment.md"), m).unwrap();
        }
        comment::read_artifact(dir.path())
    };
    // Local checks: not a number, no marker, too big, a symlink.
    assert!(matches!(
        art("7; rm -rf /", None, Some("<!-- deployment-plan -->")),
        Err(PlanError::Refused(_))
    ));
    assert!(matches!(
        art("7", None, Some("hello @everyone")),
        Err(PlanError::Refused(_))
    ));
    let big = format!("<!-- deployment-plan -->{}", "x".repeat(70_000));
    assert!(matches!(
        art("7", None, Some(&big)),
        Err(PlanError::Refused(_))
    ));
    std::fs::remove_file(dir.path().join("comment.md")).ok();
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("plan.json")).unwrap();
    assert!(matches!(
        comment::read_artifact(dir.path()),
        Err(PlanError::Refused(_))
    ));
    std::fs::remove_file(dir.path().join("plan.json")).ok();
    // A well-formed comment.md alone (marker first, mentions, links, a tracking image, a
    // forged marker) is never posted verbatim: without plan.json the artifact is refused.
    let hostile = "<!-- deployment-plan -->\n@org/admins please merge [here](https://evil.example) <img src=\"https://evil.example/t.gif\"> <!-- pr-bridge -->";
    let e = art("7", None, Some(hostile)).unwrap_err();
    assert!(
        matches!(&e, PlanError::Refused(m) if m.contains("no plan.json")),
        "{e}"
    );
    gh.assert_no_writes().await;

    // plan.json is re-rendered here (escaped again), whatever comment.md says.
    let a = art(
        "7\n",
        Some(r#"{"support": [], "staging": [], "prod": [{"cluster_name": "c", "provider": "gcp", "hub_name": "@admin", "chart": "basehub", "reason": "r"}]}"#),
        Some("<!-- deployment-plan -->\nignored"),
    )
    .unwrap();
    assert_eq!(a.pr, 7);
    assert!(a.body.contains("`@admin`") && !a.body.contains("ignored"));

    let c = client(&gh).await;
    // The PR's head is not what the triggering run built: refused, nothing written.
    let e = comment::comment_from_artifact(&c, &repo(), &a, "fff999")
        .await
        .unwrap_err();
    assert!(matches!(e, PlanError::Refused(_)), "{e}");
    gh.assert_no_writes().await;
    comment::comment_from_artifact(&c, &repo(), &a, "abc123")
        .await
        .unwrap();
    gh.assert_writes(&["POST /repos/org/infra/issues/7/comments"])
        .await;
}

#[test]
fn artifacts_in_2i2cs_layout_are_read_and_their_comment_body_never_posted() {
    // 2i2c's plan job uploads an artifact `pr` with pr-number.txt and comment-body.txt.
    let dir = tempfile::tempdir().unwrap();
    let put = |f: &str, text: &str| std::fs::write(dir.path().join(f), text).unwrap();
    put("pr-number.txt", "7\n");
    put(
        "comment-body.txt",
        "<!-- deployment-plan -->\n@org/admins please merge [here](https://evil.example)",
    );
    // Without plan.json: refused, and the message says what to add.
    let e = comment::read_artifact(dir.path()).unwrap_err();
    assert!(
        matches!(&e, PlanError::Refused(m) if m.contains("no plan.json") && m.contains("comment-body.txt")),
        "{e}"
    );
    put(
        "plan.json",
        r#"{"support": [], "staging": [], "prod": [{"cluster_name": "c", "provider": "gcp", "hub_name": "h", "chart": "basehub", "reason": "r"}]}"#,
    );
    let a = comment::read_artifact(dir.path()).unwrap();
    assert_eq!(a.pr, 7);
    assert!(!a.body.contains("evil.example"), "{}", a.body);
    // Both names, disagreeing: refused (which PR is meant?).
    put("pr-number", "8\n");
    let e = comment::read_artifact(dir.path()).unwrap_err();
    assert!(
        matches!(&e, PlanError::Refused(m) if m.contains("disagree")),
        "{e}"
    );
    put("pr-number", "7");
    assert_eq!(comment::read_artifact(dir.path()).unwrap().pr, 7);
    // pr-number.txt is held to the same checks.
    std::fs::remove_file(dir.path().join("pr-number")).unwrap();
    put("pr-number.txt", "7; rm -rf /");
    assert!(matches!(
        comment::read_artifact(dir.path()),
        Err(PlanError::Refused(_))
    ));
}

#[tokio::test]
async fn failed_clusters_come_from_the_runs_jobs() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/actions/runs/55/jobs"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"total_count": 4, "jobs": [
                {"name": "support: 2i2c-uk", "conclusion": "failure"},
                {"name": "staging: 2i2c/staging", "conclusion": "success"},
                {"name": "deploy / staging: utoronto/staging", "conclusion": "cancelled"},
                {"name": "prod: 2i2c/prod", "conclusion": "failure"}
            ]})),
        )
        .mount(&gh.server)
        .await;
    let c = client(&gh).await;
    let failed = filter::failed_from_run(&c, &repo(), 55).await.unwrap();
    assert_eq!(
        failed.into_iter().collect::<Vec<_>>(),
        ["2i2c-uk", "utoronto"]
    );
    gh.assert_lines(&["GET /repos/org/infra/actions/runs/55/jobs?filter=latest&per_page=100"])
        .await;
}

// ------------------------------------------------------------------ local git diff

#[test]
fn git_diff_lists_added_modified_deleted_and_both_sides_of_renames() {
    use git2::{Repository, Signature};
    let d = tempfile::tempdir().unwrap();
    let repo = Repository::init(d.path()).unwrap();
    let sig = Signature::now("t", "t@example.org").unwrap();
    let commit = |files: &[(&str, Option<&str>)], parents: &[&git2::Commit], msg: &str| {
        for (p, content) in files {
            let full = d.path().join(p);
            match content {
                Some(c) => {
                    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                    std::fs::write(&full, c).unwrap();
                }
                None => std::fs::remove_file(&full).unwrap(),
            }
        }
        let mut idx = repo.index().unwrap();
        idx.add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        idx.update_all(["*"], None).unwrap();
        idx.write().unwrap();
        let tree = repo.find_tree(idx.write_tree().unwrap()).unwrap();
        repo.commit(None, &sig, &sig, msg, &tree, parents).unwrap()
    };
    let long = "some long values file content that stays the same\n".repeat(20);
    let base = commit(
        &[
            ("keep.yaml", Some("a\n")),
            ("old name.yaml", Some(&long)),
            ("gone.yaml", Some("g\n")),
        ],
        &[],
        "base",
    );
    let base_c = repo.find_commit(base).unwrap();
    // main moves on independently: its changes must not show up (merge-base diff).
    let main_only = commit(&[("main-only.yaml", Some("m\n"))], &[&base_c], "main");
    let head = commit(
        &[
            ("main-only.yaml", None),
            ("keep.yaml", Some("b\n")),
            ("old name.yaml", None),
            ("new, name.yaml", Some(&long)),
            ("gone.yaml", None),
            ("added.yaml", Some("n\n")),
        ],
        &[&base_c],
        "head",
    );
    let changed =
        deploy_plan::paths::git_changed(d.path(), &main_only.to_string(), &head.to_string())
            .unwrap();
    let mut sorted = changed.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "added.yaml",
            "gone.yaml",
            "keep.yaml",
            "new, name.yaml",
            "old name.yaml"
        ]
    );
    let e =
        deploy_plan::paths::git_changed(d.path(), "no-such-rev", &head.to_string()).unwrap_err();
    assert!(e.to_string().contains("--base"), "{e}");
}

/// Run from the wrong directory (no `config/clusters` under the config root): one error that
/// says what to pass, whether the change reaches some clusters or all of them. Before, the
/// first said `not a directory` and the second `No such file or directory (os error 2)`.
#[test]
fn a_missing_clusters_dir_says_to_pass_config_root() {
    use gh_core::ExitStatus as _;
    let d = tempfile::tempdir().unwrap();
    for changed in ["config/clusters/c/a.values.yaml", "deployer/x.py"] {
        let e =
            deploy_plan::plan_tree(d.path(), &PlanConfig::default(), &[changed.to_owned()], &[])
                .unwrap_err();
        assert_eq!(e.exit_code(), gh_core::ExitCode::Usage, "{changed}");
        let e = e.to_string();
        assert!(
            e.ends_with(
                "config/clusters: no such directory: run from the config repository's root or \
                 pass --config-root DIR (`clusters_dir` under [plan] names another layout's \
                 folder of cluster files)"
            ),
            "{changed}: {e}"
        );
    }
}

/// `--config-root infra --base … --head …` in a clone whose config repository is the `infra/`
/// folder: the diff lists the paths under it relative to it (as the rules match them), and
/// nothing outside it. Before, the paths were relative to the clone's top level, so no rule
/// matched and the plan was silently empty.
#[test]
fn git_diff_of_a_config_root_inside_the_clone_is_relative_to_it() {
    use git2::{Repository, Signature};
    let d = tempfile::tempdir().unwrap();
    let repo = Repository::init(d.path()).unwrap();
    let sig = Signature::now("t", "t@example.org").unwrap();
    let commit = |files: &[(&str, &str)], parents: &[&git2::Commit], msg: &str| {
        for (p, content) in files {
            let full = d.path().join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, content).unwrap();
        }
        let mut idx = repo.index().unwrap();
        idx.add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        idx.write().unwrap();
        let tree = repo.find_tree(idx.write_tree().unwrap()).unwrap();
        repo.commit(None, &sig, &sig, msg, &tree, parents).unwrap()
    };
    let base = commit(
        &[
            ("infra/config/clusters/c/a.values.yaml", "a\n"),
            ("README.md", "r\n"),
        ],
        &[],
        "base",
    );
    let base_c = repo.find_commit(base).unwrap();
    let head = commit(
        &[
            ("infra/config/clusters/c/a.values.yaml", "b\n"),
            ("README.md", "s\n"),
            ("other/x.yaml", "x\n"),
        ],
        &[&base_c],
        "head",
    );
    let (base, head) = (base.to_string(), head.to_string());
    let changed = |dir: &std::path::Path| {
        let mut v = deploy_plan::paths::git_changed(dir, &base, &head).unwrap();
        v.sort();
        v
    };
    assert_eq!(
        changed(&d.path().join("infra")),
        ["config/clusters/c/a.values.yaml"]
    );
    // At the top level: every path, as before.
    assert_eq!(
        changed(d.path()),
        [
            "README.md",
            "infra/config/clusters/c/a.values.yaml",
            "other/x.yaml"
        ]
    );
}

#[test]
fn a_branch_creation_push_diffs_against_the_default_branchs_merge_base() {
    use gh_core::ExitStatus as _;
    use git2::{Repository, Signature};
    let d = tempfile::tempdir().unwrap();
    let repo = Repository::init(d.path()).unwrap();
    let sig = Signature::now("t", "t@example.org").unwrap();
    let commit = |files: &[(&str, &str)], parents: &[&git2::Commit], msg: &str| {
        for (p, content) in files {
            let full = d.path().join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, content).unwrap();
        }
        let mut idx = repo.index().unwrap();
        idx.add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        idx.update_all(["*"], None).unwrap();
        idx.write().unwrap();
        let tree = repo.find_tree(idx.write_tree().unwrap()).unwrap();
        repo.commit(None, &sig, &sig, msg, &tree, parents).unwrap()
    };
    let base = commit(&[("keep.yaml", "a\n")], &[], "base");
    let base_c = repo.find_commit(base).unwrap();
    let main = commit(&[("main-only.yaml", "m\n")], &[&base_c], "main moves on");
    std::fs::remove_file(d.path().join("main-only.yaml")).unwrap();
    let head = commit(&[("branch.yaml", "b\n")], &[&base_c], "the new branch");
    // As actions/checkout with fetch-depth: 0 leaves it: remote-tracking branches.
    repo.reference("refs/remotes/origin/trunk", main, true, "")
        .unwrap();
    let zeros = "0".repeat(40);
    let head = head.to_string();
    let changed = |default: Option<&str>| {
        deploy_plan::paths::git_changed_or_default(d.path(), &zeros, &head, default)
    };
    // The default branch named (in Actions: the push event's repository.default_branch).
    assert_eq!(changed(Some("trunk")).unwrap(), ["branch.yaml"]);
    // No name and no origin/HEAD: a clear usage error naming what to pass.
    let e = changed(None).unwrap_err();
    assert_eq!(e.exit_code(), gh_core::ExitCode::Usage);
    assert!(
        e.to_string().contains("all zeros") && e.to_string().contains("--default-branch"),
        "{e}"
    );
    let e = changed(Some("nope")).unwrap_err().to_string();
    assert!(e.contains("origin/nope"), "{e}");
    // origin/HEAD (a clone sets it) names the default branch when nothing else does.
    repo.reference_symbolic(
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/trunk",
        true,
        "",
    )
    .unwrap();
    assert_eq!(changed(None).unwrap(), ["branch.yaml"]);
    assert_eq!(
        deploy_plan::paths::git_changed(d.path(), &zeros, &head).unwrap(),
        ["branch.yaml"]
    );
    // SHA-256 repositories' zeros too.
    assert_eq!(
        deploy_plan::paths::git_changed(d.path(), &"0".repeat(64), &head).unwrap(),
        ["branch.yaml"]
    );
    assert!(deploy_plan::paths::is_null_rev(&zeros));
    assert!(!deploy_plan::paths::is_null_rev("0000000"));
    assert!(!deploy_plan::paths::is_null_rev(&head));
}

#[test]
fn large_trees_load_in_order_and_report_the_first_bad_file() {
    let d = tempfile::tempdir().unwrap();
    deploy_plan::synth::generate(d.path(), 80, 3, 1).unwrap();
    let cfg = PlanConfig {
        strict: true,
        ..PlanConfig::default()
    };
    let inv = Inventory::load(d.path(), &cfg).unwrap();
    assert_eq!(inv.clusters.len(), 80);
    assert!(inv.clusters.windows(2).all(|w| w[0].name < w[1].name));
    assert_eq!(inv.hub_count(), 240);
    // Two bad files in different loader chunks: the first in directory order is reported.
    for c in ["cluster-0070", "cluster-0005"] {
        write(
            d.path(),
            &format!("config/clusters/{c}/cluster.yaml"),
            &format!("name: {c}\nprovider: gcp\nbogus: 1\n"),
        );
    }
    for _ in 0..5 {
        let e = Inventory::load(d.path(), &cfg).unwrap_err().to_string();
        assert!(
            e.contains("config/clusters/cluster-0005/cluster.yaml:3:"),
            "{e}"
        );
    }
}
