//! `ghops serve`: the GitHub App webhook server (a thin layer over `ghops-serve` and the
//! workflow libraries).

use gh_core::ExitCode;
use ghops_serve::{App, Setup, shutdown_signal};

use crate::ctx::{Ctx, Failure};
use crate::output::{Kind, out, say};

mod args;
pub use args::ServeArgs;
use args::ServeCmd;

/// Runs `ghops serve`.
pub async fn run(args: ServeArgs, ctx: &Ctx) -> Result<ExitCode, Failure> {
    if let Some(ServeCmd::Manifests { namespace, image }) = &args.cmd {
        out!("{}", ghops_serve::manifests::kubernetes(namespace, image));
        return Ok(ExitCode::Success);
    }
    let secret = ghops_serve::webhook_secret(args.webhook_secret_file.as_deref())?;
    let health = super::daemon::bind_metrics(args.metrics_bind).await?;
    let setup = Setup {
        dry_run: ctx.global.dry_run,
        kube_url: std::env::var("GHOPS_KUBE_URL").ok(),
        lease_namespace: args.leader_election.then(|| args.lease_namespace.clone()),
        cwd: None,
    };
    let file = ctx.config()?;
    let mut app = App::from_config(secret, ctx.client_config()?, &file, &setup).await?;
    args.apply(app.config_mut());
    app.redelivery(args.redelivery());
    // The server logs its start (address and routes) and its stop once each.
    let listener = ghops_serve::bind(args.bind).await?;
    if let Some(l) = health {
        let addr = l
            .local_addr()
            .map_err(|e| Failure::usage(format!("--metrics-bind: {e}")))?;
        app.health_listener(l);
        let line = format!("ghops serve: metrics and health on http://{addr} (not on --bind)");
        say(Kind::Info, &line);
    }
    app.run(listener, shutdown_signal())
        .await
        .map_err(|e| Failure::new(ExitCode::Failed, format!("server error: {e}")))?;
    Ok(ExitCode::Success)
}
