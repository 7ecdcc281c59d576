//! `ghops plan`: the README's main job on the bundled example, outputs, errors, the comment
//! and the filter, as the real binary.

use ghops_test_support::{MockGitHub, repo_root};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr, stdout, valid_json};

fn example_args() -> Vec<String> {
    let root = repo_root().join("examples/infrastructure");
    vec![
        "plan".into(),
        "--config-root".into(),
        root.display().to_string(),
        "--changed-files".into(),
        root.join("changed-files.txt").display().to_string(),
    ]
}

#[tokio::test]
async fn readme_main_job_prints_the_three_tables_offline() {
    let mut c = ghops();
    c.args(example_args());
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    for t in [
        "Support chart upgrades",
        "Staging hub upgrades",
        "Prod hub upgrades",
    ] {
        assert!(s.contains(t), "{s}");
    }
    assert!(s.contains("utoronto") && s.contains("r-prod"), "{s}");
    assert!(s.contains("prod deploys ungated there"), "{s}");
}

#[tokio::test]
async fn json_and_matrix_outputs() {
    let mut c = ghops();
    c.args(example_args()).arg("--json");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = valid_json("plan", &out);
    assert_eq!(v["support"][0]["cluster_name"], "hhmi");
    assert_eq!(v["prod"].as_array().unwrap().len(), 10);
    // The tables' "no staging hub gates prod" note is in the JSON too (it was dropped).
    assert_eq!(v["ungated"], json!(["catalystproject-latam"]));

    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let summary = dir.path().join("summary");
    let mut c = ghops();
    c.args(example_args())
        .args(["--format", "matrix", "--compat", "2i2c-v2024"])
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let written = std::fs::read_to_string(&output).unwrap();
    assert!(
        written.starts_with("support-and-staging-matrix-jobs<<"),
        "{written}"
    );
    assert!(written.contains("prod-hub-matrix-jobs<<"), "{written}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("<!-- deployment-plan -->\nMerging this PR"),
        "{md}"
    );
}

#[tokio::test]
async fn bad_inputs_exit_2_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let cdir = d.path().join("config/clusters/x");
    std::fs::create_dir_all(&cdir).unwrap();
    std::fs::write(
        cdir.join("cluster.yaml"),
        "name: x\nprovider: gcp\nhubz: []\n",
    )
    .unwrap();
    let list = d.path().join("changed.txt");
    std::fs::write(&list, "config/clusters/x/cluster.yaml\n").unwrap();
    let mut c = ghops();
    c.args(["plan", "--strict", "--config-root"])
        .arg(d.path())
        .arg("--changed-files")
        .arg(&list);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("config/clusters/x/cluster.yaml:3:") && e.contains("hubz"),
        "{e}"
    );
    // Without --strict an unknown key is a warning with its place and a did-you-mean.
    let mut c = ghops();
    c.args(["plan", "--json", "--config-root"])
        .arg(d.path())
        .arg("--changed-files")
        .arg(&list);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "warning: config/clusters/x/cluster.yaml:3:1: unknown key `hubz` (did you mean `hubs`?); ignored"
        ),
        "{}",
        stderr(&out)
    );

    let mut c = ghops();
    c.args(["plan", "--config-root"]).arg(d.path());
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no changed paths"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn comment_upserts_and_dry_run_sends_nothing() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": "ghops-bot"})))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/issues/3/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&gh.server)
        .await;
    let body = "<!-- deployment-plan -->\nMerging this PR will trigger nothing.\n";
    Mock::given(method("POST"))
        .and(path("/repos/org/infra/issues/3/comments"))
        .and(body_json(json!({"body": body})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 77, "body": body, "user": {"login": "ghops-bot"},
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        })))
        .mount(&gh.server)
        .await;
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("plan.md");
    std::fs::write(&f, body).unwrap();
    let command = |dry: bool, json: bool| {
        let mut c = ghops();
        c.args(["plan", "comment", "--pr", "3", "--body"])
            .arg(&f)
            .args(["--repo", "org/infra", "--api-url", &gh.uri()])
            .env("GH_TOKEN", "ghp_e2e");
        if json {
            c.arg("--json");
        }
        if dry {
            c.arg("--dry-run");
        }
        c
    };
    let args = |dry: bool| command(dry, true);
    let out = run(args(true)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "dry-run: would POST {}/repos/org/infra/issues/3/comments",
            gh.base_path()
        )),
        "{}",
        stderr(&out)
    );
    // The dry-run line is output, not a diagnostic: `-q` keeps it.
    let mut quiet = args(true);
    quiet.arg("-q");
    let out = run(quiet).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("dry-run: would POST "),
        "{}",
        stderr(&out)
    );
    // Human output: the outcome in words, not a Rust `Debug` name (`DryRun`, `Created(77)`).
    let out = run(command(true, false)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("plan comment: dry run: nothing written"),
        "{}",
        stderr(&out)
    );
    // GHOPS_LOG_FORMAT=json: the same report as a JSON event with its fields.
    let mut json_logs = args(true);
    json_logs.env("GHOPS_LOG_FORMAT", "json");
    let out = run(json_logs).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let event: Value = stderr(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["target"] == "ghops::dry_run")
        .unwrap_or_else(|| panic!("no dry-run event: {}", stderr(&out)));
    assert_eq!(event["fields"]["method"], "POST", "{event}");
    assert_eq!(
        event["fields"]["path"],
        format!("{}/repos/org/infra/issues/3/comments", gh.base_path()),
        "{event}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(event["fields"]["body"].as_str().unwrap()).unwrap(),
        json!({"body": body}),
        "{event}"
    );
    assert!(!stderr(&out).contains("dry-run: would"), "{}", stderr(&out));
    gh.assert_no_writes().await;
    let out = run(args(false)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v, json!({"outcome": "created", "comment_id": 77}));
    gh.assert_writes(&["POST /repos/org/infra/issues/3/comments"])
        .await;
}

#[tokio::test]
async fn filter_drops_exactly_the_failed_clusters() {
    let d = tempfile::tempdir().unwrap();
    let jobs = d.path().join("prod.json");
    std::fs::write(
        &jobs,
        r#"[{"cluster_name": "2i2c", "hub_name": "a"}, {"cluster_name": "2i2c-uk", "hub_name": "b"}]"#,
    )
    .unwrap();
    let failed = d.path().join("failed.txt");
    std::fs::write(&failed, "2i2c-uk\n").unwrap();
    let mut c = ghops();
    c.args(["plan", "filter", "--jobs"])
        .arg(&jobs)
        .arg("--failed")
        .arg(&failed);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        r#"[{"cluster_name":"2i2c","hub_name":"a"}]"#
    );
    assert!(
        stderr(&out).contains("skipping 2i2c-uk b"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn labels_steer_the_plan_and_null_means_none() {
    let mut c = ghops();
    c.args(example_args())
        .args(["--labels", r#"["deployer:skip-deploy"]"#, "--json"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    // The note the tables print is in the JSON too.
    assert_eq!(
        v,
        json!({"support": [], "staging": [], "prod": [],
               "notes": ["deployer:skip-deploy label detected: nothing will be deployed"]})
    );
    assert!(
        stderr(&out).contains("deployer:skip-deploy label detected"),
        "{}",
        stderr(&out)
    );

    // What `toJson(github.event.pull_request.labels.*.name)` gives on a push: no labels.
    let plain = {
        let mut c = ghops();
        c.args(example_args()).arg("--json");
        stdout(&run(c).await)
    };
    let mut c = ghops();
    c.args(example_args()).args(["--labels", "null", "--json"]);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), plain);
}

fn hostile_tree() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let cdir = d.path().join("config/clusters/x");
    std::fs::create_dir_all(&cdir).unwrap();
    std::fs::write(
        cdir.join("cluster.yaml"),
        "name: x\nprovider: gcp\nhubz: []\nhubs:\n  - name: staging\n    helm_chart: basehub\n    helm_chart_values_files: [staging.values.yaml]\n",
    )
    .unwrap();
    d
}

/// Every line a workflow-command parser would act on: lines starting with `::`.
fn commands(out: &std::process::Output) -> Vec<String> {
    stdout(out)
        .lines()
        .chain(stderr(out).lines())
        .filter(|l| l.trim_start().starts_with("::"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn in_actions_problems_are_annotations_and_pr_strings_cannot_inject_commands() {
    let d = hostile_tree();
    // A changed path whose directory name holds a newline and a workflow command (a JSON
    // list carries it), plus a cluster file with an unknown key.
    let list = d.path().join("changed.json");
    std::fs::write(
        &list,
        serde_json::to_string(&[
            "config/clusters/evil\n::warning title=pwned::owned,x/file.yaml",
            "config/clusters/x/cluster.yaml",
        ])
        .unwrap(),
    )
    .unwrap();
    let mut c = ghops();
    c.args(["plan", "--json", "--config-root"])
        .arg(d.path())
        .arg("--changed-files")
        .arg(&list)
        .env("GITHUB_ACTIONS", "true");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // stdout stays pure JSON (annotations go to stderr).
    serde_json::from_str::<Value>(&stdout(&out)).unwrap();
    assert_eq!(
        commands(&out),
        [
            "::warning file=config/clusters/x/cluster.yaml,line=3::config/clusters/x/cluster.yaml:3:1: unknown key `hubz` (did you mean `hubs`?); ignored"
        ],
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(
            "note: config/clusters/evil\\n::warning title=pwned::owned,x/ changed but no cluster"
        ),
        "{}",
        stderr(&out)
    );

    // An error tied to a file is an ::error annotation on its line; with a hostile directory
    // name the annotation's properties and the error line are escaped.
    let bad = d.path().join("config/clusters/evil\n::error::pwned");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("cluster.yaml"), "name: other\nprovider: gcp\n").unwrap();
    std::fs::write(
        &list,
        serde_json::to_string(&["config/clusters/evil\n::error::pwned/cluster.yaml"]).unwrap(),
    )
    .unwrap();
    let mut c = ghops();
    c.args(["plan", "--config-root"])
        .arg(d.path())
        .arg("--changed-files")
        .arg(&list)
        .env("GITHUB_ACTIONS", "true");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let cmds = commands(&out);
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    assert!(
        cmds[0].starts_with(
            "::error file=config/clusters/evil%0A%3A%3Aerror%3A%3Apwned/cluster.yaml::"
        ),
        "{cmds:?}"
    );
    assert!(
        stderr(&out).contains("error: config/clusters/evil\\n::error::pwned/cluster.yaml: name"),
        "{}",
        stderr(&out)
    );

    // A YAML error carries its line.
    std::fs::write(
        d.path().join("config/clusters/x/cluster.yaml"),
        "name: x\nprovider: [gcp\n",
    )
    .unwrap();
    std::fs::write(&list, "[\"config/clusters/x/cluster.yaml\"]").unwrap();
    let mut c = ghops();
    c.args(["plan", "--config-root"])
        .arg(d.path())
        .arg("--changed-files")
        .arg(&list)
        .env("GITHUB_ACTIONS", "true");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let cmds = commands(&out);
    assert!(
        cmds.len() == 1 && cmds[0].starts_with("::error file=config/clusters/x/cluster.yaml,line="),
        "{cmds:?}"
    );
}

/// Runs git in `dir` (a test repository: identity and no signing set here).
fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.org",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn a_branch_creation_push_plans_the_branchs_changes_against_the_default_branch() {
    // A config repository with the example tree on `main`; a pushed branch `hotfix` that
    // changes one hub's values file. On the push that created `hotfix`,
    // github.event.before is all zeros.
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    git(root, &["init", "-q"]);
    let cluster = root.join("config/clusters/c");
    std::fs::create_dir_all(&cluster).unwrap();
    std::fs::write(
        cluster.join("cluster.yaml"),
        "name: c\nprovider: gcp\nhubs:\n  - name: staging\n    helm_chart: basehub\n    helm_chart_values_files: [staging.values.yaml]\n  - name: prod\n    helm_chart: basehub\n    helm_chart_values_files: [prod.values.yaml]\n",
    )
    .unwrap();
    std::fs::write(cluster.join("prod.values.yaml"), "a: 1\n").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);
    git(root, &["checkout", "-qb", "hotfix"]);
    std::fs::write(cluster.join("prod.values.yaml"), "a: 2\n").unwrap();
    git(root, &["commit", "-qam", "the fix"]);
    // main moves on meanwhile: its changes are not the branch's.
    git(root, &["checkout", "-q", "main"]);
    std::fs::write(cluster.join("staging.values.yaml"), "b: 1\n").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "main moves on"]);
    git(root, &["checkout", "-q", "hotfix"]);
    let event = root.join("event.json");
    std::fs::write(
        &event,
        json!({"before": "0".repeat(40), "after": "x", "created": true,
               "repository": {"default_branch": "main"}})
        .to_string(),
    )
    .unwrap();
    let plan = |extra: &[&str], event: Option<&std::path::Path>| {
        let mut c = ghops();
        c.args(["plan", "--config-root"])
            .arg(root)
            .args(["--base", &"0".repeat(40), "--head", "HEAD", "--json"])
            .args(extra);
        if let Some(e) = event {
            c.env("GITHUB_EVENT_PATH", e);
        }
        c
    };
    // The default branch from the push event.
    let out = run(plan(&[], Some(&event))).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["prod"][0]["hub_name"], "prod");
    assert_eq!(v["prod"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["staging"][0]["reason"],
        "Following prod hubs require redeploy: prod"
    );
    // Or named.
    let out = run(plan(&["--default-branch", "main"], None)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(serde_json::from_str::<Value>(&stdout(&out)).unwrap(), v);
    // Neither: exit 2, saying what to pass.
    let out = run(plan(&[], None)).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--default-branch NAME"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn a_basehub_change_redeploys_daskhub_hubs_through_the_charts_chart_yaml() {
    let d = tempfile::tempdir().unwrap();
    let list = d.path().join("changed.txt");
    std::fs::write(&list, "helm-charts/basehub/templates/nfs.yaml\n").unwrap();
    let root = repo_root().join("examples/infrastructure");
    let mut c = ghops();
    c.args(["plan", "--config-root"])
        .arg(&root)
        .arg("--changed-files")
        .arg(&list)
        .arg("--json");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v = valid_json("plan", &out);
    let charts: std::collections::BTreeSet<&str> = v["staging"]
        .as_array()
        .unwrap()
        .iter()
        .chain(v["prod"].as_array().unwrap())
        .filter_map(|j| j["chart"].as_str())
        .collect();
    // examples/infrastructure/helm-charts/daskhub/Chart.yaml: file://../basehub.
    assert!(
        charts.contains("basehub") && charts.contains("daskhub"),
        "{v}"
    );
    assert!(!charts.contains("binderhub"), "{v}");
}

/// `plan comment --from-artifact` takes the triggering run's head SHA from the workflow_run
/// event (`--event`, else `$GITHUB_EVENT_PATH`): a PR whose head differs is refused before
/// any write; an event without `workflow_run.head_sha`, or none at all, is a usage error.
#[tokio::test]
async fn comment_from_artifact_reads_the_head_sha_from_the_event() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/org/infra/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7, "state": "open",
            "head": {"ref": "topic", "sha": "def456"}, "base": {"ref": "main", "sha": "b1"}
        })))
        .mount(&gh.server)
        .await;
    let d = tempfile::tempdir().unwrap();
    let art = d.path().join("artifact");
    std::fs::create_dir(&art).unwrap();
    std::fs::write(art.join("pr-number"), "7\n").unwrap();
    std::fs::write(art.join("plan.json"), "{}").unwrap();
    let event = d.path().join("event.json");
    std::fs::write(&event, r#"{"workflow_run": {"head_sha": "abc123"}}"#).unwrap();
    let not_a_run = d.path().join("push.json");
    std::fs::write(&not_a_run, r#"{"ref": "refs/heads/main"}"#).unwrap();
    let cmd = || {
        let mut c = ghops();
        c.args(["plan", "comment", "--from-artifact"])
            .arg(&art)
            .args(["--repo", "org/infra", "--api-url", &gh.uri()])
            .env("GH_TOKEN", "ghp_e2e");
        c
    };
    for via_env in [false, true] {
        let mut c = cmd();
        if via_env {
            c.env("GITHUB_EVENT_PATH", &event);
        } else {
            c.arg("--event").arg(&event);
        }
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("whose head is def456, but the triggering run built abc123"),
            "{}",
            stderr(&out)
        );
    }
    let mut c = cmd();
    c.arg("--event").arg(&not_a_run);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("workflow_run.head_sha is missing"),
        "{}",
        stderr(&out)
    );
    let out = run(cmd()).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--from-artifact needs --head-sha"),
        "{}",
        stderr(&out)
    );
    let mut c = cmd();
    c.arg("--event").arg(d.path().join("missing.json"));
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    gh.assert_no_writes().await;
}

/// `plan filter` needs the failures from `--failed` or `--run-id`: without either, the usage
/// error names both (it named `--failed` alone, as if `--run-id` did not exist); both at once
/// are refused.
#[tokio::test]
async fn filter_without_failures_names_both_sources() {
    let d = tempfile::tempdir().unwrap();
    let jobs = d.path().join("prod.json");
    std::fs::write(&jobs, "[]").unwrap();
    let mut c = ghops();
    c.args(["plan", "filter", "--jobs"]).arg(&jobs);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--failed <FILE>|--run-id <ID>"), "{err}");
    let mut c = ghops();
    c.args(["plan", "filter", "--jobs"])
        .arg(&jobs)
        .args(["--failed", "f.txt", "--run-id", "1"]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}
