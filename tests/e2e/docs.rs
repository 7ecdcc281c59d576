//! docs/migrating.md: every "after" workflow excerpt is, line for line, part of the complete
//! example it names, and that example is a workflow `./scripts/test` lints (actionlint and
//! zizmor, auditor persona); every YAML block says whether it is a before or an after.

use ghops_test_support::repo_root;

/// `(line number, the file it names or None for a "before", the block's lines)`.
fn yaml_blocks(doc: &str) -> Vec<(usize, Option<String>, Vec<String>)> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().starts_with("```yaml") {
            let marker = i
                .checked_sub(1)
                .map(|p| lines[p].trim())
                .unwrap_or_default();
            let source = if marker == "<!-- before -->" {
                None
            } else if let Some(p) = marker
                .strip_prefix("<!-- after: ")
                .and_then(|r| r.strip_suffix(" -->"))
            {
                Some(p.to_owned())
            } else {
                panic!(
                    "docs/migrating.md:{}: a yaml block needs `<!-- before -->` or `<!-- after: examples/FILE -->` on the line above",
                    i + 1
                );
            };
            let start = i + 1;
            let mut end = start;
            while !lines[end].trim_start().starts_with("```") {
                end += 1;
            }
            out.push((
                start,
                source,
                lines[start..end].iter().map(|l| (*l).to_owned()).collect(),
            ));
            i = end;
        }
        i += 1;
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
