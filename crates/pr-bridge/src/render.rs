//! The comments pr-bridge writes: ONE status comment per PR (marker `pr-bridge`) that carries
//! a machine-readable state line, and ONE refusal reply per PR (marker `pr-bridge-refusal`).

use gh_core::comments::marker;
use serde::{Deserialize, Serialize};

/// What the status comment records about the branch it created (read back by `report` and
/// `cleanup`: a branch is only deleted when it still points at the recorded merge SHA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The branch.
    pub branch: String,
    /// The PR head that was approved.
    pub head_sha: String,
    /// The merge commit the branch points at.
    pub merge_sha: String,
    /// The base branch name.
    pub base: String,
}

/// A workflow run linked from the comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunLink {
    /// Run id.
    pub id: u64,
    /// Workflow name.
    #[serde(default)]
    pub name: Option<String>,
    /// Web URL.
    #[serde(default)]
    pub html_url: Option<String>,
    /// `queued`, `in_progress`, `completed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `success`, `failure`, ...
    #[serde(default)]
    pub conclusion: Option<String>,
}

/// The start shared by every comment pr-bridge writes (status, state line, refusal): a
/// comment containing it is ghops's own and never a trigger.
pub const OWN_COMMENT: &str = "<!-- ghops:pr-bridge";

/// The status comment's marker.
pub fn status_marker() -> String {
    marker("pr-bridge")
}

/// The refusal reply's marker.
pub fn refusal_marker() -> String {
    marker("pr-bridge-refusal")
}

const STATE_PREFIX: &str = "<!-- ghops:pr-bridge-state ";

fn state_line(s: &State) -> String {
    // SHAs and branch names cannot contain `-->`; serde_json escapes `<` and `>` anyway below.
    let json = serde_json::to_string(s)
        .expect("state serialises")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e");
    format!("{STATE_PREFIX}{json} -->")
}

/// Reads the state line back from a status comment body. Only a body that STARTS with the
/// status marker and, on the next line, the state line counts: a marker or state line quoted
/// further down a comment (user text in another ghops writer's comment) is never read.
pub fn parse_state(body: &str) -> Option<State> {
    let rest = body
        .strip_prefix(status_marker().as_str())?
        .strip_prefix('\n')?
        .strip_prefix(STATE_PREFIX)?;
    let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
    let end = line.find(" -->")?;
    serde_json::from_str(&line[..end]).ok()
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn runs_table(runs: &[RunLink]) -> String {
    if runs.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n| Workflow run | Status |\n| --- | --- |\n");
    for r in runs {
        let name = r
            .name
            .as_deref()
            .unwrap_or("workflow run")
            .replace(['|', '<', '>', '[', ']', '@'], " ");
        let link = match &r.html_url {
            Some(u) => format!("[{name} #{}]({u})", r.id),
            None => format!("{name} #{}", r.id),
        };
        let status = match (r.status.as_deref(), r.conclusion.as_deref()) {
            (Some("completed"), Some("success")) => "✅ success".to_owned(),
            (Some("completed"), Some(c)) => format!("❌ {c}"),
            (Some(s), _) => format!("⏳ {s}"),
            (None, _) => "⏳ queued".to_owned(),
        };
        s.push_str(&format!("| {link} | {status} |\n"));
    }
    s
}

/// The status comment after a trigger.
pub fn started(state: &State, requested_by: &str, runs: &[RunLink], warnings: &[String]) -> String {
    let mut s = format!(
        "{}\n{}\n### 🧪 Testing this PR with secrets\n\nRequested by `{}` for head commit `{}`.\n\n| | |\n| --- | --- |\n| Head commit | `{}` |\n| Merge commit | `{}` (into `{}`) |\n| Branch | `{}` |\n",
        status_marker(),
        state_line(state),
        requested_by,
        short(&state.head_sha),
        state.head_sha,
        state.merge_sha,
        state.base,
        state.branch,
    );
    if runs.is_empty() {
        s.push_str("\nNo workflow run has started for the merge commit yet; `ghops pr-bridge report` links it when it does.\n");
    } else {
        s.push_str(&runs_table(runs));
    }
    for w in warnings {
        s.push_str(&format!("\n> [!WARNING]\n> {w}\n"));
    }
    s
}

/// How a reported test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every run succeeded.
    Passed,
    /// A run failed, was cancelled or timed out.
    Failed,
    /// No workflow ran for the merge commit.
    NoRun,
}

/// The status comment after `report`.
pub fn reported(state: &State, verdict: Verdict, runs: &[RunLink], branch_deleted: bool) -> String {
    let headline = match verdict {
        Verdict::Passed => "### ✅ Tests with secrets passed",
        Verdict::Failed => "### ❌ Tests with secrets failed",
        Verdict::NoRun => "### ⚠️ No workflow ran",
    };
    let mut s = format!(
        "{}\n{}\n{headline}\n\nHead commit `{}`, merge commit `{}` (into `{}`), branch `{}`.\n",
        status_marker(),
        state_line(state),
        state.head_sha,
        state.merge_sha,
        state.base,
        state.branch,
    );
    if verdict == Verdict::NoRun {
        s.push_str(&format!(
            "\nNo workflow ran for SHA `{}` on `{}`: check that a workflow runs on pushes to `{}`.\n",
            state.merge_sha, state.branch, state.branch
        ));
    }
    s.push_str(&runs_table(runs));
    s.push_str(if branch_deleted {
        "\nThe test branch was deleted.\n"
    } else {
        "\nThe test branch was left alone: a newer trigger re-pointed it.\n"
    });
    s
}

/// A refusal reply (the reason is already safe to show).
pub fn refusal(reason: &str) -> String {
    format!("{}\n🚫 {reason}\n", refusal_marker())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let st = State {
            branch: "test-this-pr/1".into(),
            head_sha: "a".repeat(40),
            merge_sha: "b".repeat(40),
            base: "main".into(),
        };
        let body = started(&st, "maintainer", &[], &[]);
        assert_eq!(parse_state(&body), Some(st.clone()));
        assert_eq!(parse_state("no state"), None);
        // Quoted further down another comment: not a state line.
        assert_eq!(
            parse_state(&format!("<!-- ghops:deployment-plan -->\n{body}")),
            None
        );
        assert_eq!(parse_state(&format!("x\n{body}")), None);
    }
}
