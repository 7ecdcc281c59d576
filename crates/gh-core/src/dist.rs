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
/// (`uses: OWNER/ghops@SHA`).
///
/// PLACEHOLDER: no release of ghops has been published yet, so no commit can be named (a
/// commit cannot contain its own id). After the first release, set this to the commit of the
/// release tag (docs/install.md, "Releasing"); until then `ghops init` warns and takes
/// `--setup-action-sha`. This is the only place the pinned commit is written: the example
/// workflows are checked against it by tests.
pub const SETUP_ACTION_SHA: &str = SETUP_ACTION_SHA_PLACEHOLDER;

/// The all-zero commit id standing for "no release yet" (see [`SETUP_ACTION_SHA`]).
pub const SETUP_ACTION_SHA_PLACEHOLDER: &str = "0000000000000000000000000000000000000000";

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
        assert_eq!(SETUP_ACTION_SHA.len(), 40);
        assert!(SETUP_ACTION_SHA.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
