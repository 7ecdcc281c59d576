//! The event gate: decides from the `issue_comment` payload alone (no API call) whether this
//! is a trigger, and parses its arguments.

use std::borrow::Cow;

use gh_core::events::IssueCommentEvent;
use gh_core::permission::is_bot;
use serde::Deserialize;
use serde::de::IgnoredAny;

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
/// quotes (`>`), fenced or indented code blocks and HTML comments (invisible when rendered),
/// and returns the rest of that line.
pub fn find_trigger<'a>(body: &'a str, trigger: &str) -> Option<&'a str> {
    let mut fence: Option<(char, usize)> = None;
    let mut html_comment = false;
    for raw in body.lines() {
        let line = raw.trim_end_matches('\r');
        let indent = line.len() - line.trim_start_matches(' ').len();
        let t = line.trim_start();
        if html_comment {
            // The rest of the closing line is ignored too (the safe direction).
            html_comment = !t.contains("-->");
            continue;
        }
        if fence.is_none() && indent <= 3 && t.starts_with("<!--") {
            html_comment = !t[4..].contains("-->");
            continue;
        }
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

/// The fields of an `issue_comment` delivery the gate reads, borrowed from the raw body where
/// JSON allows it: [`gate_raw`] decides on a webhook without decoding the whole payload.
#[derive(Debug, Deserialize)]
struct GateInput<'a> {
    #[serde(borrow)]
    action: Cow<'a, str>,
    issue: GateIssue,
    #[serde(borrow)]
    comment: GateComment<'a>,
}

#[derive(Debug, Deserialize)]
struct GateIssue {
    number: u64,
    /// Present (not `null`) when the issue is a pull request.
    #[serde(default)]
    pull_request: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
struct GateComment<'a> {
    id: u64,
    #[serde(borrow, default)]
    body: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user: GateUser<'a>,
}

#[derive(Debug, Deserialize)]
struct GateUser<'a> {
    #[serde(borrow)]
    login: Cow<'a, str>,
    #[serde(borrow, rename = "type", default)]
    user_type: Option<Cow<'a, str>>,
}

/// The gate: `created` comments on PRs carrying the trigger, not from a bot, not ghops's own.
pub fn gate(event: &IssueCommentEvent, trigger: &str, own_marker: &str) -> Gate {
    let c = &event.comment;
    decide(
        &GateInput {
            action: Cow::Borrowed(&event.action),
            issue: GateIssue {
                number: event.issue.number,
                pull_request: event.issue.is_pull_request().then_some(IgnoredAny),
            },
            comment: GateComment {
                id: c.id,
                body: c.body.as_deref().map(Cow::Borrowed),
                user: GateUser {
                    login: Cow::Borrowed(&c.user.login),
                    user_type: c.user.user_type.as_deref().map(Cow::Borrowed),
                },
            },
        },
        trigger,
        own_marker,
    )
}

/// [`gate`] on the raw `issue_comment` body: the same verdict, reading only the fields the gate
/// needs (a webhook server answers most comments this way, without the full decode). `Err`
/// when the body is not JSON of that shape.
pub fn gate_raw(body: &[u8], trigger: &str, own_marker: &str) -> Result<Gate, serde_json::Error> {
    Ok(decide(&serde_json::from_slice(body)?, trigger, own_marker))
}

fn decide(event: &GateInput<'_>, trigger: &str, own_marker: &str) -> Gate {
    if event.action != "created" {
        return Gate::Ignored(format!(
            "comment {} (only new comments trigger)",
            event.action
        ));
    }
    if event.issue.pull_request.is_none() {
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
        user: user.login.clone().into_owned(),
        user_type: user.user_type.as_ref().map(|t| t.clone().into_owned()),
        args: parse_args(rest),
    })
}

#[cfg(test)]
pub(crate) mod tests {
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
        assert_eq!(find_trigger("<!--\n/test-this-pr\n-->", t), None);
        assert_eq!(find_trigger("<!-- /test-this-pr -->", t), None);
        assert_eq!(
            find_trigger("<!-- hidden -->\n/test-this-pr sha=abcdef1", t),
            Some("sha=abcdef1")
        );
    }

    use proptest::prelude::*;

    const T: &str = "/test-this-pr";

    proptest! {
        // Quoted, fenced, indented or commented-out triggers never trigger, whatever the text
        // around them.
        #[test]
        fn hidden_triggers_never_trigger(
            pre in "[a-z .,]{0,30}",
            post in "[a-z .,]{0,30}",
            kind in 0..5usize,
            sha in "[0-9a-f]{7,40}",
        ) {
            let line = format!("{T} sha={sha}");
            let body = match kind {
                0 => format!("{pre}\n```\n{line}\n```\n{post}"),
                1 => format!("{pre}\n> {line}\n{post}"),
                2 => format!("{pre}\n    {line}\n{post}"),
                3 => format!("{pre}\n<!--\n{line}\n-->\n{post}"),
                _ => format!("{pre}\n~~~~ sh\n```\n{line}\n~~~~\n{post}"),
            };
            prop_assert_eq!(find_trigger(&body, T), None);
        }

        // A trigger on a line of its own is found, and the pinned SHA round-trips lowercased.
        #[test]
        fn own_line_triggers_and_pins(
            pre in "[a-z .,]{0,30}",
            post in "[a-z .,]{0,30}",
            sha in "[0-9a-fA-F]{7,40}",
            spaces in 0..4usize,
        ) {
            let body = format!("{pre}\n{}{T} sha={sha}\n{post}", " ".repeat(spaces));
            let rest = find_trigger(&body, T);
            let expected = format!("sha={sha}");
            prop_assert_eq!(rest, Some(expected.as_str()));
            let args = parse_args(rest.unwrap());
            prop_assert_eq!(args.sha, Some(sha.to_ascii_lowercase()));
            prop_assert_eq!(args.problem, None);
        }

        // Any argument that is not a 7..40 hex sha is a problem, never a pin.
        #[test]
        fn malformed_pins_are_problems(v in "[0-9a-z]{0,45}") {
            let args = parse_args(&format!("sha={v}"));
            let valid = (7..=40).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_hexdigit());
            prop_assert_eq!(args.sha.is_some(), valid);
            prop_assert_eq!(args.problem.is_some(), !valid);
        }
    }

    /// A real delivery (a comment on a PR) with the fields the gate reads replaced.
    pub(crate) fn delivery(
        action: &str,
        pr: Option<bool>,
        body: &str,
        login: &str,
        kind: &str,
    ) -> Vec<u8> {
        let raw =
            include_str!("../../../testdata/webhooks/issue_comment.created.on-pr.derived.json");
        let mut v: serde_json::Value = serde_json::from_str(raw).unwrap();
        v["action"] = action.into();
        match pr {
            Some(true) => {}
            Some(false) => v["issue"]["pull_request"] = serde_json::Value::Null,
            None => {
                v["issue"].as_object_mut().unwrap().remove("pull_request");
            }
        }
        v["comment"]["body"] = body.into();
        v["comment"]["user"]["login"] = login.into();
        v["comment"]["user"]["type"] = kind.into();
        serde_json::to_vec(&v).unwrap()
    }

    proptest! {
        // The raw-body gate a webhook server runs first gives exactly the verdict of the gate on
        // the fully decoded event, whatever the action, PR-ness, author and (escaped) body.
        #[test]
        fn raw_gate_agrees_with_the_decoded_gate(
            action in prop::sample::select(vec!["created", "edited", "deleted"]),
            pr in prop::option::of(any::<bool>()),
            pre in r#"[a-z "\\\n\t\u{e9}\u{1F600}<>-]{0,40}"#,
            line in prop::sample::select(vec!["", "/test-this-pr", "/test-this-pr sha=abcdef1", "> /test-this-pr", "<!-- ghops:pr-bridge -->"]),
            login in prop::sample::select(vec!["octocat", "renovate[bot]"]),
            kind in prop::sample::select(vec!["User", "Bot"]),
        ) {
            let body = format!("{pre}\n{line}");
            let bytes = delivery(action, pr, &body, login, kind);
            let event: IssueCommentEvent = serde_json::from_slice(&bytes).unwrap();
            let marker = "<!-- ghops:pr-bridge -->";
            prop_assert_eq!(gate_raw(&bytes, T, marker).unwrap(), gate(&event, T, marker));
        }
    }

    #[test]
    fn raw_gate_on_real_deliveries() {
        let plain = include_bytes!("../../../testdata/webhooks/issue_comment.created.json");
        let Gate::Ignored(why) = gate_raw(plain, T, "m").unwrap() else {
            panic!("a comment on a plain issue triggered")
        };
        assert!(why.contains("not a pull request"), "{why}");
        let on_pr = delivery(
            "created",
            Some(true),
            "LGTM\n/test-this-pr sha=ABCDEF1",
            "octocat",
            "User",
        );
        let Gate::Triggered(t) = gate_raw(&on_pr, T, "m").unwrap() else {
            panic!("no trigger")
        };
        assert_eq!(t.args.sha.as_deref(), Some("abcdef1"));
        assert_eq!(t.user, "octocat");
        assert!(gate_raw(b"{\"action\": \"created\"", T, "m").is_err());
        assert!(gate_raw(b"{\"action\": \"created\"}", T, "m").is_err());
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
