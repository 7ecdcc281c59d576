//! Runnable docs: every fenced code block of README.md and docs/*.md marked `<!-- runnable -->`
//! (the line above the fence; the convention is in CONTRIBUTING.md) runs as a newcomer would
//! run it: each command exactly as written, by `sh`, with the real `ghops` on `PATH`, from
//! the root of a fresh copy of the repository (relative paths as the docs write them), with
//! stdout and stderr not a terminal — once plain and once as a step of GitHub Actions
//! (`GITHUB_ACTIONS=true` and the variables Actions sets) — against a fake GitHub (`GH_TOKEN`
//! and `GITHUB_API_URL` point at it; the copy's `origin` is the repository the block names with
//! `--repo`, else `octo/hello`). Each command must exit 0 and never panic.
//!
//! Marker options, comma-separated after `runnable:`:
//! - `exit N`: the block's last command exits N;
//! - `empty`: run in a new, empty git repository instead of a copy of this one (commands that
//!   write a repository's files, such as `ghops init`);
//! - `each`: the commands are alternatives: each runs on its own (fresh directory and GitHub);
//! - `actions`: a workflow step (reads `GITHUB_SHA`, `GITHUB_ACTOR`, …): run only as one.
//!
//! Two substitutions, both about the binary under test: `cargo install …` lines are skipped
//! (the test's `ghops` is the one they would install) and `cargo run -q -p ghops --` stands for
//! `ghops`. In a transcript block (lines starting with `$ `), only those lines are commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ghops_test_support::fake::FakeGitHub;
use ghops_test_support::repo_root;

use crate::docs::fenced_blocks;
use crate::util::ghops_bin;

/// A block marked runnable.
#[derive(Debug)]
struct Runnable {
    /// `file:line` of its first line.
    at: String,
    /// The exit code of its last command.
    exit: i32,
    /// Run in an empty repository.
    empty: bool,
    /// The commands are alternatives.
    each: bool,
    /// A workflow step only.
    actions_only: bool,
    /// Its commands, one shell command line each.
    commands: Vec<String>,
    /// The repository its commands act on (`--repo`, else `octo/hello`).
    repo: String,
}

/// The Markdown files the docs are made of.
fn doc_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The commands of a block: continuation lines joined, blank and comment lines dropped.
fn commands(lines: &[String]) -> Vec<String> {
    let transcript = lines.iter().any(|l| l.starts_with("$ "));
    let mut out: Vec<String> = Vec::new();
    let mut pending = String::new();
    for l in lines {
        let l = if transcript {
            match l.strip_prefix("$ ") {
                Some(c) => c,
                None => continue,
            }
        } else {
            l.as_str()
        };
        if let Some(head) = l.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(l);
        let c = std::mem::take(&mut pending);
        let t = c.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with("cargo install ") {
            continue;
        }
        out.push(match t.strip_prefix("cargo run -q -p ghops -- ") {
            Some(rest) => format!("ghops {rest}"),
            None => t.to_owned(),
        });
    }
    out
}

fn runnable_blocks() -> Vec<Runnable> {
    let root = repo_root();
    let mut out = Vec::new();
    for path in doc_files() {
        let doc = std::fs::read_to_string(&path).unwrap();
        let name = path.strip_prefix(&root).unwrap().display().to_string();
        for f in fenced_blocks(&doc) {
            let Some(marker) = f
                .above
                .strip_prefix("<!-- runnable")
                .and_then(|r| r.strip_suffix("-->"))
            else {
                continue;
            };
            let at = format!("{name}:{}", f.line);
            let (mut exit, mut empty, mut each, mut actions_only) = (0, false, false, false);
            let opts = marker.trim().strip_prefix(':').unwrap_or(marker.trim());
            for o in opts.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                match o {
                    "empty" => empty = true,
                    "each" => each = true,
                    "actions" => actions_only = true,
                    _ => {
                        exit = o
                            .strip_prefix("exit ")
                            .and_then(|n| n.trim().parse().ok())
                            .unwrap_or_else(|| panic!("{at}: bad marker <!-- runnable{marker}-->"))
                    }
                }
            }
            let commands = commands(&f.lines);
            assert!(
                !commands.is_empty(),
                "{at}: a runnable block with no command"
            );
            let repo = commands
                .iter()
                .flat_map(|c| c.split_whitespace().skip_while(|w| *w != "--repo").nth(1))
                .next()
                .unwrap_or("octo/hello")
                .to_owned();
            out.push(Runnable {
                at,
                exit,
                empty,
                each,
                actions_only,
                commands,
                repo,
            });
        }
    }
    out
}

/// A fresh copy of the repository's files (tracked and untracked, not ignored: what a clone
/// plus the change under test holds), with `origin` at `https://github.com/{repo}`.
fn fresh_clone(repo: &str, empty: bool) -> tempfile::TempDir {
    let root = repo_root();
    let dir = tempfile::tempdir().unwrap();
    if empty {
        return git_init(dir, repo);
    }
    let ls = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(&root)
        .output()
        .expect("git ls-files");
    assert!(ls.status.success());
    for f in ls.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = Path::new(std::str::from_utf8(f).unwrap());
        let from = root.join(rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    git_init(dir, repo)
}

fn git_init(dir: tempfile::TempDir, repo: &str) -> tempfile::TempDir {
    for args in [
        vec!["init", "-q"],
        vec![
            "remote",
            "add",
            "origin",
            &format!("https://github.com/{repo}"),
        ],
    ] {
        let ok = Command::new("git")
            .args(&args)
            .current_dir(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }
    dir
}

/// The fake's world: the environments, pull requests and runs the docs' examples name.
fn seed(gh: &FakeGitHub) -> String {
    let main = gh.push("main", "alice", "the docs' main");
    for e in ["production", "staging", "qa1", "preview-feature-x"] {
        gh.add_environment(e);
    }
    gh.set_permission("octocat", "admin");
    gh.add_pull(7, "feature-x", &"a".repeat(40), "alice");
    gh.add_pull(11, "feature-y", &"e".repeat(40), "bob");
    gh.add_pending(123_456, "production", true);
    // main's head is a published release that succeeded in staging: what production's
    // promotion rules ask (`[env.promote]` defaults) before `gate check` approves it.
    gh.add_release_staged("v1.0.0", &main);
    main
}

/// Runs one command line with `sh` in `dir`, stdin closed, output captured (not a terminal);
/// returns (exit code, stdout, stderr). Killed after two minutes.
fn run_line(line: &str, dir: &Path, env: &[(&str, String)]) -> (Option<i32>, String, String) {
    let bin_dir = ghops_bin().parent().unwrap().to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let mut c = Command::new("sh");
    c.arg("-c").arg(line).current_dir(dir);
    // Nothing of the caller's environment that ghops reads (the test may run in Actions).
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("GITHUB_")
            || k.starts_with("GHOPS_")
            || k.starts_with("RUNNER_")
            || ["GH_TOKEN", "CI", "RUST_LOG", "NO_COLOR", "GH_HOST"].contains(&&*k)
        {
            c.env_remove(&*k);
        }
    }
    c.env("PATH", path)
        .env("GHOPS_RETRY_BASE_MS", "5")
        .env("GHOPS_RETRY_MAX_DELAY_MS", "50")
        .env("GHOPS_RETRY_MAX_TOTAL_MS", "5000")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out_file = tempfile::tempfile().unwrap();
    let err_file = tempfile::tempfile().unwrap();
    c.stdout(out_file.try_clone().unwrap())
        .stderr(err_file.try_clone().unwrap());
    let mut child = c.spawn().expect("run sh");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |mut f: std::fs::File| {
        use std::io::{Read, Seek};
        let mut s = String::new();
        f.seek(std::io::SeekFrom::Start(0)).unwrap();
        f.read_to_string(&mut s).unwrap();
        s
    };
    (status, read(out_file), read(err_file))
}

#[test]
fn commands_join_continuations_and_drop_comments_and_installs() {
    let lines: Vec<String> = [
        "# a comment",
        "cargo install --locked --path crates/cli",
        "ghops init --list   # trailing comment",
        "cargo run -q -p ghops -- plan --config-root x \\",
        "  --changed-files y",
        "",
    ]
    .map(str::to_owned)
    .to_vec();
    assert_eq!(
        commands(&lines),
        [
            "ghops init --list   # trailing comment",
            "ghops plan --config-root x    --changed-files y"
        ]
    );
    let transcript: Vec<String> = ["$ GH_TOKEN=x ghops auth status", "API: here"]
        .map(str::to_owned)
        .to_vec();
    assert_eq!(commands(&transcript), ["GH_TOKEN=x ghops auth status"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_runnable_docs_block_runs_as_documented() {
    let blocks = runnable_blocks();
    let mut failures = Vec::new();
    for b in &blocks {
        for actions in [false, true] {
            if b.actions_only && !actions {
                continue;
            }
            let mode = if actions {
                "as an Actions step"
            } else {
                "plain"
            };
            let runs: Vec<&[String]> = if b.each {
                b.commands.chunks(1).collect()
            } else {
                vec![&b.commands[..]]
            };
            for (r, cmds) in runs.iter().enumerate() {
                let gh = FakeGitHub::start(&b.repo).await;
                let main = seed(&gh);
                let clone = fresh_clone(&b.repo, b.empty);
                let scratch = tempfile::tempdir().unwrap();
                let mut env = vec![
                    (
                        "GH_TOKEN",
                        "ghp_docsnewcomer000000000000000000000000".to_owned(),
                    ),
                    ("GITHUB_API_URL", gh.uri()),
                ];
                if actions {
                    let file = |n: &str| {
                        let p = scratch.path().join(n);
                        std::fs::write(&p, "").unwrap();
                        p.display().to_string()
                    };
                    env.extend([
                        ("GITHUB_ACTIONS", "true".to_owned()),
                        ("CI", "true".to_owned()),
                        ("GITHUB_REPOSITORY", b.repo.clone()),
                        ("GITHUB_SHA", main.clone()),
                        ("GITHUB_REF", "refs/heads/main".to_owned()),
                        ("GITHUB_REF_NAME", "main".to_owned()),
                        ("GITHUB_ACTOR", "octocat".to_owned()),
                        ("GITHUB_TRIGGERING_ACTOR", "octocat".to_owned()),
                        ("GITHUB_EVENT_NAME", "workflow_dispatch".to_owned()),
                        ("GITHUB_RUN_ID", "99".to_owned()),
                        ("GITHUB_RUN_ATTEMPT", "1".to_owned()),
                        ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
                        ("GITHUB_WORKSPACE", clone.path().display().to_string()),
                        ("GITHUB_OUTPUT", file("output")),
                        ("GITHUB_STEP_SUMMARY", file("summary")),
                        ("GITHUB_ENV", file("env")),
                    ]);
                }
                for (i, cmd) in cmds.iter().enumerate() {
                    let last = r + 1 == runs.len() && i + 1 == cmds.len();
                    let want = if last || b.each { b.exit } else { 0 };
                    let dir = clone.path().to_path_buf();
                    let line = cmd.clone();
                    let env2 = env.clone();
                    let (code, out, err) =
                        tokio::task::spawn_blocking(move || run_line(&line, &dir, &env2))
                            .await
                            .unwrap();
                    // Not a terminal: no colour or cursor codes, whatever the command.
                    let escapes = out.contains('\x1b') || err.contains('\x1b');
                    if code != Some(want) || err.contains("panicked at") || escapes {
                        failures.push(format!(
                            "{} ({mode}): `{cmd}` exited {code:?}, want {want} (escape codes: {escapes})\n--- stdout\n{}\n--- stderr\n{}",
                            b.at,
                            out.chars().take(2000).collect::<String>(),
                            err.chars().take(2000).collect::<String>(),
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The README quick start, the plan example, init, env and the auth transcript at least.
    assert!(blocks.len() >= 6, "{blocks:#?}");
}
