//! `ghops agent` as the real binary: one pass, and a hook never sees the token.

use std::os::unix::fs::PermissionsExt;

use ghops_test_support::MockGitHub;
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, run, stderr};

const TOKEN: &str = "ghp_agentE2EtokenNEVERinHOOKS";

#[tokio::test]
async fn run_once_deploys_and_the_hook_cannot_see_the_token() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": 11, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main", "task": "deploy",
            "environment": "staging", "payload": {"x": 1}
        }])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments/11/statuses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/repos/octo/app/deployments/11/statuses$"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .mount(&gh.server)
        .await;
    let d = tempfile::tempdir().unwrap();
    let hooks = d.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let dump = d.path().join("env.txt");
    std::fs::write(
        hooks.join("deploy"),
        format!("#!/bin/sh\nenv > {}\n", dump.display()),
    )
    .unwrap();
    std::fs::set_permissions(hooks.join("deploy"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = ghops();
    c.args([
        "agent",
        "run",
        "--once",
        "--repo",
        "octo/app",
        "--environment",
        "staging",
        "--agent-id",
        "e2e",
    ])
    .arg("--hooks-dir")
    .arg(&hooks)
    .arg("--state-dir")
    .arg(d.path().join("state"))
    .arg("--log-dir")
    .arg(d.path().join("logs"))
    .args(["--api-url", &gh.uri()])
    .env("GH_TOKEN", TOKEN)
    .env("GITHUB_TOKEN", TOKEN);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("deployment 11 -> success"),
        "{}",
        stderr(&out)
    );
    let env = std::fs::read_to_string(&dump).unwrap();
    assert!(env.contains("GHOPS_DEPLOYMENT_ID=11"), "{env}");
    assert!(!env.contains(TOKEN), "the hook saw the token:\n{env}");
    let states: Vec<String> = gh
        .writes()
        .await
        .iter()
        .map(|w| w.body["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, ["in_progress", "success"]);
}
