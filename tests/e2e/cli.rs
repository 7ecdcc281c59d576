//! CLI behaviour shared by every command: closed pipes, help text, error rendering.

use std::process::Stdio;

use ghops_test_support::repo_root;

use crate::util::{ghops, run, stderr};

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
