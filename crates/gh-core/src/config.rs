//! The `ghops.toml` configuration file: one table per workflow (`[pr_bridge]`, `[plan]`,
//! `[release]`, `[env]`, `[agent]`, `[runners]`, `[serve]`). Each workflow crate defines its
//! own section type; this module finds the file and decodes a section with errors that name
//! the file and the field.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// The default config file name, looked up in the current directory.
pub const DEFAULT_CONFIG: &str = "ghops.toml";

/// A loaded `ghops.toml` (or an empty one when none exists).
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    /// The file, when one was read.
    pub path: Option<PathBuf>,
    table: toml::Table,
}

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

    /// Parses config text (`path` only names it in errors).
    pub fn parse(text: &str, path: Option<PathBuf>) -> Result<Self> {
        let name = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| DEFAULT_CONFIG.to_owned());
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| Error::invalid(name, e.to_string().trim_end().to_owned()))?;
        Ok(Self { path, table })
    }

    fn name(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| DEFAULT_CONFIG.to_owned())
    }

    /// Decodes table `[section]`; `None` when absent. Errors name the file and the field path.
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
                Error::invalid(
                    format!("{} {field}", self.name()),
                    e.into_inner().to_string(),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct S {
        trigger: String,
        #[serde(default)]
        n: u32,
    }

    #[test]
    fn sections_and_errors() {
        let c = ConfigFile::parse("[a]\ntrigger = \"/go\"\n", None).unwrap();
        assert_eq!(
            c.section::<S>("a").unwrap(),
            Some(S {
                trigger: "/go".into(),
                n: 0
            })
        );
        assert_eq!(c.section::<S>("b").unwrap(), None);
        let c = ConfigFile::parse(
            "[a]\ntrigger = \"/go\"\nn = \"x\"\n",
            Some("x/ghops.toml".into()),
        )
        .unwrap();
        let e = c.section::<S>("a").unwrap_err().to_string();
        assert!(e.contains("x/ghops.toml") && e.contains("[a].n"), "{e}");
        let c = ConfigFile::parse("[a]\ntriger = \"/go\"\n", None).unwrap();
        let e = c.section::<S>("a").unwrap_err().to_string();
        assert!(e.contains("triger"), "{e}");
        assert!(ConfigFile::parse("[a\n", None).is_err());
    }
}

/// Parses a duration as flags and config give it: `500ms`, `30s`, `10m`, `2h`, `7d`, or bare
/// seconds (`30`).
pub fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 30s, 10m, 2h, 7d)"))?;
    let secs = |m: u64| {
        n.checked_mul(m)
            .map(std::time::Duration::from_secs)
            .ok_or_else(|| format!("{s:?} is too long"))
    };
    match unit {
        "ms" => Ok(std::time::Duration::from_millis(n)),
        "" | "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        _ => Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h, d)")),
    }
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;
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
}

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

/// The largest YAML file [`parse_yaml`] reads.
pub const MAX_YAML_BYTES: usize = 1024 * 1024;

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
