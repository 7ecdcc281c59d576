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
        format!("#!/bin/sh\nenv > {}\necho deploying\n", dump.display()),
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
        stderr(&out).contains("octo/app staging: deployment 11 -> success"),
        "{}",
        stderr(&out)
    );
    // The hook's output, streamed with its prefix (a report event the CLI prints).
    assert!(
        stderr(&out).contains("[app#11 deploy] deploying\n"),
        "{}",
        stderr(&out)
    );
    let env = std::fs::read_to_string(&dump).unwrap();
    assert!(env.contains("GHOPS_DEPLOYMENT_ID=11"), "{env}");
    assert!(!env.contains(TOKEN), "the hook saw the token:\n{env}");
    assert!(!env.contains("GHOPS_SECRETS_FD"), "{env}");
    let states: Vec<String> = gh
        .writes()
        .await
        .iter()
        .map(|w| w.body["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, ["in_progress", "success"]);
}

#[tokio::test]
async fn config_targets_run_in_one_pass_and_bad_config_is_a_usage_error() {
    let gh = MockGitHub::start().await;
    for (env, id) in [("staging", 21u64), ("production", 22)] {
        Mock::given(method("GET"))
            .and(path("/repos/octo/app/deployments"))
            .and(wiremock::matchers::query_param("environment", env))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
                "id": id, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main",
                "task": "deploy", "environment": env, "payload": {}
            }])))
            .mount(&gh.server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/repos/octo/app/deployments/{id}/statuses")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&gh.server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path_regex("^/repos/octo/app/deployments/2[12]/statuses$"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .mount(&gh.server)
        .await;
    let d = tempfile::tempdir().unwrap();
    let hooks = d.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(
        hooks.join("deploy"),
        "#!/bin/sh\necho \"deploying $GHOPS_ENVIRONMENT\"\n",
    )
    .unwrap();
    std::fs::set_permissions(hooks.join("deploy"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = d.path().join("ghops.toml");
    let write_config = |extra: &str| {
        std::fs::write(
            &config,
            format!(
                "[agent]\nagent_id = \"from-config\"\nstate_dir = \"{state}\"\nlog_dir = \"{logs}\"\n\n\
                 [[agent.targets]]\nrepo = \"octo/app\"\nenvironment = \"staging\"\nhooks_dir = \"{hooks}\"\n\n\
                 [[agent.targets]]\nrepo = \"octo/app\"\nenvironment = \"production\"\nhooks_dir = \"{hooks}\"\nhook_timeout = \"{extra}\"\n",
                state = d.path().join("state").display(),
                logs = d.path().join("logs").display(),
                hooks = hooks.display(),
            ),
        )
        .unwrap();
    };
    let agent = |config: &std::path::Path| {
        let mut c = ghops();
        c.args(["agent", "run", "--once", "--api-url", &gh.uri()])
            .arg("--config")
            .arg(config)
            .arg("--state-dir")
            .arg(d.path().join("state"))
            .arg("--log-dir")
            .arg(d.path().join("logs"))
            .env("GH_TOKEN", TOKEN);
        c
    };

    // A bad duration names the file's field; nothing is requested.
    write_config("soon");
    let out = run(agent(&config)).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[[agent.targets]][1].hook_timeout"),
        "{}",
        stderr(&out)
    );
    gh.assert_no_writes().await;

    write_config("5m");
    let out = run(agent(&config)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("octo/app staging: deployment 21 -> success"),
        "{err}"
    );
    assert!(
        err.contains("octo/app production: deployment 22 -> success"),
        "{err}"
    );
    assert!(
        err.contains("deploying production"),
        "hook output streams to stderr: {err}"
    );
    let mut claims: Vec<(String, String)> = gh
        .writes()
        .await
        .iter()
        .map(|w| {
            (
                w.path.clone(),
                w.body["description"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(_, d)| d.starts_with("ghops-agent"))
        .collect();
    claims.sort();
    assert_eq!(
        claims,
        [
            (
                "/repos/octo/app/deployments/21/statuses".to_owned(),
                "ghops-agent from-config: deploying abcdef0".to_owned()
            ),
            (
                "/repos/octo/app/deployments/22/statuses".to_owned(),
                "ghops-agent from-config: deploying abcdef0".to_owned()
            ),
        ]
    );

    // No target at all: usage error.
    let empty = d.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let out = run(agent(&empty)).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no target"), "{}", stderr(&out));
}

#[tokio::test]
async fn status_lists_deployments_with_their_latest_status_and_agent() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 12, "sha": "bbbbbbb0123456789", "ref": "v1.3.0", "task": "deploy", "environment": "production",
             "creator": {"login": "octocat", "id": 1}, "created_at": "2026-11-24T10:00:00Z"},
            {"id": 11, "sha": "aaaaaaa0123456789", "ref": "v1.2.0", "task": "deploy", "environment": "production",
             "creator": {"login": "hubot", "id": 2}, "created_at": "2026-11-23T10:00:00Z"}
        ])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments/12/statuses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"state": "in_progress", "description": "ghops-agent deploy-eu-1: deploying bbbbbbb"}
        ])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments/11/statuses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"state": "error", "description": "superseded by #12"}
        ])))
        .mount(&gh.server)
        .await;
    let status = |json: bool| {
        let mut c = ghops();
        c.args([
            "agent",
            "status",
            "--repo",
            "octo/app",
            "--environment",
            "production",
            "--api-url",
            &gh.uri(),
        ])
        .env("GH_TOKEN", TOKEN);
        if json {
            c.arg("--json");
        }
        c
    };
    let out = run(status(true)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&crate::util::stdout(&out)).unwrap();
    assert_eq!(
        v,
        json!([
            {"id": 12, "ref": "v1.3.0", "sha": "bbbbbbb0123456789", "task": "deploy", "creator": "octocat",
             "created_at": "2026-11-24T10:00:00Z", "state": "in_progress",
             "description": "ghops-agent deploy-eu-1: deploying bbbbbbb"},
            {"id": 11, "ref": "v1.2.0", "sha": "aaaaaaa0123456789", "task": "deploy", "creator": "hubot",
             "created_at": "2026-11-23T10:00:00Z", "state": "error", "description": "superseded by #12"}
        ])
    );
    let out = run(status(false)).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let table = crate::util::stdout(&out);
    // Piped: plain aligned columns (boxes only on a terminal).
    assert_eq!(
        table,
        "\
Id  Ref     State        Creator  Created               Agent / description
12  v1.3.0  in_progress  octocat  2026-11-24T10:00:00Z  ghops-agent deploy-eu-1: deploying bbbbbbb
11  v1.2.0  error        hubot    2026-11-23T10:00:00Z  superseded by #12
"
    );
    gh.assert_no_writes().await;
}

#[tokio::test]
async fn sigterm_mid_hook_stops_it_reports_and_exits_zero() {
    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": 13, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main", "task": "deploy",
            "environment": "staging", "payload": {}
        }])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments/13/statuses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/app/deployments/13/statuses"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 1})))
        .mount(&gh.server)
        .await;
    let d = tempfile::tempdir().unwrap();
    let hooks = d.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let started = d.path().join("started");
    std::fs::write(
        hooks.join("deploy"),
        format!("#!/bin/sh\ntouch {}\nsleep 30\n", started.display()),
    )
    .unwrap();
    std::fs::set_permissions(hooks.join("deploy"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = ghops();
    c.args([
        "agent",
        "run",
        "--repo",
        "octo/app",
        "--environment",
        "staging",
        "--agent-id",
        "e2e",
    ])
    .args(["--interval", "1h", "--grace", "1s", "--api-url", &gh.uri()])
    .arg("--hooks-dir")
    .arg(&hooks)
    .arg("--state-dir")
    .arg(d.path().join("state"))
    .arg("--log-dir")
    .arg(d.path().join("logs"))
    .env("GH_TOKEN", TOKEN)
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the hook never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let t0 = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(15),
        "did not stop the 30s hook"
    );
    let posts: Vec<(String, String)> = gh
        .writes()
        .await
        .iter()
        .map(|w| {
            (
                w.body["state"].as_str().unwrap().to_owned(),
                w.body["description"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        posts,
        [
            (
                "in_progress".to_owned(),
                "ghops-agent e2e: deploying abcdef0".to_owned()
            ),
            ("error".to_owned(), "agent shut down".to_owned()),
        ]
    );
    // Settled: a restart does not report it again.
    let journal = std::fs::read_to_string(d.path().join("state/journal.json")).unwrap();
    assert_eq!(journal.trim(), "{}");
}
