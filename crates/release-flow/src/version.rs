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

/// The bump the labels of the counted PRs ask for (the highest wins; `default` otherwise).
pub fn bump_from_labels<'a>(cfg: &DrafterConfig, labels: impl Iterator<Item = &'a str>) -> Bump {
    let r = &cfg.version_resolver;
    let mut best: Option<Bump> = None;
    for l in labels {
        let b = if r.major.labels.iter().any(|x| x == l) {
            Some(Bump::Major)
        } else if r.minor.labels.iter().any(|x| x == l) {
            Some(Bump::Minor)
        } else if r.patch.labels.iter().any(|x| x == l) {
            Some(Bump::Patch)
        } else {
            None
        };
        best = best.max(b);
    }
    best.unwrap_or_else(|| Bump::parse(&r.default))
}

/// `base` bumped.
pub fn bumped(base: &Version, bump: Bump) -> Version {
    match bump {
        Bump::Major => Version::new(base.major + 1, 0, 0),
        Bump::Minor => Version::new(base.major, base.minor + 1, 0),
        Bump::Patch => Version::new(base.major, base.minor, base.patch + 1),
    }
}

/// The next version: the baseline (or 0.0.0) bumped, moved past any existing published
/// version so it never collides; as a prerelease `X.Y.Z-<id>.<n+1>` when asked.
pub fn next_version(
    baseline: Option<&Version>,
    bump: Bump,
    published: &[Version],
    prerelease_id: Option<&str>,
) -> Version {
    let zero = Version::new(0, 0, 0);
    let mut v = bumped(baseline.unwrap_or(&zero), bump);
    while published
        .iter()
        .any(|p| p.pre.is_empty() && same_core(p, &v))
    {
        v = bumped(&v, Bump::Patch);
    }
    if let Some(id) = prerelease_id.filter(|s| !s.is_empty()) {
        let n = published
            .iter()
            .filter(|p| same_core(p, &v))
            .filter_map(|p| {
                let pre = p.pre.as_str();
                pre.strip_prefix(id)?.strip_prefix('.')?.parse::<u64>().ok()
            })
            .max()
            .unwrap_or(0);
        v.pre = Prerelease::new(&format!("{id}.{}", n + 1)).unwrap_or(Prerelease::EMPTY);
    }
    v.build = BuildMetadata::EMPTY;
    v
}

fn same_core(a: &Version, b: &Version) -> bool {
    (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
}

/// `$MAJOR.$MINOR.$PATCH` (and `$PRERELEASE`) rendered with the version template, plus the
/// prerelease suffix.
pub fn render_version(cfg: &DrafterConfig, v: &Version) -> String {
    let core = cfg
        .version_template
        .replace("$MAJOR", &v.major.to_string())
        .replace("$MINOR", &v.minor.to_string())
        .replace("$PATCH", &v.patch.to_string())
        .replace("$PRERELEASE", v.pre.as_str());
    if !v.pre.is_empty() && !cfg.version_template.contains("$PRERELEASE") {
        format!("{core}-{}", v.pre)
    } else {
        core
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn first_release_and_collisions() {
        assert_eq!(next_version(None, Bump::Minor, &[], None), v("0.1.0"));
        assert_eq!(
            next_version(Some(&v("1.4.0")), Bump::Minor, &[v("1.4.0")], None),
            v("1.5.0")
        );
        // 1.5.0 already published (say from another branch): never reuse it.
        assert_eq!(
            next_version(
                Some(&v("1.4.0")),
                Bump::Minor,
                &[v("1.4.0"), v("1.5.0"), v("1.5.1")],
                None
            ),
            v("1.5.2")
        );
    }

    #[test]
    fn prerelease_counter() {
        let published = [v("10.0.3"), v("10.0.4-rc.1"), v("10.0.4-rc.2")];
        assert_eq!(
            next_version(Some(&v("10.0.3")), Bump::Patch, &published, Some("rc")),
            v("10.0.4-rc.3")
        );
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
}
