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

/// How often a progress line of a long wait repeats, when it is not rewritten in place, while
/// nothing changes.
pub const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// When a long wait's progress is worth a new line where lines cannot be rewritten (Actions
/// logs, files, JSON logs): when its state (counts and statuses, not times) changed, or
/// [`PROGRESS_EVERY`] passed since the last line. The libraries say what the state is (e.g.
/// pr-bridge's `Progress::state`); a frontend asks [`Cadence::due`] before printing.
#[derive(Debug, Default)]
pub struct Cadence {
    /// The last state shown and when.
    last: std::sync::Mutex<Option<(String, std::time::Instant)>>,
}

impl Cadence {
    /// A cadence that has shown nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a line is due at `now` for `state`, recording it when it is: the first line,
    /// a changed state, or [`PROGRESS_EVERY`] since the last line.
    pub fn due(&self, state: &str, now: std::time::Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let due = match &*last {
            None => true,
            Some((s, at)) => s != state || now.duration_since(*at) >= PROGRESS_EVERY,
        };
        if due {
            *last = Some((state.to_owned(), now));
        }
        due
    }

    /// Whether any line was shown.
    pub fn shown(&self) -> bool {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Records a line shown at `now` for `state` whatever the cadence (a terminal rewrites
    /// its one line at every poll).
    pub fn record(&self, state: &str, now: std::time::Instant) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((state.to_owned(), now));
    }
}

/// `n` and the noun in the right number, for human lines: `count(1, "PR", "PRs")` is
/// `1 PR`, `count(3, "PR", "PRs")` is `3 PRs` (and `0 PRs`).
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(0, "PR", "PRs"), "0 PRs");
        assert_eq!(count(1, "PR", "PRs"), "1 PR");
        assert_eq!(count(2, "change", "changes"), "2 changes");
    }

    #[test]
    fn a_line_per_state_change_and_one_a_minute() {
        let c = Cadence::new();
        assert!(!c.shown());
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let shown: Vec<bool> = [
            ("0/2", t0),          // first: shown
            ("0/2", t0 + s(10)),  // same state, 10 s later: quiet
            ("0/2", t0 + s(59)),  // still under a minute: quiet
            ("1/2", t0 + s(70)),  // changed: shown
            ("1/2", t0 + s(129)), // 59 s since the last line: quiet
            ("1/2", t0 + s(130)), // a minute: shown again
        ]
        .iter()
        .map(|(state, at)| c.due(state, *at))
        .collect();
        assert_eq!(shown, [true, false, false, true, false, true]);
        assert!(c.shown());
    }
}
