//! docs/migrating.md: every "after" workflow excerpt is, line for line, part of the complete
//! example it names, and that example is a workflow `./scripts/test` lints (actionlint and
//! zizmor, auditor persona); every YAML block says whether it is a before or an after.

use ghops_test_support::repo_root;

/// A fenced code block of a Markdown file.
pub(crate) struct Fence {
    /// 1-based number of the block's first content line.
    pub line: usize,
    /// The info string after the opening fence (`sh`, `yaml`, or empty).
    pub info: String,
    /// The trimmed line just above the opening fence (where markers such as
    /// `<!-- runnable -->` go), empty at the top of the file.
    pub above: String,
    /// The block's lines, the fence's indentation removed.
    pub lines: Vec<String>,
}

/// Every fenced (```) code block of a Markdown document, in order.
pub(crate) fn fenced_blocks(doc: &str) -> Vec<Fence> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            let indent = lines[i].len() - trimmed.len();
            let above = i
                .checked_sub(1)
                .map(|p| lines[p].trim())
                .unwrap_or_default();
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && !lines[end].trim_start().starts_with("```") {
                end += 1;
            }
            out.push(Fence {
                line: start + 1,
                info: info.trim().to_owned(),
                above: above.to_owned(),
                lines: lines[start..end]
                    .iter()
                    .map(|l| l.get(indent..).unwrap_or(l.trim_start()).to_owned())
                    .collect(),
            });
            i = end;
        }
        i += 1;
    }
    out
}

/// `(line number, the file it names or None for a "before", the block's lines)`.
fn yaml_blocks(doc: &str) -> Vec<(usize, Option<String>, Vec<String>)> {
    let mut out = Vec::new();
    for f in fenced_blocks(doc) {
        if !f.info.starts_with("yaml") {
            continue;
        }
        let source = if f.above == "<!-- before -->" {
            None
        } else if let Some(p) = f
            .above
            .strip_prefix("<!-- after: ")
            .and_then(|r| r.strip_suffix(" -->"))
        {
            Some(p.to_owned())
        } else {
            panic!(
                "docs/migrating.md:{}: a yaml block needs `<!-- before -->` or `<!-- after: examples/FILE -->` on the line above",
                f.line - 1
            );
        };
        out.push((f.line - 1, source, f.lines));
    }
    out
}

#[test]
fn migrating_after_snippets_are_excerpts_of_linted_example_workflows() {
    let root = repo_root();
    let doc = std::fs::read_to_string(root.join("docs/migrating.md")).unwrap();
    let blocks = yaml_blocks(&doc);
    let mut afters = 0;
    for (line, source, block) in &blocks {
        let Some(path) = source else { continue };
        afters += 1;
        assert!(
            path.starts_with("examples/") && (path.ends_with(".yml") || path.ends_with(".yaml")),
            "docs/migrating.md:{line}: {path} is not an example workflow"
        );
        let file = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("docs/migrating.md:{line}: {path}: {e}"));
        let lines: Vec<&str> = file.lines().collect();
        // scripts/test lints the files under examples/ that have a top-level `jobs:` key.
        assert!(
            lines.iter().any(|l| l.starts_with("jobs:")),
            "{path} is not linted as a workflow"
        );
        assert!(!block.is_empty(), "docs/migrating.md:{line}: empty block");
        let found = lines
            .windows(block.len())
            .any(|w| w.iter().zip(block).all(|(a, b)| a == b));
        assert!(
            found,
            "docs/migrating.md:{line}: this excerpt is not (any more) in {path}:\n{}",
            block.join("\n")
        );
    }
    // One section per incumbent, each with at least one after excerpt.
    for heading in [
        "## mybinder test-this-pr",
        "## 2i2c deployer planning",
        "## Cloud Posse pipeline",
        "## github-deploy-agent",
        "## Runners: orchestrator in a CronJob",
    ] {
        let at = doc
            .find(heading)
            .unwrap_or_else(|| panic!("no section {heading:?}"));
        let rest = &doc[at + heading.len()..];
        let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
        assert!(
            section.contains("<!-- after: examples/"),
            "{heading}: no after excerpt"
        );
    }
    assert!(afters >= 5);
}
