//! User-facing report events.
//!
//! Library crates never print. What the user of a command must see as it happens — the
//! writes `--dry-run` did not send, the deploy agent's per-deployment decisions, the output
//! of hooks — is emitted as a `tracing` event on one of the targets below, with the stable
//! fields listed for each. A frontend renders them: the `ghops` CLI prints each as one plain
//! line on stderr (whatever `-q`/`-v`/`RUST_LOG` say) and, with `GHOPS_LOG_FORMAT=json`,
//! passes them through as JSON events with these fields.
//!
//! ```no_run
//! tracing::info!(target: gh_core::output::DRY_RUN, method = "POST", path = "/repos/o/r/issues", "would send");
//! ```

/// A write `--dry-run` did not send (level INFO). Fields, by kind:
///
/// - HTTP (gh-core's client): `method`, `path` (with the server's base path), `body` (JSON,
///   absent when none);
/// - Kubernetes (runner-orch): `verb` (`create` with `manifest`, pretty JSON; `delete` with
///   `kind`, `namespace`, `name`);
/// - process (runner-orch): `verb` = `run`, `command` (the argv, debug-formatted), `runner`.
pub const DRY_RUN: &str = "ghops::dry_run";

/// What the deploy agent did with one deployment (level INFO; WARN for a failed pass).
/// Fields: `repo`, `environment`, `outcome` and, by outcome, `deployment`:
///
/// - `recovered` (settled from the journal), `superseded`;
/// - `skipped` with `reason`;
/// - `ran` with `state` (the final deployment status);
/// - `pass_failed` (no `deployment`) with `error`: the pass is retried next poll.
pub const AGENT: &str = "ghops::agent";

/// One line a hook printed (stdout or stderr; level INFO). Fields: `prefix`
/// (`[repo#deployment hook]`) and `line`.
pub const HOOK_OUTPUT: &str = "ghops::hook_output";

/// Every report target, for frontends that route them apart from diagnostics.
pub const ALL: [&str; 3] = [DRY_RUN, AGENT, HOOK_OUTPUT];
