//! `ghops auth status`.

use clap::Subcommand;
use gh_core::ExitCode;
use gh_core::client::InstallationTarget;

use crate::ctx::{Ctx, Failure};
use crate::output::outln;

/// Authentication commands.
#[derive(Subcommand, Debug)]
pub enum AuthCmd {
    /// Print the identity (user or App installation), token kind, scopes or permissions, and
    /// the rate-limit budget.
    ///
    /// With a GitHub App, the installation is the one on --repo (or $GITHUB_REPOSITORY), else
    /// on --org.
    #[command(
        after_help = "Examples:\n  GH_TOKEN=... ghops auth status\n  ghops auth status --app-id 123 --app-key app.pem --repo octo-org/hello --json"
    )]
    Status {
        /// With a GitHub App: the organisation whose installation to use (instead of --repo).
        #[arg(long)]
        org: Option<String>,
    },
}

/// `ghops auth status --json`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct AuthStatus {
    /// The API base ghops talks to.
    pub api_url: String,
    /// Who the credentials act as.
    pub identity: gh_core::identity::Identity,
}

/// Runs `ghops auth`.
pub async fn run(cmd: AuthCmd, ctx: &Ctx) -> Result<ExitCode, Failure> {
    match cmd {
        AuthCmd::Status { org } => {
            let target = match (org, ctx.repo()) {
                (Some(o), _) => Some(InstallationTarget::Org(o)),
                (None, Ok(r)) => Some(InstallationTarget::Repo(r)),
                (None, Err(_)) => None,
            };
            let gh = ctx.connect(target).await?;
            let id = gh.identity().await?;
            if ctx.global.json {
                ctx.print_json(&AuthStatus {
                    api_url: gh.api_url().to_owned(),
                    identity: id,
                })?;
            } else {
                outln!("API:          {}", gh.api_url());
                outln!("Logged in as: {} ({})", id.login, id.kind);
                if let Some(k) = id.token_kind {
                    outln!("Token kind:   {k}");
                }
                if let Some(i) = id.installation_id {
                    outln!("Installation: {i}");
                }
                if let Some(s) = &id.scopes {
                    outln!(
                        "Scopes:       {}",
                        if s.is_empty() {
                            "(none reported)".to_owned()
                        } else {
                            s.join(", ")
                        }
                    );
                }
                if let Some(p) = id.permissions.as_ref().and_then(|p| p.as_object()) {
                    let mut v: Vec<String> = p
                        .iter()
                        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or("?")))
                        .collect();
                    v.sort();
                    outln!("Permissions:  {}", v.join(", "));
                }
                if let Some(r) = id.rate_limit {
                    outln!(
                        "Rate limit:   {}/{} remaining, resets at {}",
                        r.remaining,
                        r.limit,
                        r.reset_rfc3339()
                    );
                } else if id.rate_limiting_disabled {
                    outln!("Rate limit:   off (the server does not limit requests)");
                } else {
                    outln!("Rate limit:   not reported");
                }
            }
            Ok(ExitCode::Success)
        }
    }
}
