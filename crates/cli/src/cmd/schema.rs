//! `ghops schema`: the JSON Schema of a command's `--json` output, generated from the output
//! types (schemars), so that the documented shape is the one the code serialises.

use clap::{Args, ValueEnum};
use gh_core::ExitCode;

use crate::ctx::{Ctx, Failure};
use crate::output::outln;

/// Arguments of `ghops schema`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  ghops schema plan\n  ghops schema auth-status > auth-status.schema.json"
)]
pub struct SchemaArgs {
    /// The command whose `--json` output to describe.
    #[arg(value_enum)]
    command: SchemaOf,
}

/// The commands with a schema so far.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum SchemaOf {
    /// `ghops plan --json` (and `--format json`).
    Plan,
    /// `ghops plan comment --json`.
    PlanComment,
    /// `ghops auth status --json`.
    AuthStatus,
    /// `ghops env status --json` (an array of rows).
    EnvStatus,
}

/// The JSON Schema (draft 2020-12) of what `of` prints with `--json`: the serialised form
/// (optional fields are those skipped when empty).
fn schema(of: SchemaOf) -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let s = match of {
        SchemaOf::Plan => generator.into_root_schema_for::<deploy_plan::Plan>(),
        SchemaOf::PlanComment => generator.into_root_schema_for::<gh_core::comments::Upserted>(),
        SchemaOf::AuthStatus => generator.into_root_schema_for::<super::auth::AuthStatus>(),
        SchemaOf::EnvStatus => generator.into_root_schema_for::<Vec<release_flow::env::EnvRow>>(),
    };
    s.to_value()
}

/// Runs `ghops schema`.
pub async fn run(args: SchemaArgs, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    let text = serde_json::to_string_pretty(&schema(args.command))
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
