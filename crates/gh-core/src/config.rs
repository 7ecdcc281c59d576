//! The `ghops.toml` configuration file: one table per workflow (`[pr_bridge]`, `[plan]`,
//! `[release]`, `[env]`, `[agent]`, `[runners]`, `[serve]`). Each workflow crate defines its
//! own section type; this module finds the file and decodes a section with errors that name
//! the file and the field.
//!
//! The loader ([`ConfigFile`], [`SECTIONS`]) needs the `toml` feature, the bounded YAML
//! reader ([`parse_yaml`]) the `yaml` feature; the did-you-mean and duration helpers are
//! always there.

#[cfg(feature = "toml")]
use std::path::{Path, PathBuf};

#[cfg(feature = "toml")]
use serde::de::DeserializeOwned;

#[cfg(feature = "toml")]
use crate::error::{Error, Result};

#[cfg(feature = "toml")]
/// The default config file name, looked up in the current directory.
pub const DEFAULT_CONFIG: &str = "ghops.toml";

#[cfg(feature = "toml")]
/// A loaded `ghops.toml` (or an empty one when none exists).
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    /// The file, when one was read.
    pub path: Option<PathBuf>,
    table: toml::Table,
    /// The text, for the lines errors name.
    text: String,
}

#[cfg(feature = "toml")]
impl ConfigFile {
    /// Loads `explicit` (must exist), else `$GHOPS_CONFIG`, else `./ghops.toml` if present,
    /// else an empty config.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => std::env::var_os("GHOPS_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| {
                    let p = PathBuf::from(DEFAULT_CONFIG);
                    p.is_file().then_some(p)
                }),
        };
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Self::parse(&text, Some(path))
    }

    /// Parses config text (`path` only names it in errors). A syntax error, or a top-level
    /// table or key that is not one of [`SECTIONS`] (`[plann]`), is an [`Error::Config`]
    /// naming the file and line, with a did-you-mean for a near miss.
    pub fn parse(text: &str, path: Option<PathBuf>) -> Result<Self> {
        let name = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| DEFAULT_CONFIG.to_owned());
        let table: toml::Table = toml::from_str(text).map_err(|e| Error::Config {
            file: name.clone(),
            line: e.span().map(|r| line_at(text, r.start)),
            message: e.message().trim_end().to_owned(),
        })?;
        let mut unknown: Vec<(Option<u64>, String)> = table
            .iter()
            .filter(|(k, _)| !SECTIONS.contains(&k.as_str()))
            .map(|(k, v)| {
                let shown = if v.is_table() || v.is_array() {
                    format!("table `[{k}]`")
                } else {
                    format!("key `{k}`")
                };
                let hint = match did_you_mean(k, SECTIONS.iter().copied()) {
                    Some(s) => format!(" (did you mean `[{s}]`?)"),
                    None => String::new(),
                };
                (
                    header_line(text, k),
                    format!(
                        "unknown top-level {shown}{hint}; ghops.toml has the tables {}",
                        SECTIONS
                            .iter()
                            .map(|s| format!("[{s}]"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
            .collect();
        unknown.sort();
        if let Some((line, message)) = unknown.into_iter().next() {
            return Err(Error::Config {
                file: name,
                line,
                message,
            });
        }
        Ok(Self {
            path,
            table,
            text: text.to_owned(),
        })
    }

    /// The table `[T::NAME]` decoded (its defaults when absent), not yet validated: for a
    /// caller that applies command-line overrides before [`Section::validate`].
    pub fn decode<T: Section>(&self) -> Result<T> {
        Ok(self.section(T::NAME)?.unwrap_or_default())
    }

    /// The table `[T::NAME]` decoded (its defaults when absent) and validated: how every
    /// workflow loads its section, so unknown keys (with their did-you-mean), the file, line
    /// and field in errors, and the defaults of an absent table are the same everywhere.
    pub fn load_section<T: Section>(&self) -> std::result::Result<T, T::Error> {
        let mut t: T = self.decode()?;
        t.validate(&self.name())?;
        Ok(t)
    }

    /// The file's name in messages (`ghops.toml` when none was read).
    pub fn origin(&self) -> String {
        self.name()
    }

    fn name(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| DEFAULT_CONFIG.to_owned())
    }

    /// Decodes table `[section]`; `None` when absent. Errors name the file, the line and the
    /// field path; an unknown key gets a did-you-mean when one of the known keys is near.
    pub fn section<T: DeserializeOwned>(&self, section: &str) -> Result<Option<T>> {
        let Some(value) = self.table.get(section) else {
            return Ok(None);
        };
        serde_path_to_error::deserialize(value.clone())
            .map(Some)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." {
                    format!("[{section}]")
                } else {
                    format!("[{section}].{path}")
                };
                let mut message = e.into_inner().to_string().trim_end().to_owned();
                // serde: "unknown field `trigerr`, expected one of `trigger`, `teams`".
                let unknown = message
                    .strip_prefix("unknown field `")
                    .and_then(|r| r.split_once('`'))
                    .map(|(k, rest)| (k.to_owned(), backticked(rest)));
                let key = match &unknown {
                    Some((k, known)) => {
                        if let Some(s) = did_you_mean(k, known.iter().map(String::as_str)) {
                            message.push_str(&format!(" (did you mean `{s}`?)"));
                        }
                        Some(k.clone())
                    }
                    None => path
                        .split(['.', '['])
                        .next()
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned),
                };
                Error::Config {
                    file: self.name(),
                    line: key
                        .and_then(|k| key_line(&self.text, section, &k))
                        .or_else(|| header_line(&self.text, section)),
                    message: format!("{field}: {message}"),
                }
            })
    }
}

#[cfg(feature = "toml")]
/// One workflow's table of `ghops.toml` ([`SECTIONS`]): its name and the checks serde cannot
/// make. Loaded with [`ConfigFile::load_section`].
pub trait Section: DeserializeOwned + Default {
    /// The table's name (`pr_bridge`, `runners`, ...).
    const NAME: &'static str;
    /// The workflow's error (a decode error converts into it).
    type Error: From<Error>;
    /// Checks (and resolves, e.g. account names) what decoding cannot; `origin` is the file's
    /// name for messages. Nothing by default.
    fn validate(&mut self, origin: &str) -> std::result::Result<(), Self::Error> {
        let _ = origin;
        Ok(())
    }
}

#[cfg(feature = "toml")]
/// The top-level tables of `ghops.toml`, one per workflow.
pub const SECTIONS: &[&str] = &[
    "pr_bridge",
    "plan",
    "release",
    "env",
    "agent",
    "runners",
    "serve",
];

#[cfg(feature = "toml")]
/// The names between backticks in `s` (serde's "expected one of `a`, `b`").
fn backticked(s: &str) -> Vec<String> {
    s.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, w)| w.to_owned())
        .collect()
}

#[cfg(feature = "toml")]
/// The 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> u64 {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

#[cfg(feature = "toml")]
/// A line's key (before `=`) or table header name (`[a.b]`, `[[a.b]]`), split at dots,
/// quotes removed; empty for other lines.
fn line_key(line: &str) -> (bool, Vec<String>) {
    let t = line.trim();
    let (header, name) = if let Some(h) = t.strip_prefix('[') {
        let h = h.trim_start_matches('[');
        (true, h.split(']').next().unwrap_or_default())
    } else if let Some((k, _)) = t.split_once('=') {
        (false, k)
    } else {
        return (false, Vec::new());
    };
    let parts = name
        .split('.')
        .map(|p| p.trim().trim_matches(['"', '\'']).to_owned())
        .collect();
    (header, parts)
}

#[cfg(feature = "toml")]
/// The line of the top-level table or key `name` (`[name]`, `[name.x]`, `name = …`).
fn header_line(text: &str, name: &str) -> Option<u64> {
    let mut in_table = false;
    for (i, l) in text.lines().enumerate() {
        let (header, parts) = line_key(l);
        in_table |= header;
        if parts.first().map(String::as_str) == Some(name) && (header || !in_table) {
            return Some(i as u64 + 1);
        }
    }
    None
}

#[cfg(feature = "toml")]
/// The line of `key` directly in table `[section]` (a best effort: the first `key = …` under
/// a `[section]` header, or `section.key = …` at the top level).
fn key_line(text: &str, section: &str, key: &str) -> Option<u64> {
    let mut current: Vec<String> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let (header, parts) = line_key(l);
        if header {
            current = parts;
            continue;
        }
        let full: Vec<&str> = current
            .iter()
            .chain(parts.iter())
            .map(String::as_str)
            .collect();
        if full.len() >= 2 && full[0] == section && full[1] == key {
            return Some(i as u64 + 1);
        }
    }
    None
}

/// The known name nearest to `key` when it is close enough to be a typo (edit distance at
/// most 2, or a quarter of the name), for did-you-mean hints.
pub fn did_you_mean<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1; b.len() + 1];
            for (j, cb) in b.iter().enumerate() {
                let sub = prev[j] + usize::from(ca != *cb);
                cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
            }
            prev = cur;
        }
        prev[b.len()]
    }
    known
        .into_iter()
        .map(|k| {
            (
                distance(&key.to_ascii_lowercase(), &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(d, k)| *d <= 2 || *d * 4 <= k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(all(test, feature = "toml"))]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct S {
        trigger: String,
        #[serde(default)]
        n: u32,
    }

    #[derive(serde::Deserialize, Debug, Default, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Pool {
        name: String,
        size: u32,
    }

    impl Section for Pool {
        const NAME: &'static str = "runners";
        type Error = Error;
        fn validate(&mut self, origin: &str) -> Result<()> {
            if self.size == 0 {
                return Err(Error::invalid(
                    "[runners].size",
                    format!("{origin}: must be > 0"),
                ));
            }
            Ok(())
        }
    }

    #[test]
    fn load_section_decodes_defaults_and_validates() {
        let c = ConfigFile::parse("[plan]\n", None).unwrap();
        // Absent: the defaults, validated too (and here refused).
        assert_eq!(c.decode::<Pool>().unwrap(), Pool::default());
        let e = c.load_section::<Pool>().unwrap_err().to_string();
        assert!(e.contains("ghops.toml: must be > 0"), "{e}");
        let c = ConfigFile::parse("[runners]\nname = \"a\"\nsize = 2\n", None).unwrap();
        assert_eq!(
            c.load_section::<Pool>().unwrap(),
            Pool {
                name: "a".into(),
                size: 2
            }
        );
        // Unknown keys: the same file/line/did-you-mean as `section`.
        let c =
            ConfigFile::parse("[runners]\nnmae = \"a\"\n", Some("x/ghops.toml".into())).unwrap();
        let e = c.load_section::<Pool>().unwrap_err().to_string();
        assert_eq!(
            e,
            "x/ghops.toml:2: [runners].nmae: unknown field `nmae`, expected `name` or `size` \
             (did you mean `name`?)"
        );
    }

    #[test]
    fn sections_and_errors() {
        let c = ConfigFile::parse("[plan]\ntrigger = \"/go\"\n", None).unwrap();
        assert_eq!(
            c.section::<S>("plan").unwrap(),
            Some(S {
                trigger: "/go".into(),
                n: 0
            })
        );
        assert_eq!(c.section::<S>("env").unwrap(), None);
        let c = ConfigFile::parse(
            "[plan]\ntrigger = \"/go\"\nn = \"x\"\n",
            Some("x/ghops.toml".into()),
        )
        .unwrap();
        let e = c.section::<S>("plan").unwrap_err();
        assert_eq!(e.location(), Some(("x/ghops.toml".into(), Some(3))));
        let e = e.to_string();
        assert!(e.starts_with("x/ghops.toml:3: [plan].n: "), "{e}");
        assert!(ConfigFile::parse("[a\n", None).is_err());
    }

    #[test]
    fn unknown_keys_name_file_line_and_the_near_miss() {
        let text = "# ghops\n\n[plan]\ntriger = \"/go\"\n\n[[agent.targets]]\nx = 1\n";
        let c = ConfigFile::parse(text, Some("ghops.toml".into())).unwrap();
        let e = c.section::<S>("plan").unwrap_err();
        assert_eq!(
            e.to_string(),
            "ghops.toml:4: [plan].triger: unknown field `triger`, expected `trigger` or `n` \
             (did you mean `trigger`?)"
        );
        assert_eq!(e.exit_code(), crate::ExitCode::Usage);

        let e = ConfigFile::parse("[plan]\n\n[plann]\nx = 1\n", Some("c.toml".into())).unwrap_err();
        assert_eq!(e.location(), Some(("c.toml".into(), Some(3))));
        assert_eq!(
            e.to_string(),
            "c.toml:3: unknown top-level table `[plann]` (did you mean `[plan]`?); ghops.toml \
             has the tables [pr_bridge], [plan], [release], [env], [agent], [runners], [serve]"
        );
        // A dotted header, a top-level key, and a name far from every table.
        let e = ConfigFile::parse("[pr-bridge.x]\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "ghops.toml:1: unknown top-level table `[pr-bridge]` (did you mean `[pr_bridge]`?)"
            ),
            "{e}"
        );
        let e = ConfigFile::parse("trigger = 1\n[plan]\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("ghops.toml:1: unknown top-level key `trigger`;"),
            "{e}"
        );
        let e = ConfigFile::parse("[plan]\n[zzzzzzzz]\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("ghops.toml:2: unknown top-level table `[zzzzzzzz]`; "),
            "{e}"
        );
        // Every workflow's table is accepted.
        let all: String = SECTIONS.iter().map(|s| format!("[{s}]\n")).collect();
        ConfigFile::parse(&all, None).unwrap();
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = ConfigFile::parse("[plan]\nstrict = true\nx = = 1\n", Some("g.toml".into()))
            .unwrap_err();
        assert_eq!(e.location(), Some(("g.toml".into(), Some(3))));
        assert!(e.to_string().starts_with("g.toml:3: "), "{e}");
    }
}

/// Parses a duration as flags and config give it: bare seconds (`30`), or one or more
/// number-unit parts with the units `ms`, `s`, `m`, `h`, `d`, largest first and each at most
/// once: `500ms`, `90s`, `10m`, `2m30s`, `1h30m`, `7d`, `1d12h`.
pub fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    use std::time::Duration;
    const UNITS: [(&str, u64); 5] = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let t = s.trim();
    let bad = || format!("{s:?} is not a duration (e.g. 30s, 10m, 1h30m, 2h, 7d)");
    if t.is_empty() {
        return Err(bad());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map(Duration::from_secs).map_err(|_| bad());
    }
    let mut rest = t;
    let mut total_ms: u64 = 0;
    // The index in UNITS of the last unit seen: each later part must be a smaller unit.
    let mut last: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{s:?} is too long"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let Some(i) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(if unit.is_empty() {
                format!("{s:?}: a number without a unit (ms, s, m, h, d) after the first part")
            } else {
                format!("{s:?}: unknown unit {unit:?} (ms, s, m, h, d)")
            });
        };
        if last.is_some_and(|l| i <= l) {
            return Err(format!(
                "{s:?}: units must go from largest to smallest, each once (e.g. 1h30m)"
            ));
        }
        last = Some(i);
        total_ms = n
            .checked_mul(UNITS[i].1)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(|| format!("{s:?} is too long"))?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Shows a duration the way [`parse_duration`] reads it: `1h30m`, `2m30s`, `5s`, `250ms`,
/// `0s` (whole milliseconds; what error messages and progress lines print).
pub fn format_duration(d: std::time::Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod duration_tests {
    use super::{format_duration, parse_duration};
    use proptest::prelude::*;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5w").is_err());
    }

    #[test]
    fn compound_durations() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m30s"), Ok(Duration::from_secs(150)));
        assert_eq!(parse_duration(" 1d12h "), Ok(Duration::from_secs(129_600)));
        assert_eq!(parse_duration("1s500ms"), Ok(Duration::from_millis(1500)));
        for bad in [
            "",
            "1h30",
            "30m1h",
            "1m1m",
            "h",
            "1.5h",
            "-1s",
            "1h 30m",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(
            parse_duration("30m1h").unwrap_err(),
            "\"30m1h\": units must go from largest to smallest, each once (e.g. 1h30m)"
        );
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    proptest! {
        /// Parts compose: `XdYhZmWs` is their sum, and what format_duration prints parses
        /// back to the same duration.
        #[test]
        fn parts_add_up_and_round_trip(d in 0u64..400, h in 0u64..24, m in 0u64..60, sec in 0u64..60, ms in 0u64..1000) {
            let mut text = String::new();
            for (n, u) in [(d, "d"), (h, "h"), (m, "m"), (sec, "s"), (ms, "ms")] {
                if n > 0 {
                    text.push_str(&format!("{n}{u}"));
                }
            }
            prop_assume!(!text.is_empty());
            let want = Duration::from_millis(((d * 24 + h) * 60 + m) * 60_000 + sec * 1000 + ms);
            prop_assert_eq!(parse_duration(&text), Ok(want));
            prop_assert_eq!(format_duration(want), text.clone());
            prop_assert_eq!(parse_duration(&format_duration(want)), Ok(want));
        }
    }
}

#[cfg(feature = "yaml")]
/// A YAML file that could not be parsed, with the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct YamlError {
    /// The file (as named by the caller).
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// The parser's message, without its own location prefix.
    pub message: String,
}

#[cfg(feature = "yaml")]
/// The largest YAML file [`parse_yaml`] reads.
pub const MAX_YAML_BYTES: usize = 1024 * 1024;

#[cfg(feature = "yaml")]
/// Parses YAML that may come from untrusted input (a PR's files) with tight limits: 1 MiB,
/// one document, depth 32, 100 aliases and anchors, 100,000 nodes (no alias bombs). Errors
/// name `file:line:column`.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
) -> std::result::Result<T, YamlError> {
    let err = |line, column, message: String| YamlError {
        file: file.to_owned(),
        line,
        column,
        message,
    };
    if text.len() > MAX_YAML_BYTES {
        return Err(err(
            0,
            0,
            format!("file is larger than {MAX_YAML_BYTES} bytes"),
        ));
    }
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(MAX_YAML_BYTES);
    budget.max_depth = 32;
    budget.max_aliases = 100;
    budget.max_anchors = 100;
    budget.max_nodes = 100_000;
    budget.max_documents = 1;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let full = e.to_string();
        let mut message = full.lines().next().unwrap_or_default();
        // The location is ours to print: drop the parser's own `error: line N column M: `.
        message = message.strip_prefix("error: ").unwrap_or(message);
        if let Some(rest) = message.strip_prefix("line ")
            && let Some((_, tail)) = rest.split_once(": ")
        {
            message = tail;
        }
        err(line, column, message.to_owned())
    })
}
