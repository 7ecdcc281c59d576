//! `ghops init`: generated workflows (snapshots and the least-privilege rules).

use ghops_test_support::{insta_settings, repo_root};
use release_flow::init::{InitOptions, WriteResult, generate, write_files};

/// Lines of the `run:` scripts of a workflow (inline and block).
fn run_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut block: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(i) = block {
            if line.trim().is_empty() || indent > i {
                out.push(line.to_owned());
                continue;
            }
            block = None;
        }
        let t = line.trim_start().trim_start_matches("- ");
        if let Some(rest) = t.strip_prefix("run:") {
            let rest = rest.trim();
            if rest.starts_with('|') || rest.starts_with('>') {
                block = Some(indent);
            } else {
                out.push(rest.to_owned());
            }
        }
    }
    out
}

/// Workflows `ghops init` copies from pr-bridge's and deploy-plan's examples.
const OTHERS: &[&str] = &[
    "test-this-pr.yml",
    "ci-with-secrets.yml",
    "pr-bridge-report.yml",
    "deploy-hubs.yml",
    "deploy-plan-comment.yml",
];

#[test]
fn every_generated_workflow_is_snapshotted() {
    let files = generate(&InitOptions::default()).unwrap();
    assert_eq!(files.len(), 15);
    let settings = insta_settings(None);
    for f in &files {
        let file = f.path.trim_start_matches(".github/workflows/");
        // pr-bridge's and deploy-plan's workflows are their examples, snapshotted there.
        if OTHERS.contains(&file) {
            continue;
        }
        let name = file.replace('.', "_");
        settings.bind(|| insta::assert_snapshot!(format!("init_{name}"), &f.contents));
    }
}

#[test]
fn generated_workflows_follow_the_rules() {
    for f in generate(&InitOptions::default()).unwrap() {
        let t = &f.contents;
        assert!(!t.contains("pull_request_target"), "{}", f.path);
        assert!(
            t.contains("\npermissions: {}\n"),
            "{}: no top-level permissions: {{}}",
            f.path
        );
        for line in t.lines() {
            if let Some(u) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")
            {
                let u = u.trim();
                let pinned = u.split_once('@').is_some_and(|(_, r)| {
                    let sha = r.split_whitespace().next().unwrap_or("");
                    sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())
                });
                assert!(u.starts_with("$/") || pinned, "{}: unpinned {u}", f.path);
            }
        }
        for l in run_lines(t) {
            assert!(!l.contains("${{"), "{}: expression inside run: {l}", f.path);
        }
        // Nothing above the least-privilege table of docs/environments.md.
        for line in t.lines() {
            let l = line.trim();
            for (scope, max) in [
                ("contents:", "write"),
                ("deployments:", "write"),
                ("pull-requests:", "write"),
                ("issues:", "write"),
                ("statuses:", "write"),
                ("checks:", "write"),
            ] {
                if let Some(v) = l.strip_prefix(scope) {
                    let v = v.split('#').next().unwrap().trim();
                    assert!(v == "read" || v == max, "{}: {l}", f.path);
                }
            }
            for forbidden in [
                "actions: write",
                "packages: write",
                "id-token: write",
                "write-all",
                "secrets: inherit",
            ] {
                assert!(!l.starts_with(forbidden), "{}: {l}", f.path);
            }
        }
    }
}

#[test]
fn examples_match_the_generator() {
    let dir = repo_root().join("examples/env");
    for f in generate(&InitOptions::default()).unwrap() {
        let name = f.path.trim_start_matches(".github/workflows/");
        // pr-bridge and deploy-plan workflows are their own examples.
        if OTHERS.contains(&name) {
            continue;
        }
        let p = dir.join(name);
        let have = std::fs::read_to_string(&p).unwrap_or_default();
        if std::env::var_os("GHOPS_UPDATE_EXAMPLES").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&p, &f.contents).unwrap();
        } else {
            assert_eq!(
                have,
                f.contents,
                "{} is stale: rerun with GHOPS_UPDATE_EXAMPLES=1",
                p.display()
            );
        }
    }
}

#[test]
fn hostile_version_or_branch_is_refused() {
    for (v, b) in [
        ("v1\n  evil: true", "main"),
        ("v1", "main; curl x|sh"),
        ("v1", "${{ github.token }}"),
        ("", "main"),
    ] {
        let o = InitOptions {
            ghops_version: v.into(),
            main_branch: b.into(),
            ..InitOptions::default()
        };
        assert!(generate(&o).is_err(), "{v:?} {b:?}");
    }
    for sha in [
        "",
        "abc",
        "v1.2.3",
        &"g".repeat(40),
        &"a".repeat(41),
        "main",
    ] {
        let o = InitOptions {
            setup_action_sha: sha.into(),
            ..InitOptions::default()
        };
        assert!(generate(&o).is_err(), "{sha:?}");
    }
}

/// Every workflow installs ghops through the setup action pinned by commit, never by building
/// a (mutable) tag; the version and commit given to `init` reach every file, the pr-bridge and
/// deploy-plan examples included.
#[test]
fn every_workflow_installs_ghops_with_the_pinned_setup_action() {
    let default = InitOptions::default();
    assert_eq!(
        default.setup_action_sha,
        gh_core::dist::SETUP_ACTION_SHA,
        "one place"
    );
    let step = release_flow::init::install_step(&default);
    assert!(
        step.starts_with(&format!(
            "uses: {}@{} # v",
            gh_core::dist::repository(),
            gh_core::dist::SETUP_ACTION_SHA
        )),
        "{step}"
    );
    for f in generate(&default).unwrap() {
        assert!(!f.contents.contains("cargo install"), "{}", f.path);
        let installs = f.contents.matches("- name: Install ghops\n").count();
        assert_eq!(
            installs,
            f.contents
                .matches(&format!("- name: Install ghops\n        {step}"))
                .count(),
            "{}: an install step that is not the setup action's",
            f.path
        );
    }
    // The examples hold the default step: a changed constant makes them stale.
    for f in generate(&default).unwrap() {
        if f.contents.contains("ghops ") && f.contents.contains("run: ") {
            let runs_ghops = run_lines(&f.contents).iter().any(|l| l.contains("ghops "));
            assert!(
                !runs_ghops || f.contents.contains(&step),
                "{}: runs ghops without the current install step `{step}`",
                f.path
            );
        }
    }
    let other = InitOptions {
        ghops_version: "v9.8.7".into(),
        setup_action_sha: "0123456789abcdef0123456789abcdef01234567".into(),
        ..InitOptions::default()
    };
    let new_step = release_flow::init::install_step(&other);
    for f in generate(&other).unwrap() {
        if f.contents.contains("Install ghops") {
            assert!(f.contents.contains(&new_step), "{}", f.path);
            assert!(!f.contents.contains(&step), "{}: default step left", f.path);
        }
    }
}

#[test]
fn existing_files_are_kept_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let files = generate(&InitOptions::default()).unwrap();
    let r = write_files(dir.path(), &files, false).unwrap();
    assert!(r.iter().all(|(_, r)| *r == WriteResult::Created));
    let r = write_files(dir.path(), &files, false).unwrap();
    assert!(r.iter().all(|(_, r)| *r == WriteResult::Unchanged));
    let p = dir.path().join(&files[0].path);
    std::fs::write(&p, "# edited\n").unwrap();
    let r = write_files(dir.path(), &files, false).unwrap();
    assert_eq!(r[0].1, WriteResult::Kept);
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "# edited\n");
    let r = write_files(dir.path(), &files, true).unwrap();
    assert_eq!(r[0].1, WriteResult::Overwritten);
    assert_eq!(std::fs::read_to_string(&p).unwrap(), files[0].contents);
}

#[test]
fn example_config_loads_and_bad_rules_are_named() {
    use gh_core::config::ConfigFile;
    use release_flow::env::EnvConfig;
    let root = repo_root();
    let p = root.join("examples/env/ghops.toml");
    let f = ConfigFile::parse(&std::fs::read_to_string(&p).unwrap(), Some(p.clone())).unwrap();
    let cfg = EnvConfig::load(&f).unwrap();
    assert_eq!(cfg.labels, EnvConfig::default().labels);
    assert_eq!(cfg.gate.teams.len(), 1);
    let p = root.join("testdata/env/bad-rule.toml");
    let f = ConfigFile::parse(&std::fs::read_to_string(&p).unwrap(), Some(p.clone())).unwrap();
    let e = EnvConfig::load(&f).unwrap_err().to_string();
    assert!(
        e.contains("bad-rule.toml [env].labels[0]") && e.contains("{N}"),
        "{e}"
    );
}

/// A permission level: none < read < write.
fn level(v: Option<&serde_json::Value>) -> u8 {
    match v.and_then(|v| v.as_str()) {
        Some("write") => 2,
        Some("read") => 1,
        _ => 0,
    }
}

/// Issue #23 item 8: every job of every generated workflow (and of
/// `examples/release/release.yml`) holds the permissions its steps need on a **private**
/// repository (where nothing is readable without `contents: read`), and each caller grants
/// what the reusable workflow's jobs ask for (a called workflow can only narrow them).
#[test]
fn every_job_has_what_its_steps_need_on_a_private_repository() {
    use serde_json::Value;
    let mut files: Vec<(String, String)> = generate(&InitOptions::default())
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.contents))
        .collect();
    let example = repo_root().join("examples/release/release.yml");
    files.push((
        "examples/release/release.yml".into(),
        std::fs::read_to_string(example).unwrap(),
    ));
    let parsed: Vec<(String, Value)> = files
        .iter()
        .map(|(p, t)| (p.clone(), gh_core::config::parse_yaml(t, p).unwrap()))
        .collect();
    // What a ghops command run with the job's own token needs.
    let needs_of = |run: &str| -> Vec<(&'static str, u8)> {
        let mut n = Vec::new();
        for (cmd, scopes) in [
            (
                "ghops env sync",
                &[("deployments", 2), ("pull-requests", 2), ("issues", 1)][..],
            ),
            ("ghops env record", &[("deployments", 2)][..]),
            ("ghops gate check", &[("deployments", 1)][..]),
            (
                "ghops release draft",
                &[("contents", 2), ("pull-requests", 1)][..],
            ),
            ("ghops release publish-hook", &[("contents", 2)][..]),
        ] {
            if run.contains(cmd) {
                n.extend_from_slice(scopes);
            }
        }
        n
    };
    let mut checked = 0;
    for (file, wf) in &parsed {
        let top = &wf["permissions"];
        for (name, job) in wf["jobs"].as_object().unwrap() {
            let perms = job.get("permissions").unwrap_or(top);
            let has = |scope: &str| level(perms.get(scope));
            for step in job["steps"].as_array().into_iter().flatten() {
                let uses = step["uses"].as_str().unwrap_or("");
                if uses.starts_with("actions/checkout@") && step["with"].get("token").is_none() {
                    assert!(
                        has("contents") >= 1,
                        "{file} job {name}: checks out with the job's token and no contents: read"
                    );
                    checked += 1;
                }
                let run = step["run"].as_str().unwrap_or("");
                let own_token = step["env"]["GH_TOKEN"]
                    .as_str()
                    .is_some_and(|t| t.contains("github.token"));
                if own_token {
                    for (scope, need) in needs_of(run) {
                        assert!(
                            has(scope) >= need,
                            "{file} job {name}: `{run}` needs {scope} level {need}"
                        );
                        checked += 1;
                    }
                }
            }
            // A caller grants at least what every job of the called workflow asks for.
            if let Some(callee) = job["uses"].as_str().and_then(|u| u.strip_prefix("$/")) {
                let (_, called) = parsed
                    .iter()
                    .find(|(p, _)| p == callee)
                    .unwrap_or_else(|| panic!("{file}: {callee} is not generated"));
                for (cname, cjob) in called["jobs"].as_object().unwrap() {
                    let cperms = cjob.get("permissions").unwrap_or(&called["permissions"]);
                    for (scope, v) in cperms.as_object().into_iter().flatten() {
                        assert!(
                            has(scope) >= level(Some(v)),
                            "{file} job {name} grants less {scope} than {callee} job {cname} asks"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 30, "{checked}");
}
