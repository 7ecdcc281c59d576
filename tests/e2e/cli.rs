//! CLI behaviour shared by every command: closed pipes, help text, error rendering.

use std::process::Stdio;

use ghops_test_support::repo_root;

use crate::util::{ghops, json_lines, run, stderr};

/// Runs `ghops args…` with stdout a pipe whose reading end is already closed (`| head -c 0`
/// after the reader went away): every write fails with EPIPE, deterministically.
async fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let (read, write) = nix::unistd::pipe().expect("pipe");
    drop(read);
    let mut c = ghops();
    c.args(args)
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped());
    run(c).await
}

#[tokio::test]
async fn a_closed_pipe_ends_completions_quietly() {
    let out = with_closed_stdout(&["completions", "zsh"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

#[tokio::test]
async fn a_closed_pipe_ends_plan_json_and_filter_quietly() {
    let root = repo_root().join("examples/infrastructure");
    let (cr, cf) = (
        root.display().to_string(),
        root.join("changed-files.txt").display().to_string(),
    );
    let out = with_closed_stdout(&[
        "plan",
        "--config-root",
        &cr,
        "--changed-files",
        &cf,
        "--json",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));

    let d = tempfile::tempdir().unwrap();
    let jobs = d.path().join("jobs.json");
    std::fs::write(&jobs, r#"[{"cluster_name":"a","hub_name":"h"}]"#).unwrap();
    let failed = d.path().join("failed.txt");
    std::fs::write(&failed, "b\n").unwrap();
    let out = with_closed_stdout(&[
        "plan",
        "filter",
        "--jobs",
        &jobs.display().to_string(),
        "--failed",
        &failed.display().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

/// Under Actions an error is also an `::error` annotation, on the file and line when the error
/// names them (a config mistake); `[plann]` is refused with a did-you-mean (it was accepted
/// silently).
#[tokio::test]
async fn errors_become_annotations_under_actions_with_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("ghops.toml");
    std::fs::write(&cfg, "[plan]\nstrict = true\n\n[plann]\nx = 1\n").unwrap();
    let root = repo_root().join("examples/infrastructure");
    let mut c = ghops();
    c.args(["plan", "--config"])
        .arg(&cfg)
        .arg("--config-root")
        .arg(&root)
        .arg("--changed-files")
        .arg(root.join("changed-files.txt"))
        .env("GITHUB_ACTIONS", "true");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let f = cfg.display().to_string();
    let msg = format!(
        "{f}:4: unknown top-level table `[plann]` (did you mean `[plan]`?); ghops.toml has the \
         tables [pr_bridge], [plan], [release], [env], [agent], [runners], [serve]"
    );
    let annotation =
        gh_core::actions::annotation(gh_core::actions::Level::Error, &msg, Some(&f), Some(4));
    assert_eq!(stderr(&out), format!("error: {msg}\n{annotation}\n"));

    // Without a place: a plain `::error::`; outside Actions: no annotation.
    let mut c = ghops();
    c.args(["auth", "status", "--repo", "o/r"])
        .env("GITHUB_ACTIONS", "true");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("\n::error::no GitHub credentials"), "{e}");
    let mut c = ghops();
    c.args(["auth", "status", "--repo", "o/r"]);
    let out = run(c).await;
    assert!(!stderr(&out).contains("::error"), "{}", stderr(&out));
}

/// Piped (and with `--color never`), tables are plain aligned columns; `--color always` keeps
/// the boxes in a pipe.
#[tokio::test]
async fn tables_are_plain_when_piped_and_boxed_on_request() {
    let root = repo_root().join("examples/infrastructure");
    let plan = |extra: &[&str]| {
        let mut c = ghops();
        c.args(["plan", "--config-root"])
            .arg(&root)
            .arg("--changed-files")
            .arg(root.join("changed-files.txt"))
            .args(extra);
        c
    };
    let out = run(plan(&[])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let plain = crate::util::stdout(&out);
    insta::assert_snapshot!("plan_tables_piped", plain);
    let out = run(plan(&["--color", "never"])).await;
    assert_eq!(crate::util::stdout(&out), plain);
    let out = run(plan(&["--color", "always"])).await;
    let boxed = crate::util::stdout(&out);
    assert!(boxed.contains("┌") && boxed.contains("┆"), "{boxed}");
}

/// `GHOPS_LOG_FORMAT=json`: every stderr line is a JSON object with stable fields, the final
/// error included (it was a plain `error: …` line); under Actions only the `::error`
/// workflow command stays raw, since the runner reads it.
#[tokio::test]
async fn json_logs_make_every_stderr_line_json() {
    let mut c = ghops();
    c.args(["auth", "status", "--repo", "o/r"])
        .env("GHOPS_LOG_FORMAT", "json");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&stderr(&out));
    assert_eq!(lines.len(), 1, "{}", stderr(&out));
    assert_eq!(lines[0]["level"], "ERROR");
    assert_eq!(lines[0]["target"], "ghops::message");
    assert_eq!(lines[0]["fields"]["kind"], "error");
    assert!(
        lines[0]["fields"]["message"]
            .as_str()
            .unwrap()
            .starts_with("no GitHub credentials"),
        "{}",
        lines[0]
    );

    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("ghops.toml");
    std::fs::write(&cfg, "[plann]\n").unwrap();
    let mut c = ghops();
    c.args(["plan", "--changed-files", "-", "--config"])
        .arg(&cfg)
        .env("GHOPS_LOG_FORMAT", "json")
        .env("GITHUB_ACTIONS", "true");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    let (raw, json): (Vec<&str>, Vec<&str>) = e.lines().partition(|l| l.starts_with("::"));
    assert_eq!(raw.len(), 1, "{e}");
    assert!(raw[0].starts_with("::error file="), "{e}");
    json_lines(&json.join("\n"));
}

/// A command line clap refuses is an error like any other: a JSON line with
/// `GHOPS_LOG_FORMAT=json`, an `::error` annotation under Actions; exit 2 either way, and
/// clap's own text otherwise.
#[tokio::test]
async fn usage_errors_follow_the_log_format_and_annotate() {
    let refused = |env: &[(&'static str, &'static str)]| {
        let mut c = ghops();
        c.args(["plan", "filter", "--jobs", "prod.json", "--failed"])
            .envs(env.iter().copied());
        c
    };
    let want = "a value is required for '--failed <FILE>' but none was supplied";
    let out = run(refused(&[])).await;
    assert_eq!(out.status.code(), Some(2));
    let plain = stderr(&out);
    assert!(plain.starts_with(&format!("error: {want}")), "{plain}");
    assert!(!plain.contains("::error"), "{plain}");

    let out = run(refused(&[("GHOPS_LOG_FORMAT", "json")])).await;
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&stderr(&out));
    assert_eq!(lines.len(), 1, "{}", stderr(&out));
    assert_eq!(lines[0]["level"], "ERROR");
    assert_eq!(lines[0]["fields"]["kind"], "error");
    let m = lines[0]["fields"]["message"].as_str().unwrap();
    assert!(m.starts_with(want), "{m}");

    let out = run(refused(&[("GITHUB_ACTIONS", "true")])).await;
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.starts_with(&format!("error: {want}")), "{e}");
    assert!(e.contains(&format!("\n::error::{want}")), "{e}");

    // Help and version are no errors: stdout, exit 0, whatever the format.
    let mut c = ghops();
    c.args(["plan", "--help"]).env("GHOPS_LOG_FORMAT", "json");
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(crate::util::stdout(&out).contains("Usage:"));
}

/// A closed stderr never turns a failure into a panic (exit 101): the error's exit code
/// stands, under Actions (annotation) and with JSON logs too.
#[tokio::test]
async fn a_closed_stderr_keeps_the_exit_code() {
    for env in [
        &[][..],
        &[("GITHUB_ACTIONS", "true")],
        &[("GHOPS_LOG_FORMAT", "json")],
    ] {
        let (read, write) = nix::unistd::pipe().expect("pipe");
        drop(read);
        let mut c = ghops();
        c.args(["auth", "status", "--repo", "o/r"])
            .envs(env.iter().copied())
            .stderr(Stdio::from(write));
        let out = run(c).await;
        assert_eq!(out.status.code(), Some(2), "{env:?}");
    }
}

/// `ghops init` with no workflow says how to see them (`--list`), exit 2, nothing written.
#[tokio::test]
async fn init_without_workflows_points_at_list() {
    let d = tempfile::tempdir().unwrap();
    let mut c = ghops();
    c.args(["init", "--dir"]).arg(d.path());
    let out = run(c).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: name the workflows to write, e.g. `ghops init feature main` (`ghops init --list` \
         shows them and the files each writes; `all` writes every one)\n"
    );
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

/// Every command that loads ghops.toml refuses an unknown key in any ghops table, with the
/// file, line and field, before any request: not only the commands that act on that table.
#[tokio::test]
async fn unknown_keys_in_any_table_are_refused_by_every_command_that_loads_the_file() {
    let gh = ghops_test_support::MockGitHub::start().await;
    let d = tempfile::tempdir().unwrap();
    let root = repo_root().join("examples/infrastructure");
    for (table, key) in [
        ("env", "foo"),
        ("agent", "pollinterval"),
        ("serve", "pr_bridg"),
    ] {
        let cfg = d.path().join(format!("{table}.toml"));
        std::fs::write(&cfg, format!("[{table}]\n{key} = 1\n")).unwrap();
        let commands: [Vec<String>; 3] = [
            vec!["env".into(), "status".into()],
            vec![
                "agent".into(),
                "status".into(),
                "--environment".into(),
                "production".into(),
            ],
            vec![
                "plan".into(),
                "--config-root".into(),
                root.display().to_string(),
                "--changed-files".into(),
                root.join("changed-files.txt").display().to_string(),
            ],
        ];
        for args in commands {
            let mut c = ghops();
            c.args(&args)
                .args(["--repo", "octo/app", "--api-url", &gh.uri(), "--config"])
                .arg(&cfg)
                .env("GH_TOKEN", "ghp_e2e_token");
            let out = run(c).await;
            let e = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?} [{table}]: {e}");
            let want = format!(
                "{}:2: [{table}].{key}: unknown field `{key}`",
                cfg.display()
            );
            assert!(e.starts_with(&format!("error: {want}")), "{args:?}: {e}");
        }
    }
    assert!(
        gh.lines().await.is_empty(),
        "no request before the config is read"
    );
}
