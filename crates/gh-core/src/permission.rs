//! Authorisation: who may make ghops act.
//!
//! A [`Policy`] combines a minimum repository [`Permission`], team memberships, explicit
//! allow and deny lists and a bot rule. Permission is read from
//! `GET /repos/{o}/{r}/collaborators/{user}/permission` using `role_name` (or
//! `user.permissions`), never the legacy `permission` field (which maps maintain→write and
//! triage→read), and never `author_association`. Any API error means "not authorised".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::client::GitHub;
use crate::error::{Error, Result};
use crate::repo::{RepoRef, encode_segment};

/// A repository permission level, ordered: none < read < triage < write < maintain < admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// No access.
    None,
    /// Read (`pull`).
    Read,
    /// Triage.
    Triage,
    /// Write (`push`).
    Write,
    /// Maintain.
    Maintain,
    /// Admin.
    Admin,
}

impl FromStr for Permission {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "none" => Permission::None,
            "read" | "pull" => Permission::Read,
            "triage" => Permission::Triage,
            "write" | "push" => Permission::Write,
            "maintain" => Permission::Maintain,
            "admin" => Permission::Admin,
            other => {
                return Err(Error::invalid(
                    "permission",
                    format!("{other:?} is not one of none, read, triage, write, maintain, admin"),
                ));
            }
        })
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Permission::None => "none",
            Permission::Read => "read",
            Permission::Triage => "triage",
            Permission::Write => "write",
            Permission::Maintain => "maintain",
            Permission::Admin => "admin",
        })
    }
}

#[derive(Deserialize)]
struct PermissionResponse {
    #[serde(default)]
    role_name: Option<String>,
    #[serde(default)]
    user: Option<PermUser>,
}

#[derive(Deserialize)]
struct PermUser {
    #[serde(default)]
    permissions: Option<PermFlags>,
}

#[derive(Deserialize, Default)]
struct PermFlags {
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    maintain: bool,
    #[serde(default)]
    push: bool,
    #[serde(default)]
    triage: bool,
    #[serde(default)]
    pull: bool,
}

fn level_from_response(r: &PermissionResponse) -> Permission {
    // role_name is exact for the built-in roles; a custom role name falls back to the flags.
    if let Some(p) = r.role_name.as_deref().and_then(|n| n.parse().ok()) {
        return p;
    }
    let f = r
        .user
        .as_ref()
        .and_then(|u| u.permissions.as_ref())
        .map(|p| (p.admin, p.maintain, p.push, p.triage, p.pull))
        .unwrap_or_default();
    match f {
        (true, ..) => Permission::Admin,
        (_, true, ..) => Permission::Maintain,
        (_, _, true, ..) => Permission::Write,
        (_, _, _, true, _) => Permission::Triage,
        (_, _, _, _, true) => Permission::Read,
        _ => Permission::None,
    }
}

/// Reads a user's permission level on a repository (one GET).
pub async fn permission_of(gh: &GitHub, repo: &RepoRef, user: &str) -> Result<Permission> {
    let path = format!(
        "{}/collaborators/{}/permission",
        repo.api_path(),
        encode_segment(user)
    );
    let r: PermissionResponse = gh.get(&path).await?;
    Ok(level_from_response(&r))
}

/// A team, `org/slug`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Team {
    /// Organisation login.
    pub org: String,
    /// Team slug.
    pub slug: String,
}

impl FromStr for Team {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.split_once('/') {
            Some((o, t)) if !o.is_empty() && !t.is_empty() && !t.contains('/') => Ok(Team {
                org: o.to_owned(),
                slug: t.to_owned(),
            }),
            _ => Err(Error::invalid("--team", format!("{s:?} is not ORG/SLUG"))),
        }
    }
}
impl TryFrom<String> for Team {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}
impl From<Team> for String {
    fn from(t: Team) -> String {
        format!("{}/{}", t.org, t.slug)
    }
}

/// Who may act. A user is authorised when not denied, not a bot (unless bots are allowed),
/// and either explicitly allowed, or at least `min_permission` on the repository, or an
/// active member of one of `teams`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Minimum permission level; `None` disables the permission check (teams/allow only).
    pub min_permission: Option<Permission>,
    /// Teams whose active members are authorised.
    pub teams: Vec<Team>,
    /// Logins always authorised (case-insensitive).
    pub allow: Vec<String>,
    /// Logins never authorised (case-insensitive); wins over everything.
    pub deny: Vec<String>,
    /// Whether bot accounts (`type: Bot` or `[bot]` logins) may be authorised.
    pub allow_bots: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_permission: Some(Permission::Write),
            teams: Vec::new(),
            allow: Vec::new(),
            deny: Vec::new(),
            allow_bots: false,
        }
    }
}

/// The outcome of an authorisation check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Authorised or not.
    pub allowed: bool,
    /// Why (for logs; refusal messages shown to users should stay generic).
    pub reason: String,
    /// A refusal only because a check could not be made (an API error): the user may well be
    /// authorised, so say "could not check, try again" rather than "not authorised".
    pub check_failed: bool,
}

impl Decision {
    fn yes(reason: impl Into<String>) -> Self {
        Self {
            allowed: true,
            reason: reason.into(),
            check_failed: false,
        }
    }
    fn no(reason: impl Into<String>) -> Self {
        Self {
            allowed: false,
            reason: reason.into(),
            check_failed: false,
        }
    }
    fn failed(reason: impl Into<String>) -> Self {
        Self {
            check_failed: true,
            ..Self::no(reason)
        }
    }
}

/// Is this login a bot account?
pub fn is_bot(login: &str, user_type: Option<&str>) -> bool {
    user_type.is_some_and(|t| t.eq_ignore_ascii_case("bot")) || login.ends_with("[bot]")
}

impl Policy {
    /// Decides whether `user` may act on `repo`. Fails closed: any API error is a refusal.
    pub async fn authorize(
        &self,
        gh: &GitHub,
        repo: &RepoRef,
        user: &str,
        user_type: Option<&str>,
    ) -> Decision {
        let eq = |l: &String| l.eq_ignore_ascii_case(user);
        if self.deny.iter().any(eq) {
            return Decision::no(format!("{user} is on the deny list"));
        }
        if !self.allow_bots && is_bot(user, user_type) {
            return Decision::no(format!("{user} is a bot"));
        }
        if self.allow.iter().any(eq) {
            return Decision::yes(format!("{user} is on the allow list"));
        }
        let mut failed: Option<String> = None;
        if let Some(min) = self.min_permission {
            match permission_of(gh, repo, user).await {
                Ok(p) if p >= min => {
                    return Decision::yes(format!("{user} has {p} permission (needs {min})"));
                }
                Ok(p) => {
                    if self.teams.is_empty() {
                        return Decision::no(format!("{user} has {p} permission, needs {min}"));
                    }
                }
                // 404: no such user (or not visible): a definite no.
                Err(e) if e.status() == Some(404) => {
                    if self.teams.is_empty() {
                        return Decision::no(format!("{user} is not a collaborator: {e}"));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "permission check failed; treating as not authorised");
                    if self.teams.is_empty() {
                        return Decision::failed(format!(
                            "permission check for {user} failed: {e}"
                        ));
                    }
                    failed = Some(format!("permission check for {user} failed: {e}"));
                }
            }
        }
        for team in &self.teams {
            match team_member(gh, team, user).await {
                Ok(true) => {
                    return Decision::yes(format!(
                        "{user} is an active member of {}/{}",
                        team.org, team.slug
                    ));
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, team = %String::from(team.clone()), "team check failed; treating as not a member");
                    failed = Some(format!(
                        "team check {}/{} for {user} failed: {e}",
                        team.org, team.slug
                    ));
                }
            }
        }
        if let Some(reason) = failed {
            return Decision::failed(reason);
        }
        Decision::no(if self.teams.is_empty() && self.min_permission.is_none() {
            format!("{user} is not on the allow list")
        } else {
            format!("{user} meets neither the permission nor the team requirement")
        })
    }
}

/// True when `user` is an active member of `team` (404 = not a member).
pub async fn team_member(gh: &GitHub, team: &Team, user: &str) -> Result<bool> {
    #[derive(Deserialize)]
    struct Membership {
        state: String,
    }
    let path = format!(
        "/orgs/{}/teams/{}/memberships/{}",
        encode_segment(&team.org),
        encode_segment(&team.slug),
        encode_segment(user)
    );
    Ok(gh
        .get_opt::<Membership>(&path)
        .await?
        .is_some_and(|m| m.state == "active"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_and_parse() {
        assert!(Permission::None < Permission::Read);
        assert!(Permission::Read < Permission::Triage);
        assert!(Permission::Triage < Permission::Write);
        assert!(Permission::Write < Permission::Maintain);
        assert!(Permission::Maintain < Permission::Admin);
        assert_eq!("push".parse::<Permission>().unwrap(), Permission::Write);
        assert!("owner".parse::<Permission>().is_err());
    }

    #[test]
    fn role_name_wins_over_legacy() {
        let r: PermissionResponse = serde_json::from_str(
            r#"{"permission":"write","role_name":"maintain","user":{"permissions":{"admin":false,"maintain":true,"push":true,"triage":true,"pull":true}}}"#,
        )
        .unwrap();
        assert_eq!(level_from_response(&r), Permission::Maintain);
        let r: PermissionResponse = serde_json::from_str(
            r#"{"permission":"read","role_name":"custom-role","user":{"permissions":{"admin":false,"maintain":false,"push":false,"triage":true,"pull":true}}}"#,
        )
        .unwrap();
        assert_eq!(level_from_response(&r), Permission::Triage);
        let r: PermissionResponse = serde_json::from_str(r#"{"permission":"admin"}"#).unwrap();
        assert_eq!(
            level_from_response(&r),
            Permission::None,
            "legacy field alone is not trusted"
        );
    }

    #[test]
    fn bots() {
        assert!(is_bot("dependabot[bot]", None));
        assert!(is_bot("x", Some("Bot")));
        assert!(!is_bot("octocat", Some("User")));
    }
}
