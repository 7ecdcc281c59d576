//! Git refs: exact lookups (never the `matching-refs` prefix search), annotated tags peeled,
//! and creating a ref made idempotent ("Reference already exists" is resolved by reading the
//! ref, so a retried or raced create never fails or moves a ref by accident).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::GitHub;
use crate::error::{Error, Result};
use crate::repo::{RepoRef, encode_ref};
use crate::retry::Idempotency;

/// What a ref points at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefObject {
    /// The object's SHA.
    pub sha: String,
    /// `commit`, or `tag` for an annotated tag.
    #[serde(rename = "type", default)]
    pub kind: String,
}

#[derive(Deserialize)]
struct RefAnswer {
    object: RefObject,
}

/// The object `name` (`heads/main`, `tags/v1.0.0`) points at, or `None` when the ref does
/// not exist. One exact `GET git/ref/{name}`.
pub async fn get_ref(gh: &GitHub, repo: &RepoRef, name: &str) -> Result<Option<RefObject>> {
    let r: Option<RefAnswer> = gh
        .get_opt(&format!("{}/git/ref/{}", repo.api_path(), encode_ref(name)))
        .await?;
    Ok(r.map(|r| r.object))
}

/// The commit tag `tag` points at (annotated tags peeled), or `None` when it does not exist.
pub async fn tag_commit(gh: &GitHub, repo: &RepoRef, tag: &str) -> Result<Option<String>> {
    let Some(mut obj) = get_ref(gh, repo, &format!("tags/{tag}")).await? else {
        return Ok(None);
    };
    for _ in 0..5 {
        if obj.kind != "tag" {
            return Ok(Some(obj.sha));
        }
        obj = gh
            .get::<RefAnswer>(&format!("{}/git/tags/{}", repo.api_path(), obj.sha))
            .await?
            .object;
    }
    Err(Error::invalid(
        format!("tag {tag}"),
        "more than five nested tag objects",
    ))
}

/// What to do when the ref exists at another commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOther {
    /// Force-move it (a newer approval supersedes).
    Move,
    /// Leave it and report where it is (e.g. release branches are never moved).
    Keep,
}

/// What [`ensure_ref`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefWrite {
    /// Created at the commit.
    Created,
    /// Already at the commit: nothing written.
    Unchanged,
    /// Force-moved from another commit.
    Moved,
    /// Left at this other commit ([`OnOther::Keep`]).
    Elsewhere(String),
    /// `--dry-run`: the write was reported, not sent.
    DryRun,
}

/// Makes `name` (`heads/test-this-pr/1`) point at `sha`: `GET` the ref, then create it, or
/// move it (per `on_other`). A create that races another writer ("Reference already exists")
/// is resolved by reading the ref again.
pub async fn ensure_ref(
    gh: &GitHub,
    repo: &RepoRef,
    name: &str,
    sha: &str,
    on_other: OnOther,
) -> Result<RefWrite> {
    let settle = |existing: RefObject| async move {
        if existing.sha.eq_ignore_ascii_case(sha) {
            return Ok(RefWrite::Unchanged);
        }
        match on_other {
            OnOther::Keep => Ok(RefWrite::Elsewhere(existing.sha)),
            OnOther::Move => Ok(
                match gh
                    .patch::<Value>(
                        &format!("{}/git/refs/{}", repo.api_path(), encode_ref(name)),
                        &json!({"sha": sha, "force": true}),
                    )
                    .await?
                {
                    Some(_) => RefWrite::Moved,
                    None => RefWrite::DryRun,
                },
            ),
        }
    };
    if let Some(existing) = get_ref(gh, repo, name).await? {
        return settle(existing).await;
    }
    let body = json!({"ref": format!("refs/{name}"), "sha": sha});
    match gh
        .post::<Value>(
            &format!("{}/git/refs", repo.api_path()),
            &body,
            Idempotency::Idempotent,
        )
        .await
    {
        Ok(Some(_)) => Ok(RefWrite::Created),
        Ok(None) => Ok(RefWrite::DryRun),
        Err(e) if e.is_status(422) && e.to_string().contains("already exists") => {
            match get_ref(gh, repo, name).await? {
                Some(existing) => settle(existing).await,
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// What [`delete_ref_if_at`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefDelete {
    /// It pointed at the commit and was deleted (or `--dry-run` reported the delete).
    Deleted,
    /// It did not exist (or a concurrent writer deleted it first).
    Gone,
    /// It points at this other commit: left alone.
    Elsewhere(String),
}

/// Deletes `name` only while it still points at `sha`, so a ref moved by someone else (a
/// newer trigger) is left alone.
pub async fn delete_ref_if_at(
    gh: &GitHub,
    repo: &RepoRef,
    name: &str,
    sha: &str,
) -> Result<RefDelete> {
    match get_ref(gh, repo, name).await? {
        None => Ok(RefDelete::Gone),
        Some(o) if !o.sha.eq_ignore_ascii_case(sha) => Ok(RefDelete::Elsewhere(o.sha)),
        Some(_) => match gh
            .delete(&format!(
                "{}/git/refs/{}",
                repo.api_path(),
                encode_ref(name)
            ))
            .await
        {
            Ok(()) => Ok(RefDelete::Deleted),
            // Deleted meanwhile ("Reference does not exist").
            Err(e) if e.is_status(422) => Ok(RefDelete::Gone),
            Err(e) => Err(e),
        },
    }
}
