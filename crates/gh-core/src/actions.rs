//! GitHub Actions I/O: step outputs (`$GITHUB_OUTPUT`), job summaries
//! (`$GITHUB_STEP_SUMMARY`), annotations and `::add-mask::`.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::Rng;

use crate::error::{Error, Result};

/// True when running inside GitHub Actions (`GITHUB_ACTIONS=true`).
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Where Actions wants outputs and summaries; read from the environment, or set by tests.
#[derive(Debug, Clone, Default)]
pub struct ActionsFiles {
    /// `$GITHUB_OUTPUT`.
    pub output: Option<PathBuf>,
    /// `$GITHUB_STEP_SUMMARY`.
    pub summary: Option<PathBuf>,
}

impl ActionsFiles {
    /// Reads `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`.
    pub fn from_env() -> Self {
        let p = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Self {
            output: p("GITHUB_OUTPUT"),
            summary: p("GITHUB_STEP_SUMMARY"),
        }
    }

    /// Appends `name=value` to `$GITHUB_OUTPUT` (a heredoc with a random delimiter for every
    /// value, so a value can never inject another output). Returns false when not in Actions.
    pub fn set_output(&self, name: &str, value: &str) -> Result<bool> {
        let Some(path) = &self.output else {
            return Ok(false);
        };
        if name.is_empty() || name.contains(['\n', '\r', '=']) {
            return Err(Error::invalid("output name", format!("{name:?}")));
        }
        append(path, &format_output(name, value))?;
        Ok(true)
    }

    /// Appends Markdown to `$GITHUB_STEP_SUMMARY`. Returns false when not in Actions.
    pub fn append_summary(&self, markdown: &str) -> Result<bool> {
        let Some(path) = &self.summary else {
            return Ok(false);
        };
        let mut s = markdown.to_owned();
        if !s.ends_with('\n') {
            s.push('\n');
        }
        append(path, &s)?;
        Ok(true)
    }
}

/// Formats one output as a heredoc: `name<<DELIM\nvalue\nDELIM\n`.
pub fn format_output(name: &str, value: &str) -> String {
    let delim = loop {
        let d = format!("ghadelimiter_{:032x}", rand::rng().random::<u128>());
        if !value.contains(&d) {
            break d;
        }
    };
    format!("{name}<<{delim}\n{value}\n{delim}\n")
}

fn append(path: &Path, s: &str) -> Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(s.as_bytes()))
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Annotation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `::notice`.
    Notice,
    /// `::warning`.
    Warning,
    /// `::error`.
    Error,
}

/// Formats a workflow command annotation, e.g. `::error file=a.yaml,line=3::message`.
pub fn annotation(level: Level, message: &str, file: Option<&str>, line: Option<u64>) -> String {
    let cmd = match level {
        Level::Notice => "notice",
        Level::Warning => "warning",
        Level::Error => "error",
    };
    let mut props = Vec::new();
    if let Some(f) = file {
        props.push(format!("file={}", escape_property(f)));
    }
    if let Some(l) = line {
        props.push(format!("line={l}"));
    }
    if props.is_empty() {
        format!("::{cmd}::{}", escape_data(message))
    } else {
        format!("::{cmd} {}::{}", props.join(","), escape_data(message))
    }
}

/// The `::add-mask::` command for a secret ghops minted (one per line of the value).
pub fn mask_command(secret: &str) -> String {
    secret
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| format!("::add-mask::{}", escape_data(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The workflow run's `GITHUB_*` variables that commands take their defaults from (an empty
/// variable counts as unset). [`RunEnv::from_env`] reads the process environment; tests build
/// one with [`RunEnv::from_lookup`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunEnv {
    /// `GITHUB_ACTIONS=true`.
    pub in_actions: bool,
    /// `GITHUB_ACTOR`.
    pub actor: Option<String>,
    /// `GITHUB_TRIGGERING_ACTOR` (who re-ran the workflow, when someone did).
    pub triggering_actor: Option<String>,
    /// `GITHUB_SHA`.
    pub sha: Option<String>,
    /// `GITHUB_REF` (`refs/heads/…`, `refs/tags/…`, `refs/pull/…`).
    pub git_ref: Option<String>,
    /// `GITHUB_REF_NAME`.
    pub ref_name: Option<String>,
    /// `GITHUB_HEAD_REF` (the PR's branch on `pull_request` events).
    pub head_ref: Option<String>,
    /// `GITHUB_SERVER_URL`.
    pub server_url: Option<String>,
    /// `GITHUB_REPOSITORY`.
    pub repository: Option<String>,
    /// `GITHUB_RUN_ID`.
    pub run_id: Option<String>,
}

impl RunEnv {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `var` (empty values are dropped).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let v = |k: &str| var(k).filter(|v| !v.is_empty());
        Self {
            in_actions: var("GITHUB_ACTIONS").is_some_and(|v| v == "true"),
            actor: v("GITHUB_ACTOR"),
            triggering_actor: v("GITHUB_TRIGGERING_ACTOR"),
            sha: v("GITHUB_SHA"),
            git_ref: v("GITHUB_REF"),
            ref_name: v("GITHUB_REF_NAME"),
            head_ref: v("GITHUB_HEAD_REF"),
            server_url: v("GITHUB_SERVER_URL"),
            repository: v("GITHUB_REPOSITORY"),
            run_id: v("GITHUB_RUN_ID"),
        }
    }

    /// Who runs: `GITHUB_TRIGGERING_ACTOR`, else `GITHUB_ACTOR`.
    pub fn actor(&self) -> Option<&str> {
        self.triggering_actor.as_deref().or(self.actor.as_deref())
    }

    /// The branch the run is for, under Actions only: `GITHUB_REF` when it names a branch.
    pub fn branch(&self) -> Option<&str> {
        self.git_ref
            .as_deref()
            .filter(|_| self.in_actions)?
            .strip_prefix("refs/heads/")
    }

    /// `GITHUB_RUN_ID` as a number.
    pub fn run_id(&self) -> Option<u64> {
        self.run_id.as_deref()?.parse().ok()
    }

    /// This run's page: `{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}`.
    pub fn run_url(&self) -> Option<String> {
        Some(format!(
            "{}/{}/actions/runs/{}",
            self.server_url.as_deref()?,
            self.repository.as_deref()?,
            self.run_id.as_deref()?
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_env_defaults() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            RunEnv::from_lookup(move |k| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
        };
        let r = vars(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_ACTOR", "alice"),
            ("GITHUB_TRIGGERING_ACTOR", ""),
            ("GITHUB_REF", "refs/heads/develop"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_RUN_ID", "42"),
        ]);
        assert_eq!(r.actor(), Some("alice"));
        assert_eq!(r.branch(), Some("develop"));
        assert_eq!(r.run_id(), Some(42));
        assert_eq!(
            r.run_url().as_deref(),
            Some("https://github.com/o/r/actions/runs/42")
        );
        let r = vars(&[
            ("GITHUB_ACTOR", "alice"),
            ("GITHUB_TRIGGERING_ACTOR", "bob"),
            ("GITHUB_REF", "refs/heads/develop"),
            ("GITHUB_RUN_ID", "x"),
        ]);
        assert_eq!(r.actor(), Some("bob"));
        // Outside Actions, GITHUB_REF names no branch to draft for.
        assert_eq!(r.branch(), None);
        assert_eq!((r.run_id(), r.run_url()), (None, None));
        let tag = RunEnv {
            in_actions: true,
            git_ref: Some("refs/tags/v1".into()),
            ..RunEnv::default()
        };
        assert_eq!(tag.branch(), None);
    }

    #[test]
    fn outputs_are_heredocs_that_cannot_inject() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let f = ActionsFiles {
            output: Some(out.clone()),
            summary: Some(dir.path().join("sum")),
        };
        assert!(f.set_output("jobs", "a\nb\nevil=1").unwrap());
        let s = std::fs::read_to_string(&out).unwrap();
        let mut lines = s.lines();
        let first = lines.next().unwrap();
        let delim = first.strip_prefix("jobs<<").unwrap();
        assert!(delim.starts_with("ghadelimiter_") && delim.len() > 30);
        assert_eq!(lines.collect::<Vec<_>>(), vec!["a", "b", "evil=1", delim]);
        assert!(f.set_output("bad\nname", "x").is_err());
        assert!(f.append_summary("# hi").unwrap());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sum")).unwrap(),
            "# hi\n"
        );
        assert!(!ActionsFiles::default().set_output("a", "b").unwrap());
    }

    #[test]
    fn annotations_escape() {
        assert_eq!(
            annotation(Level::Error, "bad\nthing 100%", Some("a,b:c.yaml"), Some(3)),
            "::error file=a%2Cb%3Ac.yaml,line=3::bad%0Athing 100%25"
        );
        assert_eq!(annotation(Level::Warning, "w", None, None), "::warning::w");
        assert_eq!(mask_command("s1\ns2"), "::add-mask::s1\n::add-mask::s2");
    }
}
