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

/// Substitutes `$NAME` variables in one pass, like release-drafter (`/\$[A-Z_]+/`): a value
/// is never scanned again, so a PR title containing `$BODY` or `$CONTRIBUTORS` stays literal.
/// Unknown variables are left as they are.
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let n = after
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..n];
        match vars.iter().find(|(k, _)| *k == name) {
            Some((_, v)) if n > 0 => out.push_str(v),
            _ => {
                out.push('$');
                out.push_str(name);
            }
        }
        rest = &after[n..];
    }
    out.push_str(rest);
    out
}

fn change_line(cfg: &DrafterConfig, pr: &MergedPr) -> String {
    fill(
        &cfg.change_template,
        &[
            ("TITLE", &escape_title(&pr.title, &cfg.change_title_escapes)),
            ("NUMBER", &pr.number.to_string()),
            ("AUTHOR", &pr.author),
            ("BODY", &pr.body),
            ("URL", &pr.url),
        ],
    )
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

/// `$CONTRIBUTORS`: `@a, @b and @c`: the PR authors in order of appearance, then the commit
/// authors not named yet (`@login`, or a git name for an author GitHub links to no account);
/// logins and names in `exclude-contributors` left out.
pub fn contributors(cfg: &DrafterConfig, prs: &[&MergedPr], commit_authors: &[String]) -> String {
    let excluded = |who: &str| {
        cfg.exclude_contributors
            .iter()
            .any(|x| x == who || who.strip_prefix('@') == Some(x.as_str()))
    };
    let mut names: Vec<String> = Vec::new();
    let pr_authors = prs.iter().map(|p| format!("@{}", p.author));
    for who in pr_authors.chain(commit_authors.iter().cloned()) {
        if !excluded(&who) && !names.contains(&who) {
            names.push(who);
        }
    }
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
    /// The range's commit authors (see [`crate::github::Merged`]).
    pub commit_authors: &'a [String],
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

/// GitHub rejects release bodies longer than this many characters.
pub const MAX_BODY_CHARS: usize = 125_000;

/// Room kept free for what callers append (the draft marker).
const BODY_RESERVE: usize = 1_000;

/// The release body. When the full changelog would pass GitHub's 125,000-character limit, only
/// the newest changes that fit are listed, followed by a line counting the ones left out
/// (every PR still counts for the version and `$CONTRIBUTORS`).
pub fn body(cfg: &DrafterConfig, v: &BodyVars<'_>) -> String {
    let limit = MAX_BODY_CHARS - BODY_RESERVE;
    let full = render_body(cfg, v, v.prs.len());
    if full.chars().count() <= limit {
        return full;
    }
    // The largest prefix (newest first) that fits: binary search over the count listed.
    let (mut lo, mut hi) = (0, v.prs.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if render_body(cfg, v, mid).chars().count() <= limit {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    render_body(cfg, v, lo)
}

fn render_body(cfg: &DrafterConfig, v: &BodyVars<'_>, listed: usize) -> String {
    let zero = Version::new(0, 0, 0);
    let base = v.baseline.unwrap_or(&zero);
    let next = |b| render_version(cfg, &bumped(base, b));
    let mut changes = changes(cfg, &v.prs[..listed]);
    let omitted = v.prs.len() - listed;
    if omitted > 0 {
        changes = format!(
            "{}\n\n_… and {omitted} more changes, not listed: GitHub limits release notes to {MAX_BODY_CHARS} characters._",
            if listed == 0 { "" } else { changes.as_str() }
        );
    }
    fill(
        &cfg.template,
        &[
            ("CHANGES", &changes),
            ("CONTRIBUTORS", &contributors(cfg, v.prs, v.commit_authors)),
            ("PREVIOUS_TAG", v.previous_tag.unwrap_or("")),
            ("RESOLVED_VERSION", &render_version(cfg, v.version)),
            ("NEXT_MAJOR_VERSION", &next(Bump::Major)),
            ("NEXT_MINOR_VERSION", &next(Bump::Minor)),
            ("NEXT_PATCH_VERSION", &next(Bump::Patch)),
            ("OWNER", v.owner),
            ("REPOSITORY", v.repository),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_changelog_is_cut_to_githubs_limit() {
        let prs: Vec<MergedPr> = (1..=3_000)
            .map(|n| MergedPr {
                number: n,
                title: format!("A fairly long change title number {n} {}", "x".repeat(40)),
                author: "dev".into(),
                body: String::new(),
                url: String::new(),
                labels: vec![],
                merge_commit_sha: None,
                merged_at: Some(format!("{n:08}")),
            })
            .collect();
        let cfg = DrafterConfig::default();
        let counted = counted(&cfg, &prs);
        let v = Version::new(1, 0, 0);
        let b = body(
            &cfg,
            &BodyVars {
                prs: &counted,
                commit_authors: &[],
                previous_tag: None,
                version: &v,
                baseline: None,
                owner: "o",
                repository: "r",
            },
        );
        let n = b.chars().count();
        assert!(
            n <= MAX_BODY_CHARS - 1_000 && n > MAX_BODY_CHARS - 1_200,
            "{n}"
        );
        // Newest first, and the rest counted.
        assert!(b.contains("(#3000)"));
        assert!(!b.contains("(#1)"));
        let listed = b.matches("\n* ").count();
        assert!(
            b.contains(&format!("and {} more changes", 3_000 - listed)),
            "{listed}"
        );
    }

    #[test]
    fn hostile_titles() {
        assert_eq!(
            escape_title("Ping @everyone about #4 <script>alert(1)</script>", ""),
            "Ping @<!---->everyone about #<!---->4 \\<script\\>alert(1)\\</script\\>"
        );
        assert_eq!(
            fill(
                "* $TITLE (#$NUMBER) $UNKNOWN $ $",
                &[("TITLE", "Use $BODY and $NUMBER"), ("NUMBER", "4")]
            ),
            "* Use $BODY and $NUMBER (#4) $UNKNOWN $ $"
        );
        assert_eq!(
            escape_title("Fix `a_b` and a_b", "_"),
            "Fix `a_b` and a\\_b"
        );
    }
}
