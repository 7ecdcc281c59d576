//! The release body: release-drafter's templates, categories and escaping.

use semver::Version;
use serde::{Deserialize, Serialize};

use crate::config::DrafterConfig;
use crate::version::{Bump, bumped, render_version};

/// A merged pull request, as far as the changelog cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedPr {
    /// Number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Author login.
    pub author: String,
    /// Body.
    #[serde(default)]
    pub body: String,
    /// Web URL.
    #[serde(default)]
    pub url: String,
    /// Label names.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Merge commit.
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    /// Merge time (RFC 3339), for ordering.
    #[serde(default)]
    pub merged_at: Option<String>,
}

/// PRs that count (not excluded; included when `include-labels` is set), newest merge first.
pub fn counted<'a>(cfg: &DrafterConfig, prs: &'a [MergedPr]) -> Vec<&'a MergedPr> {
    let mut v: Vec<&MergedPr> = prs
        .iter()
        .filter(|p| {
            !p.labels
                .iter()
                .any(|l| cfg.exclude_labels.contains(l) || *l == cfg.reintegration_label)
        })
        .filter(|p| {
            cfg.include_labels.is_empty() || p.labels.iter().any(|l| cfg.include_labels.contains(l))
        })
        .collect();
    v.sort_by(|a, b| b.merged_at.cmp(&a.merged_at).then(b.number.cmp(&a.number)));
    v
}

/// Escapes a title: `@` and `#` always become `@<!---->` / `#<!---->` (no mention, no
/// cross-reference), `<` and `>` are backslash-escaped (no HTML), the configured
/// `change-title-escapes` characters are backslash-escaped; `code spans` are kept as-is.
pub fn escape_title(title: &str, escapes: &str) -> String {
    let mut out = String::with_capacity(title.len());
    let mut chars = title.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '`'
            && let Some(end) = title[i + 1..].find('`')
        {
            out.push_str(&title[i..i + 1 + end + 1]);
            let stop = i + 1 + end;
            while chars.peek().is_some_and(|(j, _)| *j <= stop) {
                chars.next();
            }
            continue;
        }
        match c {
            '@' | '#' => {
                out.push(c);
                out.push_str("<!---->");
            }
            '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            c if escapes.contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn change_line(cfg: &DrafterConfig, pr: &MergedPr) -> String {
    cfg.change_template
        .replace(
            "$TITLE",
            &escape_title(&pr.title, &cfg.change_title_escapes),
        )
        .replace("$NUMBER", &pr.number.to_string())
        .replace("$AUTHOR", &pr.author)
        .replace("$BODY", &pr.body)
        .replace("$URL", &pr.url)
}

fn lines(cfg: &DrafterConfig, prs: &[&MergedPr], collapse_after: Option<usize>) -> String {
    let body = prs
        .iter()
        .map(|p| change_line(cfg, p))
        .collect::<Vec<_>>()
        .join("\n");
    match collapse_after {
        Some(n) if prs.len() > n => format!(
            "<details>\n<summary>{} changes</summary>\n\n{body}\n</details>",
            prs.len()
        ),
        _ => body,
    }
}

/// `$CHANGES`: uncategorised PRs first, then each category with entries.
pub fn changes(cfg: &DrafterConfig, prs: &[&MergedPr]) -> String {
    if prs.is_empty() {
        return cfg.no_changes_template.clone();
    }
    let in_any = |p: &MergedPr| {
        cfg.categories.iter().any(|c| {
            c.all_labels()
                .iter()
                .any(|l| p.labels.iter().any(|x| x == l))
        })
    };
    let uncategorised: Vec<&MergedPr> = prs.iter().copied().filter(|p| !in_any(p)).collect();
    let mut out = String::new();
    if !uncategorised.is_empty() {
        out.push_str(&lines(cfg, &uncategorised, None));
        out.push_str("\n\n");
    }
    for c in &cfg.categories {
        let labels = c.all_labels();
        let mine: Vec<&MergedPr> = prs
            .iter()
            .copied()
            .filter(|p| labels.iter().any(|l| p.labels.iter().any(|x| x == l)))
            .collect();
        if mine.is_empty() {
            continue;
        }
        out.push_str(&cfg.category_template.replace("$TITLE", &c.title));
        out.push_str("\n\n");
        out.push_str(&lines(cfg, &mine, c.collapse_after));
        out.push_str("\n\n");
    }
    out.trim().to_owned()
}

/// `$CONTRIBUTORS`: `@a, @b and @c` in order of appearance, excluded logins left out.
pub fn contributors(cfg: &DrafterConfig, prs: &[&MergedPr]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for p in prs {
        if !cfg.exclude_contributors.contains(&p.author) && !seen.contains(&p.author.as_str()) {
            seen.push(&p.author);
        }
    }
    let names: Vec<String> = seen.iter().map(|a| format!("@{a}")).collect();
    match names.len() {
        0 => cfg.no_contributors_template.clone(),
        1 => names[0].clone(),
        n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

/// Everything the body template can refer to.
pub struct BodyVars<'a> {
    /// The counted PRs.
    pub prs: &'a [&'a MergedPr],
    /// The baseline tag, if any.
    pub previous_tag: Option<&'a str>,
    /// The resolved version.
    pub version: &'a Version,
    /// The baseline version (for `$NEXT_*`).
    pub baseline: Option<&'a Version>,
    /// Owner and repository names.
    pub owner: &'a str,
    /// Repository name.
    pub repository: &'a str,
}

/// The release body.
pub fn body(cfg: &DrafterConfig, v: &BodyVars<'_>) -> String {
    let zero = Version::new(0, 0, 0);
    let base = v.baseline.unwrap_or(&zero);
    cfg.template
        .replace("$CHANGES", &changes(cfg, v.prs))
        .replace("$CONTRIBUTORS", &contributors(cfg, v.prs))
        .replace("$PREVIOUS_TAG", v.previous_tag.unwrap_or(""))
        .replace("$RESOLVED_VERSION", &render_version(cfg, v.version))
        .replace(
            "$NEXT_MAJOR_VERSION",
            &render_version(cfg, &bumped(base, Bump::Major)),
        )
        .replace(
            "$NEXT_MINOR_VERSION",
            &render_version(cfg, &bumped(base, Bump::Minor)),
        )
        .replace(
            "$NEXT_PATCH_VERSION",
            &render_version(cfg, &bumped(base, Bump::Patch)),
        )
        .replace("$OWNER", v.owner)
        .replace("$REPOSITORY", v.repository)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_titles() {
        assert_eq!(
            escape_title("Ping @everyone about #4 <script>alert(1)</script>", ""),
            "Ping @<!---->everyone about #<!---->4 \\<script\\>alert(1)\\</script\\>"
        );
        assert_eq!(
            escape_title("Fix `a_b` and a_b", "_"),
            "Fix `a_b` and a\\_b"
        );
    }
}
