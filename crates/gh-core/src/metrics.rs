//! Health and metrics of a long-running ghops process, without an HTTP server or a metrics
//! framework: the [`Probe`] trait a daemon implements (what `/metrics`, `/healthz` and `/readyz`
//! answer) and [`Exposition`], the one Prometheus text-format renderer every daemon uses.
//!
//! The HTTP listener that serves a [`Probe`] is `ghops_serve::health` (`--metrics-bind`).
//!
//! ```
//! use gh_core::metrics::Exposition;
//!
//! let mut out = Exposition::default();
//! out.family("ghops_agent_passes_total", "counter", "Passes by outcome.");
//! out.sample("ghops_agent_passes_total", &[("outcome", "ok")], 3);
//! let text = out.finish();
//! let lines: Vec<&str> = text.lines().collect();
//! assert_eq!(lines[0], "# HELP ghops_agent_passes_total Passes by outcome.");
//! assert_eq!(lines[1], "# TYPE ghops_agent_passes_total counter");
//! assert_eq!(lines[2], r#"ghops_agent_passes_total{outcome="ok"} 3"#);
//! ```

use std::fmt::{Display, Write};

/// What a daemon's health endpoints answer. Implementations are cheap to call (atomics or a
/// short lock): a scrape or a probe never waits for work in progress.
pub trait Probe: Send + Sync {
    /// `/metrics`: the Prometheus text exposition (build it with [`Exposition`]).
    fn metrics(&self) -> String;
    /// `/readyz`: ready for work (e.g. after its first successful pass, or while not draining).
    fn ready(&self) -> bool;
    /// `/healthz`: alive (e.g. its loop made progress recently). Default: always.
    fn alive(&self) -> bool {
        true
    }
}

/// The content type of [`Exposition`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// A Prometheus text-format document under construction (format 0.0.4): `# HELP` / `# TYPE`
/// headers, then samples with escaped label values.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a metric family: `kind` is `counter`, `gauge` or `histogram`.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) -> &mut Self {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        self
    }

    /// One sample: `name{labels} value` (no braces without labels).
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Display,
    ) -> &mut Self {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

/// A label value escaped for the text format (backslash, double quote, newline).
pub fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_families_headed() {
        let mut e = Exposition::default();
        e.family("x_total", "counter", "Line one\nline \\two.")
            .sample("x_total", &[("a", "q\"uo\\te\n"), ("b", "2")], 1.5)
            .sample("x_total", &[], 0);
        assert_eq!(
            e.finish(),
            "# HELP x_total Line one\\nline \\\\two.\n# TYPE x_total counter\n\
             x_total{a=\"q\\\"uo\\\\te\\n\",b=\"2\"} 1.5\nx_total 0\n"
        );
    }
}
