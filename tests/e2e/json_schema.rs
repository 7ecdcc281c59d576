//! Issue 18: every `--json` output matches the JSON Schema `ghops schema <name>` prints for it.
//! The other e2e tests check the output of the commands they run with
//! [`valid_json`](crate::util::valid_json); this file runs the commands no other test runs
//! with `--json` (against the stateful fake GitHub), and checks that every schema is exercised
//! by at least one real run.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use ghops_test_support::fake::FakeGitHub;

use crate::util::{ghops, run, stderr, stdout, valid_json};

const TOKEN: &str = "ghp_jsonSchema0123456789SECRET";

/// `ghops --json ARGS` in `dir` with a token for `gh` (when given).
fn cmd(gh: Option<&FakeGitHub>, dir: &Path, args: &[&str]) -> Command {
    let mut c = ghops();
    for k in [
        "GITHUB_ACTOR",
        "GITHUB_TRIGGERING_ACTOR",
        "GITHUB_SHA",
        "GITHUB_HEAD_REF",
        "GITHUB_REF",
        "GITHUB_REF_NAME",
        "GITHUB_SERVER_URL",
        "CI",
    ] {
        c.env_remove(k);
    }
    if let Some(gh) = gh {
        c.env("GH_TOKEN", TOKEN).env("GITHUB_API_URL", gh.uri());
    }
    c.current_dir(dir).arg("--json").args(args);
    c
}

/// Runs `ghops --json ARGS`, expects `exit`, and returns its output checked against `schema`.
async fn json_of(
    schema: &str,
    gh: Option<&FakeGitHub>,
    dir: &Path,
    args: &[&str],
    exit: i32,
) -> serde_json::Value {
    let out = run(cmd(gh, dir, args)).await;
    assert_eq!(
        out.status.code(),
        Some(exit),
        "{args:?}:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    valid_json(schema, &out)
}

/// Every name `ghops schema --list` gives is checked against a real run somewhere in the e2e
/// tests: a `valid_json("<name>", …)` call, or a CLI ↔ serve parity case (whose `--json`
/// output is checked against the schema of its command).
#[test]
fn every_schema_is_checked_against_a_real_run() {
    let out = ghops().args(["schema", "--list"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert!(
        names.len() >= 20 && names.contains(&"plan".to_owned()),
        "{names:?}"
    );
    let dir = ghops_test_support::repo_root().join("tests/e2e");
    let mut checked = BTreeSet::new();
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for part in text.split("valid_json(\"").skip(1) {
            checked.extend(part.split('"').next().map(str::to_owned));
        }
        for part in text
            .split("json_of(\n")
            .skip(1)
            .chain(text.split("json_of(").skip(1))
        {
            if let Some(name) = part.trim_start().strip_prefix('"') {
                checked.extend(name.split('"').next().map(str::to_owned));
            }
        }
        // Parity cases: `cli: &["release", "publish-hook"]`.
        for part in text.split("cli: &[").skip(1) {
            let words: Vec<&str> = part
                .split(']')
                .next()
                .unwrap_or_default()
                .split(',')
                .map(|w| w.trim().trim_matches('"'))
                .take_while(|w| !w.is_empty() && !w.starts_with('-'))
                .collect();
            checked.insert(words.join("-"));
        }
    }
    let unchecked: Vec<&String> = names.iter().filter(|n| !checked.contains(*n)).collect();
    assert!(
        unchecked.is_empty(),
        "schemas no e2e test checks a real output against: {unchecked:?}"
    );
}

/// The check is not vacuous: one command's output against another's schema, or with an
/// undocumented key, or a Unix time where RFC 3339 is promised, fails.
#[test]
fn a_mismatching_output_fails_the_check() {
    let schema = |name: &str| -> serde_json::Value {
        let o = ghops().args(["schema", name]).output().unwrap();
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let check = ghops_test_support::schema::validate;
    let auth = serde_json::json!({"api_url": "https://api.github.com", "identity": {
        "login": "octocat", "kind": "user", "token_kind": "classic_pat", "scopes": [],
        "permissions": null, "installation_id": null, "rate_limiting_disabled": false,
        "rate_limit": {"limit": 5000, "remaining": 4999, "reset": "2030-03-17T17:46:40Z"}}});
    assert_eq!(check(&schema("auth-status"), &auth), Vec::<String>::new());
    assert!(!check(&schema("plan"), &auth).is_empty());
    let mut extra = auth.clone();
    extra["identity"]["token"] = "x".into();
    assert!(!check(&schema("auth-status"), &extra).is_empty());
    let mut unix = auth;
    unix["identity"]["rate_limit"]["reset"] = 1_900_000_000.into();
    assert!(!check(&schema("auth-status"), &unix).is_empty());
}

#[tokio::test]
async fn plan_comment_dry_run() {
    let gh = FakeGitHub::start("octo/hello").await;
    gh.add_pull(7, "feature-x", &"a".repeat(40), "alice");
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("plan.md"),
        "<!-- deployment-plan -->\n## Deployment plan\n\nNothing to deploy.\n",
    )
    .unwrap();
    let v = json_of(
        "plan-comment",
        Some(&gh),
        d.path(),
        &[
            "plan",
            "comment",
            "--repo",
            "octo/hello",
            "--pr",
            "7",
            "--body",
            "plan.md",
            "--dry-run",
        ],
        0,
    )
    .await;
    assert_eq!(v["outcome"], "dry_run", "{v}");
    assert_eq!(gh.write_count(), 0);
    gh.assert_no_unrouted();
}

/// `env sync`, `env record`, `env status`, `gate check` (approved), `gate approve`.
#[tokio::test]
async fn env_and_gate_commands() {
    let gh = FakeGitHub::start("octo/hello").await;
    let d = tempfile::tempdir().unwrap();
    gh.set_permission("maintainer", "maintain");
    gh.add_environment("production");
    let sha = "a".repeat(40);
    gh.add_pull(7, "feature-x", &sha, "alice");
    gh.label(7, "deploy", "maintainer");
    let event = gh.pull_request_event(7, "labeled", Some("deploy"), "maintainer");
    std::fs::write(d.path().join("event.json"), event.to_string()).unwrap();
    let args = [
        "env",
        "sync",
        "--repo",
        "octo/hello",
        "--event",
        "event.json",
    ];
    let v = json_of("env-sync", Some(&gh), d.path(), &args, 0).await;
    assert_eq!(v["deploy"][0]["environment"], "preview-feature-x", "{v}");
    let v = json_of(
        "env-record",
        Some(&gh),
        d.path(),
        &[
            "env",
            "record",
            "--repo",
            "octo/hello",
            "--environment",
            "preview-feature-x",
            "--state",
            "success",
            "--pr",
            "7",
            "--sha",
            &sha,
            "--actor",
            "maintainer",
            "--url",
            "https://feature-x.preview.example.com",
            "--transient",
        ],
        0,
    )
    .await;
    assert_eq!(v["created"], true, "{v}");
    let v = json_of(
        "env-status",
        Some(&gh),
        d.path(),
        &["env", "status", "--repo", "octo/hello"],
        0,
    )
    .await;
    // Full SHAs and RFC 3339 times (the schema checks the time's format).
    assert_eq!(v[0]["sha"], sha.as_str(), "{v}");
    assert!(v[0]["updated_at"].is_string(), "{v}");
    let main = gh.state().refs["heads/main"].clone();
    gh.add_release_staged("v1.0.0", &main);
    let v = json_of(
        "gate-check",
        Some(&gh),
        d.path(),
        &[
            "gate",
            "check",
            "--repo",
            "octo/hello",
            "--environment",
            "production",
            "--sha",
            &main,
            "--actor",
            "maintainer",
        ],
        0,
    )
    .await;
    assert_eq!(v["approved_by"], "maintainer", "{v}");
    gh.add_pending(123_456, "production", true);
    let v = json_of(
        "gate-approve",
        Some(&gh),
        d.path(),
        &[
            "gate",
            "approve",
            "--repo",
            "octo/hello",
            "--run-id",
            "123456",
            "--environment",
            "production",
            "--actor",
            "maintainer",
        ],
        0,
    )
    .await;
    assert_eq!(v["run_id"], 123_456, "{v}");
    gh.assert_no_unrouted();
}

/// `init --list`, `init --dry-run`, `init` (written, then kept: exit 1).
#[tokio::test]
async fn init_outputs() {
    let d = tempfile::tempdir().unwrap();
    let v = json_of("init-list", None, d.path(), &["init", "--list"], 0).await;
    assert_eq!(v[0]["name"], "feature", "{v}");
    let v = json_of(
        "init-dry-run",
        None,
        d.path(),
        &["init", "feature", "--dry-run"],
        0,
    )
    .await;
    assert!(v[0]["contents"].is_string(), "{v}");
    let v = json_of("init", None, d.path(), &["init", "feature"], 0).await;
    assert_eq!(v[0]["result"], "created", "{v}");
    let wf = v[0]["path"].as_str().unwrap().to_owned();
    std::fs::write(d.path().join(&wf), "# mine\n").unwrap();
    let v = json_of("init", None, d.path(), &["init", "feature"], 1).await;
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|w| w["path"] == wf.as_str() && w["result"] == "kept"),
        "{v}"
    );
}

#[tokio::test]
async fn agent_create() {
    let gh = FakeGitHub::start("org/app").await;
    let d = tempfile::tempdir().unwrap();
    gh.add_environment("production");
    let main = gh.state().refs["heads/main"].clone();
    gh.set_ref("tags/v1.2.0", &main);
    let v = json_of(
        "agent-create",
        Some(&gh),
        d.path(),
        &[
            "agent",
            "create",
            "--repo",
            "org/app",
            "--ref",
            "v1.2.0",
            "--environment",
            "production",
        ],
        0,
    )
    .await;
    assert!(v["id"].is_u64() && v.get("state").is_none(), "{v}");
    gh.assert_no_unrouted();
}

#[tokio::test]
async fn pr_bridge_cleanup_dry_run() {
    let gh = FakeGitHub::start("octo/hello").await;
    let d = tempfile::tempdir().unwrap();
    // A test branch whose PR has no status comment: kept or skipped, with the reason.
    let sha = "b".repeat(40);
    gh.add_pull(7, "feature-x", &sha, "alice");
    gh.set_ref("heads/test-this-pr/7", &sha);
    let v = json_of(
        "pr-bridge-cleanup",
        Some(&gh),
        d.path(),
        &[
            "pr-bridge",
            "cleanup",
            "--repo",
            "octo/hello",
            "--older-than",
            "7d",
            "--dry-run",
        ],
        0,
    )
    .await;
    assert_eq!(v[0]["branch"], "test-this-pr/7", "{v}");
    gh.assert_no_unrouted();
}
