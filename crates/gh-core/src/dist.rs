//! Where ghops is published: the canonical repository, its container image and the setup
//! action, all derived from one value, the workspace's Cargo `repository`
//! (`[workspace.package] repository` in the root `Cargo.toml`). Nothing else in the code,
//! the generated workflows or the docs spells the owner out (a test checks the docs).
//!
//! ```
//! assert_eq!(gh_core::dist::repository(), "ghops-dev/ghops");
//! assert_eq!(gh_core::dist::image("0.1.0"), "ghcr.io/ghops-dev/ghops:0.1.0");
//! ```

/// The repository URL from Cargo (`https://github.com/OWNER/NAME`).
pub const REPOSITORY_URL: &str = env!("CARGO_PKG_REPOSITORY");

/// The registry the release workflow pushes the image to.
pub const REGISTRY: &str = "ghcr.io";

/// The commit of this repository's setup action (`action.yml`) that generated workflows pin
/// (`uses: OWNER/ghops@SHA`) when the build does not know its own commit (see
/// [`setup_action_sha`]: a release binary pins the commit it was built from).
///
/// PLACEHOLDER: no release of ghops has been published yet, so no commit can be named (a
/// commit cannot contain its own id). After the first release, set this to the commit of the
/// release tag (docs/install.md, "Releasing"), for builds from source; until then their `ghops
/// init` warns and takes `--setup-action-sha`. This is the only place the pinned commit is
/// written: the example workflows are checked against it by tests.
pub const SETUP_ACTION_SHA: &str = SETUP_ACTION_SHA_PLACEHOLDER;

/// The all-zero commit id standing for "no release yet" (see [`SETUP_ACTION_SHA`]).
pub const SETUP_ACTION_SHA_PLACEHOLDER: &str = "0000000000000000000000000000000000000000";

/// The setup action commit a binary built from `build_commit` pins: that commit when it is a
/// full commit id (40 hex digits; the release workflow builds with `GHOPS_COMMIT` set to the
/// tagged commit, whose `action.yml` exists), else [`SETUP_ACTION_SHA`]. A short or unknown
/// commit cannot be pinned (GitHub resolves `uses: …@SHA` by full id only).
///
/// ```
/// use gh_core::dist::{SETUP_ACTION_SHA, setup_action_sha};
/// let full = "0123456789abcdef0123456789abcdef01234567";
/// assert_eq!(setup_action_sha(full), full);
/// assert_eq!(setup_action_sha("0123456789ab"), SETUP_ACTION_SHA);
/// assert_eq!(setup_action_sha(""), SETUP_ACTION_SHA);
/// ```
pub fn setup_action_sha(build_commit: &str) -> &str {
    if is_full_commit(build_commit) {
        build_commit
    } else {
        SETUP_ACTION_SHA
    }
}

/// Whether `s` is a full lower-case commit id (40 hex digits), as `uses: …@SHA` needs.
pub fn is_full_commit(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `OWNER/NAME` of the canonical repository (`ghops-dev/ghops`).
pub fn repository() -> &'static str {
    REPOSITORY_URL
        .strip_prefix("https://github.com/")
        .unwrap_or(REPOSITORY_URL)
        .trim_end_matches('/')
}

/// The container image of a ghops version (`ghcr.io/OWNER/ghops:0.1.0`): registries want
/// lower-case names. Never `latest`.
pub fn image(version: &str) -> String {
    format!(
        "{REGISTRY}/{}:{}",
        repository().to_ascii_lowercase(),
        version.trim_start_matches('v')
    )
}

/// The image of the running binary's version.
pub fn default_image() -> String {
    image(env!("CARGO_PKG_VERSION"))
}

/// The deploy agent's image of the running binary's version (`ghcr.io/OWNER/ghops:0.1.0-agent`):
/// the same binary on a base with a shell and coreutils, for hook scripts (docs/install.md).
pub fn default_agent_image() -> String {
    format!("{}-agent", default_image())
}

/// The `uses:` value of the setup action pinned at `sha` (`OWNER/ghops@SHA`).
pub fn setup_action(sha: &str) -> String {
    format!("{}@{sha}", repository())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_is_a_github_owner_and_name() {
        assert!(
            REPOSITORY_URL.starts_with("https://github.com/"),
            "{REPOSITORY_URL}"
        );
        let (owner, name) = repository().split_once('/').unwrap();
        assert!(!owner.is_empty() && name == "ghops", "{}", repository());
    }

    #[test]
    fn the_image_is_versioned_and_lower_case() {
        let i = default_image();
        assert!(
            i.ends_with(&format!(":{}", env!("CARGO_PKG_VERSION"))),
            "{i}"
        );
        assert!(!i.contains("latest") && i == i.to_ascii_lowercase(), "{i}");
        assert_eq!(image("v1.2.3"), image("1.2.3"));
    }

    #[test]
    fn the_setup_action_sha_is_a_full_commit_id() {
        assert!(is_full_commit(SETUP_ACTION_SHA), "{SETUP_ACTION_SHA}");
    }

    /// Only a full lower-case commit id of the build is pinned; anything else (a short id,
    /// `unknown`, upper case, a tag, 41 digits) falls back to the constant.
    #[test]
    fn a_build_pins_its_own_commit_only_when_it_is_a_full_id() {
        let full = "89abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(setup_action_sha(full), full);
        for other in [
            "",
            "unknown",
            "89abcdef0123",
            "v0.1.0",
            "89ABCDEF0123456789ABCDEF0123456789ABCDEF",
            &format!("{full}0"),
            &"g".repeat(40),
        ] {
            assert_eq!(setup_action_sha(other), SETUP_ACTION_SHA, "{other:?}");
        }
    }
}
