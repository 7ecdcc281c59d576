//! Changed paths: normalisation and the input formats (newline list, JSON array,
//! dorny/paths-filter CSV, a local git diff).

use std::path::Path;

use crate::error::PlanError;

/// Normalises a repository path lexically: strips `./`, collapses `//`, resolves `.` and
/// `..` (never above the root), drops a trailing `/` and surrounding whitespace is NOT
/// trimmed (file names may carry spaces).
pub fn normalize(p: &str) -> String {
    let p = p.strip_suffix('\r').unwrap_or(p);
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The format of a changed-files list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListFormat {
    /// JSON if it starts with `[`; CSV if it is one line with a comma or a quote; else lines.
    #[default]
    Auto,
    /// One path per line.
    Lines,
    /// A JSON array of strings.
    Json,
    /// dorny/paths-filter's `csv` output: comma-separated, RFC 4180 quoting.
    Csv,
}

impl std::str::FromStr for ListFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "auto" => ListFormat::Auto,
            "lines" => ListFormat::Lines,
            "json" => ListFormat::Json,
            "csv" => ListFormat::Csv,
            o => {
                return Err(format!(
                    "unknown list format {o:?} (auto, lines, json, csv)"
                ));
            }
        })
    }
}

/// Parses a changed-files list; `origin` names it in errors. Paths are normalised, empty
/// entries dropped, order kept.
pub fn parse_list(text: &str, format: ListFormat, origin: &str) -> Result<Vec<String>, PlanError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    let format = match format {
        ListFormat::Auto if trimmed.starts_with('[') => ListFormat::Json,
        ListFormat::Auto
            if !trimmed.contains('\n') && (trimmed.contains(',') || trimmed.starts_with('"')) =>
        {
            ListFormat::Csv
        }
        ListFormat::Auto => ListFormat::Lines,
        f => f,
    };
    let raw: Vec<String> = match format {
        ListFormat::Json => serde_json::from_str::<Vec<String>>(trimmed)
            .map_err(|e| PlanError::input(origin, format!("not a JSON array of strings: {e}")))?,
        ListFormat::Csv => parse_csv(trimmed).map_err(|m| PlanError::input(origin, m))?,
        _ => text.lines().map(str::to_owned).collect(),
    };
    Ok(raw
        .iter()
        .map(|p| normalize(p))
        .filter(|p| !p.is_empty())
        .collect())
}

/// RFC 4180 fields of one record (newlines inside quotes allowed).
fn parse_csv(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut in_quotes = false;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else {
            match c {
                '"' if cur.is_empty() && !quoted => {
                    in_quotes = true;
                    quoted = true;
                }
                '"' => return Err("a quote inside an unquoted field".into()),
                ',' => {
                    out.push(std::mem::take(&mut cur));
                    quoted = false;
                }
                c if quoted => {
                    return Err(format!("unexpected {c:?} after a closing quote"));
                }
                c => cur.push(c),
            }
        }
    }
    if in_quotes {
        return Err("unterminated quoted field".into());
    }
    out.push(cur);
    Ok(out)
}

/// True for an object name of all zeros (40 or 64 hex digits): GitHub's `before` of a push
/// that created the branch (and `after` of one that deleted it).
pub fn is_null_rev(rev: &str) -> bool {
    matches!(rev.len(), 40 | 64) && rev.bytes().all(|b| b == b'0')
}

/// Paths changed between the merge base of `base` and `head`, and `head`, in the git
/// repository at `repo_dir`: added, modified, deleted, and both sides of renames. When
/// `repo_dir` is a subdirectory of the clone (a config root inside a larger repository), only
/// the paths under it, relative to it. No API call, no cap on the number of files; runs the `git` CLI (which must be on `PATH`). A `base` of
/// all zeros (a push that created the branch) is the default branch as `origin/HEAD` names
/// it: see [`git_changed_or_default`].
pub fn git_changed(repo_dir: &Path, base: &str, head: &str) -> Result<Vec<String>, PlanError> {
    git_changed_or_default(repo_dir, base, head, None)
}

/// [`git_changed`], where a `base` of all zeros ([`is_null_rev`]: GitHub's `before` on a push
/// that created the branch, which has no previous commit) means the default branch:
/// `default_branch` (its remote-tracking branch `origin/<name>`, else the local branch), or
/// when not given the branch `origin/HEAD` points to. The diff is then the branch's own
/// changes since it left the default branch (empty for a push of the default branch itself).
pub fn git_changed_or_default(
    repo_dir: &Path,
    base: &str,
    head: &str,
    default_branch: Option<&str>,
) -> Result<Vec<String>, PlanError> {
    use gh_core::repo::git_cli;
    let g = |e: gh_core::repo::GitCliError| PlanError::Git(e.to_string());
    let resolve = |r: &str, flag: &str| -> Result<String, PlanError> {
        commit_of(repo_dir, r).map_err(|e| PlanError::input(flag, format!("{r:?}: {e}")))
    };
    let base_id = if is_null_rev(base) {
        default_branch_commit(repo_dir, default_branch)?
    } else {
        resolve(base, "--base")?
    };
    let head_id = resolve(head, "--head")?;
    let mb = git_cli(repo_dir, &["merge-base", &base_id, &head_id]).map_err(g)?;
    let mb = String::from_utf8_lossy(&mb).trim().to_owned();
    // Both sides of a rename are listed, so rename detection changes nothing: off, and the
    // paths NUL-separated, verbatim (no quoting of unusual names). `--relative`: when
    // `repo_dir` (the config root) is a subdirectory of the clone, only the changes under it,
    // relative to it, as the rules and `--changed-files` lists see them.
    let diff = git_cli(
        repo_dir,
        &[
            "diff",
            "--name-only",
            "--no-renames",
            "--relative",
            "-z",
            &mb,
            &head_id,
            "--",
        ],
    )
    .map_err(g)?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in diff.split(|b| *b == 0) {
        if let Ok(p) = std::str::from_utf8(p) {
            let p = normalize(p);
            if !p.is_empty() && seen.insert(p.clone()) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// The commit of the default branch, for a `--base` of all zeros.
/// The commit `rev` names (`rev^{commit}`), through the `git` CLI.
fn commit_of(repo_dir: &Path, rev: &str) -> Result<String, gh_core::repo::GitCliError> {
    let rev = format!("{rev}^{{commit}}");
    let out = gh_core::repo::git_cli(
        repo_dir,
        &["rev-parse", "--verify", "--end-of-options", &rev],
    )?;
    Ok(String::from_utf8_lossy(&out).trim().to_owned())
}

fn default_branch_commit(repo_dir: &Path, name: Option<&str>) -> Result<String, PlanError> {
    let commit = |r: &str| commit_of(repo_dir, r);
    let why = "is all zeros (GitHub's `before` of a push that created the branch): ghops diffs \
               against the merge base with the default branch";
    match name {
        Some(n) => {
            let (remote, local) = (
                format!("refs/remotes/origin/{n}"),
                format!("refs/heads/{n}"),
            );
            commit(&remote).or_else(|_| commit(&local)).map_err(|_| {
                PlanError::input(
                    "--base",
                    format!(
                        "{why}, but neither origin/{n} nor {n} is in the clone (fetch it: \
                         actions/checkout with fetch-depth: 0)"
                    ),
                )
            })
        }
        None => commit("refs/remotes/origin/HEAD").map_err(|_| {
            PlanError::input(
                "--base",
                format!(
                    "{why}, and no default branch is known: pass --default-branch NAME (in \
                     Actions it is read from the push event) or set origin/HEAD \
                     (git remote set-head origin --auto)"
                ),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(
            normalize("./config//clusters/a/../b/x.yaml"),
            "config/clusters/b/x.yaml"
        );
        assert_eq!(normalize("../../etc/passwd"), "etc/passwd");
        assert_eq!(normalize("a/b/"), "a/b");
        assert_eq!(
            normalize("dir/with space, and comma.yaml"),
            "dir/with space, and comma.yaml"
        );
    }

    #[test]
    fn formats() {
        let lines = parse_list("a.yaml\n./b//c.yaml\n\n", ListFormat::Auto, "x").unwrap();
        assert_eq!(lines, ["a.yaml", "b/c.yaml"]);
        let json = parse_list(r#"["a.yaml", "x/../b.yaml"]"#, ListFormat::Auto, "x").unwrap();
        assert_eq!(json, ["a.yaml", "b.yaml"]);
        let csv = parse_list(
            r#"a.yaml,"dir/odd, name.yaml","q""uote.yaml""#,
            ListFormat::Auto,
            "x",
        )
        .unwrap();
        assert_eq!(csv, ["a.yaml", "dir/odd, name.yaml", "q\"uote.yaml"]);
        // A newline list whose names carry commas stays a newline list.
        let l = parse_list("a, b.yaml\nc.yaml", ListFormat::Auto, "x").unwrap();
        assert_eq!(l, ["a, b.yaml", "c.yaml"]);
        assert!(parse_list("[1,2]", ListFormat::Auto, "--changed-files").is_err());
        assert!(parse_list("\"open", ListFormat::Csv, "x").is_err());
    }
}
