//! Shipping (issue 17) through the binary: `--version` names the commit, the manifests default
//! to this version's image (never `latest`), `init` pins the setup action it is given.

use crate::util::{ghops, run, stderr, stdout};

#[tokio::test]
async fn version_prints_the_version_and_commit() {
    let mut c = ghops();
    c.arg("--version");
    let o = run(c).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let v = stdout(&o);
    let want = format!("ghops {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(v.starts_with(&want) && v.trim_end().ends_with(')'), "{v}");
}

#[tokio::test]
async fn manifests_default_to_this_versions_image_and_take_image() {
    let version = env!("CARGO_PKG_VERSION");
    for (args, suffix) in [
        (&["agent", "manifests"][..], "-agent"),
        (&["serve", "manifests"][..], ""),
        (&["runners", "manifests"][..], ""),
    ] {
        let mut c = ghops();
        c.args(args);
        let o = run(c).await;
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let text = stdout(&o);
        let want = format!("{}{suffix}", gh_core::dist::image(version));
        assert!(text.contains(&want), "{args:?}: no {want} in\n{text}");
        assert!(!text.contains(":latest"), "{args:?}: latest in\n{text}");

        let mut c = ghops();
        c.args(args)
            .args(["--image", "registry.example/me/ghops:1.2.3"]);
        let o = run(c).await;
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("registry.example/me/ghops:1.2.3"), "{args:?}");
        assert!(!text.contains(&want), "{args:?}: default image left");
    }
}

#[tokio::test]
async fn init_pins_the_given_setup_action_commit_and_warns_on_the_placeholder() {
    let dir = tempfile::tempdir().unwrap();
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let mut c = ghops();
    c.args([
        "init",
        "all",
        "--ghops-version",
        "v9.8.7",
        "--setup-action-sha",
        sha,
        "--dir",
    ])
    .arg(dir.path());
    let o = run(c).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("placeholder"), "{}", stderr(&o));
    let mut installs = 0;
    for e in std::fs::read_dir(dir.path().join(".github/workflows")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(!text.contains("cargo install"));
        installs += text
            .matches(&format!(
                "uses: {} # v9.8.7\n        with:\n          version: v9.8.7\n",
                gh_core::dist::setup_action(sha)
            ))
            .count();
    }
    assert!(installs >= 10, "{installs}");

    let mut c = ghops();
    c.args(["init", "all", "--dry-run", "--setup-action-sha", "main"]);
    let o = run(c).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    let mut c = ghops();
    c.args(["init", "all", "--dry-run"]);
    let o = run(c).await;
    assert!(o.status.success());
    assert!(stderr(&o).contains("placeholder commit"), "{}", stderr(&o));
}
