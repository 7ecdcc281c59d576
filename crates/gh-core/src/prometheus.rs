//! The Prometheus text exposition format (0.0.4), written without a metrics framework: the one
//! renderer behind every `/metrics` ghops serves (`ghops serve`'s webhook figures, runner-orch's
//! runner figures).
//!
//! ```
//! use gh_core::prometheus::{Kind, Text};
//! let mut t = Text::new();
//! t.single("ghops_queue_depth", Kind::Gauge, "Deliveries waiting.", 3);
//! t.family("ghops_deliveries_total", Kind::Counter, "Deliveries.");
//! t.sample("ghops_deliveries_total", &[("event", "push")], 7);
//! let text = t.finish();
//! assert!(text.starts_with("# HELP ghops_queue_depth Deliveries waiting.\n"));
//! assert!(text.contains("# TYPE ghops_queue_depth gauge\nghops_queue_depth 3\n"));
//! assert!(text.ends_with("ghops_deliveries_total{event=\"push\"} 7\n"));
//! ```

use std::fmt::{Display, Write};

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, sum and count.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// An exposition being written.
#[derive(Debug, Default)]
pub struct Text {
    out: String,
}

impl Text {
    /// An empty exposition.
    pub fn new() -> Self {
        Self::default()
    }

    /// The `# HELP` and `# TYPE` lines of a family; its samples follow.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) -> &mut Self {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
        self
    }

    /// One sample, `name{label="value",…} value`, label values escaped.
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
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
        self
    }

    /// A family with one unlabelled sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: impl Display) -> &mut Self {
        self.family(name, kind, help).sample(name, &[], value)
    }

    /// Appends another exposition (families must not repeat).
    pub fn append(&mut self, text: &str) -> &mut Self {
        self.out.push_str(text);
        self
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Escapes a label value (`\`, `"`, newline).
pub fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_joined() {
        let mut t = Text::new();
        t.sample("m", &[("a", "x\"y"), ("b", "l\\n\n")], 1.5);
        assert_eq!(t.finish(), "m{a=\"x\\\"y\",b=\"l\\\\n\\n\"} 1.5\n");
    }
}
