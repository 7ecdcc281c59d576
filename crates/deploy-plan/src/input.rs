//! The inputs of a plan as a command gives them: where the changed paths come from (a list
//! file or stdin, a local git diff, a PR), the labels, and what the Actions event file says
//! (the default branch of a push, the head SHA of a `workflow_run`).
//!
//! Errors name the flag they are about (`--labels: …`), so a frontend shows them as they are.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::error::PlanError;
use crate::paths::{ListFormat, git_changed_or_default, is_null_rev, parse_list};

/// The text of a file argument, or of stdin when `arg` is `-`; `what` (the flag) names it in
/// errors.
pub fn read_arg(arg: &str, what: &str) -> Result<String, PlanError> {
    if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| PlanError::Args(format!("{what}: cannot read stdin: {e}")))?;
        return Ok(s);
    }
    std::fs::read_to_string(arg).map_err(|e| PlanError::Args(format!("{what} {arg}: {e}")))
}

/// PR labels as `--labels` gives them: a JSON array of strings, a comma-separated list, or
/// `null` (what `toJson(github.event.pull_request.labels.*.name)` gives outside a PR event:
/// no labels).
pub fn parse_labels(s: &str) -> Result<Vec<String>, PlanError> {
    let t = s.trim();
    if t == "null" {
        return Ok(Vec::new());
    }
    if t.starts_with('[') {
        return serde_json::from_str::<Vec<String>>(t)
            .map_err(|e| PlanError::Args(format!("--labels: not a JSON array of strings: {e}")));
    }
    Ok(t.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Where the changed paths of a plan come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeSource {
    /// A changed-files list: a file, or `-` for stdin ([`parse_list`]).
    List {
        /// The file or `-`.
        arg: String,
        /// Its format.
        format: ListFormat,
    },
    /// A local git diff: the merge base of `base` and `head`, to `head`.
    Git {
        /// Base revision; all zeros is a push that created the branch ([`is_null_rev`]).
        base: String,
        /// Head revision.
        head: String,
        /// The default branch for an all-zeros `base`; when `None`, the event file's
        /// `repository.default_branch` ([`event_default_branch`]), else `origin/HEAD`.
        default_branch: Option<String>,
    },
    /// A pull request's files, from the API ([`crate::pr`]).
    Pr(u64),
}

impl ChangeSource {
    /// The one source the arguments name, in this order: a list, a git diff (needs both
    /// revisions), a PR. None of them is an [`PlanError::Args`] error saying what to pass.
    pub fn pick(
        list: Option<(String, ListFormat)>,
        git: Option<(String, String, Option<String>)>,
        pr: Option<u64>,
    ) -> Result<Self, PlanError> {
        match (list, git, pr) {
            (Some((arg, format)), ..) => Ok(ChangeSource::List { arg, format }),
            (None, Some((base, head, default_branch)), _) => Ok(ChangeSource::Git {
                base,
                head,
                default_branch,
            }),
            (None, None, Some(n)) => Ok(ChangeSource::Pr(n)),
            (None, None, None) => Err(PlanError::Args(
                "no changed paths: pass --changed-files FILE|-, --base REV --head REV, or --pr N"
                    .into(),
            )),
        }
    }

    /// Reads a local source: the list, or the git diff of the repository at `repo_dir` (an
    /// all-zeros base falls back to the default branch named by the event file at `event`,
    /// else `$GITHUB_EVENT_PATH`). A [`ChangeSource::Pr`] needs a client: read it with
    /// [`crate::pr::pr_changes`]; here it is an [`PlanError::Args`] error.
    pub fn read_local(
        &self,
        repo_dir: &Path,
        event: Option<&Path>,
    ) -> Result<Vec<String>, PlanError> {
        match self {
            ChangeSource::List { arg, format } => {
                parse_list(&read_arg(arg, "--changed-files")?, *format, arg)
            }
            ChangeSource::Git {
                base,
                head,
                default_branch,
            } => {
                let default_branch = match default_branch {
                    Some(b) => Some(b.clone()),
                    None if is_null_rev(base) => event_default_branch(event),
                    None => None,
                };
                git_changed_or_default(repo_dir, base, head, default_branch.as_deref())
            }
            ChangeSource::Pr(n) => Err(PlanError::Args(format!(
                "--pr {n}: a PR's changed files are read from the API, not locally"
            ))),
        }
    }
}

/// `repository.default_branch` of the event file `event` (else `$GITHUB_EVENT_PATH`), when
/// there is one that says it (a push event does). Best effort: `None` on any error.
pub fn event_default_branch(event: Option<&Path>) -> Option<String> {
    gh_core::events::load_event::<Value>(event)
        .ok()?
        .pointer("/repository/default_branch")?
        .as_str()
        .map(str::to_owned)
}

/// `workflow_run.head_sha` of the event file `event` (else `$GITHUB_EVENT_PATH`): the commit
/// the run that uploaded a plan artifact built (`ghops plan comment --from-artifact`).
pub fn workflow_run_head_sha(event: Option<&Path>) -> Result<String, PlanError> {
    if event.is_none() && std::env::var_os("GITHUB_EVENT_PATH").is_none() {
        return Err(PlanError::Args(
            "--from-artifact needs --head-sha or the workflow_run event (--event / $GITHUB_EVENT_PATH)"
                .into(),
        ));
    }
    let v: Value = gh_core::events::load_event(event)?;
    v.pointer("/workflow_run/head_sha")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            PlanError::Args(
                "--event: workflow_run.head_sha is missing (not a workflow_run event?)".into(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gh_core::{ExitCode, ExitStatus};

    #[test]
    fn labels() {
        assert_eq!(parse_labels("null").unwrap(), Vec::<String>::new());
        assert_eq!(parse_labels(" a, b ,,c ").unwrap(), ["a", "b", "c"]);
        assert_eq!(parse_labels(r#"["x, y", "z"]"#).unwrap(), ["x, y", "z"]);
        let e = parse_labels("[1]").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--labels: not a JSON array of strings"),
            "{e}"
        );
        assert_eq!(e.exit_code(), ExitCode::Usage);
    }

    #[test]
    fn one_source_in_order() {
        let list = || Some(("f.txt".to_owned(), ListFormat::Auto));
        let git = || Some(("a".to_owned(), "b".to_owned(), None));
        assert!(matches!(
            ChangeSource::pick(list(), git(), Some(1)).unwrap(),
            ChangeSource::List { .. }
        ));
        assert!(matches!(
            ChangeSource::pick(None, git(), Some(1)).unwrap(),
            ChangeSource::Git { .. }
        ));
        assert_eq!(
            ChangeSource::pick(None, None, Some(7)).unwrap(),
            ChangeSource::Pr(7)
        );
        let e = ChangeSource::pick(None, None, None).unwrap_err();
        assert!(e.to_string().starts_with("no changed paths"), "{e}");
        assert!(
            ChangeSource::Pr(7)
                .read_local(Path::new("."), None)
                .is_err()
        );
    }

    #[test]
    fn list_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("changed.json");
        std::fs::write(&f, r#"["./a//b.yaml", "c.yaml"]"#).unwrap();
        let src = ChangeSource::List {
            arg: f.display().to_string(),
            format: ListFormat::Auto,
        };
        assert_eq!(
            src.read_local(dir.path(), None).unwrap(),
            ["a/b.yaml", "c.yaml"]
        );
        let missing = dir.path().join("nope.txt").display().to_string();
        let e = read_arg(&missing, "--changed-files").unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("--changed-files {missing}: ")),
            "{e}"
        );
    }

    #[test]
    fn event_file_fields() {
        let dir = tempfile::tempdir().unwrap();
        let push = dir.path().join("push.json");
        std::fs::write(&push, r#"{"repository":{"default_branch":"trunk"}}"#).unwrap();
        assert_eq!(event_default_branch(Some(&push)).as_deref(), Some("trunk"));
        let run = dir.path().join("run.json");
        std::fs::write(&run, r#"{"workflow_run":{"head_sha":"abc"}}"#).unwrap();
        assert_eq!(workflow_run_head_sha(Some(&run)).unwrap(), "abc");
        let e = workflow_run_head_sha(Some(&push)).unwrap_err();
        assert!(
            e.to_string().contains("workflow_run.head_sha is missing"),
            "{e}"
        );
        assert_eq!(
            event_default_branch(Some(&dir.path().join("none.json"))),
            None
        );
    }
}
