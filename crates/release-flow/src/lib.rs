//! # release-flow
//!
//! Release engineering on GitHub: draft releases with changelogs and semver from PR labels,
//! `release/{version}` branches, hotfix patch releases with a reintegration PR (issue #5), and
//! label-driven preview/QA environments recorded as GitHub Deployments, approval gates and
//! generated least-privilege workflows (issue #6).

pub mod env;
pub mod gate;
pub mod init;
