//! AWS IAM (kind `aws-iam`) through the IAM Query API, every request signed with SigV4.
//!
//! URL = the IAM endpoint with the console's access key id as the user part
//! (`https://AKIA…@iam.amazonaws.com/`; a local emulator such as moto: `http://AKIA…@127.0.0.1:5050`);
//! the credential = that key's secret access key, which the engine keeps in the OS keychain or an
//! environment variable like every other backend secret. The access key id is an id, not a secret.
//!
//! Users, groups, roles, managed and inline policies and access keys are read ([`inventory`]
//! documents the mapping); each key's last use comes from `GetAccessKeyLastUsed`. IAM keeps no
//! request history of its own (that is CloudTrail, another service and another API), so there is
//! no audit trail here. Revocation deactivates a key, then deletes it, and proves it by re-reading
//! the user's keys ([`revoke`]).

pub mod api;
pub mod inventory;
pub mod policy;
mod revoke;
pub mod xml;

use async_trait::async_trait;
use portcullis_model::{
    BackendKind, Capabilities, CheckReport, Inventory, Progress, RevokeReceipt, RightCheck,
    Verification,
};
use std::time::Instant;

use crate::http::Http;
use crate::{
    display_url, parse_url, AuditSink, BackendConfig, Connector, ConnectorError, Cursor,
    ProgressFn, RevokeTarget,
};
use api::{Api, Call};
use inventory::{Holder, Inline, Managed, Snapshot};

pub fn capabilities() -> Capabilities {
    Capabilities {
        list_principals: true,
        list_credentials: true,
        token_lookup: false,
        audit: false,
        revoke: true,
        verify: true,
        notes: vec![
            "no audit API here: IAM keeps no request history (that is CloudTrail); each access key's last use comes from GetAccessKeyLastUsed".into(),
            "access keys are kept by their AccessKeyId; secret access keys are never readable after creation and never stored".into(),
            "revoking a key deactivates it, then deletes it; STS sessions already made with it are not ended".into(),
            "an Inactive key is listed with status unknown: it signs nothing, but it can be switched back on, so a revocation deletes it".into(),
            "policy conditions are kept but not evaluated: a statement with a Condition is shown as granted where its patterns match".into(),
            "no token triage: IAM cannot look a key up by its secret".into(),
        ],
    }
}

/// What the console calls, and what for (one list, in the model: the UI shows the policy too).
pub use portcullis_model::{aws_iam_console_policy as console_policy, AWS_IAM_RIGHTS as RIGHTS};

/// An access key id that cannot exist: rights on keys are probed with it (`NoSuchEntity` means
/// the call was authorised and found nothing; nothing is changed).
const PROBE_KEY: &str = "AKIAPORTCULLISPROBE0";
/// A name no user, group or role has (`:` is not allowed in IAM names).
const PROBE_NAME: &str = "portcullis-probe";

pub struct AwsIam {
    api: Api,
}

impl AwsIam {
    pub fn new(config: BackendConfig) -> Result<Self, ConnectorError> {
        let url = parse_url(&config.url)?;
        let key_id = url.username().to_string();
        if key_id.is_empty() {
            return Err(ConnectorError::InvalidConfig(
                "the console's access key id goes in the URL as user: https://AKIA…@iam.amazonaws.com/".into(),
            ));
        }
        if url.password().is_some() {
            return Err(ConnectorError::InvalidConfig(
                "the secret access key must not be in the URL: it is stored separately (keychain or environment variable)".into(),
            ));
        }
        let base = display_url(&url);
        let endpoint = url::Url::parse(&format!("{base}/"))
            .map_err(|e| ConnectorError::InvalidConfig(format!("`{base}`: {e}")))?;
        Ok(AwsIam {
            api: Api::new(
                Http::new(format!("AWS IAM at {base}"), config.timeout)?,
                endpoint,
                key_id,
                config.secret,
            ),
        })
    }

    /// A connector over an [`Api`] built by the caller (tests: a small page size).
    pub fn from_api(api: Api) -> Self {
        AwsIam { api }
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    async fn inline(
        &self,
        holder: Holder,
        owner: &str,
        s: &mut Snapshot,
    ) -> Result<(), ConnectorError> {
        let (list, get, param) = match holder {
            Holder::User => ("ListUserPolicies", "GetUserPolicy", "UserName"),
            Holder::Group => ("ListGroupPolicies", "GetGroupPolicy", "GroupName"),
            Holder::Role => ("ListRolePolicies", "GetRolePolicy", "RoleName"),
        };
        let names = self
            .api
            .list(list, &[(param, owner)], "PolicyNames", xml::string)
            .await?;
        for name in names {
            let body = self
                .api
                .call(get, &[(param, owner), ("PolicyName", &name)], Call::Read)
                .await?;
            let document = xml::inline_document(&body, get)
                .map_err(|e| self.api.malformed(&format!("the {get} answer"), e))?;
            s.inline.push(Inline {
                holder,
                owner: owner.to_string(),
                name,
                document,
            });
        }
        let attach = match holder {
            Holder::User => "ListAttachedUserPolicies",
            Holder::Group => "ListAttachedGroupPolicies",
            Holder::Role => "ListAttachedRolePolicies",
        };
        for a in self
            .api
            .list(attach, &[(param, owner)], "AttachedPolicies", xml::attached)
            .await?
        {
            if let Some(arn) = a.arn {
                s.attachments.push((holder, owner.to_string(), arn));
            }
        }
        Ok(())
    }

    async fn managed(&self, arn: &str) -> Result<Managed, ConnectorError> {
        let body = self
            .api
            .call("GetPolicy", &[("PolicyArn", arn)], Call::Read)
            .await?;
        let p =
            xml::get_policy(&body).map_err(|e| self.api.malformed("the GetPolicy answer", e))?;
        let version = p.default_version.clone().ok_or_else(|| {
            self.api.malformed(
                "the GetPolicy answer",
                format!("{arn} has no DefaultVersionId"),
            )
        })?;
        let body = self
            .api
            .call(
                "GetPolicyVersion",
                &[("PolicyArn", arn), ("VersionId", &version)],
                Call::Read,
            )
            .await?;
        let document = xml::policy_version(&body)
            .map_err(|e| self.api.malformed("the GetPolicyVersion answer", e))?;
        Ok(Managed {
            arn: arn.to_string(),
            name: p.name,
            document,
        })
    }

    async fn keys(&self, user: &str, s: &mut Snapshot) -> Result<(), ConnectorError> {
        let keys = self
            .api
            .list(
                "ListAccessKeys",
                &[("UserName", user)],
                "AccessKeyMetadata",
                xml::access_key,
            )
            .await?;
        for mut k in keys {
            k.user.get_or_insert_with(|| user.to_string());
            let body = self
                .api
                .call(
                    "GetAccessKeyLastUsed",
                    &[("AccessKeyId", &k.id)],
                    Call::Read,
                )
                .await?;
            let used = xml::last_used(&body)
                .map_err(|e| self.api.malformed("the GetAccessKeyLastUsed answer", e))?;
            s.keys.push((k, Some(used)));
        }
        Ok(())
    }

    /// Reads everything the inventory is made of.
    pub async fn snapshot(&self, progress: &ProgressFn<'_>) -> Result<Snapshot, ConnectorError> {
        const TASK: &str = "aws iam inventory";
        let mut s = Snapshot {
            users: self.api.list("ListUsers", &[], "Users", xml::user).await?,
            groups: self
                .api
                .list("ListGroups", &[], "Groups", xml::group)
                .await?,
            roles: self.api.list("ListRoles", &[], "Roles", xml::role).await?,
            ..Snapshot::default()
        };
        let total = (s.users.len() + s.groups.len() + s.roles.len()) as u64;
        progress(Progress::Started {
            task: TASK.into(),
            total: Some(total),
        });
        let mut done = 0u64;
        let step = |done: &mut u64, what: String| {
            *done += 1;
            progress(Progress::Advanced {
                task: TASK.into(),
                done: *done,
                total: Some(total),
                message: what,
            });
        };
        let users: Vec<String> = s.users.iter().map(|u| u.name.clone()).collect();
        for user in &users {
            for g in self
                .api
                .list(
                    "ListGroupsForUser",
                    &[("UserName", user)],
                    "Groups",
                    xml::group,
                )
                .await?
            {
                s.memberships.push((user.clone(), g.name));
            }
            self.inline(Holder::User, user, &mut s).await?;
            self.keys(user, &mut s).await?;
            step(&mut done, format!("user {user}"));
        }
        let groups: Vec<String> = s.groups.iter().map(|g| g.name.clone()).collect();
        for group in &groups {
            self.inline(Holder::Group, group, &mut s).await?;
            step(&mut done, format!("group {group}"));
        }
        let roles: Vec<String> = s.roles.iter().map(|r| r.name.clone()).collect();
        for role in &roles {
            self.inline(Holder::Role, role, &mut s).await?;
            step(&mut done, format!("role {role}"));
        }
        let arns: std::collections::BTreeSet<String> =
            s.attachments.iter().map(|(_, _, a)| a.clone()).collect();
        for arn in arns {
            s.managed.push(self.managed(&arn).await?);
        }
        progress(Progress::Finished {
            task: TASK.into(),
            ok: true,
            message: format!(
                "{} users, {} groups, {} roles, {} access keys",
                s.users.len(),
                s.groups.len(),
                s.roles.len(),
                s.keys.len()
            ),
        });
        Ok(s)
    }

    /// Whether the console may call `action`: the probe's answer decides. Authorised calls that
    /// find nothing (`NoSuchEntity`) count as granted.
    async fn probe(&self, action: &str, params: &[(&str, &str)]) -> Result<bool, ConnectorError> {
        match self.api.call(action, params, Call::Read).await {
            Ok(_) | Err(ConnectorError::NotFound { .. }) => Ok(true),
            Err(ConnectorError::Forbidden { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn probe_right(&self, right: &str, me: &str) -> Result<bool, ConnectorError> {
        let action = right.trim_start_matches("iam:");
        let probe_arn = "arn:aws:iam::000000000000:policy/portcullis-probe";
        let params: Vec<(&str, &str)> = match action {
            "GetUser" => vec![],
            "ListUsers" | "ListGroups" | "ListRoles" => vec![("MaxItems", "1")],
            "ListGroupsForUser"
            | "ListAttachedUserPolicies"
            | "ListUserPolicies"
            | "ListAccessKeys" => vec![("UserName", me)],
            "GetUserPolicy" => vec![("UserName", me), ("PolicyName", PROBE_NAME)],
            "ListAttachedGroupPolicies" | "ListGroupPolicies" => vec![("GroupName", PROBE_NAME)],
            "GetGroupPolicy" => vec![("GroupName", PROBE_NAME), ("PolicyName", PROBE_NAME)],
            "ListAttachedRolePolicies" | "ListRolePolicies" => vec![("RoleName", PROBE_NAME)],
            "GetRolePolicy" => vec![("RoleName", PROBE_NAME), ("PolicyName", PROBE_NAME)],
            "GetPolicy" => vec![("PolicyArn", probe_arn)],
            "GetPolicyVersion" => vec![("PolicyArn", probe_arn), ("VersionId", "v1")],
            "GetAccessKeyLastUsed" => vec![("AccessKeyId", self.api.access_key_id())],
            "UpdateAccessKey" => vec![
                ("UserName", me),
                ("AccessKeyId", PROBE_KEY),
                ("Status", "Inactive"),
            ],
            "DeleteAccessKey" => vec![("UserName", me), ("AccessKeyId", PROBE_KEY)],
            _ => return Ok(false),
        };
        self.probe(action, &params).await
    }
}

#[async_trait]
impl Connector for AwsIam {
    fn kind(&self) -> BackendKind {
        BackendKind::AwsIam
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        let started = Instant::now();
        let me = match self.api.call("GetUser", &[], Call::Read).await {
            Ok(body) => {
                Some(xml::caller(&body).map_err(|e| self.api.malformed("the GetUser answer", e))?)
            }
            Err(ConnectorError::Forbidden { .. }) => None,
            Err(e) => return Err(e),
        };
        let my_name = me.as_ref().map_or(PROBE_NAME, |u| u.name.as_str());
        let mut rights = Vec::new();
        for (right, why) in RIGHTS {
            let granted = if *right == "iam:GetUser" {
                me.is_some()
            } else {
                self.probe_right(right, my_name).await?
            };
            rights.push(RightCheck {
                right: (*right).to_string(),
                needed_for: (*why).to_string(),
                granted,
                optional: false,
            });
        }
        let identity = me.map(|u| {
            format!(
                "{} (access key {})",
                u.arn.unwrap_or(format!("user/{}", u.name)),
                self.api.access_key_id()
            )
        });
        Ok(CheckReport {
            backend: String::new(),
            ok: rights.iter().all(|r| r.granted),
            identity: identity.or_else(|| Some(format!("access key {}", self.api.access_key_id()))),
            server: Some("AWS IAM (Query API 2010-05-08)".into()),
            credential_expires_at: None,
            rights,
            latency_ms: started.elapsed().as_millis() as u64,
            error: None,
        })
    }

    async fn inventory(&self, progress: &ProgressFn<'_>) -> Result<Inventory, ConnectorError> {
        let snapshot = self.snapshot(progress).await?;
        let (inv, notes) = inventory::map_inventory(&snapshot);
        for n in &notes {
            tracing::warn!(target: "portcullis::aws_iam", "{n}");
        }
        Ok(inv)
    }

    async fn audit(
        &self,
        _since: Option<Cursor>,
        _sink: &mut dyn AuditSink,
    ) -> Result<Option<Cursor>, ConnectorError> {
        // No audit API here: IAM keeps no request history. Last use is in the inventory.
        Ok(None)
    }

    async fn revoke(&self, target: &RevokeTarget) -> Result<RevokeReceipt, ConnectorError> {
        revoke::revoke(&self.api, target).await
    }

    async fn verify_revoked(&self, target: &RevokeTarget) -> Result<Verification, ConnectorError> {
        revoke::verify(&self.api, target).await
    }
}
