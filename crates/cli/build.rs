//! Stamps the commit into the binary: `ghops --version` prints `ghops 0.1.0 (commit abc123def456)`.
//!
//! Source of the commit, first found wins: `GHOPS_COMMIT` (set by the release workflow to the
//! full commit id, and by builds from a source archive or a container context without `.git`),
//! then `git rev-parse HEAD` in the source tree, else `unknown`. Never fails the build. (No
//! `-dirty` mark: it would need a rebuild on every index change; release builds are made from a
//! clean tag.)
//!
//! Two variables: `GHOPS_COMMIT`, at most 12 characters of it, for the version line; and
//! `GHOPS_RELEASE_COMMIT`, the full commit id when `GHOPS_COMMIT` is one (40 hex digits), else
//! empty: the setup action commit `ghops init` pins (`gh_core::dist::setup_action_sha`). Only
//! the explicit variable counts: a local checkout's HEAD may never have been pushed, and a
//! workflow pinned to it would not resolve.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=GHOPS_COMMIT");
    let commit = match std::env::var("GHOPS_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_owned(),
        _ => from_git().unwrap_or_else(|| "unknown".to_owned()),
    };
    // Only what a version line should hold: no newline or control character from the env.
    let commit: String = commit
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(64)
        .collect();
    let release = if commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        commit.to_ascii_lowercase()
    } else {
        String::new()
    };
    let short: String = if release.is_empty() {
        commit
    } else {
        release[..12].to_owned()
    };
    println!("cargo:rustc-env=GHOPS_COMMIT={short}");
    println!("cargo:rustc-env=GHOPS_RELEASE_COMMIT={release}");
}

fn from_git() -> Option<String> {
    let sha = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves: HEAD itself, the branch it points at, packed refs.
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"])
            && let Some(common) = git(&["rev-parse", "--git-common-dir"])
        {
            let common = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(common);
            println!("cargo:rerun-if-changed={}", common.join(&r).display());
            println!(
                "cargo:rerun-if-changed={}",
                common.join("packed-refs").display()
            );
        }
    }
    Some(sha)
}
