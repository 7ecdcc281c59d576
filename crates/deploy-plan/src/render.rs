//! Renderings of a [`Plan`]: JSON, GitHub Actions matrices (ghops's own and 2i2c's 2024
//! shape, split past GitHub's 256-job limit), terminal tables and the PR comment's Markdown.

use comfy_table::{Table, presets};
use serde_json::{Value, json};

use crate::plan::{Job, Plan};

/// The hidden marker the plan comment starts with.
pub const COMMENT_MARKER: &str = "<!-- deployment-plan -->";

/// The plan as pretty JSON: `{support, staging, prod}`.
pub fn to_json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("plan serialises")
}

/// Which output names and row shapes the matrices use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compat {
    /// `support-jobs`, `staging-jobs`, `prod-jobs` with [`Job`] rows.
    #[default]
    Ghops,
    /// 2i2c's `support-and-staging-matrix-jobs` and `prod-hub-matrix-jobs` (2024 shape).
    TwoI2cV2024,
}

impl std::str::FromStr for Compat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ghops" => Ok(Compat::Ghops),
            "2i2c-v2024" => Ok(Compat::TwoI2cV2024),
            o => Err(format!("unknown compat {o:?} (ghops, 2i2c-v2024)")),
        }
    }
}

/// Matrix outputs: `(name, compact JSON array)` pairs in a stable order, and warnings. A list
/// longer than `max` is split into `name-1`, `name-2`, ... with `name-chunks` holding the
/// count, and `name` itself is NOT written, so a workflow unaware of the split fails loudly
/// instead of silently deploying a part.
pub fn matrix_outputs(
    plan: &Plan,
    compat: Compat,
    max: usize,
) -> (Vec<(String, String)>, Vec<String>) {
    let lists: Vec<(&str, Vec<Value>)> = match compat {
        Compat::Ghops => vec![
            ("support-jobs", rows(&plan.support)),
            ("staging-jobs", rows(&plan.staging)),
            ("prod-jobs", rows(&plan.prod)),
        ],
        Compat::TwoI2cV2024 => vec![
            ("support-and-staging-matrix-jobs", support_and_staging(plan)),
            (
                "prod-hub-matrix-jobs",
                plan.prod
                    .iter()
                    .map(|j| {
                        json!({
                            "cluster_name": j.cluster_name,
                            "provider": j.provider,
                            "hub_name": j.hub_name,
                            "reason_for_redeploy": j.reason,
                        })
                    })
                    .collect(),
            ),
        ],
    };
    let max = max.max(1);
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for (name, list) in lists {
        if list.len() <= max {
            out.push((name.to_owned(), Value::Array(list).to_string()));
            continue;
        }
        let chunks: Vec<&[Value]> = list.chunks(max).collect();
        warnings.push(format!(
            "{name}: {} jobs exceed GitHub's matrix limit of {max}; split into {name}-1 .. {name}-{} ({name}-chunks = {})",
            list.len(),
            chunks.len(),
            chunks.len()
        ));
        out.push((format!("{name}-chunks"), chunks.len().to_string()));
        for (i, c) in chunks.iter().enumerate() {
            out.push((
                format!("{name}-{}", i + 1),
                Value::Array(c.to_vec()).to_string(),
            ));
        }
    }
    (out, warnings)
}

fn rows(jobs: &[Job]) -> Vec<Value> {
    jobs.iter()
        .map(|j| serde_json::to_value(j).expect("job serialises"))
        .collect()
}

fn support_and_staging(plan: &Plan) -> Vec<Value> {
    let mut clusters: Vec<(&str, &str)> = plan
        .support
        .iter()
        .chain(&plan.staging)
        .map(|j| (j.cluster_name.as_str(), j.provider.as_str()))
        .collect();
    clusters.sort();
    clusters.dedup();
    clusters
        .into_iter()
        .map(|(c, provider)| {
            let support = plan.support.iter().find(|j| j.cluster_name == c);
            // One row covers every staging hub of the cluster: each distinct reason once.
            let mut staging: Vec<&str> = Vec::new();
            for part in plan
                .staging
                .iter()
                .filter(|j| j.cluster_name == c)
                .flat_map(|j| j.reason.split("; "))
            {
                if !staging.contains(&part) {
                    staging.push(part);
                }
            }
            json!({
                "cluster_name": c,
                "provider": provider,
                "upgrade_support": support.is_some(),
                "reason_for_support_redeploy": support.map(|j| j.reason.as_str()).unwrap_or(""),
                "upgrade_staging": !staging.is_empty(),
                "reason_for_staging_redeploy": staging.join("; "),
            })
        })
        .collect()
}

struct Section<'a> {
    title: &'static str,
    none: &'static str,
    jobs: &'a [Job],
    hubs: bool,
}

fn sections(plan: &Plan) -> [Section<'_>; 3] {
    [
        Section {
            title: "Support chart upgrades",
            none: "No support chart upgrades will be triggered",
            jobs: &plan.support,
            hubs: false,
        },
        Section {
            title: "Staging hub upgrades",
            none: "No staging hub upgrades will be triggered",
            jobs: &plan.staging,
            hubs: true,
        },
        Section {
            title: "Prod hub upgrades",
            none: "No prod hub upgrades will be triggered",
            jobs: &plan.prod,
            hubs: true,
        },
    ]
}

fn header(hubs: bool) -> Vec<&'static str> {
    if hubs {
        vec!["Cluster", "Provider", "Hub", "Chart", "Reason"]
    } else {
        vec!["Cluster", "Provider", "Reason"]
    }
}

fn cells(j: &Job, hubs: bool) -> Vec<String> {
    let mut v = vec![j.cluster_name.clone(), j.provider.clone()];
    if hubs {
        v.push(j.hub_name.clone().unwrap_or_default());
        v.push(j.chart.clone().unwrap_or_default());
    }
    v.push(j.reason.clone());
    v
}

/// Terminal tables, one per section, titled; fixed layout (no terminal-width dependence).
pub fn to_tables(plan: &Plan) -> String {
    to_tables_with(plan, &|mut t: Table| {
        t.load_preset(presets::UTF8_FULL_CONDENSED);
        t.to_string()
    })
}

/// [`to_tables`], each table drawn by `draw` (the CLI's one table style: boxes fitted to the
/// terminal, plain aligned columns when piped).
pub fn to_tables_with(plan: &Plan, draw: &dyn Fn(Table) -> String) -> String {
    let mut out = String::new();
    for s in sections(plan) {
        out.push_str(s.title);
        out.push('\n');
        if s.jobs.is_empty() {
            out.push_str(s.none);
            out.push_str("\n\n");
            continue;
        }
        let mut t = Table::new();
        t.set_header(header(s.hubs));
        for j in s.jobs {
            t.add_row(cells(j, s.hubs));
        }
        out.push_str(&draw(t));
        out.push_str("\n\n");
    }
    for n in notes(plan) {
        out.push_str(&n);
        out.push('\n');
    }
    out
}

fn notes(plan: &Plan) -> Vec<String> {
    let mut v: Vec<String> = plan.notes.clone();
    if !plan.ungated.is_empty() {
        v.push(format!(
            "Note: no staging hub gates prod on: {} (prod deploys ungated there)",
            plan.ungated.join(", ")
        ));
    }
    v
}

/// True for characters that reorder or hide text (bidi controls, zero-width and other
/// format characters) and for control characters: a name holding one is shown with U+FFFD in
/// its place, so what the reviewer reads is what the bytes say.
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
        || c.is_control()
}

/// True when GitHub would turn the word into a link or a notification: a mention or an email
/// (`@`), an issue reference (`#1`, `o/r#2`, `GH-3`), a URL GitHub autolinks (`scheme://`,
/// `www.`), or a bare commit SHA (7 to 40 hex digits).
fn links(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    word.contains(['@', '#'])
        || lower.contains("://")
        || lower.contains("www.")
        || lower
            .match_indices("gh-")
            .any(|(i, _)| lower[i + 3..].starts_with(|c: char| c.is_ascii_digit()))
        || (word.len() >= 7 && word.len() <= 40 && word.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A word as a code span: GitHub neither links, mentions nor references inside code. The
/// fence is one backtick longer than the longest run inside; `|` stays escaped (table cells
/// are split before inline parsing).
fn code_span(word: &str, o: &mut String) {
    let longest = word.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if word.starts_with('`') || word.ends_with('`') {
        " "
    } else {
        ""
    };
    o.push_str(&fence);
    o.push_str(pad);
    o.push_str(&word.replace('|', "\\|"));
    o.push_str(pad);
    o.push_str(&fence);
}

/// Escapes untrusted text (cluster and hub names, file names in reasons) for a Markdown table
/// cell or a note: no HTML, no markers, no table breaks, no emphasis, no @mentions, no issue
/// references, no links (bare URLs included), no bidi or invisible characters.
pub fn md_escape(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if is_hidden(c) => '\u{FFFD}',
            c => c,
        })
        .collect();
    let mut o = String::with_capacity(clean.len() + 8);
    for (i, word) in clean.split(' ').enumerate() {
        if i > 0 {
            o.push(' ');
        }
        if links(word) {
            code_span(word, &mut o);
            continue;
        }
        for c in word.chars() {
            match c {
                '&' => o.push_str("&amp;"),
                '<' => o.push_str("&lt;"),
                '>' => o.push_str("&gt;"),
                '|' | '`' | '[' | ']' | '\\' | '*' | '_' | '~' | '$' => {
                    o.push('\\');
                    o.push(c);
                }
                c => o.push(c),
            }
        }
    }
    o
}

/// Makes text from the PR (paths, names, YAML keys) safe for one log line: control, bidi and
/// invisible characters are shown escaped (`\n`, `\u{202e}`), so no newline can start a line
/// the Actions runner would read as a workflow command (`::warning ...`).
pub fn log_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hidden(c) {
            o.extend(c.escape_default());
        } else {
            o.push(c);
        }
    }
    o
}

/// The PR comment: the marker, the intro, a `###` section per table (or "No ... upgrades
/// will be triggered").
pub fn to_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(COMMENT_MARKER);
    out.push('\n');
    out.push_str("Merging this PR will trigger the following deployment actions.\n\n");
    for s in sections(plan) {
        out.push_str("### ");
        out.push_str(s.title);
        out.push_str("\n\n");
        if s.jobs.is_empty() {
            out.push_str(s.none);
            out.push_str("\n\n");
            continue;
        }
        let h = header(s.hubs);
        out.push_str(&format!("| {} |\n", h.join(" | ")));
        out.push_str(&format!("|{}\n", " --- |".repeat(h.len())));
        for j in s.jobs {
            let c: Vec<String> = cells(j, s.hubs).iter().map(|c| md_escape(c)).collect();
            out.push_str(&format!("| {} |\n", c.join(" | ")));
        }
        out.push('\n');
    }
    for n in notes(plan) {
        out.push_str(&format!("> {}\n", md_escape(&n)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_escape_keeps_pr_text_on_one_line() {
        assert_eq!(
            log_escape("config/clusters/evil\n::warning::x\r\u{202e}/a b"),
            "config/clusters/evil\\n::warning::x\\r\\u{202e}/a b"
        );
        assert_eq!(log_escape("plain/path.yaml"), "plain/path.yaml");
    }
}
