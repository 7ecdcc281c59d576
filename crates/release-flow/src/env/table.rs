//! The `env status` table.

use super::status::EnvRow;

/// Renders rows as an aligned text table.
pub fn render_table(rows: &[EnvRow]) -> String {
    let header = ["ENVIRONMENT", "PR", "SHA", "STATE", "URL", "AGE"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.environment.clone(),
                r.pr.map_or("-".into(), |p| format!("#{p}")),
                r.sha.clone().unwrap_or_else(|| "-".into()),
                r.state.clone(),
                r.url.clone().unwrap_or_else(|| "-".into()),
                r.age.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut w = header.map(str::len);
    for c in &cells {
        for (i, v) in c.iter().enumerate() {
            w[i] = w[i].max(v.chars().count());
        }
    }
    let line = |vals: [&str; 6]| {
        let mut s = String::new();
        for (i, v) in vals.iter().enumerate() {
            if i == 5 {
                s.push_str(v);
            } else {
                s.push_str(&format!("{v:<width$}  ", width = w[i]));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(header);
    for c in &cells {
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]]));
    }
    out
}
