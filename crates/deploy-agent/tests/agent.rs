//! The deploy agent against a wiremock GitHub with real hook scripts in temp dirs: status
//! posts asserted exactly and in order.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use deploy_agent::journal::{Phase, key};
use deploy_agent::{AgentOptions, Journal, PassReport, Policy, Target, TargetState, run_once};
use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::ClientConfig;
use gh_core::retry::RetryPolicy;
use gh_core::{GitHub, RepoRef};
use ghops_test_support::fake::{FakeGitHub, Fault};
use ghops_test_support::{Seen, wait_until};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const R: &str = "/repos/octo/app";

struct Env {
    /// Deployments and their statuses really stored (a claim is read back by the lock
    /// check): the fallback behind the tests' own mocks.
    gh: FakeGitHub,
    dir: tempfile::TempDir,
}

impl Env {
    async fn new() -> Self {
        Self::for_repo("octo/app").await
    }

    async fn for_repo(full: &str) -> Self {
        let e = Self {
            gh: FakeGitHub::start(full).await,
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(e.hooks()).unwrap();
        e
    }

    fn hooks(&self) -> std::path::PathBuf {
        self.dir.path().join("hooks")
    }

    fn hook(&self, name: &str, script: &str) {
        let p = self.hooks().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn target(&self, policy: Policy) -> Target {
        Target {
            repo: "octo/app".parse::<RepoRef>().unwrap(),
            environment: "production".into(),
            hooks_dir: self.hooks(),
            policy,
            hook_timeout: None,
        }
    }

    fn opts(&self, cancel: tokio::sync::watch::Receiver<bool>) -> AgentOptions {
        AgentOptions {
            agent_id: "agent-a".into(),
            hook_timeout: Duration::from_secs(20),
            grace: Duration::from_millis(200),
            log_dir: self.dir.path().join("logs"),
            log_cap: 1 << 20,
            log_url_template: Some("https://logs.example/{repo}/{id}".into()),
            legacy_env: false,
            legacy_cwd: None,
            redeploy: None,
            cancel,
            run_as: None,
            heartbeat_file: None,
        }
    }

    fn journal(&self) -> Journal {
        Journal::open(&self.dir.path().join("state")).unwrap()
    }

    async fn client(&self) -> GitHub {
        let mut c = ClientConfig::new(Credentials::Token {
            token: SecretString::from("ghp_agentTOKEN".to_owned()),
            source: TokenSource::Flag,
        });
        c.api_url = self.gh.uri();
        c.retry = RetryPolicy::fast();
        GitHub::connect(c).await.unwrap()
    }

    /// The deployments list (newest first), served by the fake.
    async fn deployments(&self, list: Vec<Value>) {
        for d in list.into_iter().rev() {
            self.gh.add_raw_deployment(d);
        }
    }

    /// A status the deployment already has (`None`: none). A deployment the test's own
    /// mocks list (the fake does not know it yet) is added to the fake, whose status routes
    /// answer 404 for an unknown deployment as GitHub does.
    async fn latest_status(&self, id: u64, status: Option<Value>) {
        if !self.gh.deployments().iter().any(|d| d["id"] == json!(id)) {
            self.gh.add_raw_deployment(dep(id, "deploy", false));
        }
        if let Some(s) = status {
            self.gh.add_raw_status(id, s);
        }
    }

    /// Status POSTs are stored by the fake; nothing to mount.
    async fn accept_posts(&self) {}

    /// `(deployment id, state, description)` of every status POST, in order.
    async fn posts(&self) -> Vec<(u64, String, String)> {
        self.gh
            .writes()
            .await
            .iter()
            .filter(|w| w.method == "POST")
            .map(|w| {
                let id = w.path.split('/').nth(5).unwrap().parse().unwrap();
                (
                    id,
                    w.body["state"].as_str().unwrap().to_owned(),
                    w.body["description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .collect()
    }

    async fn pass(&self, policy: Policy, journal: &Journal) -> PassReport {
        let (_tx, rx) = tokio::sync::watch::channel(false);
        let gh = self.client().await;
        run_once(
            &gh,
            &self.target(policy),
            &self.opts(rx),
            journal,
            &mut TargetState::default(),
        )
        .await
        .unwrap()
    }
}

fn dep(id: u64, task: &str, transient: bool) -> Value {
    json!({
        "id": id, "sha": format!("{id:0>7}abcdef0123456789abcdef0123456789ab"), "ref": "main", "task": task,
        "environment": "production", "payload": {"replicas": 3, "note": "exact \"bytes\""},
        "url": format!("https://api.github.com/repos/octo/app/deployments/{id}"),
        "creator": {"login": "octocat", "id": 1, "avatar_url": "https://avatars.example/octocat"},
        "transient_environment": transient
    })
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[tokio::test]
async fn happy_path_with_payload_environment_url_and_clean_env() {
    let e = Env::new().await;
    let seen = e.dir.path().join("seen.env");
    e.hook(
        "deploy",
        &format!(
            "env | sort > {seen}\ncat \"$GHOPS_DEPLOYMENT_PAYLOAD\" > {seen}.payload\necho 'environment_url=https://app.example' >> \"$GHOPS_OUTPUT\"\necho deploying to stdout\necho warning on stderr >&2",
            seen = seen.display()
        ),
    );
    e.hook(
        "post_success",
        &format!("touch {}", e.dir.path().join("post_success.ran").display()),
    );
    e.deployments(vec![dep(7, "deploy", false)]).await;
    e.latest_status(7, None).await;
    e.accept_posts().await;
    let j = e.journal();
    let r = e.pass(Policy::Latest, &j).await;
    assert_eq!(r.ran, [(7, "success".to_owned())]);
    let posts = e.posts().await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].1, "in_progress");
    assert_eq!(posts[0].2, "ghops-agent agent-a: deploying 0000007");
    assert_eq!(posts[1].1, "success");
    let last = e.gh.writes().await.pop().unwrap();
    assert_eq!(last.body["environment_url"], "https://app.example");
    assert_eq!(last.body["log_url"], "https://logs.example/octo/app/7");
    let env = read(&seen);
    for needle in [
        "GHOPS_DEPLOYMENT_ID=7",
        "GHOPS_SHA=0000007abcdef0123456789abcdef0123456789ab",
        "GHOPS_REF=main",
        "GHOPS_TASK=deploy",
        "GHOPS_OWNER=octo",
        "GHOPS_REPO=app",
        "GHOPS_CREATOR=octocat",
        "GHOPS_ENVIRONMENT=production",
        "PATH=",
    ] {
        assert!(env.contains(needle), "{needle} missing from\n{env}");
    }
    assert!(!env.contains("GITHUB_SHA="), "no legacy names unless asked");
    let payload: Value =
        serde_json::from_str(&read(Path::new(&format!("{}.payload", seen.display())))).unwrap();
    assert_eq!(payload, json!({"replicas": 3, "note": "exact \"bytes\""}));
    assert!(e.dir.path().join("post_success.ran").exists());
    let log = read(&e.dir.path().join("logs/app-7/hooks.log"));
    assert!(
        log.contains("deploying to stdout") && log.contains("warning on stderr"),
        "{log}"
    );
    // The journal is empty once the final status is posted.
    assert!(j.pending("").is_empty());
}

#[tokio::test]
async fn three_new_deployments_latest_policy_supersedes_older_ones() {
    let e = Env::new().await;
    e.hook("deploy", "exit 0");
    e.deployments(vec![
        dep(3, "deploy", false),
        dep(2, "deploy", true),
        dep(1, "deploy", false),
    ])
    .await;
    for id in [1, 2, 3] {
        e.latest_status(id, None).await;
    }
    e.accept_posts().await;
    let r = e.pass(Policy::Latest, &e.journal()).await;
    assert_eq!(r.superseded, [2, 1]);
    let posts = e.posts().await;
    // The older ones are superseded once the newest is claimed and its lock held.
    assert_eq!(
        posts,
        [
            (
                3,
                "in_progress".into(),
                "ghops-agent agent-a: deploying 0000003".into()
            ),
            (2, "inactive".into(), "superseded by #3".into()),
            (1, "error".into(), "superseded by #3".into()),
            (3, "success".into(), "deployed 0000003".into()),
        ]
    );
}

#[tokio::test]
async fn queue_policy_runs_all_oldest_first() {
    let e = Env::new().await;
    let order = e.dir.path().join("order");
    e.hook(
        "deploy",
        &format!("echo $GHOPS_DEPLOYMENT_ID >> {}", order.display()),
    );
    e.deployments(vec![
        dep(3, "deploy", false),
        dep(2, "deploy", false),
        dep(1, "deploy", false),
    ])
    .await;
    for id in [1, 2, 3] {
        e.latest_status(id, None).await;
    }
    e.accept_posts().await;
    let r = e.pass(Policy::Queue, &e.journal()).await;
    assert_eq!(r.ran.iter().map(|x| x.0).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(read(&order), "1\n2\n3\n");
}

#[tokio::test]
async fn finished_deployments_are_never_rerun_and_scanning_stops_there() {
    let e = Env::new().await;
    e.hook("deploy", "exit 0");
    e.deployments(vec![
        dep(5, "deploy", false),
        dep(4, "deploy", false),
        dep(3, "deploy", false),
    ])
    .await;
    e.latest_status(5, Some(json!({"state": "success"}))).await;
    e.accept_posts().await;
    let r = e.pass(Policy::Latest, &e.journal()).await;
    assert!(r.ran.is_empty());
    e.gh.assert_no_writes().await;
    // Only the newest deployment's status was read.
    assert!(
        !e.gh
            .lines()
            .await
            .iter()
            .any(|l| l.contains("/deployments/4/"))
    );
}

#[tokio::test]
async fn unknown_task_and_path_traversal_are_errors_and_run_nothing() {
    let e = Env::new().await;
    e.hook("deploy", "exit 0");
    e.deployments(vec![dep(9, "migrate", false)]).await;
    e.latest_status(9, None).await;
    e.accept_posts().await;
    e.pass(Policy::Latest, &e.journal()).await;
    assert_eq!(e.posts().await.last().unwrap().1, "error");
    assert_eq!(e.posts().await.last().unwrap().2, "unknown task");

    let e = Env::new().await;
    e.deployments(vec![dep(9, "../x", false)]).await;
    e.latest_status(9, None).await;
    e.accept_posts().await;
    e.pass(Policy::Latest, &e.journal()).await;
    assert_eq!(
        e.posts().await,
        [(9, "error".into(), "invalid task name".into())]
    );
}

#[tokio::test]
async fn a_hanging_hook_is_killed_and_reported() {
    let e = Env::new().await;
    let started = e.dir.path().join("hook-started");
    e.hook(
        "deploy",
        &format!("touch '{}'\nsleep 30", started.display()),
    );
    e.deployments(vec![dep(4, "deploy", false)]).await;
    e.latest_status(4, None).await;
    e.accept_posts().await;
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let mut opts = e.opts(rx);
    opts.hook_timeout = Duration::from_millis(300);
    let gh = e.client().await;
    let t0 = std::time::Instant::now();
    let r = run_once(
        &gh,
        &e.target(Policy::Latest),
        &opts,
        &e.journal(),
        &mut TargetState::default(),
    )
    .await
    .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(r.ran, [(4, "failure".to_owned())]);
    assert_eq!(e.posts().await[1].2, "timed out after 300ms");
}

#[tokio::test]
async fn failing_hook_never_publishes_its_output_only_its_exit_code() {
    // Issue 19 #8: the last stderr line became the public status description.
    let e = Env::new().await;
    e.hook(
        "deploy",
        "echo step one >&2\necho 'helm: login failed: password=hunter2' >&2\nexit 3",
    );
    e.hook(
        "post_failure",
        &format!("touch {}", e.dir.path().join("pf").display()),
    );
    e.deployments(vec![dep(4, "deploy", false)]).await;
    e.latest_status(4, None).await;
    e.accept_posts().await;
    e.pass(Policy::Latest, &e.journal()).await;
    assert_eq!(
        e.posts().await[1],
        (4, "failure".into(), "hook deploy exited 3".into())
    );
    let all = serde_json::to_string(
        &e.gh
            .writes()
            .await
            .iter()
            .map(|w| &w.body)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(!all.contains("hunter2"), "{all}");
    assert!(e.dir.path().join("pf").exists());
    // The output stays in the operator's log.
    let log = read(&e.dir.path().join("logs/app-4/hooks.log"));
    assert!(log.contains("password=hunter2"), "{log}");
}

#[tokio::test]
async fn failing_hook_describes_itself_through_ghops_output() {
    let e = Env::new().await;
    e.hook(
        "pre_task",
        "echo 'description=pre_task says hello' >> \"$GHOPS_OUTPUT\"",
    );
    e.hook(
        "deploy",
        "echo 'description=helm upgrade failed: see the log' >> \"$GHOPS_OUTPUT\"\necho secret >&2\nexit 1",
    );
    e.deployments(vec![dep(4, "deploy", false)]).await;
    e.latest_status(4, None).await;
    e.accept_posts().await;
    e.pass(Policy::Latest, &e.journal()).await;
    assert_eq!(
        e.posts().await[1],
        (
            4,
            "failure".into(),
            "helm upgrade failed: see the log".into()
        )
    );
    // A pre_task failing without a description of its own: its name and exit code.
    let e = Env::new().await;
    e.hook("pre_task", "echo token=abc >&2\nexit 7");
    e.hook("deploy", "exit 0");
    e.deployments(vec![dep(4, "deploy", false)]).await;
    e.latest_status(4, None).await;
    e.accept_posts().await;
    e.pass(Policy::Latest, &e.journal()).await;
    assert_eq!(
        e.posts().await[1],
        (4, "failure".into(), "hook pre_task exited 7".into())
    );
}

#[tokio::test]
async fn hooks_run_as_the_configured_user() {
    // Issue 19 #1: hooks ran as the agent's user and could read its key file.
    let Ok(user) = gh_core::hardening::RunAs::resolve("65534:65534") else {
        // Not root: switching users is refused up front (covered by gh-core's tests).
        return;
    };
    let e = Env::new().await;
    std::fs::set_permissions(e.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let shared = e.dir.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let key = e.dir.path().join("app-key.pem");
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = shared.join("seen");
    e.hook(
        "deploy",
        &format!(
            "{{ id -u; id -g; id -G; echo \"HOME=$HOME\"; cat {} || echo denied; }} > {} 2>/dev/null\necho 'description=deployed as nobody' >> \"$GHOPS_OUTPUT\"",
            key.display(),
            out.display()
        ),
    );
    e.deployments(vec![dep(7, "deploy", false)]).await;
    e.latest_status(7, None).await;
    e.accept_posts().await;
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let mut opts = e.opts(rx);
    opts.run_as = Some(user.clone());
    let r = run_once(
        &e.client().await,
        &e.target(Policy::Latest),
        &opts,
        &e.journal(),
        &mut TargetState::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.ran, [(7, "success".to_owned())]);
    let home = user
        .home
        .as_ref()
        .map(|h| h.display().to_string())
        .unwrap_or_default();
    assert_eq!(
        read(&out),
        format!("65534\n65534\n65534\nHOME={home}\ndenied\n")
    );
    // $GHOPS_OUTPUT was writable by the hook's user.
    assert_eq!(e.posts().await[1].2, "deployed as nobody");
}

#[tokio::test]
async fn lifecycle_hook_names_are_not_tasks() {
    // Issue 19 #9: a deployment with task `post_failure` ran the failure hook as its task.
    for task in ["pre_task", "post_success", "post_failure"] {
        let e = Env::new().await;
        let ran = e.dir.path().join("ran");
        for h in ["deploy", "pre_task", "post_success", "post_failure"] {
            e.hook(h, &format!("echo {h} >> {}", ran.display()));
        }
        e.deployments(vec![dep(9, task, false)]).await;
        e.latest_status(9, None).await;
        e.accept_posts().await;
        e.pass(Policy::Latest, &e.journal()).await;
        assert_eq!(
            e.posts().await,
            [(
                9,
                "error".into(),
                format!("task name {task} is reserved for a lifecycle hook")
            )]
        );
        assert!(!ran.exists(), "no hook runs for task {task}");
    }
}

#[tokio::test]
async fn a_failed_claim_runs_nothing_and_the_next_pass_retries() {
    let e = Env::new().await;
    let ran = e.dir.path().join("ran");
    e.hook("deploy", &format!("echo x >> {}", ran.display()));
    e.deployments(vec![dep(4, "deploy", false)]).await;
    e.latest_status(4, None).await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/deployments/4/statuses")))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&e.gh.server)
        .await;
    e.accept_posts().await;
    let j = e.journal();
    let r = e.pass(Policy::Latest, &j).await;
    assert!(r.retry && r.ran.is_empty());
    assert!(!ran.exists(), "the hook must not run without a claim");
    let r = e.pass(Policy::Latest, &j).await;
    assert_eq!(r.ran, [(4, "success".to_owned())]);
    assert_eq!(read(&ran), "x\n");
}

#[tokio::test]
async fn a_lost_final_status_is_posted_after_restart_without_rerunning_the_hook() {
    let e = Env::new().await;
    let ran = e.dir.path().join("ran");
    e.hook("deploy", &format!("echo x >> {}", ran.display()));
    e.deployments(vec![dep(4, "deploy", false)]).await;
    // The claim lands; the final status fails through every attempt (never applied).
    for _ in 0..4 {
        e.gh.fail_status_post(Some("success"), Fault::Before);
    }
    {
        let j = e.journal();
        let r = e.pass(Policy::Latest, &j).await;
        assert_eq!(r.ran, [(4, "success".to_owned())]);
    }
    assert_eq!(e.gh.states(4), ["in_progress"]);
    // "Restart": a new journal read from disk; the recovery reads the latest status (still
    // the claim) and posts the journalled one, without re-running the hook.
    let j = e.journal();
    let r = e.pass(Policy::Latest, &j).await;
    assert_eq!(r.recovered, [4]);
    assert_eq!(e.gh.states(4), ["in_progress", "success"]);
    assert_eq!(e.gh.statuses(4)[1]["description"], "deployed 0000004");
    assert_eq!(read(&ran), "x\n", "the hook ran once");
    assert!(j.pending("").is_empty());
}

#[tokio::test]
async fn a_restart_during_a_hook_reports_an_error_and_never_reruns() {
    let e = Env::new().await;
    e.hook(
        "deploy",
        &format!("touch {}", e.dir.path().join("ran").display()),
    );
    let j = e.journal();
    j.set(&key("octo/app", "production", 4), Phase::Running)
        .unwrap();
    e.deployments(vec![dep(4, "deploy", false)]).await;
    e.latest_status(
        4,
        Some(json!({"state": "in_progress", "description": "ghops-agent agent-a: deploying 0000004"})),
    )
    .await;
    e.accept_posts().await;
    let r = e.pass(Policy::Latest, &j).await;
    assert_eq!(r.recovered, [4]);
    assert_eq!(
        e.posts().await,
        [(4, "error".into(), "agent restarted during deploy".into())]
    );
    assert!(!e.dir.path().join("ran").exists());
}

#[tokio::test]
async fn another_agents_claim_is_respected() {
    let e = Env::new().await;
    e.hook("deploy", "exit 0");
    e.deployments(vec![dep(4, "deploy", false)]).await;
    e.latest_status(4, Some(json!({"state": "in_progress", "description": "ghops-agent agent-b: deploying 0000004"}))).await;
    e.accept_posts().await;
    let r = e.pass(Policy::Latest, &e.journal()).await;
    assert!(r.ran.is_empty());
    assert_eq!(r.skipped.len(), 1);
    e.gh.assert_no_writes().await;
}

#[tokio::test]
async fn one_hundred_fifty_deployments_are_paged_through() {
    let e = Env::new().await;
    e.hook("deploy", "exit 0");
    // The fake pages the list by `per_page` and `page`.
    e.deployments((1..=150).rev().map(|i| dep(i, "deploy", true)).collect())
        .await;
    let r = e.pass(Policy::Latest, &e.journal()).await;
    assert_eq!(r.ran, [(150, "success".to_owned())]);
    assert_eq!(r.superseded.len(), 149);
    assert!(e.gh.lines().await.iter().any(|l| l.ends_with("page=2")));
}

#[tokio::test]
async fn shutdown_mid_hook_terminates_it_and_reports() {
    let e = Env::new().await;
    let started = e.dir.path().join("hook-started");
    e.hook(
        "deploy",
        &format!("touch '{}'\nsleep 30", started.display()),
    );
    e.deployments(vec![dep(4, "deploy", false)]).await;
    e.latest_status(4, None).await;
    e.accept_posts().await;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let gh = e.client().await;
    let opts = e.opts(rx);
    let target = e.target(Policy::Latest);
    let j = e.journal();
    let stopper = tokio::spawn(async move {
        // Mid hook: once the hook has started.
        wait_until("the hook to start", || started.exists()).await;
        tx.send(true).unwrap();
        tx
    });
    let t0 = std::time::Instant::now();
    let r = run_once(&gh, &target, &opts, &j, &mut TargetState::default())
        .await
        .unwrap();
    let _tx = stopper.await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert!(r.shutdown);
    assert_eq!(
        e.posts().await[1],
        (4, "error".into(), "agent shut down".into())
    );
}

fn target_of(e: &Env, repo: &str, environment: &str) -> Target {
    Target {
        repo: repo.parse::<RepoRef>().unwrap(),
        environment: environment.into(),
        hooks_dir: e.hooks(),
        policy: Policy::Latest,
        hook_timeout: None,
    }
}

fn dep_in(id: u64, environment: &str) -> Value {
    let mut d = dep(id, "deploy", false);
    d["environment"] = json!(environment);
    d
}

#[tokio::test]
async fn targets_run_in_parallel_one_deploy_each() {
    let e = Env::new().await;
    let times = e.dir.path().join("times");
    std::fs::create_dir_all(&times).unwrap();
    e.hook(
        "deploy",
        &format!(
            "date +%s%N > {t}/$GHOPS_DEPLOYMENT_ID.start\nsleep 1\ndate +%s%N > {t}/$GHOPS_DEPLOYMENT_ID.end",
            t = times.display()
        ),
    );
    // The fake serves each environment its own list.
    e.deployments(vec![dep_in(22, "staging"), dep_in(21, "production")])
        .await;
    e.accept_posts().await;
    let (_stop, cancel) = tokio::sync::watch::channel(false);
    let gh = e.client().await;
    let targets = vec![
        (gh.clone(), target_of(&e, "octo/app", "production")),
        (gh, target_of(&e, "octo/app", "staging")),
    ];
    let agent = deploy_agent::Agent::spawn(
        targets,
        e.opts(cancel),
        e.journal(),
        deploy_agent::Schedule::Once,
    );
    assert!(agent.join().await.is_empty());
    // Two one-second hooks ran in parallel (one shared journal must not serialise them): their
    // run intervals overlap. Checked on timestamps, not wall-clock bounds, so a loaded machine
    // cannot make it flaky.
    let at = |id: u64, what: &str| -> u128 {
        read(&times.join(format!("{id}.{what}")))
            .trim()
            .parse()
            .unwrap()
    };
    assert!(
        at(21, "start") < at(22, "end") && at(22, "start") < at(21, "end"),
        "the hooks did not overlap"
    );
    let mut posts = e.posts().await;
    posts.sort();
    let claim = |id: u64| {
        format!(
            "ghops-agent agent-a: deploying {}",
            &format!("{id:0>7}abcdef")[..7]
        )
    };
    assert_eq!(
        posts,
        [
            (21, "in_progress".into(), claim(21)),
            (21, "success".into(), "deployed 0000021".into()),
            (22, "in_progress".into(), claim(22)),
            (22, "success".into(), "deployed 0000022".into()),
        ]
    );
}

#[tokio::test]
async fn a_deployment_webhook_wakes_only_its_target_early() {
    let e = Env::for_repo("Codertocat/Hello-World").await;
    e.hook("deploy", "true");
    let hw = "/repos/Codertocat/Hello-World";
    // No deployment until the test adds it (just before the event that names it): a pass
    // before that lists nothing and deploys nothing, so it shows in the list count.
    let (stop, cancel) = tokio::sync::watch::channel(false);
    let agent = deploy_agent::Agent::spawn(
        vec![(
            e.client().await,
            target_of(&e, "Codertocat/Hello-World", "production"),
        )],
        e.opts(cancel),
        e.journal(),
        // Far longer than the test: only the wake-up can start the second pass.
        deploy_agent::Schedule::Every(Duration::from_secs(600)),
    );
    let handle = agent.handle();
    assert_eq!(handle.targets(), ["Codertocat/Hello-World#production"]);
    let lists = || async {
        e.gh.seen()
            .await
            .iter()
            .filter(|r| r.method == "GET" && r.path.starts_with(&format!("{hw}/deployments?")))
            .count()
    };
    let is_list = |r: &Seen| r.method == "GET" && r.path.starts_with(&format!("{hw}/deployments?"));
    e.gh.wait_for_requests(1, is_list).await;

    // Another environment's or repository's deployment wakes nobody.
    let body = ghops_test_support::fixture_json("deployment.created.json");
    let mut other = body.clone();
    other["deployment"]["environment"] = json!("staging");
    let parse = |v: &Value| {
        gh_core::events::Event::parse("deployment", &serde_json::to_vec(v).unwrap()).unwrap()
    };
    assert!(!handle.on_event(&parse(&other)));
    let mut elsewhere = body.clone();
    elsewhere["repository"]["full_name"] = json!("someone/else");
    assert!(!handle.on_event(&parse(&elsewhere)));
    // (Lets the agent's task run: a pass woken above would start now and list nothing.)
    let before = lists().await;

    // The real payload of a `deployment` event for this target wakes it (names case-folded).
    e.gh.add_raw_deployment(dep_in(31, "production"));
    let mut ours = body;
    ours["repository"]["full_name"] = json!("codertocat/hello-world");
    assert!(handle.on_event(&parse(&ours)));
    e.gh.wait_for_requests(2, |r| r.method == "POST").await;
    let states: Vec<String> = e.posts().await.into_iter().map(|p| p.1).collect();
    assert_eq!(states, ["in_progress", "success"]);
    // Passes run one after another: one woken by an unrelated event came before the pass
    // that deployed, and listed nothing.
    assert_eq!(
        (before, lists().await),
        (1, 2),
        "woken by an unrelated event"
    );

    stop.send(true).unwrap();
    assert!(agent.join().await.is_empty());
}

#[tokio::test]
async fn a_rate_limit_with_reset_neither_loses_nor_duplicates_a_deploy() {
    let e = Env::new().await;
    let runs = e.dir.path().join("runs");
    e.hook("deploy", &format!("echo ran >> {}", runs.display()));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let limited = || {
        ResponseTemplate::new(403)
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("x-ratelimit-limit", "5000")
            .insert_header("x-ratelimit-reset", now.to_string().as_str())
            .set_body_json(json!({"message": "API rate limit exceeded"}))
    };
    // The list and the claim are each rate-limited once, until the (past) reset.
    Mock::given(method("GET"))
        .and(path(format!("{R}/deployments")))
        .respond_with(limited())
        .up_to_n_times(1)
        .mount(&e.gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/deployments/41/statuses")))
        .respond_with(limited())
        .up_to_n_times(1)
        .mount(&e.gh.server)
        .await;
    e.deployments(vec![dep(41, "deploy", false)]).await;
    e.latest_status(41, None).await;
    e.accept_posts().await;
    let r = e.pass(Policy::Latest, &e.journal()).await;
    assert_eq!(r.ran, [(41, "success".to_owned())]);
    assert_eq!(read(&runs), "ran\n", "the hook ran exactly once");
    let lines = e.gh.lines().await;
    assert_eq!(
        lines,
        [
            "GET /repos/octo/app/deployments?environment=production&per_page=100",
            "GET /repos/octo/app/deployments?environment=production&per_page=100",
            "GET /repos/octo/app/deployments/41/statuses?per_page=1",
            "POST /repos/octo/app/deployments/41/statuses",
            "POST /repos/octo/app/deployments/41/statuses",
            // The lock: the claims read back after ours landed.
            "GET /repos/octo/app/deployments/41/statuses?per_page=100",
            "POST /repos/octo/app/deployments/41/statuses",
        ]
    );
    let states: Vec<String> = e.posts().await.into_iter().map(|p| p.1).collect();
    // The rate-limited claim was refused by GitHub (not recorded), then retried once.
    assert_eq!(states, ["in_progress", "in_progress", "success"]);
    assert!(e.journal().pending("").is_empty());
}

#[tokio::test]
async fn an_unchanged_list_costs_one_conditional_request() {
    let e = Env::new().await;
    e.hook("deploy", "true");
    Mock::given(method("GET"))
        .and(path(format!("{R}/deployments")))
        .and(wiremock::matchers::header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&e.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/deployments")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .set_body_json(json!([dep(51, "deploy", false)])),
        )
        .mount(&e.gh.server)
        .await;
    e.latest_status(51, None).await;
    e.accept_posts().await;
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let gh = e.client().await;
    let (t, o, j) = (e.target(Policy::Latest), e.opts(rx), e.journal());
    let mut st = TargetState::default();
    let first = run_once(&gh, &t, &o, &j, &mut st).await.unwrap();
    assert_eq!(first.ran, [(51, "success".to_owned())]);
    let before = e.gh.seen().await.len();
    let second = run_once(&gh, &t, &o, &j, &mut st).await.unwrap();
    assert_eq!(second, PassReport::default());
    assert_eq!(
        e.gh.lines().await[before..],
        ["GET /repos/octo/app/deployments?environment=production&per_page=100"]
    );
    assert_eq!(e.posts().await.len(), 2, "nothing re-run on a 304");
}

fn new_deployment() -> deploy_agent::create::NewDeployment {
    deploy_agent::create::NewDeployment {
        ref_name: "v1.2.0".into(),
        environment: "production".into(),
        task: "deploy".into(),
        payload: json!({"replicas": 3}),
        transient_environment: false,
        production_environment: true,
        required_contexts: Some(vec![]),
        auto_merge: false,
    }
}

#[tokio::test]
async fn create_retries_202_then_waits_for_the_terminal_status() {
    let e = Env::new().await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/deployments")))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"message": "Auto-merged main into v1.2.0"})),
        )
        .up_to_n_times(1)
        .mount(&e.gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/deployments")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 61})))
        .mount(&e.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/deployments/61/statuses")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": 610, "state": "in_progress"}])),
        )
        .up_to_n_times(1)
        .mount(&e.gh.server)
        .await;
    e.latest_status(61, Some(json!({"state": "success"}))).await;
    let gh = e.client().await;
    let repo: RepoRef = "octo/app".parse().unwrap();
    let d = new_deployment();
    let id = deploy_agent::create::create(&gh, &repo, &d, 3, Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(id, Some(61));
    let expected = json!({
        "ref": "v1.2.0", "environment": "production", "task": "deploy",
        "payload": {"replicas": 3}, "transient_environment": false,
        "production_environment": true, "required_contexts": [], "auto_merge": false
    });
    let writes = e.gh.writes().await;
    assert_eq!(writes.len(), 2);
    assert!(
        writes
            .iter()
            .all(|w| w.path == format!("{R}/deployments") && w.body == expected)
    );
    let state = deploy_agent::create::wait(
        &gh,
        &repo,
        61,
        Duration::from_secs(5),
        Duration::from_millis(10),
    )
    .await
    .unwrap();
    assert_eq!(state, "success");
}

/// The status wait polls at a fixed interval and never sleeps past its timeout: every wait
/// is the interval but the last, cut at the deadline; then a timeout (exit 3).
#[tokio::test]
async fn wait_polls_at_the_interval_and_stops_at_the_timeout() {
    use gh_core::ExitStatus;
    let e = Env::new().await;
    e.latest_status(62, Some(json!({"state": "in_progress"})))
        .await;
    let gh = e.client().await;
    let repo: RepoRef = "octo/app".parse().unwrap();
    let polls = std::sync::Mutex::new(Vec::new());
    let err = deploy_agent::create::wait_with_progress(
        &gh,
        &repo,
        62,
        Duration::from_millis(100),
        Duration::from_millis(30),
        &|p| polls.lock().unwrap().push(p.next_poll),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), gh_core::ExitCode::Timeout);
    assert!(
        err.to_string().contains("did not finish within 100ms"),
        "{err}"
    );
    let polls = polls.into_inner().unwrap();
    let (last, rest) = polls.split_last().unwrap();
    assert!(
        rest.iter().all(|d| *d == Duration::from_millis(30)) && *last <= Duration::from_millis(30),
        "{polls:?}"
    );
    assert!(e.gh.writes().await.is_empty());
}

#[tokio::test]
async fn create_refuses_lifecycle_hook_names_before_any_request() {
    let e = Env::new().await;
    let gh = e.client().await;
    let repo: RepoRef = "octo/app".parse().unwrap();
    let mut d = new_deployment();
    d.task = "post_success".into();
    let err = deploy_agent::create::create(&gh, &repo, &d, 3, Duration::from_millis(1))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "--task \"post_success\": task name post_success is reserved for a lifecycle hook"
    );
    assert!(e.gh.lines().await.is_empty());
}

#[tokio::test]
async fn create_explains_409_and_gives_up_on_endless_202() {
    use gh_core::ExitStatus;
    let e = Env::new().await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/deployments")))
        .and(wiremock::matchers::body_partial_json(
            json!({"ref": "conflicted"}),
        ))
        .respond_with(
            ResponseTemplate::new(409).set_body_json(json!({"message": "Merge conflict"})),
        )
        .mount(&e.gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{R}/deployments")))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"message": "Conflict: contexts pending"})),
        )
        .mount(&e.gh.server)
        .await;
    let gh = e.client().await;
    let repo: RepoRef = "octo/app".parse().unwrap();
    let mut d = new_deployment();
    d.ref_name = "conflicted".into();
    let err = deploy_agent::create::create(&gh, &repo, &d, 3, Duration::from_millis(1))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Merge conflict"), "{err}");
    assert_eq!(err.exit_code(), gh_core::ExitCode::Failed);
    assert_eq!(e.gh.writes().await.len(), 1, "a 409 is not retried");

    let err =
        deploy_agent::create::create(&gh, &repo, &new_deployment(), 3, Duration::from_millis(1))
            .await
            .unwrap_err();
    assert_eq!(err.exit_code(), gh_core::ExitCode::Timeout);
    assert!(err.to_string().contains("--required-contexts"), "{err}");
    assert_eq!(e.gh.writes().await.len(), 4, "bounded: three attempts");
}

#[tokio::test]
async fn dry_run_plans_the_claim_and_runs_no_hook() {
    let e = Env::new().await;
    let ran = e.dir.path().join("ran");
    e.hook("deploy", &format!("touch {}", ran.display()));
    e.deployments(vec![dep(71, "deploy", false), dep(70, "deploy", false)])
        .await;
    e.latest_status(71, None).await;
    e.latest_status(70, None).await;
    let mut c = ClientConfig::new(Credentials::Token {
        token: SecretString::from("ghp_agentTOKEN".to_owned()),
        source: TokenSource::Flag,
    });
    c.api_url = e.gh.uri();
    c.dry_run = true;
    let gh = GitHub::connect(c).await.unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let j = e.journal();
    let r = run_once(
        &gh,
        &e.target(Policy::Latest),
        &e.opts(rx),
        &j,
        &mut TargetState::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.ran, [(71, "dry-run (hooks not run)".to_owned())]);
    assert!(!ran.exists(), "a hook ran in dry-run");
    e.gh.assert_no_writes().await;
    let planned: Vec<(String, String)> = gh
        .planned_writes()
        .iter()
        .map(|w| {
            (
                w.path.clone(),
                w.body.as_ref().unwrap()["state"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        planned,
        [
            (format!("{R}/deployments/70/statuses"), "error".to_owned()),
            (
                format!("{R}/deployments/71/statuses"),
                "in_progress".to_owned()
            ),
        ]
    );
    assert!(j.pending("").is_empty());
}

// ---- #20: exactly once under failures and crashes -------------------------------------------

#[tokio::test]
async fn a_failed_pass_keeps_no_etag_so_the_next_pass_still_deploys() {
    let e = Env::new().await;
    let ran = e.dir.path().join("ran");
    e.hook("deploy", &format!("echo x >> {}", ran.display()));
    Mock::given(method("GET"))
        .and(path(format!("{R}/deployments")))
        .and(wiremock::matchers::header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .mount(&e.gh.server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{R}/deployments")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"v1\"")
                .set_body_json(json!([dep(61, "deploy", false)])),
        )
        .with_priority(2)
        .mount(&e.gh.server)
        .await;
    // The status read fails through every retry of the first pass.
    Mock::given(method("GET"))
        .and(path(format!("{R}/deployments/61/statuses")))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&e.gh.server)
        .await;
    e.latest_status(61, None).await;
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let gh = e.client().await;
    let (t, o, j) = (e.target(Policy::Latest), e.opts(rx), e.journal());
    let mut st = TargetState::default();
    assert!(run_once(&gh, &t, &o, &j, &mut st).await.is_err());
    let second = run_once(&gh, &t, &o, &j, &mut st).await.unwrap();
    assert_eq!(second.ran, [(61, "success".to_owned())]);
    assert_eq!(read(&ran), "x\n");
    // Now that a pass succeeded, its ETag short-cuts the next one.
    let before = e.gh.seen().await.len();
    assert_eq!(
        run_once(&gh, &t, &o, &j, &mut st).await.unwrap(),
        PassReport::default()
    );
    assert_eq!(e.gh.seen().await.len(), before + 1);
}

#[tokio::test]
async fn a_journalled_deployment_is_never_started_again_when_recovery_cannot_post() {
    let e = Env::new().await;
    let ran = e.dir.path().join("ran");
    e.hook("deploy", &format!("echo x >> {}", ran.display()));
    let j = e.journal();
    j.set(&key("octo/app", "production", 4), Phase::Running)
        .unwrap();
    e.deployments(vec![dep(4, "deploy", false)]).await;
    e.latest_status(
        4,
        Some(json!({"state": "in_progress", "description": "ghops-agent agent-a: deploying 0000004"})),
    )
    .await;
    for _ in 0..4 {
        e.gh.fail_status_post(Some("error"), Fault::Before);
    }
    let r = e.pass(Policy::Latest, &j).await;
    assert!(r.retry, "{r:?}");
    assert!(r.ran.is_empty(), "{r:?}");
    assert!(!ran.exists(), "the hook was started again");
    assert_eq!(e.gh.states(4), ["in_progress"]);
    // The next pass settles it.
    let r = e.pass(Policy::Latest, &j).await;
    assert_eq!(r.recovered, [4]);
    assert_eq!(e.gh.states(4), ["in_progress", "error"]);
    assert!(!ran.exists());
}

#[tokio::test]
async fn recovery_reads_the_latest_status_and_never_posts_a_second_terminal_one() {
    let e = Env::new().await;
    e.hook("deploy", "true");
    let j = e.journal();
    // Crashed after the final status was applied, before the journal was cleared.
    j.set(
        &key("octo/app", "production", 4),
        Phase::Done {
            state: "success".into(),
            description: "deployed 0000004".into(),
            environment_url: None,
            log_url: None,
        },
    )
    .unwrap();
    // Crashed after "agent restarted during deploy" was applied, before the clear.
    j.set(&key("octo/app", "production", 5), Phase::Running)
        .unwrap();
    e.deployments(vec![dep(5, "deploy", false), dep(4, "deploy", false)])
        .await;
    let claim = |id: u64| json!({"state": "in_progress", "description": format!("ghops-agent agent-a: deploying {id:0>7}")});
    e.latest_status(4, Some(claim(4))).await;
    e.latest_status(
        4,
        Some(json!({"state": "success", "description": "deployed 0000004"})),
    )
    .await;
    e.latest_status(5, Some(claim(5))).await;
    e.latest_status(
        5,
        Some(json!({"state": "error", "description": "agent restarted during deploy"})),
    )
    .await;
    let r = e.pass(Policy::Latest, &j).await;
    assert_eq!(r.recovered, [4, 5]);
    e.gh.assert_no_writes().await;
    assert!(j.pending("").is_empty());
}

#[tokio::test]
async fn a_deploy_hook_that_cannot_start_fails_and_runs_post_failure() {
    let e = Env::new().await;
    let post = e.dir.path().join("post_failure_ran");
    e.hook("post_failure", &format!("touch {}", post.display()));
    // Not executable.
    std::fs::write(e.hooks().join("deploy"), "#!/bin/sh\ntrue\n").unwrap();
    std::fs::set_permissions(
        e.hooks().join("deploy"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    e.deployments(vec![dep(4, "deploy", false)]).await;
    let j = e.journal();
    let r = e.pass(Policy::Latest, &j).await;
    assert_eq!(r.ran, [(4, "failure".to_owned())]);
    assert!(post.exists(), "post_failure did not run");
    assert_eq!(
        e.posts().await[1],
        (
            4,
            "failure".into(),
            "hook deploy could not start (permission denied)".into()
        )
    );
    assert!(j.pending("").is_empty());
}

#[tokio::test]
async fn a_post_hook_that_cannot_start_leaves_the_outcome_standing() {
    let e = Env::new().await;
    e.hook("deploy", "true");
    std::fs::write(e.hooks().join("post_success"), "#!/bin/sh\ntrue\n").unwrap();
    std::fs::set_permissions(
        e.hooks().join("post_success"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    e.deployments(vec![dep(4, "deploy", false)]).await;
    let r = e.pass(Policy::Latest, &e.journal()).await;
    assert_eq!(r.ran, [(4, "success".to_owned())]);
    assert_eq!(e.gh.states(4), ["in_progress", "success"]);
}

#[tokio::test]
async fn a_claim_that_lands_after_another_agents_runs_nothing() {
    let e = Env::new().await;
    let ran = e.dir.path().join("ran");
    e.hook("deploy", &format!("echo x >> {}", ran.display()));
    e.deployments(vec![dep(4, "deploy", false)]).await;
    // agent-b claimed between our read of the latest status and our claim.
    Mock::given(method("GET"))
        .and(path(format!("{R}/deployments/4/statuses")))
        .and(query_param("per_page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&e.gh.server)
        .await;
    e.latest_status(
        4,
        Some(json!({"state": "in_progress", "description": "ghops-agent agent-b: deploying 0000004"})),
    )
    .await;
    let j = e.journal();
    let r = e.pass(Policy::Latest, &j).await;
    assert!(r.ran.is_empty(), "{r:?}");
    assert_eq!(
        r.skipped,
        [(
            4,
            "claimed first by another agent: ghops-agent agent-b: deploying 0000004".to_owned()
        )]
    );
    assert!(!ran.exists(), "both agents ran the hook");
    assert!(j.pending("").is_empty());
    // Our (losing) claim is not mistaken for ours to run on the next pass.
    let r = e.pass(Policy::Latest, &j).await;
    assert!(r.ran.is_empty(), "{r:?}");
    assert!(!ran.exists());
}

#[tokio::test]
async fn a_status_whose_answer_was_lost_is_not_posted_twice() {
    let e = Env::new().await;
    e.hook("deploy", "true");
    e.deployments(vec![dep(4, "deploy", false)]).await;
    for st in ["in_progress", "success"] {
        e.gh.fail_status_post(Some(st), Fault::After);
    }
    let j = e.journal();
    let r = e.pass(Policy::Latest, &j).await;
    assert_eq!(r.ran, [(4, "success".to_owned())]);
    assert_eq!(e.gh.states(4), ["in_progress", "success"]);
    assert!(j.pending("").is_empty());
}

// ---- #22: github-deploy-agent compatibility (--legacy-env) ----------------------------------

/// The ten variables github-deploy-agent (zeisss/github-deploy-agent, agent/deployer.go) gives
/// its hooks, with its names, for `dep(7, …)` in `octo/app`.
const LEGACY: [(&str, &str); 10] = [
    ("GITHUB_ENV", "production"),
    ("GITHUB_TASK", "deploy"),
    ("GITHUB_DEPLOYMENT_ID", "7"),
    (
        "GITHUB_DEPLOYMENT_URL",
        "https://api.github.com/repos/octo/app/deployments/7",
    ),
    ("GITHUB_OWNER", "octo"),
    ("GITHUB_REPO", "app"),
    ("GITHUB_REF", "main"),
    ("GITHUB_SHA", "0000007abcdef0123456789abcdef0123456789ab"),
    ("GITHUB_CREATOR", "octocat"),
    ("GITHUB_CREATOR_AVATAR", "https://avatars.example/octocat"),
];

#[test]
fn legacy_env_is_exactly_the_original_agents_ten_variables() {
    let d: deploy_agent::Deployment = serde_json::from_value(dep(7, "deploy", false)).unwrap();
    let repo: RepoRef = "octo/app".parse().unwrap();
    let env = deploy_agent::agent::hook_env(&repo, &d, "deploy", Path::new("/p.json"), true);
    let legacy: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| k.starts_with("GITHUB_"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut want = LEGACY.to_vec();
    want.sort();
    assert_eq!(legacy, want);
    let plain = deploy_agent::agent::hook_env(&repo, &d, "deploy", Path::new("/p.json"), false);
    assert!(!plain.keys().any(|k| k.starts_with("GITHUB_")));
}

#[tokio::test]
async fn legacy_mode_hooks_see_the_original_names_run_from_the_agents_folder_past_a_failed_pre_task()
 {
    let e = Env::new().await;
    let seen = e.dir.path().join("seen.env");
    let agent_dir = e.dir.path().join("agent-home");
    std::fs::create_dir_all(&agent_dir).unwrap();
    e.hook("pre_task", "exit 3");
    e.hook(
        "deploy",
        &format!("env > {seen}\npwd > {seen}.pwd", seen = seen.display()),
    );
    e.deployments(vec![dep(7, "deploy", false)]).await;
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let mut opts = e.opts(rx);
    opts.legacy_env = true;
    opts.legacy_cwd = Some(agent_dir.clone());
    let gh = e.client().await;
    let r = run_once(
        &gh,
        &e.target(Policy::Latest),
        &opts,
        &e.journal(),
        &mut TargetState::default(),
    )
    .await
    .unwrap();
    // github-deploy-agent logs a failed pre_task and deploys anyway.
    assert_eq!(r.ran, [(7, "success".to_owned())]);
    let env = read(&seen);
    for (k, v) in LEGACY {
        assert!(
            env.lines().any(|l| l == format!("{k}={v}")),
            "{k}={v} missing from\n{env}"
        );
    }
    for wrong in [
        "GITHUB_ENVIRONMENT=",
        "GITHUB_REPO_OWNER=",
        "GITHUB_REPO_NAME=",
    ] {
        assert!(!env.contains(wrong), "{wrong} in\n{env}");
    }
    assert_eq!(
        read(Path::new(&format!("{}.pwd", seen.display()))).trim(),
        agent_dir.display().to_string()
    );
}

#[tokio::test]
async fn without_legacy_mode_a_failed_pre_task_fails_the_deploy() {
    let e = Env::new().await;
    let ran = e.dir.path().join("ran");
    e.hook("pre_task", "exit 3");
    e.hook("deploy", &format!("touch {}", ran.display()));
    e.deployments(vec![dep(7, "deploy", false)]).await;
    let r = e.pass(Policy::Latest, &e.journal()).await;
    assert_eq!(r.ran, [(7, "failure".to_owned())]);
    assert!(!ran.exists());
    assert_eq!(e.gh.statuses(7)[1]["description"], "hook pre_task exited 3");
}
