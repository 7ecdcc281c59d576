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
    assert_eq!(files.len(), 14);
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
            // The release's image promotion pushes one tag (ghcr.io with the job token).
            if l.starts_with("packages: write") {
                assert!(
                    f.path.ends_with("/release.yml") || f.path.ends_with("/ghops-release.yml"),
                    "{}: {l}",
                    f.path
                );
                continue;
            }
            for forbidden in [
                "actions: write",
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

/// Issue #18: `ghops init <workflow>…` writes only the chosen workflows (a caller always with
/// the reusable workflow it calls), each file once, plus the `ghops.toml` scaffold; unknown or
/// missing names are errors that list the choices.
#[test]
fn init_writes_only_the_chosen_workflows() {
    use release_flow::init::{WORKFLOWS, generate_selected};
    let o = InitOptions::default();
    let paths = |names: &[&str]| -> Vec<String> {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        generate_selected(&o, &names)
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect()
    };
    assert_eq!(
        paths(&["feature"]),
        [
            ".github/workflows/feature.yml",
            ".github/workflows/ghops-feature.yml",
            "ghops.toml"
        ]
    );
    // hotfix-pr reuses the feature pipeline: ghops-feature.yml once, in WORKFLOWS order.
    assert_eq!(
        paths(&["hotfix-pr", "feature"]),
        [
            ".github/workflows/feature.yml",
            ".github/workflows/ghops-feature.yml",
            ".github/workflows/hotfix-pr.yml",
            "ghops.toml"
        ]
    );
    assert_eq!(paths(&["all"]).len(), 14 + 1);
    assert_eq!(paths(&["pipeline"]).len(), 9 + 1);
    for bad in [vec![], vec!["nope".to_owned()]] {
        let e = generate_selected(&o, &bad).unwrap_err().to_string();
        assert!(
            e.contains("hotfix-release") && e.contains("pipeline"),
            "{e}"
        );
    }
    // Each workflow is self-contained: every reusable workflow a caller uses is among its
    // files, and every template belongs to a workflow.
    let all = generate(&o).unwrap();
    for w in WORKFLOWS {
        for f in w.files {
            let g = all
                .iter()
                .find(|g| g.path == format!(".github/workflows/{f}"))
                .unwrap_or_else(|| panic!("{}: {f} is not a template", w.name));
            for line in g.contents.lines() {
                if let Some(callee) = line.trim().strip_prefix("uses: $/.github/workflows/") {
                    assert!(w.files.contains(&callee), "{}: {f} calls {callee}", w.name);
                }
            }
        }
    }
    for g in &all {
        let name = g.path.trim_start_matches(".github/workflows/");
        assert!(
            WORKFLOWS.iter().any(|w| w.files.contains(&name)),
            "{name} belongs to no workflow"
        );
    }
}

/// The `ghops.toml` scaffold of every selection loads as ghops reads it: `[release]` bumps
/// **minor** by default (the pipeline's rule: `X.Y` belongs to its release branch), `[env]`
/// gives hotfix PRs one exclusive `hotfix` slot.
#[test]
fn the_config_scaffold_loads_and_follows_the_pipeline() {
    use gh_core::config::ConfigFile;
    use release_flow::config::DrafterConfig;
    use release_flow::env::EnvConfig;
    use release_flow::init::{WORKFLOWS, config_scaffold, select};
    let load = |text: &str| {
        let f = ConfigFile::parse(text, Some("ghops.toml".into())).unwrap();
        let (d, warnings) = DrafterConfig::from_ghops_toml(&f).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        (d, EnvConfig::load(&f).unwrap())
    };
    for w in WORKFLOWS {
        load(&config_scaffold(&[w]));
    }
    let text = config_scaffold(&select(&["pipeline".into()]).unwrap());
    let (drafter, env) = load(&text);
    assert_eq!(
        release_flow::changelog::increment(&drafter, &[]),
        release_flow::version::Increment::Minor,
        "{text}"
    );
    let hotfix = env
        .labels
        .iter()
        .find(|l| l.label == "deploy/hotfix")
        .unwrap();
    assert!(hotfix.exclusive && hotfix.environment == "hotfix");
    let feature_only = config_scaffold(&select(&["feature".into()]).unwrap());
    assert!(!feature_only.contains("deploy/hotfix") && !feature_only.contains("[release]"));
}

/// Issue #18: every job that deploys or undeploys names its GitHub Environment (so the
/// Environment's secrets, reviewers and branch rules apply) without a second deployment
/// (`deployment: false`: ghops records it).
#[test]
fn deploy_jobs_keep_their_environment() {
    use serde_json::Value;
    let mut seen = 0;
    for f in generate(&InitOptions::default()).unwrap() {
        let wf: Value = gh_core::config::parse_yaml(&f.contents, &f.path).unwrap();
        for (name, job) in wf["jobs"].as_object().unwrap() {
            let records = job["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["run"].as_str().unwrap_or("").contains("ghops env record"));
            if records {
                seen += 1;
                let env = &job["environment"];
                assert!(
                    env["name"].as_str().is_some_and(|n| !n.is_empty()),
                    "{} job {name}: no environment",
                    f.path
                );
                assert_eq!(env["deployment"], false, "{} job {name}", f.path);
            }
        }
    }
    assert!(seen >= 4, "{seen}");
}

/// The docs' file list (docs/init.md) is exactly what `ghops init` writes, workflow by
/// workflow.
#[test]
fn the_docs_list_what_init_writes() {
    use release_flow::init::WORKFLOWS;
    let docs = std::fs::read_to_string(repo_root().join("docs/init.md")).unwrap();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for line in docs.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `name` | `a.yml`, `b.yml` | trigger | what |
        if cells.len() >= 4
            && cells[1].starts_with('`')
            && cells[2].contains(".yml`")
            && !cells[1].contains(".yml")
        {
            let name = cells[1].trim_matches('`').to_owned();
            let files = cells[2]
                .split(',')
                .map(|f| f.trim().trim_matches('`').to_owned())
                .collect();
            rows.push((name, files));
        }
    }
    let want: Vec<(String, Vec<String>)> = WORKFLOWS
        .iter()
        .map(|w| {
            (
                w.name.to_owned(),
                w.files.iter().map(|f| (*f).to_owned()).collect(),
            )
        })
        .collect();
    assert_eq!(
        rows, want,
        "docs/init.md's table differs from init::WORKFLOWS"
    );
}

/// The runner example (examples/runner-orch) runs the version the generated `uses: $/…`
/// self-repository syntax needs.
#[test]
fn the_runner_example_meets_the_generated_workflows_runner_version() {
    let text =
        std::fs::read_to_string(repo_root().join("examples/runner-orch/ghops.toml")).unwrap();
    let image = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("image = \""))
        .unwrap()
        .trim_end_matches('"');
    let tag = image.rsplit(':').next().unwrap();
    let have = semver::Version::parse(tag).unwrap();
    let need = semver::Version::parse(release_flow::init::MIN_RUNNER_VERSION).unwrap();
    assert!(have >= need, "{image} < {need}");
    let uses_self = generate(&InitOptions::default())
        .unwrap()
        .iter()
        .any(|f| f.contents.contains("uses: $/"));
    assert!(uses_self);
}

/// Issue #22 (Cloud Posse's pipeline): a hotfix is built and tested before it is published;
/// hotfix PRs deploy by label through `env sync` (the feature pipeline), not on every push;
/// a published release retags the tested image and deploys it only after that.
#[test]
fn the_hotfix_pipeline_builds_before_publishing_and_deploys_by_label() {
    use serde_json::Value;
    let files = generate(&InitOptions::default()).unwrap();
    let wf = |name: &str| -> Value {
        let f = files
            .iter()
            .find(|f| f.path == format!(".github/workflows/{name}"))
            .unwrap();
        gh_core::config::parse_yaml(&f.contents, &f.path).unwrap()
    };
    let hotfix = wf("ghops-hotfix-release.yml");
    assert_eq!(hotfix["jobs"]["hotfix"]["needs"], "build");
    let build_runs: Vec<&str> = hotfix["jobs"]["build"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert_eq!(
        build_runs,
        ["bash -c \"$BUILD_COMMAND\"", "bash -c \"$TEST_COMMAND\""]
    );
    let pr = wf("hotfix-pr.yml");
    let types = pr["on"]["pull_request"]["types"].as_array().unwrap();
    for t in ["labeled", "unlabeled", "closed"] {
        assert!(types.contains(&Value::from(t)), "{t}");
    }
    assert_eq!(
        pr["jobs"]["hotfix-pr"]["uses"],
        "$/.github/workflows/ghops-feature.yml"
    );
    let feature = wf("feature.yml");
    assert_eq!(
        feature["on"]["pull_request"]["branches-ignore"],
        serde_json::json!(["release/**"]),
        "hotfix PRs run hotfix-pr.yml only"
    );
    let release = wf("ghops-release.yml");
    let promote = &release["jobs"]["promote-image"];
    assert!(
        promote["steps"].as_array().unwrap().iter().any(|s| s["run"]
            .as_str()
            .is_some_and(|r| r.starts_with("docker buildx imagetools create --tag"))),
        "{promote}"
    );
    assert_eq!(release["jobs"]["deploy"]["needs"], "promote-image");
    let cond = release["jobs"]["deploy"]["if"].as_str().unwrap();
    assert!(
        cond.contains("!cancelled()") && cond.contains("!= 'failure'"),
        "{cond}"
    );
}
