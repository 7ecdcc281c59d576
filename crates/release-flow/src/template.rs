//! release-drafter's template language: `$NAME` variables substituted in one pass, and
//! `replacers` (regular-expression search and replace over the body).

use regex::{Captures, Regex};

use crate::config::Replacer;

/// Substitutes `$NAME` variables in one pass, like release-drafter (`/\$[A-Z_]+/`): a value
/// is never scanned again, and an unknown variable is left as it is.
pub fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    fill_with(template, |name| {
        vars.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    })
}

/// [`fill`] with a lookup function.
pub fn fill_with<'a>(template: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let n = after
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..n];
        match lookup(name) {
            Some(v) if n > 0 => out.push_str(v),
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

/// A compiled replacer.
#[derive(Debug, Clone)]
pub struct Compiled {
    re: Regex,
    global: bool,
    replace: String,
}

/// Compiles a replacer: `/regex/flags` (flags `g i m s x u`; without `g` only the first
/// match is replaced, as in JavaScript) or a literal replaced everywhere.
pub fn compile_replacer(r: &Replacer) -> Result<Compiled, String> {
    let s = r.search.as_str();
    if s.is_empty() {
        return Err("`search` is empty".into());
    }
    let regex_form = s.len() > 2 && s.starts_with('/') && {
        let end = s.rfind('/').unwrap_or(0);
        end > 0 && s[end + 1..].chars().all(|c| "AJUXgimsux".contains(c))
    };
    let (pattern, global) = if regex_form {
        let end = s.rfind('/').unwrap_or(0);
        let flags = &s[end + 1..];
        let inline: String = flags.chars().filter(|c| "imsx".contains(*c)).collect();
        let body = &s[1..end];
        let p = if inline.is_empty() {
            body.to_owned()
        } else {
            format!("(?{inline}){body}")
        };
        (p, flags.contains('g'))
    } else {
        (regex::escape(s), true)
    };
    let re = Regex::new(&pattern).map_err(|e| format!("bad regex {s:?}: {e}"))?;
    Ok(Compiled {
        re,
        global,
        replace: r.replace.clone(),
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Case {
    None,
    Upper,
    Lower,
}

/// Expands a JavaScript replacement (`$1`, `$<name>`, `$&`, `$$`) with VS Code's case
/// operators (`\u`, `\l`, `\U`, `\L`, `\E`).
fn expand(replace: &str, caps: &Captures<'_>) -> String {
    let mut out = String::new();
    let mut case = Case::None;
    let mut once: Option<Case> = None;
    let push = |out: &mut String, text: &str, case: Case, once: &mut Option<Case>| {
        let mut t = match case {
            Case::Upper => text.to_uppercase(),
            Case::Lower => text.to_lowercase(),
            Case::None => text.to_owned(),
        };
        if let Some(o) = once.take() {
            if t.is_empty() {
                *once = Some(o);
            } else {
                let mut cs = t.chars();
                let first = cs.next().unwrap_or_default();
                let first: String = if o == Case::Upper {
                    first.to_uppercase().collect()
                } else {
                    first.to_lowercase().collect()
                };
                t = format!("{first}{}", cs.as_str());
            }
        }
        out.push_str(&t);
    };
    let b = replace.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && i + 1 < b.len() && b"uUlLE".contains(&b[i + 1]) {
            match b[i + 1] {
                b'u' => once = Some(Case::Upper),
                b'l' => once = Some(Case::Lower),
                b'U' => case = Case::Upper,
                b'L' => case = Case::Lower,
                _ => case = Case::None,
            }
            i += 2;
            continue;
        }
        if c == b'$' && i + 1 < b.len() {
            let n = b[i + 1];
            if n == b'$' {
                push(&mut out, "$", case, &mut once);
                i += 2;
                continue;
            }
            if n == b'&' {
                push(&mut out, &caps[0], case, &mut once);
                i += 2;
                continue;
            }
            if n.is_ascii_digit() {
                // Two digits when that group exists, else one (JavaScript's rule).
                let two = (i + 2 < b.len() && b[i + 2].is_ascii_digit())
                    .then(|| usize::from(n - b'0') * 10 + usize::from(b[i + 2] - b'0'))
                    .filter(|g| *g >= 1 && *g < caps.len());
                let (g, len) = match two {
                    Some(g) => (g, 3),
                    None => (usize::from(n - b'0'), 2),
                };
                if g >= 1 && g < caps.len() {
                    let text = caps.get(g).map_or("", |m| m.as_str());
                    push(&mut out, text, case, &mut once);
                    i += len;
                    continue;
                }
            }
            if n == b'<'
                && let Some(end) = replace[i + 2..].find('>')
            {
                let name = &replace[i + 2..i + 2 + end];
                let text = caps.name(name).map_or("", |m| m.as_str());
                push(&mut out, text, case, &mut once);
                i += 3 + end;
                continue;
            }
        }
        let ch = replace[i..].chars().next().unwrap_or_default();
        push(&mut out, &ch.to_string(), case, &mut once);
        i += ch.len_utf8();
    }
    out
}

/// Applies the replacers in order.
pub fn apply_replacers(text: &str, replacers: &[Replacer]) -> String {
    let mut out = text.to_owned();
    for r in replacers {
        // Validated when the config was read.
        let Ok(c) = compile_replacer(r) else {
            continue;
        };
        let f = |caps: &Captures<'_>| expand(&c.replace, caps);
        out = if c.global {
            c.re.replace_all(&out, f).into_owned()
        } else {
            c.re.replace(&out, f).into_owned()
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(search: &str, replace: &str) -> Replacer {
        Replacer {
            search: search.into(),
            replace: replace.into(),
        }
    }

    #[test]
    fn one_pass_substitution() {
        assert_eq!(
            fill(
                "* $TITLE (#$NUMBER) $UNKNOWN $ $",
                &[("TITLE", "Use $BODY and $NUMBER"), ("NUMBER", "4")]
            ),
            "* Use $BODY and $NUMBER (#4) $UNKNOWN $ $"
        );
    }

    #[test]
    fn replacers_like_release_drafter() {
        let body = "- fix CVE-2024-1234\n- add myname's thing\n- add more for myname";
        assert_eq!(
            apply_replacers(
                body,
                &[
                    r(
                        "/CVE-(\\d{4})-(\\d+)/g",
                        "https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-$1-$2"
                    ),
                    r("myname", "My Name"),
                    r("/- ([a-z])/g", "- \\u$1"),
                ]
            ),
            "- Fix https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2024-1234\n- Add My Name's thing\n- Add more for My Name"
        );
        // Without `g`, only the first match; `i` ignores case; `$&` and `$$`.
        assert_eq!(apply_replacers("a A a", &[r("/a/i", "[$&$$]")]), "[a$] A a");
        assert_eq!(apply_replacers("x.y", &[r(".", "!")]), "x!y");
        assert_eq!(apply_replacers("ab", &[r("/(a)(b)/", "\\U$2$1")]), "BA");
        assert!(compile_replacer(&r("/(/", "")).is_err());
    }
}
