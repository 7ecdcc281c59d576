//! `ghops pr-bridge report` and `ghops pr-bridge cleanup`: results back on the PR, branches
//! deleted only while they still point at what ghops recorded.

use std::time::Duration;

use gh_core::client::Conditional;
use gh_core::repo::{encode_query, encode_ref, encode_segment};
use gh_core::retry::{Backoff, Idempotency, Pacer};
use gh_core::{GitHub, RepoRef, git};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::BridgeError;
use crate::github::{self, Own};
use crate::options::Options;
use crate::render::{self, RunLink, State, Verdict};
use crate::trigger::{Runs, is_full_sha};

/// How long `report` waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Overall bound for the runs to complete.
    pub timeout: Duration,
    /// Bound for a run to appear at all ("no workflow ran").
    pub no_run_timeout: Duration,
    /// First poll interval (doubles up to 60 s; an interval above 60 s stays as it is).
    pub poll: Duration,
}

impl Wait {
    /// The pacing of the checks: [`Wait::poll`], doubling up to 60 s (or `poll` when above).
    pub fn schedule(&self) -> Backoff {
        Backoff::exponential(self.poll, 2).capped(self.poll.max(Duration::from_secs(60)))
    }
}

impl Default for Wait {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2 * 3600),
            no_run_timeout: Duration::from_secs(600),
            poll: Duration::from_secs(10),
        }
    }
}

/// The result of `report`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReportOutcome {
    /// The PR.
    pub pr: u64,
    /// The branch.
    pub branch: String,
    /// How the test ended; `None` when there was nothing to report (no branch, no state).
    pub verdict: Option<Verdict>,
    /// The runs.
    pub runs: Vec<RunLink>,
    /// Whether the branch is gone (deleted now, or by an earlier report of the same SHA);
    /// `false` when a newer trigger re-pointed it (left alone).
    pub branch_deleted: bool,
    /// One line for the terminal.
    pub message: String,
}

/// The status comment's recorded state (ghops's own comment only, recognised by GraphQL's
/// `viewerDidAuthor`, so no login is needed), when it is one `opts` could have written for PR
/// `pr`: the branch must be `opts.branch(pr)` and both SHAs full 40-hex SHAs. Anything else
/// (a planted or damaged comment) records nothing, so no other branch can ever be deleted.
pub async fn recorded_state(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    opts: &Options,
) -> Result<Option<State>, BridgeError> {
    Ok(recorded(gh, repo, pr, opts).await?.0)
}

pub(crate) async fn recorded(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    opts: &Options,
) -> Result<(Option<State>, Own), BridgeError> {
    let marker = render::status_marker();
    let own = github::own_comments(gh, repo, pr, &marker).await?;
    let state = own
        .marked(&marker)
        .first()
        .and_then(|c| render::parse_state(&c.body))
        .filter(|s| {
            let ok = s.branch == opts.branch(pr)
                && is_full_sha(&s.head_sha)
                && is_full_sha(&s.merge_sha);
            if !ok {
                tracing::warn!(pr, branch = %s.branch, "the status comment's state is not one ghops writes for this PR: ignored");
            }
            ok
        });
    Ok((state, own))
}

pub(crate) fn verdict_of(runs: &[RunLink]) -> Option<Verdict> {
    if runs.is_empty()
        || runs
            .iter()
            .any(|r| r.status.as_deref() != Some("completed"))
    {
        return None;
    }
    Some(
        if runs.iter().all(|r| {
            matches!(
                r.conclusion.as_deref(),
                Some("success" | "skipped" | "neutral")
            )
        }) {
            Verdict::Passed
        } else {
            Verdict::Failed
        },
    )
}

/// Deletes `branch` only if it still points at `sha` (a newer trigger's branch is left).
pub async fn delete_if_at(
    gh: &GitHub,
    repo: &RepoRef,
    branch: &str,
    sha: &str,
) -> Result<bool, BridgeError> {
    Ok(
        git::delete_ref_if_at(gh, repo, &format!("heads/{branch}"), sha).await?
            == git::RefDelete::Deleted,
    )
}

/// Reports PR `pr`'s test: waits (bounded, conditional requests) for the runs on the
/// recorded merge SHA, updates the status comment and commit status, deletes the branch if
/// it still points at that SHA. A run that never started is reported as such.
pub async fn report(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    opts: &Options,
    wait: Wait,
) -> Result<ReportOutcome, BridgeError> {
    report_in_run(gh, repo, pr, opts, wait, None, &|_: &Progress<'_>| {}).await
}

/// One poll of [`report_in_run`]: what the runs look like so far.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The runs found for the merge commit (may be empty).
    pub runs: &'a [RunLink],
    /// Time waited so far.
    pub waited: Duration,
    /// Time until the next poll.
    pub next_poll: Duration,
}

impl Progress<'_> {
    /// What the runs look like, the part of a progress line that decides whether it is news:
    /// counts and statuses, never times (`no run yet`, `1/2 runs completed (ci completed,
    /// lint in_progress)`).
    pub fn state(&self) -> String {
        if self.runs.is_empty() {
            return "no run yet".to_owned();
        }
        let done = self
            .runs
            .iter()
            .filter(|r| r.status.as_deref() == Some("completed"))
            .count();
        let runs: Vec<String> = self
            .runs
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r.name.as_deref().unwrap_or("run"),
                    r.status.as_deref().unwrap_or("queued")
                )
            })
            .collect();
        format!(
            "{done}/{} runs completed ({})",
            self.runs.len(),
            runs.join(", ")
        )
    }

    /// The progress line of the wait for PR `pr`'s runs: its [`Progress::state`], the time
    /// waited and the next check, in whole seconds (at least 1: a wait the deadline shortened
    /// is not `995ms`).
    pub fn line(&self, pr: u64) -> String {
        use gh_core::config::format_duration;
        format!(
            "PR #{pr}: {}; waited {}, next check in {}",
            self.state(),
            format_duration(Duration::from_secs(self.waited.as_secs())),
            format_duration(Duration::from_secs(
                self.next_poll.as_secs_f64().round().max(1.0) as u64
            ))
        )
    }
}

/// The run of the reporting job, from `GITHUB_RUN_ID` (set in Actions), with the result of
/// the jobs it reports (`--this-run-result`); `None` outside a workflow run.
pub fn this_run_from_env(result: Option<String>) -> Option<ThisRun> {
    std::env::var("GITHUB_RUN_ID")
        .ok()
        .and_then(|id| id.parse().ok())
        .map(|id| ThisRun { id, result })
}

/// The workflow run the reporting job belongs to (`GITHUB_RUN_ID`), when `report` runs in a
/// workflow run: as mybinder does, a last job of the very run the test branch's push started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThisRun {
    /// The run's id.
    pub id: u64,
    /// The result of the jobs the reporting job reports for this run, as it sees them
    /// (`${{ needs.<job>.result }}`): `success`, `failure`, `cancelled` or `skipped`.
    pub result: Option<String>,
}

/// Job results a [`ThisRun`] may carry (`needs.<job>.result`).
const JOB_RESULTS: &[&str] = &["success", "failure", "cancelled", "skipped"];

impl ThisRun {
    /// `runs` with this run, when it is one of them, completed with its [`ThisRun::result`]:
    /// it stays `in_progress` for as long as the reporting job runs, so waiting for it would
    /// never end. Without a result that is a usage error, said at once.
    fn settle(&self, runs: &[RunLink]) -> Result<Vec<RunLink>, BridgeError> {
        let mut runs = runs.to_vec();
        let Some(own) = runs.iter_mut().find(|r| r.id == self.id) else {
            return Ok(runs);
        };
        let result = self.result.as_deref().ok_or_else(|| {
            BridgeError::Input(format!(
                "this job runs in run {}, one of the runs being reported, and cannot wait for \
                 its own run to complete: pass the result of the jobs it reports \
                 (--this-run-result ${{{{ needs.<job>.result }}}}), or report from a \
                 workflow_run workflow (examples/pr-bridge/report.yml)",
                self.id
            ))
        })?;
        if !JOB_RESULTS.contains(&result) {
            return Err(BridgeError::Input(format!(
                "this run's result {result:?} is not a job result ({})",
                JOB_RESULTS.join(", ")
            )));
        }
        own.status = Some("completed".into());
        own.conclusion = Some(result.to_owned());
        Ok(runs)
    }
}

/// [`report`] with a `progress` callback (called before each wait, e.g. for a progress line),
/// and, from a job of a workflow run ([`ThisRun`]): when that run is one of
/// the runs for the merge commit, it counts as completed with the result the job passes, and
/// only the other runs are waited for (no result: refused at once, exit 2). A run that is not
/// one of them (a `workflow_run` workflow on the default branch) changes nothing.
pub async fn report_in_run(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    opts: &Options,
    wait: Wait,
    this_run: Option<&ThisRun>,
    progress: &(dyn Fn(&Progress<'_>) + Sync),
) -> Result<ReportOutcome, BridgeError> {
    let branch = opts.branch(pr);
    let Some(state) = recorded_state(gh, repo, pr, opts).await? else {
        return Ok(ReportOutcome {
            pr,
            branch,
            verdict: None,
            runs: Vec::new(),
            branch_deleted: false,
            message: format!("PR #{pr} has no pr-bridge status comment: nothing to report"),
        });
    };
    let path = format!(
        "{}/actions/runs?branch={}&head_sha={}&per_page=100",
        repo.api_path(),
        encode_query(&state.branch),
        encode_query(&state.merge_sha)
    );
    let start = tokio::time::Instant::now();
    let mut etag: Option<String> = None;
    let mut runs: Vec<RunLink> = Vec::new();
    let mut pacer = Pacer::new(wait.schedule(), None);
    let verdict = loop {
        match gh.get_conditional::<Runs>(&path, etag.as_deref()).await? {
            Conditional::NotModified => {}
            Conditional::Modified { value, etag: e } => {
                runs = value.of_repo(repo);
                if let Some(this) = this_run {
                    runs = this.settle(&runs)?;
                }
                etag = e;
            }
        }
        if let Some(v) = verdict_of(&runs) {
            break v;
        }
        let waited = start.elapsed();
        if runs.is_empty() && waited >= wait.no_run_timeout {
            break Verdict::NoRun;
        }
        if waited >= wait.timeout {
            return Err(BridgeError::Timeout(format!(
                "runs for {} at {} did not complete within {}",
                state.branch,
                state.merge_sha,
                gh_core::config::format_duration(wait.timeout)
            )));
        }
        // Never sleep past a deadline: the next check is at the poll interval or at the
        // deadline that comes first (`--timeout 5s` with a 10 s poll returns after 5 s).
        let deadline = if runs.is_empty() {
            wait.timeout.min(wait.no_run_timeout)
        } else {
            wait.timeout
        };
        pacer.set_deadline(Some(deadline));
        // `None` only at the deadline, which the checks above have just ruled out.
        let next = pacer.next_wait(waited).unwrap_or_default();
        tracing::debug!(runs = runs.len(), "waiting for runs to complete");
        progress(&Progress {
            runs: &runs,
            waited,
            next_poll: next,
        });
        tokio::time::sleep(next).await;
    };
    finish(gh, repo, pr, opts, state, verdict, runs).await
}

/// Deletes the branch if it still points at the recorded SHA, then writes the verdict into
/// the status comment (and the commit status). Idempotent: a second report of the same runs
/// (a repeated delivery, two runs completing at once) finds the branch gone and writes the
/// same comment body, which is then left unchanged.
pub(crate) async fn finish(
    gh: &GitHub,
    repo: &RepoRef,
    pr: u64,
    opts: &Options,
    state: State,
    verdict: Verdict,
    runs: Vec<RunLink>,
) -> Result<ReportOutcome, BridgeError> {
    // Already gone (an earlier report of the same SHA deleted it) counts as deleted; a branch
    // a newer trigger re-pointed is not ours to delete.
    let deleted = !matches!(
        git::delete_ref_if_at(
            gh,
            repo,
            &format!("heads/{}", opts.branch(pr)),
            &state.merge_sha
        )
        .await?,
        git::RefDelete::Elsewhere(_)
    );
    // A newer trigger may have taken over the status comment since it was read (it writes
    // the comment after moving the branch): its state must not be overwritten by this older
    // report, or the newer test would never be reported or cleaned up.
    let (now, own) = recorded(gh, repo, pr, opts).await?;
    if let Some(now) = now
        && !now.merge_sha.eq_ignore_ascii_case(&state.merge_sha)
    {
        return Ok(ReportOutcome {
            pr,
            message: format!(
                "PR #{pr}: the report for {} was superseded by a newer trigger (now {}); the status comment was left alone",
                state.merge_sha, now.merge_sha
            ),
            branch: state.branch,
            verdict: Some(verdict),
            runs,
            branch_deleted: deleted,
        });
    }
    let body = render::reported(&state, verdict, &runs, deleted);
    github::upsert(gh, repo, pr, &render::status_marker(), &body, own).await?;
    if opts.commit_status {
        let (st, desc) = match verdict {
            Verdict::Passed => ("success", "Tests with secrets passed"),
            Verdict::Failed => ("failure", "Tests with secrets failed"),
            Verdict::NoRun => ("error", "No workflow ran"),
        };
        gh.post::<Value>(
            &format!(
                "{}/statuses/{}",
                repo.api_path(),
                encode_segment(&state.head_sha)
            ),
            &json!({
                "state": st,
                "context": "ghops/pr-bridge",
                "description": desc,
                "target_url": runs.first().and_then(|r| r.html_url.clone()),
            }),
            Idempotency::Idempotent,
        )
        .await?;
    }
    let message = match verdict {
        Verdict::Passed => format!("PR #{pr}: tests with secrets passed"),
        Verdict::Failed => format!("PR #{pr}: tests with secrets failed"),
        Verdict::NoRun => format!("PR #{pr}: no workflow ran for {}", state.merge_sha),
    };
    Ok(ReportOutcome {
        pr,
        branch: state.branch,
        verdict: Some(verdict),
        runs,
        branch_deleted: deleted,
        message,
    })
}

#[derive(Deserialize)]
struct MatchingRef {
    #[serde(rename = "ref")]
    ref_name: String,
    object: gh_core::git::RefObject,
}

/// What cleanup did with one branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CleanupItem {
    /// The branch.
    pub branch: String,
    /// `deleted` (`would_delete` with `--dry-run`), `kept`, or `skipped`.
    pub action: String,
    /// Why.
    pub reason: String,
}

/// Deletes `<prefix>/<n>` branches whose PR is closed or idle for longer than `older_than`,
/// each only when the PR's status comment records that branch at that very SHA.
pub async fn cleanup(
    gh: &GitHub,
    repo: &RepoRef,
    opts: &Options,
    older_than: Duration,
) -> Result<Vec<CleanupItem>, BridgeError> {
    let prefix = opts.branch_prefix.trim_end_matches('/');
    let refs: Vec<MatchingRef> = gh
        .get_all(
            &format!(
                "{}/git/matching-refs/heads/{}/",
                repo.api_path(),
                encode_ref(prefix)
            ),
            None,
        )
        .await?;
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    for r in refs {
        let branch = r.ref_name.trim_start_matches("refs/heads/").to_owned();
        let item = |action: &str, reason: String| CleanupItem {
            branch: branch.clone(),
            action: action.into(),
            reason,
        };
        // The prefix search also matches `<prefix>/<anything>`: only exact `<prefix>/<digits>`.
        let Some(pr) = opts.pr_of_branch(&branch) else {
            out.push(item("skipped", "not a pr-bridge branch name".into()));
            continue;
        };
        let pull: Option<gh_core::pulls::PullRequest> = gh
            .get_opt(&format!("{}/pulls/{pr}", repo.api_path()))
            .await?;
        let stale = match &pull {
            None => Some("the PR does not exist".to_owned()),
            Some(p) if p.state != "open" => Some(format!("PR #{pr} is {}", p.state)),
            Some(p) => p.updated_at.as_deref().and_then(|t| {
                // An unreadable timestamp never makes a PR stale (its branch is kept).
                let t = t.parse::<chrono::DateTime<chrono::Utc>>().ok()?;
                let idle = (now - t).to_std().ok()?;
                (idle > older_than).then(|| format!("PR #{pr} idle for {}h", idle.as_secs() / 3600))
            }),
        };
        let Some(why) = stale else {
            out.push(item("kept", format!("PR #{pr} is open and active")));
            continue;
        };
        let state = recorded_state(gh, repo, pr, opts).await?;
        match state {
            Some(s) if s.branch == branch && s.merge_sha.eq_ignore_ascii_case(&r.object.sha) => {
                if delete_if_at(gh, repo, &branch, &r.object.sha).await? {
                    out.push(item(
                        if gh.is_dry_run() {
                            "would_delete"
                        } else {
                            "deleted"
                        },
                        why,
                    ));
                } else {
                    out.push(item("skipped", "the branch moved while cleaning up".into()));
                }
            }
            Some(_) => out.push(item(
                "skipped",
                "the branch does not point at the SHA the status comment records (re-pointed by a newer trigger?)".into(),
            )),
            None => out.push(item(
                "skipped",
                "no ghops status comment on the PR vouches for this branch".into(),
            )),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, status: Option<&str>) -> RunLink {
        RunLink {
            id: 1,
            name: Some(name.into()),
            html_url: None,
            status: status.map(str::to_owned),
            conclusion: None,
        }
    }

    #[test]
    fn the_wait_doubles_to_a_minute() {
        let s = Duration::from_secs;
        let delays = |w: Wait| w.schedule().delays().take(5).collect::<Vec<_>>();
        assert_eq!(delays(Wait::default()), [s(10), s(20), s(40), s(60), s(60)]);
        let slow = Wait {
            poll: s(90),
            ..Wait::default()
        };
        assert_eq!(delays(slow), [s(90); 5]);
    }

    #[test]
    fn progress_state_is_counts_and_statuses_and_the_line_adds_times() {
        let none = Progress {
            runs: &[],
            waited: Duration::from_millis(1500),
            next_poll: Duration::from_millis(400),
        };
        assert_eq!(none.state(), "no run yet");
        assert_eq!(
            none.line(42),
            "PR #42: no run yet; waited 1s, next check in 1s"
        );
        let runs = [run("ci", Some("completed")), run("lint", None)];
        let p = Progress {
            runs: &runs,
            waited: Duration::from_secs(75),
            next_poll: Duration::from_millis(9_600),
        };
        assert_eq!(p.state(), "1/2 runs completed (ci completed, lint queued)");
        let later = Progress {
            waited: Duration::from_secs(135),
            ..p
        };
        // The time waited changes the line, never the state (the cadence keys on it).
        assert_eq!(later.state(), p.state());
        assert_ne!(later.line(42), p.line(42));
        assert!(p.line(42).ends_with("next check in 10s"), "{}", p.line(42));
    }
}
