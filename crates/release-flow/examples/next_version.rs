//! The next release version from the last tag and the merged PRs' bump labels, as
//! release-flow's drafter computes it (the largest bump wins; no label is a patch).
//!
//! ```text
//! cargo run -p ghops-release-flow --example next_version -- v1.4.2 patch minor
//! ```

use release_flow::version::{Bump, bumped, parse_tag};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tag = args
        .next()
        .ok_or("usage: next_version LAST_TAG [major|minor|patch]...")?;
    let last = parse_tag(&tag, "").ok_or_else(|| format!("{tag:?} is not a semver tag"))?;
    let bump = args.map(|l| Bump::parse(&l)).max().unwrap_or(Bump::Patch);
    println!("{tag} + {bump:?} -> v{}", bumped(&last, bump));
    Ok(())
}
