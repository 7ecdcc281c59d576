//! Renders the libraries' report events ([`gh_core::output`]) as the plain stderr lines users
//! and scripts read: `dry-run: would POST /repos/o/r/issues {...}`, `octo/app production:
//! deployment 12 -> success`, `[app#12 deploy] ...`. The libraries never print; they emit
//! `tracing` events with stable fields, and this layer turns each into one line, whatever the
//! log level (`-q` quiets diagnostics, not these).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;

use gh_core::output::{AGENT, ALL, DRY_RUN, HOOK_OUTPUT};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Writes `args` to stdout. When the reader has gone away (`ghops … | head -c 1`: a closed
/// pipe) the process ends quietly with exit 0, as `cat` and `grep` do, instead of the panic of
/// `println!`. Use it through [`outln!`] and [`out!`]: every stdout line of the CLI does.
pub fn write_stdout(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        exit_on_closed_pipe(&e);
        // Any other failure (disk full behind a redirect): say so once, like a failed write.
        let _ = writeln!(std::io::stderr(), "error: cannot write to stdout: {e}");
        std::process::exit(gh_core::ExitCode::Failed.code().into());
    }
}

/// Ends the process quietly (exit 0) when `e` is a closed pipe; returns otherwise.
pub fn exit_on_closed_pipe(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
}

/// `println!` on stdout without the panic on a closed pipe (see [`write_stdout`]).
macro_rules! outln {
    () => { $crate::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// `print!` on stdout without the panic on a closed pipe (see [`write_stdout`]).
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*)) };
}
pub(crate) use out;

/// How a table is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableMode {
    /// Unicode boxes fitted to `width` columns (long cells wrap), for a terminal.
    Boxed {
        /// The terminal's width; `None` lets comfy-table ask the terminal.
        width: Option<u16>,
    },
    /// Plain columns aligned with two spaces, no borders, no trailing blanks: for pipes,
    /// files, `--color never` and scripts that `awk` the output.
    Plain,
}

impl TableMode {
    /// Boxes on a terminal (stdout) unless `--color never`; plain text when piped or with
    /// `--color never`; `--color always` keeps the boxes in a pipe.
    pub fn for_stdout(color: crate::ctx::ColorChoice) -> Self {
        use crate::ctx::ColorChoice;
        use std::io::IsTerminal;
        match color {
            ColorChoice::Never => TableMode::Plain,
            ColorChoice::Always => TableMode::Boxed {
                width: terminal_width(),
            },
            ColorChoice::Auto if std::io::stdout().is_terminal() => TableMode::Boxed {
                width: terminal_width(),
            },
            ColorChoice::Auto => TableMode::Plain,
        }
    }
}

/// The width of the terminal on stdout (comfy-table is built without its terminal feature).
fn terminal_width() -> Option<u16> {
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0)
}

/// Renders `t` as every table of the CLI is drawn (see [`TableMode`]). The one place table
/// presets, widths and padding are set: commands build the rows, this draws them.
pub fn render_table(mut t: comfy_table::Table, mode: TableMode) -> String {
    use comfy_table::{ContentArrangement, presets};
    match mode {
        TableMode::Boxed { width } => {
            t.load_preset(presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic);
            if let Some(w) = width {
                t.set_width(w);
            }
            t.to_string()
        }
        TableMode::Plain => {
            t.load_preset(presets::NOTHING)
                .set_content_arrangement(ContentArrangement::Disabled);
            for c in t.column_iter_mut() {
                c.set_padding((0, 2));
            }
            t.lines()
                .map(|l| l.trim_end().to_owned())
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

/// The `tracing` target of the CLI's own stderr messages with `GHOPS_LOG_FORMAT=json`
/// (errors, warnings, notes; fields `kind` = `error` | `warning` | `note` | `info`, and
/// `message`).
pub const MESSAGE: &str = "ghops::message";

/// The kind of a stderr message, its `error:` / `warning:` / `note:` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `error: …` (level ERROR).
    Error,
    /// `warning: …` (level WARN).
    Warning,
    /// `note: …` (level INFO).
    Note,
    /// A plain line (level INFO).
    Info,
}

/// One message on stderr: `error: …`, `warning: …`, `note: …` or a plain line; with
/// `GHOPS_LOG_FORMAT=json` a JSON event on [`MESSAGE`] instead, so that every stderr line is
/// JSON. Never panics (a closed stderr is ignored). Workflow-command annotations (`::error`,
/// `::warning`) are not messages: the Actions runner reads them raw.
pub fn say(kind: Kind, message: &str) {
    if crate::ctx::json_logs() {
        match kind {
            Kind::Error => tracing::error!(target: MESSAGE, kind = "error", "{message}"),
            Kind::Warning => tracing::warn!(target: MESSAGE, kind = "warning", "{message}"),
            Kind::Note => tracing::info!(target: MESSAGE, kind = "note", "{message}"),
            Kind::Info => tracing::info!(target: MESSAGE, kind = "info", "{message}"),
        }
        return;
    }
    let prefix = match kind {
        Kind::Error => "error: ",
        Kind::Warning => "warning: ",
        Kind::Note => "note: ",
        Kind::Info => "",
    };
    let _ = writeln!(std::io::stderr().lock(), "{prefix}{message}");
}

/// Writes an Actions workflow command (`::warning …`, `::error …`) on stderr as it is (the
/// runner reads it raw, whatever `GHOPS_LOG_FORMAT` says); never panics.
pub fn annotate(command: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{command}");
}

/// The `tracing` target of progress lines with `GHOPS_LOG_FORMAT=json` (level INFO; fields
/// `state`, the stable summary that changes when something happens, and `message`).
pub const PROGRESS: &str = "ghops::progress";

/// How progress of a long wait is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// `-q`: nothing.
    Off,
    /// A terminal: one line, rewritten in place at every poll.
    Terminal,
    /// Not a terminal (Actions logs, files): one line per state change, and one at least
    /// every [`gh_core::output::PROGRESS_EVERY`] while nothing changes.
    Lines,
    /// `GHOPS_LOG_FORMAT=json`: the [`ProgressMode::Lines`] cadence, as JSON events on
    /// [`PROGRESS`].
    Json,
}

/// Progress of one long wait (`pr-bridge report`'s poll, `agent create --wait`): the
/// libraries report each poll through a callback with a state and a line; this shows them in
/// the invocation's [`ProgressMode`], at gh-core's [`gh_core::output::Cadence`].
pub struct Progress {
    mode: ProgressMode,
    /// The lines shown so far (the non-terminal cadence).
    cadence: gh_core::output::Cadence,
}

impl Progress {
    /// The mode for this invocation: off with `-q`, JSON with `GHOPS_LOG_FORMAT=json`, one
    /// updating line when stderr is a terminal, lines otherwise.
    pub fn new(quiet: bool) -> Self {
        use std::io::IsTerminal;
        let mode = if quiet {
            ProgressMode::Off
        } else if crate::ctx::json_logs() {
            ProgressMode::Json
        } else if std::io::stderr().is_terminal() {
            ProgressMode::Terminal
        } else {
            ProgressMode::Lines
        };
        Self::with_mode(mode)
    }

    /// A progress reporter in `mode`.
    pub fn with_mode(mode: ProgressMode) -> Self {
        Self {
            mode,
            cadence: gh_core::output::Cadence::new(),
        }
    }

    /// Whether a line is due at `now` for `state` (and records it): never with `-q`, always on
    /// a terminal, else by the [`gh_core::output::Cadence`].
    pub fn due(&self, state: &str, now: std::time::Instant) -> bool {
        match self.mode {
            ProgressMode::Off => false,
            ProgressMode::Terminal => {
                self.cadence.record(state, now);
                true
            }
            ProgressMode::Lines | ProgressMode::Json => self.cadence.due(state, now),
        }
    }

    /// Shows `line` if due (see [`Progress::due`]); `state` is the part of it that matters
    /// for the cadence (counts and statuses, not the time waited).
    pub fn update(&self, state: &str, line: &str) {
        if !self.due(state, std::time::Instant::now()) {
            return;
        }
        let mut err = std::io::stderr().lock();
        match self.mode {
            ProgressMode::Off => {}
            ProgressMode::Terminal => {
                let _ = write!(err, "\r\x1b[2K{line}");
                let _ = err.flush();
            }
            ProgressMode::Lines => {
                let _ = writeln!(err, "{line}");
            }
            ProgressMode::Json => tracing::info!(target: PROGRESS, state, "{line}"),
        }
    }

    /// Ends the updating line on a terminal (the next output starts on a line of its own).
    pub fn finish(&self) {
        if self.mode == ProgressMode::Terminal && self.cadence.shown() {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// Whether `target` is one of the report targets.
pub fn is_report(target: &str) -> bool {
    ALL.contains(&target)
}

/// A `tracing` layer that prints report events to stderr, one line each.
pub struct ReportLayer;

impl<S: Subscriber> Layer<S> for ReportLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let Some(line) = render(event.metadata().target(), &fields.0) {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }
}

/// An event's fields as text: strings as they are, other values by `Debug` (a `%value`
/// field's `Debug` is its `Display`).
#[derive(Default)]
struct Fields(BTreeMap<&'static str, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

/// The line for one report event; `None` for any other target.
pub fn render(target: &str, f: &BTreeMap<&str, String>) -> Option<String> {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let line = match target {
        DRY_RUN => match f.get("verb").map(String::as_str) {
            None => format!(
                "dry-run: would {} {}{}",
                get("method"),
                get("path"),
                f.get("body").map(|b| format!(" {b}")).unwrap_or_default()
            ),
            Some("create") => format!("dry-run: would create {}", get("manifest")),
            Some("delete") => format!(
                "dry-run: would delete {} {}/{}",
                get("kind"),
                get("namespace"),
                get("name")
            ),
            Some("run") => format!(
                "dry-run: would run {} as runner {}",
                get("command"),
                get("runner")
            ),
            Some(_) => format!("dry-run: {}", get("message")),
        },
        AGENT => {
            let (head, id) = (
                format!("{} {}", get("repo"), get("environment")),
                get("deployment"),
            );
            match get("outcome") {
                "recovered" => format!("{head}: deployment {id} settled from the journal"),
                "superseded" => format!("{head}: deployment {id} superseded"),
                "skipped" => format!("{head}: deployment {id} skipped: {}", get("reason")),
                "ran" => format!("{head}: deployment {id} -> {}", get("state")),
                "pass_failed" => {
                    format!("{head}: pass failed (retried next poll): {}", get("error"))
                }
                _ => format!("{head}: {}", get("message")),
            }
        }
        HOOK_OUTPUT => format!("{} {}", get("prefix"), get("line")),
        _ => return None,
    };
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::prelude::*;

    /// Captures rendered lines: the layer's logic with a test sink.
    struct Capture(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Capture {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            let mut fields = Fields::default();
            event.record(&mut fields);
            if let Some(line) = render(event.metadata().target(), &fields.0) {
                self.0.lock().unwrap().push(line);
            }
        }
    }

    fn lines(emit: impl FnOnce()) -> Vec<String> {
        let out = Arc::new(Mutex::new(Vec::new()));
        let sub = tracing_subscriber::registry().with(Capture(out.clone()));
        tracing::subscriber::with_default(sub, emit);
        out.lock().unwrap().clone()
    }

    #[test]
    fn dry_run_events_render_the_documented_lines() {
        let body = serde_json::json!({"ref": "refs/heads/x", "sha": "abc"});
        let cmd = vec!["/opt/run.sh".to_owned(), "--once".to_owned()];
        let got = lines(|| {
            tracing::info!(target: DRY_RUN, method = "POST", path = "/api/v3/repos/o/r/git/refs", body = Some(tracing::field::display(&body)), "would send");
            tracing::info!(target: DRY_RUN, method = "DELETE", path = "/repos/o/r/git/refs/heads/x", body = None::<tracing::field::DisplayValue<&str>>, "would send");
            tracing::info!(target: DRY_RUN, verb = "create", manifest = "{\n  \"kind\": \"Job\"\n}", "would create");
            tracing::info!(target: DRY_RUN, verb = "delete", kind = "Job", namespace = "ci", name = "r-1", "would delete");
            tracing::info!(target: DRY_RUN, verb = "run", command = ?cmd, runner = "r-2", "would run");
            tracing::info!(target: "ghops::other", method = "POST", "not a report");
        });
        assert_eq!(
            got,
            [
                r#"dry-run: would POST /api/v3/repos/o/r/git/refs {"ref":"refs/heads/x","sha":"abc"}"#,
                "dry-run: would DELETE /repos/o/r/git/refs/heads/x",
                "dry-run: would create {\n  \"kind\": \"Job\"\n}",
                "dry-run: would delete Job ci/r-1",
                r#"dry-run: would run ["/opt/run.sh", "--once"] as runner r-2"#,
            ]
        );
    }

    #[test]
    fn agent_and_hook_events_render_one_line_each() {
        let got = lines(|| {
            let (repo, environment) = ("octo/app", "production");
            tracing::info!(target: AGENT, repo, environment, deployment = 7u64, outcome = "recovered", "m");
            tracing::info!(target: AGENT, repo, environment, deployment = &8u64, outcome = "superseded", "m");
            tracing::info!(target: AGENT, repo, environment, deployment = 9u64, outcome = "skipped", reason = "ref not allowed", "m");
            tracing::info!(target: AGENT, repo, environment, deployment = 10u64, outcome = "ran", state = %"success", "m");
            tracing::warn!(target: AGENT, repo, environment, outcome = "pass_failed", error = %"GitHub API: 502", "m");
            tracing::info!(target: HOOK_OUTPUT, prefix = "[app#10 deploy]", line = "applying", "hook output");
        });
        assert_eq!(
            got,
            [
                "octo/app production: deployment 7 settled from the journal",
                "octo/app production: deployment 8 superseded",
                "octo/app production: deployment 9 skipped: ref not allowed",
                "octo/app production: deployment 10 -> success",
                "octo/app production: pass failed (retried next poll): GitHub API: 502",
                "[app#10 deploy] applying",
            ]
        );
    }

    #[test]
    fn only_the_report_targets_are_reports() {
        assert!(ALL.iter().all(|t| is_report(t)));
        assert!(!is_report("ghops::cmd::agent"));
        assert!(!is_report("ghops::dry_run::x"));
    }

    fn sample() -> comfy_table::Table {
        let mut t = comfy_table::Table::new();
        t.set_header(["pool", "backend", "description"]);
        t.add_row([
            "linux-x64",
            "kubernetes",
            "ephemeral runners for the main CI workflows of every repository",
        ]);
        t.add_row(["gpu", "process", "-"]);
        t
    }

    #[test]
    fn piped_tables_are_plain_aligned_text() {
        insta::assert_snapshot!(render_table(sample(), TableMode::Plain), @r"
        pool       backend     description
        linux-x64  kubernetes  ephemeral runners for the main CI workflows of every repository
        gpu        process     -
        ");
    }

    #[test]
    fn terminal_tables_fit_the_width() {
        let shown = render_table(sample(), TableMode::Boxed { width: Some(60) });
        assert!(shown.lines().all(|l| l.chars().count() <= 60), "{shown}");
        insta::assert_snapshot!(shown, @r"
        ┌───────────┬────────────┬─────────────────────────────────┐
        │ pool      ┆ backend    ┆ description                     │
        ╞═══════════╪════════════╪═════════════════════════════════╡
        │ linux-x64 ┆ kubernetes ┆ ephemeral runners for the main  │
        │           ┆            ┆ CI workflows of every           │
        │           ┆            ┆ repository                      │
        │ gpu       ┆ process    ┆ -                               │
        └───────────┴────────────┴─────────────────────────────────┘
        ");
    }

    #[test]
    fn progress_lines_follow_state_changes_and_a_minute_cadence() {
        // The cadence itself is gh-core's `Cadence` (tested there); here: each mode uses it.
        use std::time::{Duration, Instant};
        let p = Progress::with_mode(ProgressMode::Lines);
        let t0 = Instant::now();
        let s = Duration::from_secs;
        assert!(p.due("0/2", t0) && !p.due("0/2", t0 + s(10)) && p.due("1/2", t0 + s(11)));
        let term = Progress::with_mode(ProgressMode::Terminal);
        assert!(term.due("0/2", t0) && term.due("0/2", t0 + s(1)));
        let off = Progress::with_mode(ProgressMode::Off);
        assert!(!off.due("0/2", t0));
    }
}
