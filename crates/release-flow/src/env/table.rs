//! The `env status` table.

use chrono::{DateTime, Utc};
use comfy_table::{ColumnConstraint, ContentArrangement, Table, presets};

use super::status::{EnvRow, age};

/// The rows as a comfy-table (short SHAs, ages relative to `now`), plain aligned text by
/// default (fits a pipe and a log); a caller may restyle it (`load_preset`, `set_width`).
pub fn table(rows: &[EnvRow], now: DateTime<Utc>) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(["ENVIRONMENT", "PR", "SHA", "STATE", "URL", "AGE"]);
    for r in rows {
        t.add_row([
            r.environment.clone(),
            r.pr.map_or("-".into(), |p| format!("#{p}")),
            r.sha
                .as_deref()
                .map_or("-".into(), |s| s.chars().take(7).collect()),
            r.state.clone(),
            r.url.clone().unwrap_or_else(|| "-".into()),
            r.updated_at
                .as_deref()
                .and_then(|w| age(w, now))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
        c.set_constraint(ColumnConstraint::ContentWidth);
    }
    t
}

/// Renders rows as aligned plain text, one line per environment (trailing spaces trimmed).
pub fn render_table(rows: &[EnvRow], now: DateTime<Utc>) -> String {
    table(rows, now)
        .lines()
        .map(|l| l.trim_end().to_owned() + "\n")
        .collect()
}

/// [`table`] with ages as of now (a caller may restyle it: preset, width).
pub fn table_now(rows: &[EnvRow]) -> Table {
    table(rows, Utc::now())
}
