//! `ghops agent` as the real binary: one pass, and a hook never sees the token.

use std::os::unix::fs::PermissionsExt;

use ghops_test_support::MockGitHub;
use ghops_test_support::fake::{FakeGitHub, Fault};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::util::{ghops, http_get, run, stderr, terminate};

const TOKEN: &str = "ghp_agentE2EtokenNEVERinHOOKS";

#[tokio::test]
async fn run_once_deploys_and_the_hook_cannot_see_the_token() {
    let gh = FakeGitHub::start("octo/app").await;
    gh.add_raw_deployment(json!({
        "id": 11, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main", "task": "deploy",
        "environment": "staging", "payload": {"x": 1}
    }));
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
    let gh = FakeGitHub::start("octo/app").await;
    for (env, id) in [("staging", 21u64), ("production", 22)] {
        gh.add_raw_deployment(json!({
            "id": id, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main",
            "task": "deploy", "environment": env, "payload": {}
        }));
    }
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
            {"id": 12, "sha": "bbbbbbb0123456789bbbbbbbbbbbbbbbbbbbbbbb", "ref": "v1.3.0", "task": "deploy", "environment": "production",
             "creator": {"login": "octocat", "id": 1}, "created_at": "2026-11-24T10:00:00Z"},
            {"id": 11, "sha": "aaaaaaa0123456789aaaaaaaaaaaaaaaaaaaaaaa", "ref": "v1.2.0", "task": "deploy", "environment": "production",
             "creator": {"login": "hubot", "id": 2}, "created_at": "2026-11-23T10:00:00Z"}
        ])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments/12/statuses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 120, "state": "in_progress", "description": "ghops-agent deploy-eu-1: deploying bbbbbbb"}
        ])))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments/11/statuses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 110, "state": "error", "description": "superseded by #12"}
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
    let v = crate::util::valid_json("agent-status", &out);
    assert_eq!(
        v,
        json!([
            {"id": 12, "ref": "v1.3.0", "sha": "bbbbbbb0123456789bbbbbbbbbbbbbbbbbbbbbbb", "task": "deploy", "creator": "octocat",
             "created_at": "2026-11-24T10:00:00Z", "state": "in_progress",
             "description": "ghops-agent deploy-eu-1: deploying bbbbbbb"},
            {"id": 11, "ref": "v1.2.0", "sha": "aaaaaaa0123456789aaaaaaaaaaaaaaaaaaaaaaa", "task": "deploy", "creator": "hubot",
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
    let gh = FakeGitHub::start("octo/app").await;
    gh.add_raw_deployment(json!({
        "id": 13, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main", "task": "deploy",
        "environment": "staging", "payload": {}
    }));
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
    ghops_test_support::wait_until("the hook to start", || started.exists()).await;
    let t0 = std::time::Instant::now();
    let out = terminate(child).await;
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

// ---- #20: two real agents, and a crash at every phase ---------------------------------------

/// A hooks dir whose `deploy` appends `$GHOPS_DEPLOYMENT_ID` to `runs`.
fn counting_hooks(d: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let hooks = d.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let runs = d.join("runs");
    std::fs::write(
        hooks.join("deploy"),
        format!(
            "#!/bin/sh\necho \"$GHOPS_DEPLOYMENT_ID\" >> {}\n",
            runs.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(hooks.join("deploy"), std::fs::Permissions::from_mode(0o755)).unwrap();
    (hooks, runs)
}

fn deployment(id: u64) -> serde_json::Value {
    json!({"id": id, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main",
           "task": "deploy", "environment": "production", "payload": {}})
}

/// `ghops agent run --once` as agent `name` with its own state and log dirs under `d`.
fn agent_once(
    gh: &MockGitHub,
    d: &std::path::Path,
    hooks: &std::path::Path,
    name: &str,
) -> std::process::Command {
    let mut c = agent_run(gh, d, hooks, name);
    c.arg("--once");
    c
}

/// `ghops agent run` (polling) on octo/app production as agent `name` with its own state and
/// log dirs under `d`.
fn agent_run(
    gh: &MockGitHub,
    d: &std::path::Path,
    hooks: &std::path::Path,
    name: &str,
) -> std::process::Command {
    let mut c = ghops();
    c.args([
        "agent",
        "run",
        "--repo",
        "octo/app",
        "--environment",
        "production",
    ])
    .args(["--agent-id", name, "--api-url", &gh.uri()])
    .arg("--hooks-dir")
    .arg(hooks)
    .arg("--state-dir")
    .arg(d.join(name).join("state"))
    .arg("--log-dir")
    .arg(d.join(name).join("logs"))
    .env("GH_TOKEN", TOKEN);
    c
}

#[tokio::test]
async fn two_real_agents_on_one_target_never_both_run_a_hook() {
    let gh = FakeGitHub::start("octo/app").await;
    // Each agent's look at the latest status predates the other's claim, and claims are
    // answered late: both claim, the race the lock must settle.
    let d = tempfile::tempdir().unwrap();
    let (hooks, runs) = counting_hooks(d.path());
    // Round one also has an older deployment: only the agent holding the newest one's lock
    // marks it superseded.
    gh.add_raw_deployment(deployment(100));
    for id in [101u64, 102, 103] {
        gh.add_raw_deployment(deployment(id));
        gh.stale_latest_reads(id, 2);
        gh.delay_status_posts("in_progress", std::time::Duration::from_millis(300));
        let (a, b) = tokio::join!(
            run(agent_once(&gh, d.path(), &hooks, "agent-a")),
            run(agent_once(&gh, d.path(), &hooks, "agent-b")),
        );
        assert!(a.status.success(), "{}", stderr(&a));
        assert!(b.status.success(), "{}", stderr(&b));
        let lines = std::fs::read_to_string(&runs).unwrap_or_default();
        assert_eq!(
            lines.lines().filter(|l| *l == id.to_string()).count(),
            1,
            "deployment {id} ran {lines:?}\n{}\n{}",
            stderr(&a),
            stderr(&b)
        );
        assert_eq!(gh.terminal_count(id), 1, "{:?}", gh.statuses(id));
        assert_eq!(gh.states(id).last().map(String::as_str), Some("success"));
        // Both claimed; the loser says why it ran nothing.
        assert_eq!(gh.in_progress_count(id), 2, "{:?}", gh.statuses(id));
        let both = stderr(&a) + &stderr(&b);
        assert!(both.contains("claimed first by another agent"), "{both}");
    }
    // No later round touched an earlier deployment.
    for id in [101u64, 102, 103] {
        assert_eq!(gh.terminal_count(id), 1, "{:?}", gh.statuses(id));
    }
    assert_eq!(gh.states(100), ["error"], "{:?}", gh.statuses(100));
    assert_eq!(gh.statuses(100)[0]["description"], "superseded by #101");
}

#[tokio::test]
async fn a_crash_at_any_phase_runs_the_hook_once_and_reports_once() {
    const PHASES: &[&[&str]] = &[
        &["claimed"],
        &["hook_started"],
        &["hooks_done"],
        &["done_journalled"],
        &["final_posted"],
        &["hooks_done", "recovery_posted"],
        &["done_journalled", "recovery_posted"],
    ];
    for crashes in PHASES {
        for recovery_post_fails in [false, true] {
            let case = format!("{crashes:?} recovery post fails: {recovery_post_fails}");
            let gh = FakeGitHub::start("octo/app").await;
            gh.add_raw_deployment(deployment(7));
            let d = tempfile::tempdir().unwrap();
            let (hooks, runs) = counting_hooks(d.path());
            for phase in *crashes {
                let mut c = agent_once(&gh, d.path(), &hooks, "agent-a");
                c.env("GHOPS_TEST_CRASH_AT", phase);
                let out = run(c).await;
                assert!(
                    !out.status.success(),
                    "{case}: no crash at {phase}: {}",
                    stderr(&out)
                );
            }
            if recovery_post_fails {
                // The next run's first status posts all fail (never applied).
                for _ in 0..4 {
                    gh.fail_status_post(None, Fault::Before);
                }
            }
            for _ in 0..2 {
                let out = run(agent_once(&gh, d.path(), &hooks, "agent-a")).await;
                let _ = out;
            }
            // A hook orphaned by the crash finishes on its own.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !runs.exists() && std::time::Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let lines = std::fs::read_to_string(&runs).unwrap_or_default();
            assert_eq!(lines, "7\n", "{case}: hook runs");
            assert_eq!(gh.terminal_count(7), 1, "{case}: {:?}", gh.statuses(7));
            assert_eq!(gh.in_progress_count(7), 1, "{case}: {:?}", gh.statuses(7));
            let journal =
                std::fs::read_to_string(d.path().join("agent-a/state/journal.json")).unwrap();
            assert_eq!(journal.trim(), "{}", "{case}");
        }
    }
}

// ---- #18: the documented first run ------------------------------------------------------------

/// The `ghops …` lines of the docs block marked `<!-- e2e: first-run -->`, split into words
/// (`''` is an empty word), and the folder its `cd` line names.
fn first_run_block() -> (String, Vec<Vec<String>>) {
    let docs =
        std::fs::read_to_string(ghops_test_support::repo_root().join("docs/deploy-agent.md"))
            .unwrap();
    let block = docs
        .split("<!-- e2e: first-run -->\n```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the first-run block");
    let mut dir = String::new();
    let mut commands = Vec::new();
    for line in block.lines() {
        let words: Vec<String> = line
            .split('#')
            .next()
            .unwrap()
            .split_whitespace()
            .map(|w| w.trim_matches('\'').to_owned())
            .collect();
        match words.first().map(String::as_str) {
            Some("cd") => dir = words[1].clone(),
            Some("ghops") => commands.push(words[1..].to_vec()),
            _ => {}
        }
    }
    (dir, commands)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[tokio::test]
async fn the_documented_first_run_works() {
    let (dir, commands) = first_run_block();
    assert_eq!(dir, "examples/deploy-agent");
    assert_eq!(commands.len(), 3, "{commands:?}");
    let gh = FakeGitHub::start("octo-org/app").await;
    // A copy of the example: the run writes .ghops-agent/ into its working directory.
    let d = tempfile::tempdir().unwrap();
    let work = d.path().join("deploy-agent");
    copy_dir(&ghops_test_support::repo_root().join(&dir), &work);
    let ghops_in = |args: &[String]| {
        let mut c = ghops();
        c.args(args)
            .args(["--api-url", &gh.uri()])
            .current_dir(&work)
            .env("GH_TOKEN", TOKEN);
        c
    };
    // 1. create: one staging deployment.
    let out = run(ghops_in(&commands[0])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let staging = gh.deployments()[0]["id"].as_u64().unwrap();
    assert_eq!(gh.states(staging), Vec::<String>::new());
    // 2. one pass over staging with `--hooks-dir hooks` and the default state and log dirs.
    let out = run(ghops_in(&commands[1])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "octo-org/app staging: deployment {staging} -> success"
        )),
        "{err}"
    );
    assert!(
        err.contains("octo-org/app staging: pass: 1 ran, 0 superseded, 0 skipped"),
        "{err}"
    );
    assert!(err.contains("--set replicas=2"), "{err}");
    assert_eq!(gh.states(staging), ["in_progress", "success"]);
    assert_eq!(
        gh.statuses(staging)[1]["environment_url"],
        "https://staging.app.example.org"
    );
    assert!(work.join(".ghops-agent/state/journal.json").is_file());
    assert!(work.join(".ghops-agent/state/heartbeat").is_file());
    assert!(
        work.join(format!(".ghops-agent/logs/app-{staging}/payload.json"))
            .is_file()
    );
    // 3. every target of the example's ghops.toml, with a JSON summary on stdout.
    let production = staging + 100;
    gh.add_raw_deployment(
        json!({"id": production, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "v1.0.0",
                    "task": "deploy", "environment": "production", "payload": {"replicas": 5}}),
    );
    let out = run(ghops_in(&commands[2])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--set replicas=5"), "{err}");
    // An idle target says so once (then every 10 minutes), not per poll.
    assert!(
        err.contains("octo-org/app staging: idle: nothing to deploy (polled 1x in 0s)"),
        "{err}"
    );
    let summary = crate::util::valid_json("agent-run", &out);
    assert_eq!(
        summary,
        json!([
            {"repo": "octo-org/app", "environment": "staging", "ran": [], "superseded": [],
             "skipped": [], "recovered": [], "retry": false, "error": null},
            {"repo": "octo-org/app", "environment": "production",
             "ran": [{"deployment": production, "state": "success"}], "superseded": [],
             "skipped": [], "recovered": [], "retry": false, "error": null}
        ])
    );
    assert_eq!(
        gh.statuses(production)[0]["description"],
        "ghops-agent deploy-eu-1: deploying abcdef0"
    );
    assert_eq!(
        gh.statuses(production)[1]["log_url"],
        format!("https://ci.example/deploys/octo-org/app/{production}")
    );
}

#[tokio::test]
async fn a_missing_hooks_dir_is_refused_at_start() {
    let gh = MockGitHub::start().await;
    let d = tempfile::tempdir().unwrap();
    let mut c = ghops();
    c.args([
        "agent",
        "run",
        "--once",
        "--repo",
        "octo/app",
        "--environment",
        "staging",
    ])
    .args(["--hooks-dir", "hooks", "--api-url", &gh.uri()])
    .current_dir(d.path())
    .env("GH_TOKEN", TOKEN);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let want = format!(
        "hooks dir {}/hooks (target octo/app staging): not a directory",
        d.path().display()
    );
    assert!(stderr(&out).contains(&want), "{}", stderr(&out));
    assert!(gh.seen().await.is_empty());
}

#[tokio::test]
async fn github_deploy_agents_flag_names_are_accepted() {
    // `github-deploy-agent --repository o/r --env e --sleep 60s --once`, hooks in ./hooks.
    let gh = FakeGitHub::start("octo/app").await;
    gh.add_raw_deployment(deployment(5));
    let d = tempfile::tempdir().unwrap();
    let (_hooks, runs) = counting_hooks(d.path());
    let mut c = ghops();
    c.args(["agent", "run", "--once", "--legacy-env"])
        .args([
            "--repository",
            "octo/app",
            "--env",
            "production",
            "--sleep",
            "60s",
        ])
        .args(["--api-url", &gh.uri()])
        .current_dir(d.path())
        .env("GH_TOKEN", TOKEN);
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&runs).unwrap(), "5\n");
    assert_eq!(gh.states(5), ["in_progress", "success"]);
}

/// `[agent]` is resolved by one constructor for `agent run` and `ghops serve`: a target listed
/// twice stops both at start with the same message (before, only `agent run` refused it).
#[tokio::test]
async fn serve_refuses_a_duplicate_agent_target_as_agent_run_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("hooks")).unwrap();
    let path = dir.path().join("ghops.toml");
    std::fs::write(
        &path,
        "[agent]\n[[agent.targets]]\nrepo = \"o/r\"\nenvironment = \"prod\"\n\
         [[agent.targets]]\nrepo = \"O/R\"\nenvironment = \"prod\"\n",
    )
    .unwrap();
    for args in [
        vec!["serve", "--bind", "127.0.0.1:0"],
        vec!["agent", "run", "--once"],
    ] {
        let mut c = ghops();
        c.args(&args)
            .current_dir(dir.path())
            .env("GHOPS_CONFIG", &path)
            .env("GITHUB_API_URL", "http://127.0.0.1:9")
            .env("GHOPS_APP_ID", "12")
            .env("GHOPS_APP_PRIVATE_KEY", ghops_test_support::TEST_APP_KEY)
            .env("GHOPS_WEBHOOK_SECRET", "e2e-secret");
        let out = run(c).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("target O/R prod is listed twice (one deploy at a time per target)"),
            "{args:?}: {err}"
        );
    }
}

/// `[agent] legacy_env = true` is honoured under `ghops serve` (same constructor): the hook
/// sees github-deploy-agent's names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_honours_legacy_env_from_the_config() {
    let gh = FakeGitHub::start("octo/app").await;
    crate::serve::mount_app(&gh).await;
    let ok = |v: serde_json::Value| ResponseTemplate::new(200).set_body_json(v);
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/installation"))
        .respond_with(ok(
            json!({"id": 1, "app_id": 12, "account": {"login": "octo", "id": 1}}),
        ))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/app/installations/1"))
        .respond_with(ok(
            json!({"id": 1, "app_slug": "ghops-e2e", "permissions": {
            "deployments": "write", "metadata": "read"}}),
        ))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/installations/1/access_tokens"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "token": "ghs_e2eAgentInstallationToken", "expires_at": "2999-01-01T00:00:00Z",
            "permissions": {"deployments": "write", "metadata": "read"}
        })))
        .mount(&gh.server)
        .await;
    gh.add_raw_deployment(deployment(9));
    let d = tempfile::tempdir().unwrap();
    let hooks = d.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let seen = d.path().join("seen.env");
    std::fs::write(
        hooks.join("deploy"),
        format!("#!/bin/sh\nenv > {}\n", seen.display()),
    )
    .unwrap();
    std::fs::set_permissions(hooks.join("deploy"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = format!(
        "[agent]\nlegacy_env = true\nagent_id = \"in-serve\"\nstate_dir = \"{s}\"\nlog_dir = \"{l}\"\n\
         [[agent.targets]]\nrepo = \"octo/app\"\nenvironment = \"production\"\nhooks_dir = \"{h}\"\n",
        s = d.path().join("state").display(),
        l = d.path().join("logs").display(),
        h = hooks.display(),
    );
    let uri = gh.uri();
    let (code, err) = tokio::task::spawn_blocking(move || {
        let s = crate::serve::Serve::start(&uri, &config, &[]);
        s.wait_for("the agent's first pass ran the hook", || {
            std::fs::read_to_string(&seen).is_ok_and(|e| e.contains("GITHUB_ENV="))
        });
        let env = std::fs::read_to_string(&seen).unwrap();
        for line in [
            "GITHUB_ENV=production",
            "GITHUB_OWNER=octo",
            "GITHUB_REPO=app",
            "GITHUB_DEPLOYMENT_ID=9",
        ] {
            assert!(env.lines().any(|l| l == line), "{line} missing:\n{env}");
        }
        s.stop()
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{err}");
}

#[tokio::test]
async fn metrics_bind_serves_health_readiness_and_agent_metrics() {
    let gh = FakeGitHub::start("octo/app").await;
    gh.add_raw_deployment(deployment(21));
    let d = tempfile::tempdir().unwrap();
    let hooks = d.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let (started, go) = (d.path().join("started"), d.path().join("go"));
    // The first pass holds in its hook until the test says go.
    std::fs::write(
        hooks.join("deploy"),
        format!(
            "#!/bin/sh\ntouch {}\nwhile [ ! -e {} ]; do sleep 0.05; done\n",
            started.display(),
            go.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(hooks.join("deploy"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = agent_run(&gh, d.path(), &hooks, "e2e");
    c.args(["--interval", "1h", "--metrics-bind", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    // Port 0: the agent binds it and says where (no port picked beforehand to race for).
    let log = crate::util::Log::follow(&mut child);
    let addr = log.metrics_addr(&mut child).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let wait = |what: &str| {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
    };
    while !started.exists() {
        wait("the hook never started");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Mid-pass: alive, not ready (no pass completed yet).
    assert_eq!(http_get(addr, "/healthz").await, (200, "ok\n".into()));
    assert_eq!(http_get(addr, "/readyz").await, (503, "not ready\n".into()));
    std::fs::write(&go, "").unwrap();
    while http_get(addr, "/readyz").await.0 != 200 {
        wait("never ready");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (status, text) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let labels = r#"repo="octo/app",environment="production""#;
    for line in [
        format!(r#"ghops_agent_passes_total{{{labels},outcome="ok"}} 1"#),
        format!(r#"ghops_agent_passes_total{{{labels},outcome="failed"}} 0"#),
        format!(r#"ghops_agent_deployments_total{{{labels},outcome="success"}} 1"#),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    assert!(
        text.contains(&format!(
            "ghops_agent_last_successful_pass_timestamp_seconds{{{labels}}} "
        )),
        "{text}"
    );
    let out = terminate(child).await;
    let err = log.finish();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("metrics and health on http://{addr}")),
        "{err}"
    );
    // The listener stopped with the agent.
    assert_eq!(http_get(addr, "/healthz").await.0, 0);
}

#[tokio::test]
async fn a_taken_metrics_address_is_refused_before_any_deploy() {
    let gh = FakeGitHub::start("octo/app").await;
    gh.add_raw_deployment(deployment(22));
    let d = tempfile::tempdir().unwrap();
    let (hooks, runs) = counting_hooks(d.path());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = agent_once(&gh, d.path(), &hooks, "a");
    c.args(["--metrics-bind", &taken.local_addr().unwrap().to_string()]);
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--metrics-bind: cannot listen on"),
        "{}",
        stderr(&out)
    );
    assert!(!runs.exists(), "a hook ran");
    assert!(gh.writes().await.is_empty());
}

/// `agent create --wait` while the agent is still deploying, stderr not a terminal: one
/// progress line (the latest status and its description, time waited, next check), the
/// timeout honoured (1 s with the 5 s poll: exit 5).
#[tokio::test]
async fn create_wait_prints_progress_when_stderr_is_not_a_terminal() {
    let gh = MockGitHub::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/app/deployments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 12, "sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "main",
            "task": "deploy", "environment": "staging"
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/deployments/12/statuses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "id": 1, "state": "in_progress", "description": "ghops-agent a: deploying abcdef0"
        }])))
        .mount(&gh.server)
        .await;
    let mut c = ghops();
    c.args(["agent", "create", "--repo", "octo/app", "--ref", "main"])
        .args(["--environment", "staging", "--wait", "--timeout", "1s"])
        .args(["--api-url", &gh.uri()])
        .env("GH_TOKEN", "ghp_e2e_agent_token");
    let out = run(c).await;
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{e}");
    let progress: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("deployment 12: "))
        .collect();
    assert_eq!(progress.len(), 1, "{e}");
    assert!(
        progress[0].starts_with(
            "deployment 12: in_progress (ghops-agent a: deploying abcdef0); waited 0s, next check in 1s"
        ),
        "{e}"
    );
    assert!(e.contains("did not finish within 1s"), "{e}");
}

/// `agent create --ref` naming a ref the repository does not have: GitHub answers 422 "No
/// ref found for: …"; that is invalid input (exit 2) naming the ref, not an API failure
/// (exit 4). One request, nothing retried. Other 422s stay API errors.
#[tokio::test]
async fn create_with_a_missing_ref_is_invalid_input() {
    let gh = MockGitHub::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/app/deployments"))
        .and(wiremock::matchers::body_partial_json(json!({"ref": "v1.2.0"})))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "No ref found for: v1.2.0",
            "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment"
        })))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/app/deployments"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "message": "Validation Failed",
            "errors": [{"resource": "Deployment", "code": "invalid", "field": "environment"}]
        })))
        .mount(&gh.server)
        .await;
    let create = |r: &str| {
        let mut c = ghops();
        c.args(["agent", "create", "--repo", "octo/app", "--ref", r])
            .args(["--environment", "production"])
            .args(["--api-url", &gh.uri()])
            .env("GH_TOKEN", "ghp_e2e_agent_token");
        c
    };
    let out = run(create("v1.2.0")).await;
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert_eq!(
        e,
        "error: --ref v1.2.0: no such branch, tag or commit in octo/app (GitHub: No ref found \
         for: v1.2.0)\n"
    );
    assert_eq!(gh.writes().await.len(), 1, "a missing ref is not retried");
    let out = run(create("main")).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}
