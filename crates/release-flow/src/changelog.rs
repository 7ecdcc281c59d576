//! The release body: release-drafter v7's categories, change lines, contributors, templates
//! and escaping.

use serde::{Deserialize, Serialize};

use crate::config::{Category, CategoryKind, Condition, DrafterConfig, MatchMode, SortBy};
use crate::template::{apply_replacers, fill, fill_with};
use crate::version::{Bump, Increment, VersionInfo};

/// A merged pull request, as far as the changelog cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MergedPr {
    /// Number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Author login (a bot's without `[bot]`, as GraphQL gives it; `ghost` when deleted).
    pub author: String,
    /// The author is a GitHub App (bot).
    #[serde(default)]
    pub author_is_bot: bool,
    /// The author's profile URL (a bot's is `https://github.com/apps/NAME`).
    #[serde(default)]
    pub author_url: String,
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
    /// Base branch.
    #[serde(default)]
    pub base_ref: String,
    /// Head branch.
    #[serde(default)]
    pub head_ref: String,
    /// Changed files (only read when a category matches on paths).
    #[serde(default)]
    pub files: Vec<String>,
}

/// One author of a commit (`login` when GitHub links it to an account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitAuthor {
    /// Linked account.
    pub login: Option<String>,
    /// Git name.
    pub name: String,
}

/// A commit of the release range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeCommit {
    /// SHA.
    pub oid: String,
    /// Author and co-authors.
    pub authors: Vec<CommitAuthor>,
    /// Numbers of this repository's PRs associated with the commit.
    pub prs: Vec<u64>,
}

/// How one PR fares against the categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Kept by the pre-include/pre-exclude categories (and not a reintegration PR).
    pub included: bool,
    /// Indices (into `cfg.categories`) of its changelog categories.
    pub changelog: Vec<usize>,
    /// The highest increment its categories contribute.
    pub increment: Option<Bump>,
}

fn matches_values(actual: &[String], expected: &[String], mode: MatchMode) -> bool {
    if expected.is_empty() {
        return true;
    }
    let has = |v: &String| actual.contains(v);
    match mode {
        MatchMode::Any => expected.iter().any(has),
        MatchMode::All => expected.iter().all(has),
        MatchMode::Only => !actual.is_empty() && actual.iter().all(|a| expected.contains(a)),
        MatchMode::Exactly => {
            let mut a: Vec<&String> = actual.iter().collect();
            a.sort();
            a.dedup();
            let mut e: Vec<&String> = expected.iter().collect();
            e.sort();
            e.dedup();
            a == e
        }
    }
}

/// A path pattern: a glob, or a plain path that also matches everything under it.
fn path_matches(pattern: &str, file: &str) -> bool {
    let p = pattern.trim_start_matches("./");
    if !p.contains(['*', '?', '[', '{']) {
        let dir = p.trim_end_matches('/');
        return file == dir || file.starts_with(&format!("{dir}/"));
    }
    globset::GlobBuilder::new(p)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher().is_match(file))
        .unwrap_or(false)
}

fn matches_paths(c: &Condition, files: &[String]) -> bool {
    if c.paths.is_empty() {
        return true;
    }
    if files.is_empty() {
        return false;
    }
    let all_patterns = c
        .paths
        .iter()
        .all(|p| files.iter().any(|f| path_matches(p, f)));
    let only = files
        .iter()
        .all(|f| c.paths.iter().any(|p| path_matches(p, f)));
    match c.paths_mode {
        MatchMode::Any => files
            .iter()
            .any(|f| c.paths.iter().any(|p| path_matches(p, f))),
        MatchMode::All => all_patterns,
        MatchMode::Only => only,
        MatchMode::Exactly => all_patterns && only,
    }
}

fn matches_category(c: &Category, pr: &MergedPr) -> bool {
    c.when.is_empty()
        || c.when.iter().any(|w| {
            matches_values(&pr.labels, &w.labels, w.labels_mode) && matches_paths(w, &pr.files)
        })
}

fn select(cfg: &DrafterConfig, kind: CategoryKind, pr: &MergedPr) -> Vec<usize> {
    let mut matched = Vec::new();
    for (i, c) in cfg.categories.iter().enumerate() {
        if c.kind != kind || c.when.is_empty() || !matches_category(c, pr) {
            continue;
        }
        matched.push(i);
        if c.exclusive {
            break;
        }
    }
    if matched.is_empty()
        && let Some(i) = cfg
            .categories
            .iter()
            .position(|c| c.kind == kind && c.when.is_empty())
    {
        matched.push(i);
    }
    matched
}

/// Evaluates every category concern for one PR (release-drafter v7's pipeline).
pub fn evaluate(cfg: &DrafterConfig, pr: &MergedPr) -> Evaluation {
    let of = |k| cfg.categories.iter().filter(move |c| c.kind == k);
    let reintegration = pr.labels.contains(&cfg.reintegration_label);
    let pre_included = of(CategoryKind::PreInclude).next().is_none()
        || of(CategoryKind::PreInclude).any(|c| matches_category(c, pr));
    let excluded = of(CategoryKind::PreExclude).any(|c| matches_category(c, pr));
    let included = pre_included && !excluded && !reintegration;
    if !included {
        return Evaluation {
            included,
            changelog: Vec::new(),
            increment: None,
        };
    }
    let changelog = select(cfg, CategoryKind::Changelog, pr);
    let version = select(cfg, CategoryKind::VersionResolver, pr);
    let increment = changelog
        .iter()
        .chain(version.iter())
        .map(|i| cfg.categories[*i].semver_increment)
        .max();
    Evaluation {
        included,
        changelog,
        increment,
    }
}

/// PRs that count (kept by the pre-categories), in `sort-by`/`sort-direction` order.
pub fn counted<'a>(cfg: &DrafterConfig, prs: &'a [MergedPr]) -> Vec<&'a MergedPr> {
    let mut v: Vec<&MergedPr> = prs.iter().filter(|p| evaluate(cfg, p).included).collect();
    sort(cfg, &mut v);
    v
}

/// release-drafter's ordering (stable: ties keep the order the commits were walked in).
pub fn sort(cfg: &DrafterConfig, prs: &mut [&MergedPr]) {
    // A missing merge time sorts after every other one ascending, before them descending
    // (release-drafter's comparators).
    use std::cmp::Ordering::{Equal, Greater, Less};
    let asc = cfg.sort_ascending;
    prs.sort_by(|a, b| match cfg.sort_by {
        SortBy::MergedAt => match (&a.merged_at, &b.merged_at) {
            (None, None) => Equal,
            (None, Some(_)) => {
                if asc {
                    Greater
                } else {
                    Less
                }
            }
            (Some(_), None) => {
                if asc {
                    Less
                } else {
                    Greater
                }
            }
            (Some(x), Some(y)) if asc => x.cmp(y),
            (Some(x), Some(y)) => y.cmp(x),
        },
        SortBy::Title if cfg.sort_ascending => a.title.cmp(&b.title),
        SortBy::Title => b.title.cmp(&a.title),
    });
}

/// The increment the counted PRs ask for: the highest of their categories', else the
/// version-resolver fallback's (`version-resolver.default`), else patch; as `pre*` when
/// drafting a prerelease with an identifier.
pub fn increment(cfg: &DrafterConfig, prs: &[&MergedPr]) -> Increment {
    let bump = prs
        .iter()
        .filter_map(|p| evaluate(cfg, p).increment)
        .max()
        .or_else(|| {
            cfg.categories
                .iter()
                .find(|c| c.kind == CategoryKind::VersionResolver && c.when.is_empty())
                .map(|c| c.semver_increment)
        })
        .unwrap_or(Bump::Patch);
    if cfg.prerelease && !cfg.prerelease_identifier.is_empty() {
        Increment::pre(bump)
    } else {
        Increment::of(bump)
    }
}

/// Escapes a title. Characters of `escapes` get a backslash, except `@` and `#`, which are
/// followed by `<!---->` (no mention, no cross-reference); with `always_safe` (ghops's
/// `escape-mentions`) `@ # < >` are escaped whatever `escapes` says. Code spans are kept as
/// they are, matched as CommonMark does: a run of N backticks opens a span only if a run of
/// exactly N backticks closes it, and a backslash-escaped backtick opens nothing; an
/// unmatched run is plain text, so `` `@everyone`` `` is escaped like any text. When `escapes`
/// holds a backtick, every backtick is escaped and there are no spans.
pub fn escape_title(title: &str, escapes: &str, always_safe: bool) -> String {
    let escaped = |c: char| escapes.contains(c) || (always_safe && "@#<>".contains(c));
    let spans = !escaped('`');
    let b = title.as_bytes();
    let run_at = |i: usize| b[i..].iter().take_while(|c| **c == b'`').count();
    let mut out = String::with_capacity(title.len() + 8);
    let mut i = 0;
    while i < b.len() {
        if spans && b[i] == b'`' {
            let n = run_at(i);
            // Look for a closing run of exactly n.
            let mut j = i + n;
            let mut close = None;
            while j < b.len() {
                if b[j] == b'`' {
                    let m = run_at(j);
                    if m == n {
                        close = Some(j + m);
                        break;
                    }
                    j += m;
                } else {
                    j += 1;
                }
            }
            match close {
                Some(end) => {
                    out.push_str(&title[i..end]);
                    i = end;
                }
                None => {
                    out.push_str(&title[i..i + n]);
                    i += n;
                }
            }
            continue;
        }
        if spans && b[i] == b'\\' && b.get(i + 1) == Some(&b'`') {
            out.push_str("\\`");
            i += 2;
            continue;
        }
        let c = title[i..].chars().next().unwrap_or_default();
        if escaped(c) {
            if c == '@' || c == '#' {
                out.push(c);
                out.push_str("<!---->");
            } else {
                out.push('\\');
                out.push(c);
            }
        } else {
            out.push(c);
        }
        i += c.len_utf8();
    }
    out
}

#[derive(Debug, Clone)]
enum Who {
    Login {
        login: String,
        bot_url: Option<String>,
    },
    Name(String),
}

fn collation_key(s: &str) -> (String, String) {
    // Close to `localeCompare`: case-insensitive first, lower case before upper case.
    let inverted: String = s
        .chars()
        .map(|c| {
            if c.is_lowercase() {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c.to_lowercase().next().unwrap_or(c)
            }
        })
        .collect();
    (s.to_lowercase(), inverted)
}

/// release-drafter's authors sentence for `prs`: the authors of their commits (co-authors
/// included) and the PRs' authors; PR authors first, bots last, then alphabetical; a bot as
/// `[@name[bot]](https://github.com/apps/name)`.
fn authors_sentence(
    prs: &[&MergedPr],
    commits: &[RangeCommit],
    exclude: &[String],
    none: &str,
    server: &str,
) -> String {
    let numbers: Vec<u64> = prs.iter().map(|p| p.number).collect();
    let merges: Vec<&str> = prs
        .iter()
        .filter_map(|p| p.merge_commit_sha.as_deref())
        .collect();
    let mut who: Vec<(String, Who)> = Vec::new();
    let mut set = |key: String, w: Who| {
        if let Some(e) = who.iter_mut().find(|(k, _)| *k == key) {
            e.1 = w;
        } else {
            who.push((key, w));
        }
    };
    for c in commits {
        if !merges.contains(&c.oid.as_str()) && !c.prs.iter().any(|n| numbers.contains(n)) {
            continue;
        }
        for a in &c.authors {
            match &a.login {
                Some(l) if !l.is_empty() => set(
                    format!("login:{l}"),
                    Who::Login {
                        login: l.clone(),
                        bot_url: None,
                    },
                ),
                _ if !a.name.is_empty() => {
                    set(format!("name:{}", a.name), Who::Name(a.name.clone()))
                }
                _ => {}
            }
        }
    }
    let mut pr_authors: Vec<String> = Vec::new();
    for p in prs {
        if p.author.is_empty() || p.author == "ghost" {
            continue;
        }
        let login = if p.author_is_bot && !p.author.ends_with("[bot]") {
            format!("{}[bot]", p.author)
        } else {
            p.author.clone()
        };
        pr_authors.push(login.clone());
        set(
            format!("login:{login}"),
            Who::Login {
                login,
                bot_url: (p.author_is_bot && !p.author_url.is_empty())
                    .then(|| p.author_url.clone()),
            },
        );
    }
    let mut list: Vec<Who> = who
        .into_iter()
        .map(|(_, w)| w)
        .filter(|w| match w {
            Who::Name(_) => true,
            Who::Login { login, .. } => !exclude
                .iter()
                .any(|e| e == login || format!("{e}[bot]") == *login),
        })
        .collect();
    let is_pr_author =
        |w: &Who| matches!(w, Who::Login { login, .. } if pr_authors.contains(login));
    let is_bot = |w: &Who| matches!(w, Who::Login { login, bot_url } if bot_url.is_some() || login.ends_with("[bot]"));
    let name = |w: &Who| match w {
        Who::Login { login, .. } => login.clone(),
        Who::Name(n) => n.clone(),
    };
    list.sort_by(|a, b| {
        is_pr_author(b)
            .cmp(&is_pr_author(a))
            .then(is_bot(a).cmp(&is_bot(b)))
            .then_with(|| collation_key(&name(a)).cmp(&collation_key(&name(b))))
    });
    let mentions: Vec<String> = list
        .iter()
        .map(|w| match w {
            Who::Name(n) => n.clone(),
            Who::Login { login, bot_url } => match login.strip_suffix("[bot]") {
                Some(app) => format!(
                    "[@{login}]({})",
                    bot_url
                        .clone()
                        .unwrap_or_else(|| format!("{}/apps/{app}", server.trim_end_matches('/')))
                ),
                None => format!("@{login}"),
            },
        })
        .collect();
    match mentions.len() {
        0 => none.to_owned(),
        1 => mentions[0].clone(),
        n => format!("{} and {}", mentions[..n - 1].join(", "), mentions[n - 1]),
    }
}

/// `$CONTRIBUTORS`: the authors of the counted PRs and of their commits, without
/// `exclude-contributors` (logins); `no-contributors-template` when nobody is left.
pub fn contributors(cfg: &DrafterConfig, prs: &[&MergedPr], commits: &[RangeCommit]) -> String {
    authors_sentence(
        prs,
        commits,
        &cfg.exclude_contributors,
        &cfg.no_contributors_template,
        "https://github.com",
    )
}

fn change_line(cfg: &DrafterConfig, pr: &MergedPr, commits: &[RangeCommit]) -> String {
    let author = if pr.author_is_bot {
        format!(
            "[{}[bot]]({})",
            pr.author.trim_end_matches("[bot]"),
            pr.author_url
        )
    } else {
        pr.author.clone()
    };
    // Only computed when asked for: it walks the range's commits.
    let authors = if cfg.change_template.contains("$AUTHORS") {
        authors_sentence(&[pr], commits, &[], "@ghost", "https://github.com")
    } else {
        String::new()
    };
    fill(
        &cfg.change_template,
        &[
            (
                "TITLE",
                &escape_title(&pr.title, &cfg.change_title_escapes, cfg.escape_mentions),
            ),
            ("NUMBER", &pr.number.to_string()),
            ("AUTHORS", &authors),
            ("AUTHOR", &author),
            ("BODY", &pr.body),
            ("URL", &pr.url),
            ("BASE_REF_NAME", &pr.base_ref),
            ("HEAD_REF_NAME", &pr.head_ref),
        ],
    )
}

fn lines(cfg: &DrafterConfig, prs: &[&MergedPr], commits: &[RangeCommit]) -> String {
    prs.iter()
        .map(|p| change_line(cfg, p, commits))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `$CHANGES`: the PRs in no changelog category first, then each category with entries, in
/// the configured order (the catch-all category, the one without labels, where it is listed).
pub fn changes(cfg: &DrafterConfig, prs: &[&MergedPr], commits: &[RangeCommit]) -> String {
    let mut uncategorised: Vec<&MergedPr> = Vec::new();
    let mut per: Vec<Vec<&MergedPr>> = vec![Vec::new(); cfg.categories.len()];
    for p in prs {
        let e = evaluate(cfg, p);
        if !e.included {
            continue;
        }
        if e.changelog.is_empty() {
            uncategorised.push(p);
        }
        for i in e.changelog {
            per[i].push(p);
        }
    }
    if uncategorised.is_empty() && per.iter().all(Vec::is_empty) {
        return cfg.no_changes_template.clone();
    }
    let mut out = String::new();
    if !uncategorised.is_empty() {
        out.push_str(&lines(cfg, &uncategorised, commits));
        out.push_str("\n\n");
    }
    let changelog: Vec<usize> = cfg
        .categories
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == CategoryKind::Changelog)
        .map(|(i, _)| i)
        .collect();
    for (pos, i) in changelog.iter().enumerate() {
        let mine = &per[*i];
        if mine.is_empty() {
            continue;
        }
        let c = &cfg.categories[*i];
        let heading = fill(&cfg.category_template, &[("TITLE", &c.title)]);
        if !heading.is_empty() {
            out.push_str(&heading);
            out.push_str("\n\n");
        }
        let body = lines(cfg, mine, commits);
        if c.collapse_after != -1 && mine.len() as i64 > c.collapse_after {
            let n = mine.len();
            out.push_str(&format!(
                "<details>\n<summary>{n} change{}</summary>\n\n{body}\n</details>",
                if n > 1 { "s" } else { "" }
            ));
        } else {
            out.push_str(&body);
        }
        if pos + 1 != changelog.len() {
            out.push_str("\n\n");
        }
    }
    out.trim().to_owned()
}

/// Everything the body template can refer to.
pub struct BodyVars<'a> {
    /// The counted PRs, in changelog order.
    pub prs: &'a [&'a MergedPr],
    /// The range's commits.
    pub commits: &'a [RangeCommit],
    /// The baseline tag, if any.
    pub previous_tag: Option<&'a str>,
    /// The version variables.
    pub info: &'a VersionInfo,
    /// Owner.
    pub owner: &'a str,
    /// Repository name.
    pub repository: &'a str,
}

/// GitHub rejects release bodies longer than this many characters.
pub const MAX_BODY_CHARS: usize = 125_000;

/// Room kept free for what callers append (the draft marker).
const BODY_RESERVE: usize = 1_000;

/// The release body. When the full changelog would pass GitHub's 125,000-character limit, only
/// the first changes that fit are listed, followed by a line counting the ones left out
/// (every PR still counts for the version and `$CONTRIBUTORS`).
pub fn body(cfg: &DrafterConfig, v: &BodyVars<'_>) -> String {
    let limit = MAX_BODY_CHARS - BODY_RESERVE;
    let full = render_body(cfg, v, v.prs.len());
    if full.chars().count() <= limit {
        return full;
    }
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
    let mut changes = changes(cfg, &v.prs[..listed], v.commits);
    let omitted = v.prs.len() - listed;
    if omitted > 0 {
        changes = format!(
            "{}\n\n_… and {omitted} more changes, not listed: GitHub limits release notes to {MAX_BODY_CHARS} characters._",
            if listed == 0 { "" } else { changes.as_str() }
        );
    }
    // release-drafter fills the body in two passes: the changelog first (then the replacers),
    // then the version variables.
    let whole = format!("{}{}{}", cfg.header, cfg.template, cfg.footer);
    let first = fill(
        &whole,
        &[
            ("PREVIOUS_TAG", v.previous_tag.unwrap_or("")),
            ("CHANGES", &changes),
            ("CONTRIBUTORS", &contributors(cfg, v.prs, v.commits)),
            ("OWNER", v.owner),
            ("REPOSITORY", v.repository),
        ],
    );
    let replaced = apply_replacers(&first, &cfg.replacers);
    fill_with(&replaced, |k| v.info.get(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::version_info;

    fn pr(n: u64, title: &str, labels: &[&str]) -> MergedPr {
        MergedPr {
            number: n,
            title: title.into(),
            author: format!("dev{n}"),
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            merged_at: Some(format!("2026-11-{:02}T10:00:00Z", n % 28 + 1)),
            ..MergedPr::default()
        }
    }

    #[test]
    fn a_huge_changelog_is_cut_to_githubs_limit() {
        let prs: Vec<MergedPr> = (1..=3_000)
            .map(|n| MergedPr {
                merged_at: Some(format!("{n:08}")),
                ..pr(
                    n,
                    &format!("A fairly long change title number {n} {}", "x".repeat(40)),
                    &[],
                )
            })
            .collect();
        let (cfg, _) = DrafterConfig::from_yaml("template: $CHANGES", "t").unwrap();
        let counted = counted(&cfg, &prs);
        let info = version_info(&cfg, None, None, Increment::Patch);
        let b = body(
            &cfg,
            &BodyVars {
                prs: &counted,
                commits: &[],
                previous_tag: None,
                info: &info,
                owner: "o",
                repository: "r",
            },
        );
        let n = b.chars().count();
        assert!(
            n <= MAX_BODY_CHARS - 1_000 && n > MAX_BODY_CHARS - 1_200,
            "{n}"
        );
        assert!(b.contains("(#3000)"));
        assert!(!b.contains("(#1)"));
        let listed = b.matches("\n* ").count() + 1;
        assert!(
            b.contains(&format!("and {} more changes", 3_000 - listed)),
            "{listed}"
        );
    }

    #[test]
    fn hostile_titles_in_safe_mode() {
        assert_eq!(
            escape_title(
                "Ping @everyone about #4 <script>alert(1)</script>",
                "",
                true
            ),
            "Ping @<!---->everyone about #<!---->4 \\<script\\>alert(1)\\</script\\>"
        );
        assert_eq!(
            escape_title("Fix `a_b` and a_b", "_", false),
            "Fix `a_b` and a\\_b"
        );
    }

    /// Issue #19 item 10: an unbalanced backtick run is text in CommonMark, so what follows it
    /// is escaped; before the fix `` `@everyone`` `` was kept as if it were a code span.
    #[test]
    fn unbalanced_backticks_do_not_bypass_escaping() {
        let cases = [
            ("`@everyone``", "`@<!---->everyone``"),
            ("``@everyone`", "``@<!---->everyone`"),
            ("\\`@everyone`", "\\`@<!---->everyone`"),
            ("``a ` @b``", "``a ` @b``"),
            ("`@ok` then `@x", "`@ok` then `@<!---->x"),
            ("a `` b", "a `` b"),
            ("`", "`"),
        ];
        for (title, want) in cases {
            assert_eq!(escape_title(title, "", true), want, "{title}");
            assert_eq!(escape_title(title, "@", false), want, "{title}");
        }
        // A backtick among the escapes: no spans at all.
        assert_eq!(escape_title("`@x`", "`@", false), "\\`@<!---->x\\`");
    }

    #[test]
    fn release_drafter_escapes_only_what_it_is_told() {
        assert_eq!(
            escape_title("Ping @all #4 <b>", "", false),
            "Ping @all #4 <b>"
        );
        assert_eq!(
            escape_title("a*b_c <d> & @e #f", "\\<*_&@#", false),
            "a\\*b\\_c \\<d> \\& @<!---->e #<!---->f"
        );
    }

    #[test]
    fn contributors_and_bots() {
        let mut a = pr(1, "x", &[]);
        a.author = "zed".into();
        let mut bot = pr(2, "y", &[]);
        bot.author = "dependabot".into();
        bot.author_is_bot = true;
        bot.author_url = "https://github.com/apps/dependabot".into();
        let mut b = pr(3, "z", &[]);
        b.author = "Amy".into();
        b.merge_commit_sha = Some("m3".into());
        let commits = vec![
            RangeCommit {
                oid: "m3".into(),
                authors: vec![
                    CommitAuthor {
                        login: Some("amy".into()),
                        name: "Amy".into(),
                    },
                    CommitAuthor {
                        login: None,
                        name: "Co Author".into(),
                    },
                ],
                prs: vec![],
            },
            RangeCommit {
                oid: "direct".into(),
                authors: vec![CommitAuthor {
                    login: Some("pusher".into()),
                    name: "P".into(),
                }],
                prs: vec![],
            },
        ];
        let cfg = DrafterConfig::default();
        assert_eq!(
            contributors(&cfg, &[&a, &bot, &b], &commits),
            "@Amy, @zed, [@dependabot[bot]](https://github.com/apps/dependabot), @amy and Co Author"
        );
        assert_eq!(contributors(&cfg, &[], &commits), "No contributors");
        let cfg = DrafterConfig {
            exclude_contributors: vec!["dependabot".into(), "zed".into()],
            ..DrafterConfig::default()
        };
        assert_eq!(contributors(&cfg, &[&a, &bot], &[]), "No contributors");
        assert_eq!(
            change_line(&DrafterConfig::default(), &bot, &[]),
            "* y (#2) @[dependabot[bot]](https://github.com/apps/dependabot)"
        );
    }
}
