//! What was decided for one job, and what a reconcile pass did.

use std::collections::BTreeMap;

use serde::Serialize;

/// What was decided for one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// A runner was launched.
    Launched {
        /// Runner and Job name.
        name: String,
        /// Pool.
        pool: String,
    },
    /// `--dry-run`: the calls and manifests were reported (not sent).
    DryRun {
        /// Runner name.
        name: String,
    },
    /// The runner exists already (duplicate delivery, or the other path launched it).
    AlreadyLaunched {
        /// Runner name.
        name: String,
    },
    /// The pool is full: the job waits for a later reconcile pass (it is not lost).
    AtCapacity {
        /// Pool.
        pool: String,
    },
    /// The job is no longer queued (completed, cancelled, taken): nothing launched.
    NotQueued {
        /// Its status now.
        status: String,
    },
    /// No pool serves this repository with these labels: not ours.
    NoPool {
        /// Why.
        reason: String,
    },
    /// The unused runner of a job that finished without it was removed.
    Cleaned {
        /// Runner name.
        name: String,
    },
    /// Nothing to do for this event.
    Ignored {
        /// Why.
        reason: String,
    },
}

/// What a reconcile pass did. As JSON (`ghops runners reconcile --json`), objects like
/// `runners handle`'s:
/// `{"decisions": [{"runner": "ghops-…", "decision": "launched", "name": "ghops-…", "pool":
/// "linux"}], "reaped": [{"runner": "ghops-…", "reason": "…"}], "waiting": {"linux": 3}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReconcileReport {
    /// Decisions for queued jobs and warm runners, as (runner name, decision).
    #[serde(serialize_with = "ser_decisions")]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<DecisionItem<'static>>"))]
    pub decisions: Vec<(String, Decision)>,
    /// Runners removed, with the reason.
    #[serde(serialize_with = "ser_reaped")]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<ReapedItem<'static>>"))]
    pub reaped: Vec<(String, String)>,
    /// Queued jobs beyond capacity, by pool.
    pub waiting: BTreeMap<String, u64>,
}

impl ReconcileReport {
    /// Runners launched (or, in `--dry-run`, that would have been).
    pub fn launched(&self) -> usize {
        self.decisions
            .iter()
            .filter(|(_, d)| matches!(d, Decision::Launched { .. } | Decision::DryRun { .. }))
            .count()
    }

    /// True when the pass changed nothing and nothing waits.
    pub fn is_idle(&self) -> bool {
        self.launched() == 0 && self.reaped.is_empty() && self.waiting.is_empty()
    }
}

/// One decision of a reconcile pass as JSON: the runner, then the decision's own fields.
#[derive(Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct DecisionItem<'a> {
    /// Runner name.
    runner: &'a str,
    #[serde(flatten)]
    decision: &'a Decision,
}

/// One runner a reconcile pass removed, as JSON.
#[derive(Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct ReapedItem<'a> {
    /// Runner name.
    runner: &'a str,
    /// Why it was removed.
    reason: &'a str,
}

impl Decision {
    /// The one-line summary `ghops runners` prints for runner `name`:
    /// `launched   ghops-… (pool linux)`, `would launch ghops-…`, `waiting    ghops-…: pool
    /// linux at max`, …
    pub fn line<'a>(&'a self, name: &'a str) -> DecisionLine<'a> {
        DecisionLine {
            name,
            decision: self,
        }
    }
}

/// A [`Decision`] about one runner, displayed as one line (see [`Decision::line`]).
#[derive(Debug, Clone, Copy)]
pub struct DecisionLine<'a> {
    name: &'a str,
    decision: &'a Decision,
}

impl std::fmt::Display for DecisionLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.name;
        match self.decision {
            Decision::Launched { pool, .. } => write!(f, "launched   {name} (pool {pool})"),
            Decision::DryRun { .. } => write!(f, "would launch {name}"),
            Decision::AlreadyLaunched { .. } => write!(f, "exists     {name}"),
            Decision::AtCapacity { pool } => write!(f, "waiting    {name}: pool {pool} at max"),
            Decision::NotQueued { status } => write!(f, "skipped    {name}: job is {status}"),
            Decision::NoPool { reason } => write!(f, "not ours   {reason}"),
            Decision::Cleaned { .. } => write!(f, "removed    {name}"),
            Decision::Ignored { reason } => write!(f, "ignored    {name}: {reason}"),
        }
    }
}

/// One line per decision, reaped runner and pool with jobs waiting, each ending in a newline
/// (nothing at all for an empty report): what `ghops runners reconcile` prints.
impl std::fmt::Display for ReconcileReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (name, d) in &self.decisions {
            writeln!(f, "{}", d.line(name))?;
        }
        for (name, why) in &self.reaped {
            writeln!(f, "reaped     {name}: {why}")?;
        }
        for (pool, n) in &self.waiting {
            writeln!(f, "waiting    {n} queued job(s) in pool {pool} (at max)")?;
        }
        Ok(())
    }
}

fn ser_decisions<S: serde::Serializer>(
    v: &[(String, Decision)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(
        v.iter()
            .map(|(runner, decision)| DecisionItem { runner, decision }),
    )
}

fn ser_reaped<S: serde::Serializer>(
    v: &[(String, String)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(
        v.iter()
            .map(|(runner, reason)| ReapedItem { runner, reason }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `runners reconcile --json` gives objects like `runners handle` (issue 18).
    #[test]
    fn reconcile_report_json_is_objects() {
        let r = ReconcileReport {
            decisions: vec![
                (
                    "ghops-0123abcd-7-1".into(),
                    Decision::Launched {
                        name: "ghops-0123abcd-7-1".into(),
                        pool: "linux".into(),
                    },
                ),
                (
                    "ghops-0123abcd-8-1".into(),
                    Decision::NotQueued {
                        status: "completed".into(),
                    },
                ),
            ],
            reaped: vec![(
                "ghops-0123abcd-5-1".into(),
                "not registered within 600s".into(),
            )],
            waiting: [("linux".to_owned(), 3)].into_iter().collect(),
        };
        insta::assert_json_snapshot!(r, @r#"
        {
          "decisions": [
            {
              "runner": "ghops-0123abcd-7-1",
              "decision": "launched",
              "name": "ghops-0123abcd-7-1",
              "pool": "linux"
            },
            {
              "runner": "ghops-0123abcd-8-1",
              "decision": "not_queued",
              "status": "completed"
            }
          ],
          "reaped": [
            {
              "runner": "ghops-0123abcd-5-1",
              "reason": "not registered within 600s"
            }
          ],
          "waiting": {
            "linux": 3
          }
        }
        "#);
        assert_eq!(r.launched(), 1);
        assert!(!r.is_idle());
        insta::assert_snapshot!(r.to_string(), @r"
        launched   ghops-0123abcd-7-1 (pool linux)
        skipped    ghops-0123abcd-8-1: job is completed
        reaped     ghops-0123abcd-5-1: not registered within 600s
        waiting    3 queued job(s) in pool linux (at max)
        ");
        assert_eq!(ReconcileReport::default().to_string(), "");
        assert!(ReconcileReport::default().is_idle());
    }
}
