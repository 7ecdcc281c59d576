//! The arguments of `ghops plan` (clap definitions and the flag enums that mirror the
//! library's).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use deploy_plan::paths::ListFormat;
use deploy_plan::render::Compat;

/// Arguments of `ghops plan`.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  ghops plan --config-root examples/infrastructure \\\n      --changed-files examples/infrastructure/changed-files.txt\n  git diff --name-only origin/main... | ghops plan --changed-files - --format json\n  ghops plan --base origin/main --head HEAD --format matrix   # in Actions: $GITHUB_OUTPUT\n  ghops plan --pr 123 --repo org/infrastructure --format markdown\n  ghops plan filter --jobs prod.json --failed failed-clusters.txt\n  ghops plan comment --pr 123 --body plan.md"
)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub(super) cmd: Option<PlanCmd>,
    #[command(flatten)]
    pub(super) input: PlanInput,
}

/// How the changed paths are given, and what is printed.
#[derive(Args, Debug)]
pub(super) struct PlanInput {
    /// The config repository's root (holding config/clusters/ and helm-charts/).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub(super) config_root: PathBuf,
    /// Changed paths: a file, or - for stdin (newline list, JSON array, or paths-filter CSV).
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["base", "pr"])]
    pub(super) changed_files: Option<String>,
    /// Format of --changed-files.
    #[arg(long, value_enum, default_value_t = ChangedFilesFormat::Auto)]
    pub(super) changed_files_format: ChangedFilesFormat,
    /// Base revision for a local git diff (merge base with --head; no API call, no file cap).
    #[arg(long, requires = "head", value_name = "REV")]
    pub(super) base: Option<String>,
    /// Head revision for the local git diff.
    #[arg(long, requires = "base", value_name = "REV")]
    pub(super) head: Option<String>,
    /// The default branch, for a --base of all zeros (a push that created the branch: the
    /// diff is then against the merge base with it). Default: the push event's
    /// repository.default_branch ($GITHUB_EVENT_PATH), else origin/HEAD.
    #[arg(long, requires = "base", value_name = "NAME")]
    pub(super) default_branch: Option<String>,
    /// Read the changed paths and labels of this PR from the API.
    #[arg(long, value_name = "N", conflicts_with = "base")]
    pub(super) pr: Option<u64>,
    /// PR labels: a JSON array or a comma-separated list (overrides the PR's with --pr).
    #[arg(long, value_name = "LABELS")]
    pub(super) labels: Option<String>,
    /// Output: terminal tables, JSON, the Markdown comment, or Actions matrices.
    #[arg(long, value_enum)]
    pub(super) format: Option<Format>,
    /// Matrix shape: ghops's own, or 2i2c's 2024 output names and rows.
    #[arg(long, value_enum, default_value_t = CompatArg::Ghops)]
    pub(super) compat: CompatArg,
    /// Accept unknown keys in cluster.yaml files without a warning.
    #[arg(long, conflicts_with = "strict")]
    pub(super) allow_unknown_fields: bool,
    /// Refuse unknown keys in cluster.yaml files (default: a warning naming file:line).
    #[arg(long)]
    pub(super) strict: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Table,
    Json,
    Markdown,
    Matrix,
}

/// `--changed-files-format` (the library's [`ListFormat`], listed in `--help`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ChangedFilesFormat {
    /// Detected from the content.
    Auto,
    /// One path per line.
    Lines,
    /// A JSON array of paths.
    Json,
    /// dorny/paths-filter's CSV (`list-files: csv`).
    Csv,
}

impl From<ChangedFilesFormat> for ListFormat {
    fn from(f: ChangedFilesFormat) -> Self {
        match f {
            ChangedFilesFormat::Auto => ListFormat::Auto,
            ChangedFilesFormat::Lines => ListFormat::Lines,
            ChangedFilesFormat::Json => ListFormat::Json,
            ChangedFilesFormat::Csv => ListFormat::Csv,
        }
    }
}

/// `--compat` (the library's [`Compat`], listed in `--help`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CompatArg {
    /// ghops's own output names and rows.
    Ghops,
    /// 2i2c's 2024 workflow: its output names and rows.
    #[value(name = "2i2c-v2024")]
    TwoI2cV2024,
}

impl From<CompatArg> for Compat {
    fn from(c: CompatArg) -> Self {
        match c {
            CompatArg::Ghops => Compat::Ghops,
            CompatArg::TwoI2cV2024 => Compat::TwoI2cV2024,
        }
    }
}

#[derive(Subcommand, Debug)]
pub(super) enum PlanCmd {
    /// Upsert the plan as the PR's one deployment-plan comment.
    #[command(
        after_help = "Examples:\n  ghops plan comment --pr 123 --body plan.md\n  # in a workflow_run job:\n  ghops plan comment --from-artifact ./plan-artifact --event \"$GITHUB_EVENT_PATH\""
    )]
    Comment {
        /// The PR number.
        #[arg(
            long,
            required_unless_present = "from_artifact",
            conflicts_with = "from_artifact"
        )]
        pr: Option<u64>,
        /// The comment body (Markdown starting with the <!-- deployment-plan --> marker); - for stdin.
        #[arg(long, value_name = "FILE|-", required_unless_present = "from_artifact")]
        body: Option<String>,
        /// An artifact directory uploaded by an unprivileged (fork PR) plan job: pr-number and
        /// plan.json, rendered and escaped here (any comment.md is ignored). Treated as untrusted.
        #[arg(long, value_name = "DIR")]
        from_artifact: Option<PathBuf>,
        /// The triggering run's head SHA (default: workflow_run.head_sha of --event).
        #[arg(long, value_name = "SHA")]
        head_sha: Option<String>,
        /// The workflow_run event (default: $GITHUB_EVENT_PATH).
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
    },
    /// Drop the staging/prod jobs of clusters whose support or staging job failed (exact
    /// cluster names).
    #[command(
        after_help = "Examples:\n  ghops plan filter --jobs prod.json --failed failed.txt\n  ghops plan filter --jobs prod.json --run-id \"$GITHUB_RUN_ID\" --format matrix",
        group = clap::ArgGroup::new("failures").required(true).args(["failed", "run_id"])
    )]
    Filter {
        /// The jobs: a JSON array (file, or - for stdin) of rows with cluster_name.
        #[arg(long, value_name = "FILE|-")]
        jobs: String,
        /// Failed clusters: a JSON array or one name per line.
        #[arg(long, value_name = "FILE")]
        failed: Option<PathBuf>,
        /// Read failed support/staging jobs of this workflow run from the API (job names
        /// `support: <cluster>` and `staging: <cluster>/<hub>`).
        #[arg(long, value_name = "ID")]
        run_id: Option<u64>,
        /// Output: JSON on stdout, or the $GITHUB_OUTPUT value named by --output-name.
        #[arg(long, value_enum, default_value = "json")]
        format: FilterFormat,
        /// The output name for --format matrix.
        #[arg(long, default_value = "prod-jobs")]
        output_name: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FilterFormat {
    Json,
    Matrix,
}
