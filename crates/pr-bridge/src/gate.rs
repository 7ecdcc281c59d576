//! The event gate: decides from the `issue_comment` payload alone (no API call) whether this
//! is a trigger, and parses its arguments.

use std::borrow::Cow;

use gh_core::events::IssueCommentEvent;
use gh_core::permission::is_bot;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// Arguments given after the trigger (`/test-this-pr sha=<40 hex characters>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    /// `sha=`: the full head SHA (40 hex characters, lowercased) the maintainer reviewed.
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

/// Finds the trigger at the start of a line (up to three leading spaces) that GitHub renders as
/// plain, visible text, and returns the rest of that line.
///
/// Visibility is decided the way GitHub's Markdown does, with a CommonMark/GFM parser: the
/// trigger and its arguments must be paragraph (or heading) text, every byte of it, outside
/// block quotes (lazy continuation lines included), code blocks and spans, HTML blocks, inline
/// HTML (comments, multi-line tags and attributes), link reference definitions, image alt text
/// and math. On top of the parser, a conservative scan of the raw text rejects a line that
/// might sit inside an HTML comment, CDATA section, processing instruction or tag opened
/// earlier (even where a parser would disagree), so that a difference between parsers can only
/// hide a trigger, never reveal one.
pub fn find_trigger<'a>(body: &'a str, trigger: &str) -> Option<&'a str> {
    if trigger.is_empty() || !body.contains(trigger) {
        return None;
    }
    let visible = visible_text(body);
    let mut offset = 0;
    for raw in body.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let indent = line.len() - line.trim_start_matches(' ').len();
        if indent > 3 {
            continue;
        }
        let t = &line[indent..];
        let Some(rest) = t.strip_prefix(trigger) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            continue;
        }
        let start = line_start + indent;
        let end = line_start + line.trim_end().len();
        if covered(&visible, start, end) && !maybe_in_raw_html(&body[..start]) {
            return Some(rest.trim());
        }
    }
    None
}

/// The byte ranges of `body` that render as visible text (merged, in order): text events in
/// paragraphs, headings and table cells, outside block quotes, images and HTML.
fn visible_text(body: &str) -> Vec<std::ops::Range<usize>> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let opts = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM;
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    // Depth of the containers whose text does not show as plain text.
    let mut hidden = 0usize;
    // HTML elements opened (inline or in HTML blocks) and not closed yet: text inside them may
    // be hidden (`<details>`, `<span hidden>`, ...), so it does not count.
    let mut open_tags = 0usize;
    for (ev, range) in Parser::new_ext(body, opts).into_offset_iter() {
        match ev {
            Event::Html(html) | Event::InlineHtml(html) => {
                open_tags = html_depth(open_tags, &html);
            }
            Event::Start(
                Tag::BlockQuote(_)
                | Tag::Image { .. }
                | Tag::HtmlBlock
                | Tag::CodeBlock(_)
                | Tag::MetadataBlock(_),
            ) => hidden += 1,
            Event::End(
                TagEnd::BlockQuote(_)
                | TagEnd::Image
                | TagEnd::HtmlBlock
                | TagEnd::CodeBlock
                | TagEnd::MetadataBlock(_),
            ) => hidden = hidden.saturating_sub(1),
            Event::Text(_) if hidden == 0 && open_tags == 0 => match out.last_mut() {
                Some(last) if last.end == range.start => last.end = range.end,
                _ => out.push(range),
            },
            _ => {}
        }
    }
    out
}

/// The number of open HTML elements after `html`: `<name ...>` opens one (not void elements
/// or `/>`), `</name>` closes one; comments, declarations and instructions change nothing.
fn html_depth(mut depth: usize, html: &str) -> usize {
    const VOID: [&str; 15] = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
        "param", "source", "track", "wbr",
    ];
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let closing = rest.starts_with('/');
        let name: String = rest[usize::from(closing)..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let end = rest.find('>').unwrap_or(rest.len());
        if closing {
            depth = depth.saturating_sub(1);
        } else if !VOID.contains(&name.as_str()) && !rest[..end].ends_with('/') {
            depth += 1;
        }
    }
    depth
}

/// Whether `start..end` lies inside one visible text range.
fn covered(visible: &[std::ops::Range<usize>], start: usize, end: usize) -> bool {
    let i = visible.partition_point(|r| r.end <= start);
    visible
        .get(i)
        .is_some_and(|r| r.start <= start && end <= r.end)
}

/// A conservative scan of the text before a candidate line: true when an HTML comment, CDATA
/// section or processing instruction opened before it is not closed before it, or when an HTML
/// tag (`<` then a letter or `/`) opened before it has no `>` yet (a multi-line tag or
/// attribute). It ignores code spans and escapes, so it errs towards "hidden".
fn maybe_in_raw_html(before: &str) -> bool {
    for (open, close) in [("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>")] {
        let mut rest = before;
        while let Some(i) = rest.find(open) {
            let after = &rest[i + open.len()..];
            match after.find(close) {
                Some(j) => rest = &after[j + close.len()..],
                None => return true,
            }
        }
    }
    let bytes = before.as_bytes();
    if let Some(lt) = (0..bytes.len()).rev().find(|&i| {
        bytes[i] == b'<'
            && bytes
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'/')
    }) {
        return !before[lt..].contains('>');
    }
    false
}

/// Hex characters of a full commit SHA: a pin must be this long, so that no attacker can grind
/// a different commit sharing the reviewed commit's prefix (7 characters take minutes).
pub const PIN_LEN: usize = 40;

/// Parses `name=value` arguments. Unknown names and malformed values are reported in
/// [`Args::problem`].
pub fn parse_args(rest: &str) -> Args {
    let mut args = Args::default();
    for tok in rest.split_whitespace() {
        match tok.split_once('=') {
            Some(("sha", v)) => {
                let v = v.to_ascii_lowercase();
                if v.len() != PIN_LEN || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    args.problem = Some(format!(
                        "`sha=` must be the full {PIN_LEN}-character SHA of the PR's head commit you reviewed (copy it from the commit page, not the short form), got `{}`",
                        sanitize(tok)
                    ));
                } else {
                    args.sha = Some(v);
                }
            }
            _ => {
                args.problem = Some(format!(
                    "unknown argument `{}` (known: `sha=<full head sha>`)",
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
        assert_eq!(find_trigger("\t/test-this-pr", t), None);
        assert_eq!(find_trigger("/test-this-projection", t), None);
        assert_eq!(find_trigger("<!--\n/test-this-pr\n-->", t), None);
        assert_eq!(find_trigger("<!-- /test-this-pr -->", t), None);
        assert_eq!(
            find_trigger("<!-- hidden -->\n/test-this-pr sha=abcdef1", t),
            Some("sha=abcdef1")
        );
        assert_eq!(find_trigger("ok\r\n/test-this-pr x\r\n", t), Some("x"));
    }

    /// Comments GitHub renders without the trigger (each checked against GitHub's rendering
    /// rules: CommonMark 0.29 + GFM, raw HTML kept, comments and tags not shown).
    #[test]
    fn triggers_github_does_not_show_never_trigger() {
        let t = "/test-this-pr";
        let sha = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
        for body in [
            // An HTML comment opened mid-line (issue 21: rendered as just "LGTM").
            format!("LGTM <!--\n/test-this-pr sha={sha}\n-->"),
            format!("LGTM <!-- x\n\n/test-this-pr sha={sha}\n\n-->"),
            // Inside a multi-line HTML attribute of an inline tag.
            format!("LGTM <img alt=\"\n/test-this-pr sha={sha}\n\" src=x>"),
            format!("<a title='\n/test-this-pr sha={sha}\n'>docs</a>"),
            format!("<img\n/test-this-pr sha={sha}\n>"),
            // HTML blocks (raw HTML, shown only as the HTML renders; a comment renders nothing).
            format!("<div hidden>\n/test-this-pr sha={sha}\n</div>"),
            format!("<details>\n/test-this-pr sha={sha}\n</details>"),
            format!("<!-- a\nb -->\n<!--\n/test-this-pr sha={sha}\n-->"),
            // CDATA and processing instructions.
            format!("x <![CDATA[\n/test-this-pr sha={sha}\n]]>"),
            format!("x <?php\n/test-this-pr sha={sha}\n?>"),
            // A link reference definition's multi-line title renders nothing.
            format!("[x]: https://example.com '\n/test-this-pr sha={sha}\n'"),
            // A lazy continuation line of a block quote is quoted text.
            format!("> quoted\n/test-this-pr sha={sha}"),
            // Image alt text, math, code spans split over lines.
            format!("![\n/test-this-pr sha={sha}\n](x.png)"),
            format!("$$\n/test-this-pr sha={sha}\n$$"),
            format!("`a\n/test-this-pr sha={sha}\n`"),
            // Markup inside the line: the arguments are not plain text.
            format!("/test-this-pr <!-- sha={sha} -->"),
            format!("/test-this-pr `sha={sha}`"),
            format!("/test-this-pr *sha={sha}*"),
            // Inside an element that may hide it (collapsed details, hidden spans, ...).
            format!("x <span hidden>\n/test-this-pr sha={sha}\n</span>"),
            format!("<details>\n\n/test-this-pr sha={sha}\n\n</details>"),
        ] {
            assert_eq!(find_trigger(&body, t), None, "{body:?}");
        }
    }

    /// Triggers GitHub shows as text on a line of their own.
    #[test]
    fn visible_triggers_trigger() {
        let t = "/test-this-pr";
        for (body, rest) in [
            ("LGTM!\n/test-this-pr sha=a", "sha=a"),
            ("<!-- x -->\n\n/test-this-pr sha=a", "sha=a"),
            ("Looks <b>good</b>\n/test-this-pr sha=a", "sha=a"),
            ("1. step\n   /test-this-pr sha=a", "sha=a"),
            ("> quoted\n\n/test-this-pr sha=a", "sha=a"),
            ("/test-this-pr sha=a  \nthanks", "sha=a"),
            ("/test-this-pr sha=a\n---", "sha=a"),
            ("a < b\n/test-this-pr sha=a", "sha=a"),
            ("<details>x</details>\n\n/test-this-pr sha=a", "sha=a"),
            ("line<br>\n/test-this-pr sha=a", "sha=a"),
            ("<img src=x />\n\n/test-this-pr sha=a", "sha=a"),
        ] {
            assert_eq!(find_trigger(body, t), Some(rest), "{body:?}");
        }
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
            kind in 0..9usize,
            sha in "[0-9a-f]{40}",
        ) {
            let line = format!("{T} sha={sha}");
            let body = match kind {
                0 => format!("{pre}\n```\n{line}\n```\n{post}"),
                1 => format!("{pre}\n> {line}\n{post}"),
                2 => format!("{pre}\n    {line}\n{post}"),
                3 => format!("{pre}\n<!--\n{line}\n-->\n{post}"),
                4 => format!("{pre} <!--\n{line}\n-->{post}"),
                5 => format!("{pre} <img alt=\"\n{line}\n\">{post}"),
                6 => format!("> quoted {pre}\n{line}\n{post}"),
                7 => format!("{pre}\n<details>\n{line}\n</details>\n{post}"),
                _ => format!("{pre}\n~~~~ sh\n```\n{line}\n~~~~\n{post}"),
            };
            prop_assert_eq!(find_trigger(&body, T), None);
        }

        // A trigger on a line of its own is found, and the pinned SHA round-trips lowercased.
        #[test]
        fn own_line_triggers_and_pins(
            pre in "[a-z .,]{0,30}",
            post in "[a-z .,]{0,30}",
            sha in "[0-9a-fA-F]{40}",
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

        // Any argument that is not a full 40-hex sha is a problem, never a pin.
        #[test]
        fn malformed_pins_are_problems(v in "[0-9a-f]{0,45}|[0-9a-z]{38,42}") {
            let args = parse_args(&format!("sha={v}"));
            let valid = v.len() == PIN_LEN && v.bytes().all(|b| b.is_ascii_hexdigit());
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
            line in prop::sample::select(vec!["", "/test-this-pr", "/test-this-pr sha=abcdef1", "> /test-this-pr", "<!-- ghops:pr-bridge -->", "<!--\n/test-this-pr", "x <b title='\n/test-this-pr\n'>"]),
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
            "LGTM\n/test-this-pr sha=EC26C3E57CA3A959CA5AAD62DE7213C562F8C821",
            "octocat",
            "User",
        );
        let Gate::Triggered(t) = gate_raw(&on_pr, T, "m").unwrap() else {
            panic!("no trigger")
        };
        assert_eq!(
            t.args.sha.as_deref(),
            Some("ec26c3e57ca3a959ca5aad62de7213c562f8c821")
        );
        assert_eq!(t.user, "octocat");
        assert!(gate_raw(b"{\"action\": \"created\"", T, "m").is_err());
        assert!(gate_raw(b"{\"action\": \"created\"}", T, "m").is_err());
    }

    /// The example workflow's `if:` must let through every comment the gate accepts (the
    /// trigger on any line, not only the first): it may filter by `contains`, never by
    /// `startsWith`.
    #[test]
    fn the_example_workflow_filter_agrees_with_the_gate() {
        let wf = include_str!("../../../examples/pr-bridge/test-this-pr.yml");
        let cond = wf
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("if:"))
            .expect("an if: on the job");
        assert!(!cond.contains("startsWith"), "{cond}");
        assert!(
            cond.contains("contains(github.event.comment.body, '/test-this-pr')"),
            "{cond}"
        );
        // A body the gate accepts on its second line: the filter above keeps it.
        let body = format!("LGTM\n/test-this-pr sha={}", "a".repeat(40));
        assert!(find_trigger(&body, T).is_some() && body.contains(T));
    }

    #[test]
    fn args() {
        assert_eq!(
            parse_args(&format!("sha={}", "ABCDEF12".repeat(5))).sha,
            Some("abcdef12".repeat(5))
        );
        // Short pins (7, 16, 39 characters) are refused: a prefix can be ground.
        for n in [7, 16, 39] {
            let a = parse_args(&format!("sha={}", "a".repeat(n)));
            assert_eq!(a.sha, None);
            assert!(a.problem.unwrap().contains("full 40-character SHA"));
        }
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
