//! Global flags, the per-invocation context (client, config, output mode) and error mapping.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use gh_core::auth::CredentialInputs;
use gh_core::auth::SecretString;
use gh_core::client::{ClientConfig, GitHub, InstallationTarget, Installations};
use gh_core::config::ConfigFile;
use gh_core::{ExitCode, ExitStatus, RepoRef};

use crate::output::outln;

/// Colour choice.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour on a terminal, unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Flags every subcommand accepts.
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Repository: OWNER/NAME, OWNER/NAME.git or a URL (https://HOST/OWNER/NAME,
    /// git@HOST:OWNER/NAME.git; the host picks the API of GitHub Enterprise Server)
    /// [default: $GITHUB_REPOSITORY, else the `origin` remote of the git repository in the
    /// current directory].
    ///
    /// [env: GITHUB_REPOSITORY]
    #[arg(long, global = true, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// GitHub API base URL (GitHub Enterprise Server: https://HOST/api/v3).
    #[arg(long, global = true, env = "GITHUB_API_URL", value_name = "URL")]
    pub api_url: Option<String>,
    /// GitHub token. Prefer the environment: a flag is visible in the process list.
    ///
    /// [env: GH_TOKEN, GITHUB_TOKEN]
    #[arg(long, global = true, value_name = "TOKEN", hide_env_values = true, value_parser = secret)]
    pub token: Option<SecretString>,
    /// GitHub App id (with --app-key); installation tokens are minted for the target repo.
    #[arg(long, global = true, env = "GHOPS_APP_ID", value_name = "ID")]
    pub app_id: Option<String>,
    /// GitHub App private key, a PEM file. `GHOPS_APP_SLUG` (the App's slug, for its
    /// `SLUG[bot]` login) saves a lookup.
    ///
    /// [env: GHOPS_APP_PRIVATE_KEY (the PEM itself)]
    #[arg(long, global = true, value_name = "FILE")]
    pub app_key: Option<PathBuf>,
    /// Configuration file [default: ./ghops.toml when present].
    #[arg(long, global = true, env = "GHOPS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Machine-readable output on stdout (logs stay on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// Perform reads only; print every write (method, path, JSON body) and perform none.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// More logging (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less logging (errors only).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// `--token`: straight into a secret type (redacted in `Debug`).
fn secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s.to_owned()))
}

/// Sets up `tracing` on stderr from -v/-q and `RUST_LOG`. The libraries' report events
/// ([`gh_core::output`]: dry-run writes, agent decisions, hook output) are not diagnostics:
/// they are printed as plain lines by [`crate::output::ReportLayer`] at any level, or carried
/// as JSON events with `GHOPS_LOG_FORMAT=json`.
///
/// A daemon (`serve`, `agent run`, `runners reconcile --watch`) logs ghops's own INFO lines
/// by default (start-up, each delivery, pass, launch and deploy, a heartbeat when idle);
/// dependencies stay at WARN.
pub fn init_tracing(g: &GlobalArgs, daemon: bool) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let level = if g.quiet {
        "error"
    } else {
        // octocrab logs transport errors at ERROR that ghops already reports (and retries).
        match g.verbose {
            0 if daemon => {
                "warn,octocrab=off,ghops=info,gh_core=info,ghops_serve=info,deploy_agent=info,\
                 runner_orch=info,pr_bridge=info,release_flow=info,deploy_plan=info"
            }
            0 => "warn,octocrab=off",
            1 => "debug,octocrab=warn,hyper=warn,hyper_util=warn,h2=warn,rustls=warn,tower=warn",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    // GHOPS_LOG_FORMAT=json: one JSON object per line, with span fields (the webhook
    // server's delivery id) on every line; report events included whatever the level.
    let json = json_logs();
    let reports = if json { "info" } else { "off" };
    let filter = gh_core::output::ALL
        .iter()
        .chain([&crate::output::PROGRESS, &crate::output::MESSAGE])
        .fold(filter, |f, t| {
            f.add_directive(format!("{t}={reports}").parse().expect("valid directive"))
        });
    if json {
        let _ = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr)
                    .with_filter(filter),
            )
            .try_init();
        return;
    }
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(use_color(g.color))
                .with_target(false)
                .with_filter(filter),
        )
        .with(
            crate::output::ReportLayer.with_filter(tracing_subscriber::filter::filter_fn(|m| {
                crate::output::is_report(m.target())
            })),
        )
        .try_init();
}

/// `GHOPS_LOG_FORMAT=json`: every stderr line is a JSON event.
pub fn json_logs() -> bool {
    std::env::var("GHOPS_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"))
}

/// Whether to colour output.
pub fn use_color(c: ColorChoice) -> bool {
    use std::io::IsTerminal;
    match c {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// A failure to report: message, exit code, and the file and line it is about when known.
#[derive(Debug)]
pub struct Failure {
    /// Exit code.
    pub code: ExitCode,
    /// Message for stderr.
    pub message: String,
    /// The file (and 1-based line) at fault, for the `::error` annotation under Actions.
    pub location: Option<(String, Option<u64>)>,
}

impl Failure {
    /// A failure with this exit code and message, about no file in particular.
    pub fn new(code: ExitCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            location: None,
        }
    }

    /// A usage failure (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ExitCode::Usage, message)
    }

    /// Reports the failure on stderr: `error: …`, and under GitHub Actions also an `::error`
    /// annotation (on the file and line when known), as warnings are. Never panics (a closed
    /// stderr is ignored).
    pub fn report(&self) {
        crate::output::say(crate::output::Kind::Error, &self.message);
        if gh_core::actions::in_actions() {
            let (file, line) = match &self.location {
                Some((f, l)) => (Some(f.as_str()), *l),
                None => (None, None),
            };
            crate::output::annotate(&gh_core::actions::annotation(
                gh_core::actions::Level::Error,
                &self.message,
                file,
                line,
            ));
        }
    }
}

impl<E: ExitStatus> From<E> for Failure {
    fn from(e: E) -> Self {
        Self {
            code: e.exit_code(),
            message: e.to_string(),
            location: e.location(),
        }
    }
}

/// A warning on stderr; under GitHub Actions also a `::warning` annotation (on stderr as
/// well: the runner reads workflow commands there, and stdout may be `--json`). `message` is
/// escaped for the workflow-command syntax by [`gh_core::actions::annotation`].
pub fn warn(message: &str, file: Option<&str>, line: Option<u64>) {
    crate::output::say(crate::output::Kind::Warning, message);
    if gh_core::actions::in_actions() {
        crate::output::annotate(&gh_core::actions::annotation(
            gh_core::actions::Level::Warning,
            message,
            file,
            line,
        ));
    }
}

/// With `--dry-run`, says once on stderr what it means (reads made, writes printed).
pub fn note_dry_run(dry_run: bool) {
    if dry_run {
        crate::output::say(
            crate::output::Kind::Info,
            "dry-run: reads are performed, writes are printed and not sent",
        );
    }
}

/// The per-invocation context.
pub struct Ctx {
    /// Global flags.
    pub global: GlobalArgs,
    /// The git host the repository was named on (origin remote or a `--repo` URL), once
    /// [`Ctx::repo`] ran; decides the API base when none is given.
    repo_host: std::sync::OnceLock<Option<String>>,
}

impl Ctx {
    /// Wraps the global flags.
    pub fn new(global: GlobalArgs) -> Self {
        Self {
            global,
            repo_host: std::sync::OnceLock::new(),
        }
    }

    /// The target repository (flag, `GITHUB_REPOSITORY`, `origin` remote).
    pub fn repo(&self) -> Result<RepoRef, Failure> {
        let env = std::env::var("GITHUB_REPOSITORY").ok();
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let located = RepoRef::locate(self.global.repo.as_deref(), env.as_deref(), &cwd)?;
        let _ = self.repo_host.set(located.host);
        Ok(located.repo)
    }

    /// The configuration file.
    pub fn config(&self) -> Result<ConfigFile, Failure> {
        let file = ConfigFile::load(self.global.config.as_deref())?;
        crate::config_check::check_tables(&file)?;
        Ok(file)
    }

    /// The client config from flags and environment (credentials, API base, retries, dry
    /// run); which installation a GitHub App acts on is chosen per call by [`Installations`].
    pub fn client_config(&self) -> Result<ClientConfig, Failure> {
        let mut inputs = CredentialInputs::from_env();
        inputs.token_flag = self.global.token.clone();
        if let Some(id) = &self.global.app_id {
            inputs.app_id = Some(id.clone());
        }
        inputs.app_key_file = self.global.app_key.clone();
        let creds = inputs.resolve()?;
        let mut cfg = ClientConfig::new(creds);
        if let Some(u) = self.global.api_url.as_deref().filter(|u| !u.is_empty()) {
            cfg.api_url = u.to_owned();
        } else if let Some(Some(host)) = self.repo_host.get() {
            // A repository named on a GitHub Enterprise host is served by that host's API:
            // never send its token to api.github.com.
            if let Some(u) = gh_core::repo::api_url_for_host(host)? {
                tracing::info!(api_url = %u, "API base from the repository's host");
                cfg.api_url = u;
            }
        }
        cfg.dry_run = self.global.dry_run;
        if let Some(r) = gh_core::retry::RetryPolicy::from_env()? {
            cfg.retry = r;
        }
        Ok(cfg)
    }

    /// The installation clients of the flags' and environment's credentials (gh-core's one
    /// factory: a GitHub App acts as the installation each caller names).
    pub fn installations(&self) -> Result<Installations, Failure> {
        Ok(Installations::new(self.client_config()?))
    }

    /// Connects a client acting on `target`'s installation (a GitHub App), or with no target
    /// the token's client (the App's own, JWT-authenticated, for App credentials).
    pub async fn connect(&self, target: Option<InstallationTarget>) -> Result<GitHub, Failure> {
        let inst = self.installations()?;
        Ok(match target {
            Some(t) => inst.for_target(t).await?,
            None => inst.client(None).await?,
        })
    }

    /// Connects a client acting on `repo` (App installations are resolved for that repo).
    #[allow(dead_code)] // for the workflow commands
    pub async fn client(&self, repo: &RepoRef) -> Result<GitHub, Failure> {
        let gh = self
            .connect(Some(InstallationTarget::Repo(repo.clone())))
            .await?;
        note_dry_run(gh.is_dry_run());
        Ok(gh)
    }

    /// True when the target is not github.com: `--api-url` / `GITHUB_API_URL` names another
    /// host, or the repository's remote is on another host (GitHub Enterprise Server).
    pub fn targets_ghes(&self) -> bool {
        if let Some(u) = self.global.api_url.as_deref().filter(|u| !u.is_empty()) {
            return gh_core::repo::remote_host(u)
                .is_some_and(|h| h != "api.github.com" && !h.ends_with(".ghe.com"));
        }
        let _ = self.repo();
        matches!(
            self.repo_host.get(),
            Some(Some(h)) if gh_core::repo::api_url_for_host(h).is_ok_and(|u| u.is_some_and(|u| u.ends_with("/api/v3")))
        )
    }

    /// Warns (see [`warn`]) when the credentials are the Actions `GITHUB_TOKEN`: `what` it
    /// creates (branches, releases, tags) trigger no further workflow runs.
    pub fn warn_actions_token(&self, what: &str) {
        if let Ok(cfg) = self.client_config()
            && cfg.credentials.is_actions_github_token()
        {
            warn(
                &format!(
                    "ghops is using the Actions GITHUB_TOKEN: {what} it creates trigger no \
                     further workflows. Use a GitHub App installation token (e.g. \
                     actions/create-github-app-token)."
                ),
                None,
                None,
            );
        }
    }

    /// An event this command has nothing to do for: `ignored: <why>`, or with `--json`
    /// `{"outcome": "ignored", "reason": "<why>"}` (the shape `ghops serve` logs).
    pub fn print_ignored(&self, why: &str) -> Result<(), Failure> {
        if self.global.json {
            self.print_json(&Ignored::Ignored {
                reason: why.to_owned(),
            })
        } else {
            outln!("ignored: {why}");
            Ok(())
        }
    }

    /// Prints a value as pretty JSON on stdout.
    pub fn print_json<T: serde::Serialize>(&self, v: &T) -> Result<(), Failure> {
        let s = serde_json::to_string_pretty(v)
            .map_err(|e| Failure::new(ExitCode::Failed, e.to_string()))?;
        outln!("{s}");
        Ok(())
    }
}

/// What a command prints with `--json` for an event it has nothing to do for:
/// `{"outcome": "ignored", "reason": "<why>"}` (the shape of the libraries' own `ignored`
/// outcomes, and of what `ghops serve` logs).
#[derive(serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Ignored {
    /// Nothing to do.
    Ignored {
        /// Why (one line).
        reason: String,
    },
}
