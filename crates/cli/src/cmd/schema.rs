//! `ghops schema`: the JSON Schema of a command's `--json` output, generated from the output
//! types (schemars), so that the documented shape is the one the code serialises.

use clap::{Args, ValueEnum};
use gh_core::ExitCode;

use crate::ctx::{Ctx, Failure, Ignored};
use crate::output::outln;

/// Arguments of `ghops schema`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  ghops schema --list\n  ghops schema plan\n  ghops schema auth-status > auth-status.schema.json"
)]
pub struct SchemaArgs {
    /// The command whose `--json` output to describe (none, or `--list`: list them all).
    #[arg(value_enum)]
    command: Option<SchemaOf>,
    /// List the schema names, with the command line each one describes (the default).
    #[arg(long, conflicts_with = "command")]
    list: bool,
}

/// Every command output printed with `--json`, by the name `ghops schema` takes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaOf {
    /// `ghops plan --json` (and `--format json`).
    Plan,
    /// `ghops plan comment --json`.
    PlanComment,
    /// `ghops auth status --json`.
    AuthStatus,
    /// `ghops env sync --json`.
    EnvSync,
    /// `ghops env record --json`.
    EnvRecord,
    /// `ghops env status --json` (an array of rows).
    EnvStatus,
    /// `ghops gate check --json`.
    GateCheck,
    /// `ghops gate approve --json`.
    GateApprove,
    /// `ghops init --json` (the files written or kept).
    Init,
    /// `ghops init --list --json`.
    InitList,
    /// `ghops init --dry-run --json` (the files that would be written).
    InitDryRun,
    /// `ghops release draft --json`.
    ReleaseDraft,
    /// `ghops release publish-hook --json`.
    ReleasePublishHook,
    /// `ghops release hotfix --json`.
    ReleaseHotfix,
    /// `ghops pr-bridge trigger --json`.
    PrBridgeTrigger,
    /// `ghops pr-bridge report --json`.
    PrBridgeReport,
    /// `ghops pr-bridge cleanup --json`.
    PrBridgeCleanup,
    /// `ghops runners manifests --json` (Kubernetes objects).
    RunnersManifests,
    /// `ghops runners handle --json`.
    RunnersHandle,
    /// `ghops runners status --json`.
    RunnersStatus,
    /// `ghops runners reconcile --json` (one pass, without `--watch`).
    RunnersReconcile,
    /// `ghops agent run --once --json` (one summary per target).
    AgentRun,
    /// `ghops agent create --json`.
    AgentCreate,
    /// `ghops agent status --json`.
    AgentStatus,
}

impl SchemaOf {
    /// The command line this schema describes (`pr-bridge trigger`, `init --list`).
    pub fn command_line(self) -> &'static str {
        match self {
            SchemaOf::Plan => "plan",
            SchemaOf::PlanComment => "plan comment",
            SchemaOf::AuthStatus => "auth status",
            SchemaOf::EnvSync => "env sync",
            SchemaOf::EnvRecord => "env record",
            SchemaOf::EnvStatus => "env status",
            SchemaOf::GateCheck => "gate check",
            SchemaOf::GateApprove => "gate approve",
            SchemaOf::Init => "init",
            SchemaOf::InitList => "init --list",
            SchemaOf::InitDryRun => "init --dry-run",
            SchemaOf::ReleaseDraft => "release draft",
            SchemaOf::ReleasePublishHook => "release publish-hook",
            SchemaOf::ReleaseHotfix => "release hotfix",
            SchemaOf::PrBridgeTrigger => "pr-bridge trigger",
            SchemaOf::PrBridgeReport => "pr-bridge report",
            SchemaOf::PrBridgeCleanup => "pr-bridge cleanup",
            SchemaOf::RunnersManifests => "runners manifests",
            SchemaOf::RunnersHandle => "runners handle",
            SchemaOf::RunnersStatus => "runners status",
            SchemaOf::RunnersReconcile => "runners reconcile",
            SchemaOf::AgentRun => "agent run --once",
            SchemaOf::AgentCreate => "agent create",
            SchemaOf::AgentStatus => "agent status",
        }
    }

    /// The subcommand path (`pr-bridge trigger`; `init` for `init --list`).
    #[cfg(test)]
    pub fn subcommand(self) -> &'static str {
        self.command_line().split(" --").next().unwrap_or_default()
    }

    /// The name `ghops schema` takes.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}

/// The output of a command that prints `{"outcome": "ignored", "reason"}` for an event it has
/// nothing to do for ([`Ctx::print_ignored`]), and its result otherwise. Schema only.
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum OrIgnored<T> {
    /// What the command did.
    Done(T),
    /// Nothing to do.
    Ignored(Ignored),
}

/// A Kubernetes object (`apiVersion`, `kind`, `metadata`, …). Schema only.
type KubeObject = serde_json::Map<String, serde_json::Value>;

/// The JSON Schema (draft 2020-12) of what `of` prints with `--json`: the serialised form
/// (optional fields are those skipped when empty).
pub fn schema(of: SchemaOf) -> serde_json::Value {
    use release_flow::{draft, env, gate, hotfix, init, push};
    let g = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let s = match of {
        SchemaOf::Plan => g.into_root_schema_for::<deploy_plan::Plan>(),
        SchemaOf::PlanComment => g.into_root_schema_for::<gh_core::comments::Upserted>(),
        SchemaOf::AuthStatus => g.into_root_schema_for::<super::auth::AuthStatus>(),
        SchemaOf::EnvSync => g.into_root_schema_for::<OrIgnored<env::SyncPlan>>(),
        SchemaOf::EnvRecord => g.into_root_schema_for::<env::RecordOutcome>(),
        SchemaOf::EnvStatus => g.into_root_schema_for::<Vec<env::EnvRow>>(),
        SchemaOf::GateCheck => g.into_root_schema_for::<gate::GateOutcome>(),
        SchemaOf::GateApprove => g.into_root_schema_for::<gate::ApproveOutcome>(),
        SchemaOf::Init => g.into_root_schema_for::<Vec<init::Written>>(),
        SchemaOf::InitList => g.into_root_schema_for::<Vec<init::Workflow>>(),
        SchemaOf::InitDryRun => g.into_root_schema_for::<Vec<init::GeneratedFile>>(),
        SchemaOf::ReleaseDraft => g.into_root_schema_for::<draft::DraftReport>(),
        SchemaOf::ReleasePublishHook => g.into_root_schema_for::<OrIgnored<hotfix::BranchResult>>(),
        SchemaOf::ReleaseHotfix => g.into_root_schema_for::<OrIgnored<push::PushOutcome>>(),
        SchemaOf::PrBridgeTrigger => g.into_root_schema_for::<pr_bridge::TriggerOutcome>(),
        SchemaOf::PrBridgeReport => g.into_root_schema_for::<OrIgnored<pr_bridge::ReportOutcome>>(),
        SchemaOf::PrBridgeCleanup => g.into_root_schema_for::<Vec<pr_bridge::CleanupItem>>(),
        SchemaOf::RunnersManifests => g.into_root_schema_for::<Vec<KubeObject>>(),
        SchemaOf::RunnersHandle => g.into_root_schema_for::<runner_orch::Decision>(),
        SchemaOf::RunnersStatus => {
            g.into_root_schema_for::<Vec<runner_orch::orchestrator::PoolStatus>>()
        }
        SchemaOf::RunnersReconcile => g.into_root_schema_for::<runner_orch::ReconcileReport>(),
        SchemaOf::AgentRun => g.into_root_schema_for::<Vec<deploy_agent::TargetSummary>>(),
        SchemaOf::AgentCreate => g.into_root_schema_for::<deploy_agent::create::Created>(),
        SchemaOf::AgentStatus => g.into_root_schema_for::<Vec<deploy_agent::status::Recent>>(),
    };
    s.to_value()
}

/// Runs `ghops schema`.
pub async fn run(args: SchemaArgs, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    let Some(of) = args.command.filter(|_| !args.list) else {
        for of in SchemaOf::value_variants() {
            outln!("{:22} ghops {} --json", of.name(), of.command_line());
        }
        return Ok(ExitCode::Success);
    };
    let text = serde_json::to_string_pretty(&schema(of))
        .map_err(|e| Failure::new(ExitCode::Failed, e.to_string()))?;
    outln!("{text}");
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan's schema names every key the plan JSON has (the `ungated` note included),
    /// requires the three job lists, and describes a job row.
    #[test]
    fn plan_schema_matches_the_plan_json() {
        let s = schema(SchemaOf::Plan);
        let props = s["properties"].as_object().unwrap();
        let keys: Vec<&str> = props.keys().map(String::as_str).collect();
        assert_eq!(keys, ["notes", "prod", "staging", "support", "ungated"]);
        let mut required: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        required.sort();
        assert_eq!(required, ["prod", "staging", "support"]);
        let job = &s["$defs"]["Job"];
        let mut job_required: Vec<&str> = job["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        job_required.sort();
        assert_eq!(job_required, ["cluster_name", "provider", "reason"]);
        assert!(job["properties"]["hub_name"].is_object(), "{job}");
        // Every key of a real plan is described.
        let plan = deploy_plan::Plan {
            ungated: vec!["c".into()],
            notes: vec!["n".into()],
            ..Default::default()
        };
        let v = serde_json::to_value(&plan).unwrap();
        for k in v.as_object().unwrap().keys() {
            assert!(props.contains_key(k), "{k} is not in the schema");
        }
    }

    /// Every schema is an object schema generated from its type; the auth status's names
    /// the token kinds as the JSON spells them.
    #[test]
    fn every_schema_generates() {
        for of in SchemaOf::value_variants() {
            let s = schema(*of);
            assert_eq!(
                s["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{of:?}"
            );
        }
        let auth = schema(SchemaOf::AuthStatus).to_string();
        assert!(
            auth.contains("classic_pat") && auth.contains("rate_limit"),
            "{auth}"
        );
        let comment = schema(SchemaOf::PlanComment).to_string();
        assert!(
            comment.contains("comment_id") && comment.contains("dry_run"),
            "{comment}"
        );
    }

    /// Issue 18: every time is RFC 3339. Each property named `*_at` (or the rate limit's
    /// `reset`) in every schema is a `date-time`, so the e2e check of real outputs checks it.
    #[test]
    fn every_time_is_a_date_time() {
        fn walk(v: &serde_json::Value, at: &str, times: &mut usize, bad: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(o) => {
                    if let Some(props) = o.get("properties").and_then(|p| p.as_object()) {
                        for (k, p) in props {
                            if k.ends_with("_at") || k == "reset" {
                                *times += 1;
                                if p["format"] != "date-time" {
                                    bad.push(format!("{at}: {k}"));
                                }
                            }
                        }
                    }
                    for x in o.values() {
                        walk(x, at, times, bad);
                    }
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, at, times, bad)),
                _ => {}
            }
        }
        let (mut times, mut bad) = (0, Vec::new());
        for of in SchemaOf::value_variants() {
            walk(&schema(*of), &of.name(), &mut times, &mut bad);
        }
        assert!(bad.is_empty(), "times that are not date-time: {bad:?}");
        assert!(times >= 4, "{times}");
    }

    /// `env status --json` is an array of rows whose keys are exactly the row's fields, with
    /// full SHAs and RFC 3339 times as strings.
    #[test]
    fn env_status_schema_matches_a_row() {
        let s = schema(SchemaOf::EnvStatus);
        assert_eq!(s["type"], "array", "{s}");
        let row = &s["$defs"]["EnvRow"];
        let props = row["properties"].as_object().unwrap();
        let r = release_flow::env::EnvRow {
            environment: "qa1".into(),
            pr: Some(7),
            sha: Some("a".repeat(40)),
            state: "success".into(),
            url: None,
            deployment_id: Some(3),
            updated_at: Some("2026-12-05T08:00:00Z".into()),
        };
        let v = serde_json::to_value(&r).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut described: Vec<&str> = props.keys().map(String::as_str).collect();
        keys.sort();
        described.sort();
        assert_eq!(keys, described);
    }
}
