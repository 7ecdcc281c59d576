//! The event gate: decides from the `issue_comment` payload alone (no API call) whether this
//! is a trigger, and parses its arguments.

use gh_core::events::IssueCommentEvent;
use gh_core::permission::is_bot;

/// Arguments given after the trigger (`/test-this-pr sha=abc1234`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// `sha=`: the head SHA (prefix, 7 to 40 hex characters) the maintainer reviewed.
    pub sha: Option<String>,
    /// What was wrong with the arguments (reported after authorisation, never before).
    pub problem: Option<String>,
}

/// A comment that asks for a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triggered {
    /// PR number.
    pub pr: u64,
    /// The trigger comment's id (for reactions).
    pub comment_id: u64,
    /// The comment's author: the one who is authorised (never `sender`).
    pub user: String,
    /// The author's account type (`User`, `Bot`).
    pub user_type: Option<String>,
    /// Parsed arguments.
    pub args: Args,
}

/// The gate's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Go on to authorisation.
    Triggered(Triggered),
    /// Not for us: the one-line reason.
    Ignored(String),
}

/// Finds the trigger on a line of its own (leading spaces allowed, up to three), outside
/// quotes (`>`) and fenced or indented code blocks, and returns the rest of that line.
pub fn find_trigger<'a>(body: &'a str, trigger: &str) -> Option<&'a str> {
    let mut fence: Option<(char, usize)> = None;
    for raw in body.lines() {
        let line = raw.trim_end_matches('\r');
        let indent = line.len() - line.trim_start_matches(' ').len();
        let t = line.trim_start();
        if let Some((ch, n)) = fence {
            let run = t.chars().take_while(|c| *c == ch).count();
            if run >= n && t[run * ch.len_utf8()..].trim().is_empty() {
                fence = None;
            }
            continue;
        }
        if indent <= 3 {
            for ch in ['`', '~'] {
                let run = t.chars().take_while(|c| *c == ch).count();
                if run >= 3 {
                    fence = Some((ch, run));
                }
            }
            if fence.is_some() {
                continue;
            }
        }
        if indent > 3 || line.starts_with('\t') || t.starts_with('>') {
            continue;
        }
        if let Some(rest) = t.strip_prefix(trigger)
            && (rest.is_empty() || rest.starts_with([' ', '\t']))
        {
            return Some(rest.trim());
        }
    }
    None
}

/// Parses `name=value` arguments. Unknown names and malformed values are reported in
/// [`Args::problem`].
pub fn parse_args(rest: &str) -> Args {
    let mut args = Args::default();
    for tok in rest.split_whitespace() {
        match tok.split_once('=') {
            Some(("sha", v)) => {
                let v = v.to_ascii_lowercase();
                if !(7..=40).contains(&v.len()) || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    args.problem = Some(format!(
                        "`sha=` must be 7 to 40 hexadecimal characters of the PR's head commit, got `{}`",
                        sanitize(tok)
                    ));
                } else {
                    args.sha = Some(v);
                }
            }
            _ => {
                args.problem = Some(format!(
                    "unknown argument `{}` (known: `sha=<head sha>`)",
                    sanitize(tok)
                ));
            }
        }
    }
    args
}

/// Makes user text safe to quote in a comment: short, no backticks, no HTML, no mentions.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .take(60)
        .map(|c| match c {
            '`' | '<' | '>' | '@' | '\n' | '\r' => '?',
            c => c,
        })
        .collect()
}

/// The gate: `created` comments on PRs carrying the trigger, not from a bot, not ghops's own.
pub fn gate(event: &IssueCommentEvent, trigger: &str, own_marker: &str) -> Gate {
    if event.action != "created" {
        return Gate::Ignored(format!(
            "comment {} (only new comments trigger)",
            event.action
        ));
    }
    if !event.issue.is_pull_request() {
        return Gate::Ignored(format!(
            "#{} is an issue, not a pull request",
            event.issue.number
        ));
    }
    let body = event.comment.body.as_deref().unwrap_or_default();
    if body.contains(own_marker) {
        return Gate::Ignored("the comment is ghops's own".into());
    }
    let user = &event.comment.user;
    if is_bot(&user.login, user.user_type.as_deref()) {
        return Gate::Ignored(format!("the comment is from a bot ({})", user.login));
    }
    let Some(rest) = find_trigger(body, trigger) else {
        return Gate::Ignored(format!("no {trigger} line in the comment"));
    };
    Gate::Triggered(Triggered {
        pr: event.issue.number,
        comment_id: event.comment.id,
        user: user.login.clone(),
        user_type: user.user_type.clone(),
        args: parse_args(rest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_lines() {
        let t = "/test-this-pr";
        assert_eq!(find_trigger("/test-this-pr", t), Some(""));
        assert_eq!(
            find_trigger("LGTM\n  /test-this-pr sha=abcdef1\n", t),
            Some("sha=abcdef1")
        );
        assert_eq!(find_trigger("please /test-this-pr", t), None);
        assert_eq!(find_trigger("> /test-this-pr", t), None);
        assert_eq!(find_trigger("```\n/test-this-pr\n```", t), None);
        assert_eq!(
            find_trigger("~~~~\n/test-this-pr\n~~~~\n/test-this-pr x", t),
            Some("x")
        );
        assert_eq!(find_trigger("    /test-this-pr", t), None);
        assert_eq!(find_trigger("/test-this-projection", t), None);
    }

    #[test]
    fn args() {
        assert_eq!(parse_args("sha=ABCDEF1").sha.as_deref(), Some("abcdef1"));
        assert!(parse_args("sha=abc").problem.is_some());
        assert!(parse_args("sha=zzzzzzz").problem.is_some());
        assert!(
            parse_args(&format!("sha={}", "a".repeat(41)))
                .problem
                .is_some()
        );
        assert!(parse_args("please").problem.is_some());
        assert_eq!(parse_args(""), Args::default());
    }
}
