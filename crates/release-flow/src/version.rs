//! Versions: tags to semver, the baseline, the bump from labels, prerelease counters, and
//! the next hotfix patch.

use semver::{BuildMetadata, Prerelease, Version};

use crate::config::DrafterConfig;

/// A bump level, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    /// x.y.Z
    Patch,
    /// x.Y.0
    Minor,
    /// X.0.0
    Major,
}

impl Bump {
    /// Parses `major`/`minor`/`patch` (anything else: patch).
    pub fn parse(s: &str) -> Bump {
        match s {
            "major" => Bump::Major,
            "minor" => Bump::Minor,
            _ => Bump::Patch,
        }
    }
}

/// The semver of a tag: the configured prefix (or `v`) stripped.
pub fn parse_tag(tag: &str, prefix: &str) -> Option<Version> {
    let t = if !prefix.is_empty() {
        tag.strip_prefix(prefix)?
    } else {
        tag.strip_prefix('v').unwrap_or(tag)
    };
    Version::parse(t).ok()
}

/// `base` bumped.
pub fn bumped(base: &Version, bump: Bump) -> Version {
    match bump {
        Bump::Major => Version::new(base.major + 1, 0, 0),
        Bump::Minor => Version::new(base.major, base.minor + 1, 0),
        Bump::Patch => Version::new(base.major, base.minor, base.patch + 1),
    }
}

/// `v` moved past any published release of the same `X.Y.Z` (ghops: a drafted tag never
/// collides with a published one, e.g. a hotfix published from a release branch).
pub fn past_published(mut v: Version, published: &[Version]) -> Version {
    if !v.pre.is_empty() {
        return v;
    }
    while published
        .iter()
        .any(|p| p.pre.is_empty() && same_core(p, &v))
    {
        v = bumped(&v, Bump::Patch);
    }
    v
}

fn same_core(a: &Version, b: &Version) -> bool {
    (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
}

/// `version-template` filled for `v`: `$MAJOR`, `$MINOR`, `$PATCH`, `$PRERELEASE` (with its
/// hyphen, or empty) and `$COMPLETE` (the whole semver).
pub fn render_version(cfg: &DrafterConfig, v: &Version) -> String {
    render_with(&cfg.version_template, v)
}

fn render_with(template: &str, v: &Version) -> String {
    let pre = if v.pre.is_empty() {
        String::new()
    } else {
        format!("-{}", v.pre)
    };
    crate::template::fill(
        template,
        &[
            ("MAJOR", &v.major.to_string()),
            ("MINOR", &v.minor.to_string()),
            ("PATCH", &v.patch.to_string()),
            ("PRERELEASE", &pre),
            ("COMPLETE", &v.to_string()),
        ],
    )
}

/// The next hotfix of the `X.Y` line: the highest published `X.Y.*` + 1.
pub fn next_hotfix(line: (u64, u64), published: &[Version]) -> Version {
    let max = published
        .iter()
        .filter(|p| p.pre.is_empty() && (p.major, p.minor) == line)
        .map(|p| p.patch)
        .max();
    Version::new(line.0, line.1, max.map(|m| m + 1).unwrap_or(1))
}

/// node-semver's `parse` (a leading `v` allowed, surrounding spaces trimmed).
pub fn strict(s: &str) -> Option<Version> {
    let t = s.trim();
    let t = t.strip_prefix('v').unwrap_or(t);
    Version::parse(t).ok().map(|mut v| {
        v.build = BuildMetadata::EMPTY;
        v
    })
}

/// node-semver's `coerce`: the first `N[.N[.N]]` in the text (`v1.3` → 1.3.0, `Release 2` →
/// 2.0.0); prerelease and build are dropped.
pub fn coerce(s: &str) -> Option<Version> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()) {
            let mut parts = [0u64; 3];
            let mut n = 0;
            let mut j = i;
            let mut ok = true;
            while n < 3 {
                let start = j;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j - start > 16 {
                    ok = false;
                    break;
                }
                parts[n] = s[start..j].parse().unwrap_or(0);
                n += 1;
                if n < 3 && j + 1 < b.len() && b[j] == b'.' && b[j + 1].is_ascii_digit() {
                    j += 1;
                } else {
                    break;
                }
            }
            if ok {
                return Some(Version::new(parts[0], parts[1], parts[2]));
            }
            i = j;
        }
        i += 1;
    }
    None
}

/// The version of a release as release-drafter reads it: the tag (without `tag-prefix` when
/// it starts with it) parsed, else coerced; else the same with the release name.
pub fn release_version(tag: &str, name: Option<&str>, prefix: &str) -> Option<Version> {
    let strip = |s: &str| -> String {
        if !prefix.is_empty() && s.starts_with(prefix) {
            s[prefix.len()..].to_owned()
        } else {
            s.to_owned()
        }
    };
    let one = |s: &str| {
        let s = strip(s);
        strict(&s).or_else(|| coerce(&s))
    };
    one(tag).or_else(|| name.filter(|n| !n.is_empty()).and_then(one))
}

/// A semver increment (node-semver's release types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Increment {
    /// X.0.0
    Major,
    /// x.Y.0
    Minor,
    /// x.y.Z
    Patch,
    /// X.0.0-id.0
    Premajor,
    /// x.Y.0-id.0
    Preminor,
    /// x.y.Z-id.0
    Prepatch,
    /// x.y.z-id.N+1 (or the next patch's `-id.0`)
    Prerelease,
    /// The version as given (an explicit version input).
    None,
}

impl Increment {
    /// The `pre*` form of a bump.
    pub fn pre(b: Bump) -> Increment {
        match b {
            Bump::Major => Increment::Premajor,
            Bump::Minor => Increment::Preminor,
            Bump::Patch => Increment::Prepatch,
        }
    }

    /// The plain form of a bump.
    pub fn of(b: Bump) -> Increment {
        match b {
            Bump::Major => Increment::Major,
            Bump::Minor => Increment::Minor,
            Bump::Patch => Increment::Patch,
        }
    }

    /// A `pre*` increment.
    pub fn is_pre(self) -> bool {
        matches!(
            self,
            Increment::Premajor | Increment::Preminor | Increment::Prepatch | Increment::Prerelease
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Ident {
    Num(u64),
    Str(String),
}

fn idents(v: &Version) -> Vec<Ident> {
    if v.pre.is_empty() {
        return Vec::new();
    }
    v.pre
        .as_str()
        .split('.')
        .map(|p| {
            if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) {
                p.parse()
                    .map(Ident::Num)
                    .unwrap_or(Ident::Str(p.to_owned()))
            } else {
                Ident::Str(p.to_owned())
            }
        })
        .collect()
}

fn with_idents(mut v: Version, ids: &[Ident]) -> Version {
    let s = ids
        .iter()
        .map(|i| match i {
            Ident::Num(n) => n.to_string(),
            Ident::Str(s) => s.clone(),
        })
        .collect::<Vec<_>>()
        .join(".");
    v.pre = Prerelease::new(&s).unwrap_or(Prerelease::EMPTY);
    v
}

fn inc_pre(v: Version, id: &str) -> Version {
    let mut ids = idents(&v);
    if ids.is_empty() {
        ids = vec![Ident::Num(0)];
    } else if let Some(last) = ids.iter_mut().rev().find(|i| matches!(i, Ident::Num(_))) {
        if let Ident::Num(n) = last {
            *n += 1;
        }
    } else {
        ids.push(Ident::Num(0));
    }
    if !id.is_empty() {
        let keep = ids.first() == Some(&Ident::Str(id.to_owned()))
            && matches!(ids.get(1), Some(Ident::Num(_)));
        if !keep {
            ids = vec![Ident::Str(id.to_owned()), Ident::Num(0)];
        }
    }
    with_idents(v, &ids)
}

/// node-semver's `inc(v, increment, loose, identifier)`: `1.2.3` prepatch `rc` → `1.2.4-rc.0`,
/// `1.2.4-rc.0` prerelease → `1.2.4-rc.1`, `2.0.0-rc.1` major → `2.0.0`.
pub fn inc(v: &Version, increment: Increment, id: &str) -> Version {
    let mut v = v.clone();
    v.build = BuildMetadata::EMPTY;
    let has_pre = !v.pre.is_empty();
    match increment {
        Increment::None => v,
        Increment::Major => {
            if v.minor != 0 || v.patch != 0 || !has_pre {
                v.major += 1;
            }
            Version::new(v.major, 0, 0)
        }
        Increment::Minor => {
            if v.patch != 0 || !has_pre {
                v.minor += 1;
            }
            Version::new(v.major, v.minor, 0)
        }
        Increment::Patch => {
            if !has_pre {
                v.patch += 1;
            }
            Version::new(v.major, v.minor, v.patch)
        }
        Increment::Premajor => inc_pre(Version::new(v.major + 1, 0, 0), id),
        Increment::Preminor => inc_pre(Version::new(v.major, v.minor + 1, 0), id),
        Increment::Prepatch => inc_pre(Version::new(v.major, v.minor, v.patch + 1), id),
        Increment::Prerelease => {
            if !has_pre {
                v = Version::new(v.major, v.minor, v.patch + 1);
            }
            inc_pre(v, id)
        }
    }
}

/// Every version variable of the name, tag and body templates.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionInfo {
    /// The resolved version (semver).
    pub resolved: Version,
    /// `(name, value)` pairs: `NEXT_MAJOR_VERSION`, …, `RESOLVED_VERSION_PRERELEASE`.
    pub vars: Vec<(String, String)>,
}

impl VersionInfo {
    /// The value of one variable (name without `$`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `(name, value)` borrowed, for [`crate::template::fill`].
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// release-drafter v7's version resolution. The reference is the explicit version input
/// (used as is), else the last release's version, else 0.0.0; a `pre*` increment on a last
/// release that is itself a prerelease only moves its counter.
pub fn version_info(
    cfg: &DrafterConfig,
    last: Option<&Version>,
    input: Option<&Version>,
    increment: Increment,
) -> VersionInfo {
    let zero = Version::new(0, 0, 0);
    let (reference, increment) = match (input, last) {
        (Some(i), _) => (i, Increment::None),
        (None, Some(l)) if increment.is_pre() && !l.pre.is_empty() => (l, Increment::Prerelease),
        (None, Some(l)) => (l, increment),
        (None, None) => (&zero, increment),
    };
    let id = cfg.prerelease_identifier.as_str();
    let t = cfg.version_template.as_str();
    let mut vars: Vec<(String, String)> = Vec::new();
    for (name, i) in [
        ("NEXT_MAJOR_VERSION", Increment::Major),
        ("NEXT_MINOR_VERSION", Increment::Minor),
        ("NEXT_PATCH_VERSION", Increment::Patch),
    ] {
        let v = inc(reference, i, id);
        vars.push((name.into(), render_with(t, &v)));
        vars.push((format!("{name}_MAJOR"), v.major.to_string()));
        vars.push((format!("{name}_MINOR"), v.minor.to_string()));
        vars.push((format!("{name}_PATCH"), v.patch.to_string()));
    }
    let pre_of = |v: &Version| {
        if v.pre.is_empty() {
            String::new()
        } else {
            format!("-{}", v.pre)
        }
    };
    let next_pre = inc(reference, Increment::Prerelease, id);
    vars.push(("NEXT_PRERELEASE_VERSION".into(), render_with(t, &next_pre)));
    vars.push((
        "NEXT_PRERELEASE_VERSION_PRERELEASE".into(),
        pre_of(&next_pre),
    ));
    let resolved = inc(reference, increment, id);
    vars.push(("RESOLVED_VERSION".into(), render_with(t, &resolved)));
    vars.push(("RESOLVED_VERSION_MAJOR".into(), resolved.major.to_string()));
    vars.push(("RESOLVED_VERSION_MINOR".into(), resolved.minor.to_string()));
    vars.push(("RESOLVED_VERSION_PATCH".into(), resolved.patch.to_string()));
    vars.push(("RESOLVED_VERSION_PRERELEASE".into(), pre_of(&resolved)));
    if let Some(i) = input {
        vars.push(("INPUT_VERSION".into(), render_with(t, i)));
    }
    VersionInfo { resolved, vars }
}

/// `filter-by-range` as a predicate (node-semver range syntax: `*`, `^1.2`, `>=1.0.0 <2`,
/// `1.x`, `a || b`); `None` when the range is not understood.
pub fn range_filter(range: &str) -> Option<Vec<semver::VersionReq>> {
    let r = range.trim();
    if r.is_empty() || r == "*" || r == "x" {
        return Some(Vec::new());
    }
    r.split("||")
        .map(|alt| {
            let parts: Vec<&str> = alt.split_whitespace().collect();
            semver::VersionReq::parse(&parts.join(", ")).ok()
        })
        .collect()
}

/// Does `v` satisfy the `filter-by-range` alternatives (none: every version does)?
pub fn in_range(reqs: &[semver::VersionReq], v: &Version) -> bool {
    if reqs.is_empty() {
        return true;
    }
    let plain = Version::new(v.major, v.minor, v.patch);
    reqs.iter()
        .any(|r| r.matches(v) || (v.pre.is_empty() && r.matches(&plain)))
}

/// compare-versions' ordering of two tags (prefix stripped): `None` when one of them is not a
/// version it accepts (`v`-prefixed `N[.N[.N[.N]]]` with optional `-pre` and `+build`).
pub fn compare_tags(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let pa = cv_parse(a)?;
    let pb = cv_parse(b)?;
    Some(pa.cmp(&pb))
}

fn cv_parse(s: &str) -> Option<Version> {
    let t = s.trim();
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    let (core, rest) = match t.find(['-', '+']) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let nums: Vec<&str> = core.split('.').collect();
    if nums.is_empty()
        || nums.len() > 4
        || nums.iter().any(|n| {
            n.is_empty()
                || !n
                    .bytes()
                    .all(|c| c.is_ascii_digit() || c == b'x' || c == b'*')
        })
    {
        return None;
    }
    let n = |i: usize| nums.get(i).and_then(|x| x.parse().ok()).unwrap_or(0);
    let mut v = Version::new(n(0), n(1), n(2));
    if let Some(p) = rest.strip_prefix('-') {
        let p = p.split('+').next().unwrap_or(p);
        v.pre = Prerelease::new(p).ok()?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn never_collides_with_a_published_release() {
        assert_eq!(past_published(v("1.5.0"), &[v("1.4.0")]), v("1.5.0"));
        assert_eq!(
            past_published(v("1.5.0"), &[v("1.4.0"), v("1.5.0"), v("1.5.1")]),
            v("1.5.2")
        );
        assert_eq!(
            past_published(v("1.5.0-rc.0"), &[v("1.5.0")]),
            v("1.5.0-rc.0")
        );
    }

    #[test]
    fn node_semver_increments() {
        let cases = [
            ("1.2.3", Increment::Major, "", "2.0.0"),
            ("1.2.3", Increment::Minor, "", "1.3.0"),
            ("1.2.3", Increment::Patch, "", "1.2.4"),
            ("2.0.0-rc.1", Increment::Major, "", "2.0.0"),
            ("1.3.0-rc.1", Increment::Minor, "", "1.3.0"),
            ("1.2.4-rc.1", Increment::Patch, "", "1.2.4"),
            ("1.2.3", Increment::Prepatch, "rc", "1.2.4-rc.0"),
            ("1.2.3", Increment::Preminor, "beta", "1.3.0-beta.0"),
            ("1.2.3", Increment::Premajor, "alpha", "2.0.0-alpha.0"),
            ("1.2.3", Increment::Prerelease, "rc", "1.2.4-rc.0"),
            ("1.2.4-rc.0", Increment::Prerelease, "rc", "1.2.4-rc.1"),
            ("1.2.4-beta.3", Increment::Prerelease, "rc", "1.2.4-rc.0"),
            ("1.2.3", Increment::Prerelease, "", "1.2.4-0"),
            ("1.2.4-0", Increment::Prerelease, "", "1.2.4-1"),
            ("1.2.4-rc", Increment::Prerelease, "rc", "1.2.4-rc.0"),
            ("10.0.3", Increment::Prepatch, "rc", "10.0.4-rc.0"),
        ];
        for (from, i, id, want) in cases {
            assert_eq!(inc(&v(from), i, id), v(want), "{from} {i:?} {id}");
        }
    }

    #[test]
    fn hotfix_patches() {
        assert_eq!(next_hotfix((1, 4), &[v("1.4.0")]), v("1.4.1"));
        assert_eq!(
            next_hotfix((1, 4), &[v("1.4.0"), v("1.4.1"), v("1.5.0")]),
            v("1.4.2")
        );
    }

    #[test]
    fn tags() {
        assert_eq!(parse_tag("v1.2.3", ""), Some(v("1.2.3")));
        assert_eq!(parse_tag("1.2.3", ""), Some(v("1.2.3")));
        assert_eq!(parse_tag("app-v1.2.3", "app-v"), Some(v("1.2.3")));
        assert_eq!(parse_tag("other-1.2.3", "app-v"), None);
        assert_eq!(parse_tag("latest", ""), None);
    }

    #[test]
    fn loose_release_versions() {
        assert_eq!(release_version("v1.3", None, ""), Some(v("1.3.0")));
        assert_eq!(release_version("v2", None, ""), Some(v("2.0.0")));
        assert_eq!(
            release_version("v1.2.3-rc.1", None, ""),
            Some(v("1.2.3-rc.1"))
        );
        assert_eq!(
            release_version("release-2.1-beta", None, ""),
            Some(v("2.1.0"))
        );
        assert_eq!(
            release_version("latest", Some("Release 4.5.6"), ""),
            Some(v("4.5.6"))
        );
        assert_eq!(release_version("latest", Some("none"), ""), None);
        assert_eq!(
            release_version("app-v1.0.0", None, "app-"),
            Some(v("1.0.0"))
        );
        assert_eq!(coerce("a1234567890123456789b"), None);
    }

    #[test]
    fn version_variables() {
        let mut cfg = DrafterConfig::default();
        let info = version_info(&cfg, Some(&v("1.2.3")), None, Increment::Minor);
        assert_eq!(info.get("RESOLVED_VERSION"), Some("1.3.0"));
        assert_eq!(info.get("NEXT_MAJOR_VERSION"), Some("2.0.0"));
        assert_eq!(info.get("NEXT_PATCH_VERSION_PATCH"), Some("4"));
        assert_eq!(info.get("NEXT_PRERELEASE_VERSION"), Some("1.2.4-0"));
        assert_eq!(info.get("RESOLVED_VERSION_PRERELEASE"), Some(""));
        cfg.prerelease_identifier = "rc".into();
        let info = version_info(&cfg, Some(&v("10.0.3")), None, Increment::Prepatch);
        assert_eq!(info.get("RESOLVED_VERSION"), Some("10.0.4-rc.0"));
        assert_eq!(info.get("RESOLVED_VERSION_PRERELEASE"), Some("-rc.0"));
        let info = version_info(&cfg, Some(&v("10.0.4-rc.0")), None, Increment::Preminor);
        assert_eq!(info.get("RESOLVED_VERSION"), Some("10.0.4-rc.1"));
        let info = version_info(&cfg, None, None, Increment::Patch);
        assert_eq!(info.get("RESOLVED_VERSION"), Some("0.0.1"));
        let info = version_info(&cfg, Some(&v("1.0.0")), Some(&v("3.1.4")), Increment::Major);
        assert_eq!(info.get("RESOLVED_VERSION"), Some("3.1.4"));
        assert_eq!(info.get("INPUT_VERSION"), Some("3.1.4"));
        cfg.version_template = "$MAJOR.$MINOR".into();
        let info = version_info(&cfg, Some(&v("1.0.0")), None, Increment::Minor);
        assert_eq!(info.get("RESOLVED_VERSION"), Some("1.1"));
    }

    #[test]
    fn ranges_and_tag_order() {
        let r = range_filter("^1.2 || >=3.0.0 <4").unwrap();
        assert!(in_range(&r, &v("1.5.0")));
        assert!(!in_range(&r, &v("2.0.0")));
        assert!(in_range(&r, &v("3.9.9")));
        assert!(in_range(&range_filter("*").unwrap(), &v("9.9.9-rc.1")));
        assert_eq!(
            compare_tags("v1.10.0", "v1.9.0"),
            Some(std::cmp::Ordering::Greater)
        );
        assert_eq!(
            compare_tags("1.0.0-rc.1", "1.0.0"),
            Some(std::cmp::Ordering::Less)
        );
        assert_eq!(compare_tags("latest", "1.0.0"), None);
    }
}
