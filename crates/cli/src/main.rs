//! The `ghops` binary: parses the command line, builds the client, calls a workflow library
//! and renders its result. No business logic lives here.

mod cmd;
mod config_check;
mod crash;
mod ctx;
mod output;

use std::process::ExitCode as ProcessExit;

use clap::{CommandFactory, Parser, Subcommand};
use gh_core::ExitCode;

use crate::ctx::{Ctx, Failure, GlobalArgs};

/// mimalloc: `ghops serve` allocates per delivery on both cores; the system allocator's
/// arena locking showed up as ~10 % of server CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `ghops --version`: the Cargo version and the commit it was built from (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GHOPS_COMMIT"),
    ")"
);

/// ghops: the GitHub operations platform teams otherwise glue together from bash, Python and
/// copied workflow YAML.
///
/// Exit codes: 0 success; 1 the operation ran and failed; 2 usage error or invalid input;
/// 3 refused by policy; 4 GitHub or Kubernetes API failure after retries; 5 timed out.
#[derive(Parser, Debug)]
#[command(
    name = "ghops",
    version = VERSION,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Examples:\n  ghops auth status\n  ghops plan --config-root examples/infrastructure \\\n      --changed-files examples/infrastructure/changed-files.txt\n  ghops completions bash > /etc/bash_completion.d/ghops\n\nEnvironment (besides the [env: …] of each flag):\n  GHOPS_LOG_FORMAT=json  every stderr line a JSON event (logs, reports, progress, errors)\n  GHOPS_APP_SLUG         the GitHub App's slug: its bot login without an API call\n  NO_COLOR, RUST_LOG     no colour; log filter (overrides -v/-q)\n  GHOPS_RETRY_MAX_ATTEMPTS, GHOPS_RETRY_BASE_MS, GHOPS_RETRY_MAX_DELAY_MS,\n  GHOPS_RETRY_MAX_TOTAL_MS  retry bounds of API calls"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show who ghops acts as: identity, token kind, scopes or permissions, rate-limit budget.
    #[command(
        subcommand,
        after_help = "Examples:\n  GH_TOKEN=... ghops auth status\n  ghops auth status --repo octo-org/hello --json"
    )]
    Auth(cmd::auth::AuthCmd),
    /// "Test this PR": authorised maintainers run CI with secrets on fork PRs (pinned, reported, cleaned up).
    #[command(
        subcommand,
        name = "pr-bridge",
        after_help = "Examples:\n  ghops pr-bridge trigger                  # issue_comment workflow\n  ghops pr-bridge report --pr 42 --timeout 1h30m\n  ghops pr-bridge cleanup --older-than 7d --dry-run"
    )]
    PrBridge(cmd::pr_bridge::PrBridgeCmd),
    /// Path-to-job planning for multi-cluster Helm deployments.
    Plan(cmd::plan::PlanArgs),
    /// Draft releases, semver from labels, release branches and hotfixes.
    #[command(
        subcommand,
        after_help = "Examples:\n  ghops release draft --dry-run\n  ghops release publish-hook --tag v1.4.0\n  ghops release hotfix --branch release/1.4.0"
    )]
    Release(cmd::release::ReleaseCmd),
    /// Label-driven preview/QA environments recorded as GitHub Deployments.
    #[command(
        subcommand,
        after_help = "Examples:\n  ghops env sync --event \"$GITHUB_EVENT_PATH\" --json\n  ghops env record --environment qa1 --state success --url https://qa1.example.com\n  ghops env status"
    )]
    Env(cmd::env::EnvCmd),
    /// Approval gates for production promotion.
    #[command(
        subcommand,
        after_help = "Examples:\n  ghops gate check --environment production --sha \"$GITHUB_SHA\"\n  ghops gate approve --help"
    )]
    Gate(cmd::env::GateCmd),
    /// Write least-privilege workflows into .github/workflows/.
    Init(cmd::init::InitArgs),
    /// A pull-based deploy agent on GitHub Deployments.
    #[command(
        subcommand,
        after_help = "Examples:\n  ghops agent run --repo org/app --environment production --hooks-dir hooks\n  ghops agent create --repo org/app --ref v1.2.0 --environment production --wait\n  ghops agent status --repo org/app --environment production"
    )]
    Agent(cmd::agent::AgentCmd),
    /// Ephemeral self-hosted Actions runners, one per queued job.
    #[command(
        subcommand,
        after_help = "Examples:\n  ghops runners reconcile --dry-run\n  ghops runners reconcile --watch --interval 30s\n  ghops runners status --json"
    )]
    Runners(cmd::runners::RunnersCmd),
    /// One GitHub App webhook server for every workflow.
    Serve(cmd::serve::ServeArgs),
    /// Print the JSON Schema of a command's --json output.
    Schema(cmd::schema::SchemaArgs),
    /// Print shell completions.
    #[command(
        after_help = "Examples:\n  ghops completions bash > /etc/bash_completion.d/ghops\n  ghops completions zsh > \"${fpath[1]}/_ghops\""
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ProcessExit {
    // First, while the process has one thread: non-dumpable (no /proc/<pid>/environ or mem
    // for other processes of this user, no core dump), and the credentials moved out of the
    // environment by re-executing this binary without them (see gh_core::hardening).
    let startup = match gh_core::hardening::harden_startup() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ProcessExit::from(ExitCode::Usage.code());
        }
    };
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    // Daemons log what they do (start-up, one line per delivery, pass, launch or deploy) at
    // INFO by default; one-shot commands only warnings.
    let daemon = match &cli.command {
        Command::Serve(a) => a.is_daemon(),
        Command::Agent(c) => c.is_daemon(),
        Command::Runners(c) => c.is_daemon(),
        _ => false,
    };
    ctx::init_tracing(&cli.global, daemon);
    crash::install();
    tracing::debug!(?startup, "process hardening");
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ProcessExit::from(ExitCode::Failed.code());
        }
    };
    let ctx = Ctx::new(cli.global);
    let result = rt.block_on(run(cli.command, &ctx));
    match result {
        Ok(code) => ProcessExit::from(code.code()),
        Err(f) => {
            f.report();
            ProcessExit::from(f.code.code())
        }
    }
}

/// A command line clap refuses (exit 2). Help and version go to stdout as clap prints them;
/// an error is clap's own text, unless `GHOPS_LOG_FORMAT=json` (then a JSON log line, as
/// every other error) or under GitHub Actions (then also an `::error` annotation).
fn usage_error(e: clap::Error) -> ProcessExit {
    use clap::error::ErrorKind;
    let plain = matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if plain || !(ctx::json_logs() || gh_core::actions::in_actions()) {
        let _ = e.print();
        return ProcessExit::from(u8::try_from(e.exit_code()).unwrap_or(ExitCode::Usage.code()));
    }
    let defaults = GlobalArgs {
        repo: None,
        api_url: None,
        token: None,
        app_id: None,
        app_key: None,
        config: None,
        json: false,
        dry_run: false,
        verbose: 0,
        quiet: false,
        color: ctx::ColorChoice::Never,
    };
    ctx::init_tracing(&defaults, false);
    let text = e.render().to_string();
    let message = text.trim().strip_prefix("error: ").unwrap_or(text.trim());
    Failure::usage(message).report();
    ProcessExit::from(ExitCode::Usage.code())
}

async fn run(command: Command, ctx: &Ctx) -> Result<ExitCode, Failure> {
    match command {
        Command::Auth(c) => cmd::auth::run(c, ctx).await,
        Command::PrBridge(c) => cmd::pr_bridge::run(c, ctx).await,
        Command::Plan(a) => cmd::plan::run(a, ctx).await,
        Command::Release(c) => cmd::release::run(c, ctx).await,
        Command::Env(c) => cmd::env::run_env(c, ctx).await,
        Command::Gate(c) => cmd::env::run_gate(c, ctx).await,
        Command::Init(a) => cmd::init::run(a, ctx).await,
        Command::Agent(c) => cmd::agent::run(c, ctx).await,
        Command::Runners(c) => cmd::runners::run(c, ctx).await,
        Command::Serve(a) => cmd::serve::run(a, ctx).await,
        Command::Schema(a) => cmd::schema::run(a, ctx).await,
        Command::Completions { shell } => {
            // Into a buffer first: clap_complete panics when its writer fails (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ghops", &mut script);
            output::out!("{}", String::from_utf8_lossy(&script));
            Ok(ExitCode::Success)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn debug_never_shows_the_token_flag() {
        // Issue 19 #15: GlobalArgs derived Debug over a plain String token.
        let cli = Cli::parse_from(["ghops", "--token", "ghp_flagSECRET123", "auth", "status"]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("ghp_flagSECRET123"), "{shown}");
        assert!(shown.contains("token: Some("), "{shown}");
    }

    #[test]
    fn version_names_the_commit() {
        let v = Cli::command().render_version();
        let want = format!("ghops {} (commit ", env!("CARGO_PKG_VERSION"));
        assert!(v.starts_with(&want) && v.trim_end().ends_with(')'), "{v}");
        let commit = &v[want.len()..v.trim_end().len() - 1];
        assert!(
            commit == "unknown" || commit.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{commit}"
        );
    }

    /// The canonical owner/name is set once (Cargo `repository`, read by gh_core::dist): every
    /// place that spells out `github.com/X/ghops`, `ghcr.io/X/ghops` or `uses: X/ghops` (docs,
    /// examples, the action, the Dockerfile, the workflows) names that one, or `OWNER`.
    #[test]
    fn the_canonical_repository_is_the_only_one_named() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let (owner, _) = gh_core::dist::repository().split_once('/').unwrap();
        let mut files = vec![];
        let mut dirs = vec![
            root.join("docs"),
            root.join("examples"),
            root.join(".github"),
        ];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "md" || x == "yml") {
                    files.push(p);
                }
            }
        }
        for f in ["README.md", "CHANGELOG.md", "action.yml", "Dockerfile"] {
            files.push(root.join(f));
        }
        let mut seen = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            for prefix in ["github.com/", "ghcr.io/", "uses: "] {
                for (i, _) in text.match_indices(prefix) {
                    let rest = &text[i + prefix.len()..];
                    let Some((o, after)) = rest.split_once('/') else {
                        continue;
                    };
                    let name_ends = !after[5.min(after.len())..]
                        .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    if o.contains(char::is_whitespace) || !after.starts_with("ghops") || !name_ends
                    {
                        continue;
                    }
                    seen += 1;
                    assert!(
                        o.eq_ignore_ascii_case(owner) || o == "OWNER" || o.starts_with("${{"),
                        "{}: names {o}/ghops, not {}",
                        f.display(),
                        gh_core::dist::repository()
                    );
                }
            }
        }
        assert!(
            seen > 10,
            "the check found only {seen} mentions: is it looking?"
        );
    }
}

#[cfg(test)]
mod help_tests {
    use super::*;

    /// Every command's `--help` (groups and subcommands alike) has examples, and every line
    /// of every command's help fits 100 columns (example lines wrapped mid-command).
    #[test]
    fn every_command_has_examples_that_fit_100_columns() {
        let mut cmd = Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        let mut wide = Vec::new();
        // clap wraps help at 100 columns (max_term_width): an example line longer than that
        // would be broken mid-command, so the unwrapped text is what is checked.
        fn walk(
            c: &mut clap::Command,
            path: String,
            missing: &mut Vec<String>,
            wide: &mut Vec<String>,
        ) {
            let texts = [c.get_after_help(), c.get_after_long_help()];
            for t in texts.into_iter().flatten() {
                for l in t.to_string().lines() {
                    if l.chars().count() > 100 {
                        wide.push(format!("{path}: {l}"));
                    }
                }
            }
            let help = c.render_long_help().to_string();
            if path != "ghops" && !(help.contains("Examples:") || help.contains("Example:")) {
                missing.push(path.clone());
            }
            for s in c.get_subcommands_mut() {
                if s.get_name() == "help" {
                    continue;
                }
                let p = format!("{path} {}", s.get_name());
                walk(s, p, missing, wide);
            }
        }
        walk(&mut cmd, "ghops".into(), &mut missing, &mut wide);
        assert!(missing.is_empty(), "commands without examples: {missing:?}");
        assert!(
            wide.is_empty(),
            "help lines over 100 columns:\n{}",
            wide.join("\n")
        );
    }

    /// Every environment variable a flag reads is named in `--help` as `[env: …]` (the
    /// credentials are read by gh-core, not clap, so their flags say it in words), the others
    /// in the top-level Environment section; enumerated values are listed.
    #[test]
    fn help_names_every_environment_variable_and_value() {
        let mut cmd = Cli::command();
        cmd.build();
        let top = cmd.render_long_help().to_string();
        for want in [
            "[env: GH_TOKEN, GITHUB_TOKEN]",
            "[env: GHOPS_APP_PRIVATE_KEY",
            "[env: GHOPS_APP_ID=]",
            "[env: GITHUB_API_URL=]",
            "[env: GHOPS_CONFIG=]",
            "[env: GITHUB_REPOSITORY]",
            "https://HOST/OWNER/NAME",
            "OWNER/NAME.git",
            "GHOPS_LOG_FORMAT=json",
            "GHOPS_APP_SLUG",
        ] {
            assert!(top.contains(want), "ghops --help lacks {want}:\n{top}");
        }
        let sub = |path: &[&str]| {
            let mut c = cmd.clone();
            let mut cur = &mut c;
            for p in path {
                cur = cur.find_subcommand_mut(p).unwrap();
            }
            cur.render_long_help().to_string()
        };
        assert!(sub(&["serve"]).contains("[env: GHOPS_WEBHOOK_SECRET"));
        let report = sub(&["pr-bridge", "report"]);
        assert!(
            report.contains("doubles at each poll up to 60 s"),
            "{report}"
        );
        let plan = sub(&["plan"]);
        for v in ["- csv:", "- lines:", "- 2i2c-v2024:"] {
            assert!(plan.contains(v), "plan --help lacks {v}:\n{plan}");
        }
    }
}

#[cfg(test)]
mod schema_tests {
    use std::collections::BTreeSet;

    use clap::ValueEnum;

    use super::*;
    use crate::cmd::schema::SchemaOf;

    /// The commands whose output is not a ghops JSON value, with why: every other command
    /// must have a `ghops schema` (so a new command cannot forget one).
    const NO_JSON: &[(&str, &str)] = &[
        ("agent manifests", "prints Kubernetes YAML"),
        ("serve", "a server: logs, prints no result"),
        ("serve manifests", "prints Kubernetes YAML"),
        ("schema", "prints a JSON Schema"),
        ("completions", "prints a shell script"),
        (
            "plan filter",
            "prints the --jobs entries it keeps (`--format json`): the input's own objects",
        ),
    ];

    /// Every command that can run (a leaf, or a group whose subcommand is optional).
    fn runnable(c: &clap::Command, path: &str, out: &mut Vec<String>) {
        let leaf = c.get_subcommands().next().is_none();
        if !path.is_empty() && (leaf || !c.is_subcommand_required_set()) {
            out.push(path.to_owned());
        }
        for s in c.get_subcommands().filter(|s| s.get_name() != "help") {
            let p = format!("{path} {}", s.get_name());
            runnable(s, p.trim_start(), out);
        }
    }

    /// Every command has a schema of its `--json` output or is listed in [`NO_JSON`]; every
    /// schema and every exception names a real command (issue 18).
    #[test]
    fn every_json_command_has_a_schema() {
        let mut commands = Vec::new();
        runnable(&Cli::command(), "", &mut commands);
        let commands: BTreeSet<String> = commands.into_iter().collect();
        assert!(commands.contains("pr-bridge trigger") && commands.contains("plan"));
        let with_schema: BTreeSet<&str> = SchemaOf::value_variants()
            .iter()
            .map(|s| s.subcommand())
            .collect();
        let exempt: BTreeSet<&str> = NO_JSON.iter().map(|(c, _)| *c).collect();
        let missing: Vec<&String> = commands
            .iter()
            .filter(|c| !with_schema.contains(c.as_str()) && !exempt.contains(c.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "commands with neither a `ghops schema` nor a NO_JSON reason: {missing:?}"
        );
        for c in with_schema.iter().chain(&exempt) {
            assert!(commands.contains(*c), "{c} is not a ghops command");
        }
        assert!(with_schema.is_disjoint(&exempt));
    }
}
