//! `ghops release`'s arguments.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use release_flow::config::Overrides;

/// `ghops release` subcommands.
#[derive(Subcommand, Debug)]
pub enum ReleaseCmd {
    /// Keep ONE draft release of a branch current: next version from PR labels, changelog.
    ///
    /// Needs: contents: write (releases), pull-requests: read.
    /// Under Actions, writes release-drafter's outputs to $GITHUB_OUTPUT (id, name, tag_name,
    /// body, html_url, upload_url, resolved_version, major/minor/patch_version) and the draft to
    /// the step summary.
    #[command(
        after_help = "Examples:\n  ghops release draft --dry-run\n  ghops release draft --target main --json\n  ghops release draft --release-version 2.0.0"
    )]
    Draft {
        /// The branch [default: `commitish` of the config, else under Actions the branch of
        /// GITHUB_REF, else the repository's default branch].
        #[arg(long)]
        target: Option<String>,
        /// Use this version instead of resolving one (release-drafter's `version` input).
        #[arg(long = "release-version", value_name = "VERSION")]
        release_version: Option<String>,
        /// The tag, overriding `tag-template` (release-drafter's `tag` input; version variables
        /// are filled, and a version in it is used as is).
        #[arg(long)]
        tag: Option<String>,
        /// The release name, overriding `name-template` (release-drafter's `name` input).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        inputs: DraftInputs,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// On `release: published`: create `release/{version}` at the tag's commit.
    ///
    /// A patch release that a `release/X.Y.*` branch of its line already holds (a hotfix) gets
    /// no branch of its own. Needs: contents: write.
    #[command(
        name = "publish-hook",
        after_help = "Examples:\n  ghops release publish-hook --tag v1.4.0\n  ghops release publish-hook --event \"$GITHUB_EVENT_PATH\""
    )]
    PublishHook {
        /// The published tag.
        #[arg(long, conflicts_with = "event")]
        tag: Option<String>,
        /// A `release` event [default: $GITHUB_EVENT_PATH].
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// On a push to `release/X.Y.Z`: publish the next patch, keep ONE reintegration PR, then
    /// refresh the main branch's draft.
    ///
    /// Needs: contents: write, pull-requests: write.
    #[command(
        after_help = "Examples:\n  ghops release hotfix --branch release/1.4.0\n  ghops release hotfix --event \"$GITHUB_EVENT_PATH\""
    )]
    Hotfix {
        /// The release branch.
        #[arg(long, conflicts_with = "event")]
        branch: Option<String>,
        /// A `push` event [default: $GITHUB_EVENT_PATH].
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
        /// Where reintegration PRs go.
        /// [default: `commitish` of the config, else the repository's default branch]
        #[arg(long)]
        main: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// release-drafter's action inputs that override the config file.
#[derive(Args, Debug, Default)]
pub struct DraftInputs {
    /// Draft a prerelease (`prerelease`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    prerelease: Option<bool>,
    /// Prerelease identifier (`prerelease-identifier`); turns `--prerelease` on, even with
    /// `--prerelease=false` (release-drafter v7).
    #[arg(long, value_name = "ID")]
    prerelease_identifier: Option<String>,
    /// Count published prereleases as the last release (`include-pre-releases`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    include_pre_releases: Option<bool>,
    /// `make_latest` of the release (`latest`: true, false or legacy).
    #[arg(long, value_name = "WHEN", value_parser = ["true", "false", "legacy"])]
    latest: Option<String>,
    /// Text put before the body template (`header`; replaces the config's).
    #[arg(long, value_name = "TEXT")]
    header: Option<String>,
    /// Text put after the body template (`footer`; replaces the config's).
    #[arg(long, value_name = "TEXT")]
    footer: Option<String>,
}

impl From<DraftInputs> for Overrides {
    fn from(i: DraftInputs) -> Self {
        Overrides {
            prerelease: i.prerelease,
            prerelease_identifier: i.prerelease_identifier,
            include_pre_releases: i.include_pre_releases,
            latest: i.latest,
            header: i.header,
            footer: i.footer,
        }
    }
}

/// Where the drafter configuration comes from.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// release-drafter YAML [default: .github/release-drafter.yml if present, else `[release]`
    /// of ghops.toml].
    #[arg(long = "drafter-config", value_name = "FILE")]
    pub(super) drafter_config: Option<PathBuf>,
}
