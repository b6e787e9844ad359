//! What a revocation will and will not do, per backend kind and target, said BEFORE it is sent.
//!
//! Connectors state their caveats in the receipt, after the fact; a confirmation dialog needs them
//! up front. This table mirrors what each connector sends (`crates/connectors/src/*/revoke.rs`)
//! and how it verifies, and decides per target whether a second send is harmless
//! ([`ResendPolicy`]). When a connector changes what it sends, change its row here.

use portcullis_model::{BackendKind, CredentialKind, NodeKind, Readiness, ResendPolicy};

use super::spec::{short, TargetSpec};

/// The up-front description of one action.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Knowledge {
    pub action: String,
    pub will: Vec<String>,
    pub will_not: Vec<String>,
    pub verify: String,
    pub resend: ResendPolicy,
    pub readiness: Readiness,
    pub blocked_reason: Option<String>,
    pub alternatives: Vec<String>,
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn ready(
    action: String,
    will: &[&str],
    will_not: &[&str],
    verify: &str,
    resend: ResendPolicy,
) -> Knowledge {
    Knowledge {
        action,
        will: s(will),
        will_not: s(will_not),
        verify: verify.to_string(),
        resend,
        readiness: Readiness::Ready,
        blocked_reason: None,
        alternatives: Vec::new(),
    }
}

fn blocked(readiness: Readiness, reason: String, alternatives: &[&str]) -> Knowledge {
    Knowledge {
        action: "nothing will be sent".into(),
        will: Vec::new(),
        will_not: Vec::new(),
        verify: String::new(),
        resend: ResendPolicy::VerifyFirst,
        readiness,
        blocked_reason: Some(reason),
        alternatives: s(alternatives),
    }
}

const JWT_STAYS: &str = "self-contained (JWT) access tokens stay valid at resource servers that check only their signature, until they expire";
const SECRETS_STAY: &str =
    "secrets it already read (database passwords, API keys) stay valid until they are rotated";

/// The description of `spec` on a backend of `kind`. `has_value`: the reviewer supplied the
/// token's value (only matters for tokens revoked by value).
pub(crate) fn knowledge(kind: BackendKind, spec: &TargetSpec, has_value: bool) -> Knowledge {
    match kind {
        BackendKind::Vault => vault(spec, has_value),
        BackendKind::Oauth2 => oauth2(spec, has_value),
        BackendKind::Postgres => postgres(spec),
        BackendKind::Keycloak => keycloak(spec, has_value),
        BackendKind::Kong => kong(spec),
        BackendKind::Kubernetes => kubernetes(spec),
        BackendKind::GitLab => gitlab(spec),
        BackendKind::AwsIam => aws_iam(spec),
        BackendKind::Hoop => hoop(spec),
        BackendKind::GitHub => github(spec),
    }
}

fn needs_value(kind_label: &str, alternatives: &[&str]) -> Knowledge {
    blocked(
        Readiness::NeedsTokenValue,
        format!(
            "{kind_label} revokes a token only by its value (RFC 7009), and Portcullis keeps only its SHA-256 fingerprint: \
             bring the token to triage (`portcullis token revoke --backend NAME`), or pass it to this run \
             (`--tokens-from FILE`, one token per line; it is matched by fingerprint and never stored)"
        ),
        alternatives,
    )
}

fn vault(spec: &TargetSpec, has_value: bool) -> Knowledge {
    let will = [
        "the token is revoked; tokens it created (its children) are revoked with it",
        "leases it created (dynamic secrets) are revoked",
    ];
    let will_not = [
        SECRETS_STAY,
        "the owner can get a new token by logging in again (userpass, AppRole, OIDC…): disable the login method or the entity to keep them out",
    ];
    let verify = "lookup-accessor must answer 400 (invalid accessor)";
    match spec {
        TargetSpec::Credential { external_id, .. } => ready(
            format!("POST auth/token/revoke-accessor (accessor {external_id})"),
            &will,
            &will_not,
            verify,
            // A second revoke-accessor only answers 400: harmless.
            ResendPolicy::Idempotent,
        ),
        TargetSpec::Token { fingerprint, .. } if has_value => ready(
            format!(
                "POST auth/token/lookup, then POST auth/token/revoke-accessor (token {})",
                short(fingerprint)
            ),
            &will,
            &will_not,
            "auth/token/lookup must no longer recognise the token",
            ResendPolicy::Idempotent,
        ),
        TargetSpec::Token { .. } => needs_value("Vault/OpenBao", &["revoke it by its accessor, from the credentials list"]),
        TargetSpec::Login { principal } => blocked(
            Readiness::Unsupported,
            format!("Portcullis cannot disable a Vault/OpenBao login: {principal} can still log in and get new tokens"),
            &[
                "disable the identity entity (identity/entity/id/ID with disabled=true): its tokens are refused at once",
                "delete the user on its auth method (e.g. auth/userpass/users/NAME), or rotate its password / AppRole secret-id",
            ],
        ),
        TargetSpec::Grant { grant } => blocked(
            Readiness::Unsupported,
            format!(
                "Portcullis cannot detach Vault/OpenBao policy `{}` from {}: policies are configuration of the user, role or entity",
                grant.to_id, grant.from_id
            ),
            &["remove the policy from the user's token_policies (or the entity's / group's policies) in Vault/OpenBao; tokens already issued keep it until revoked"],
        ),
    }
}

const NO_OTHER_OAUTH2: &str = "this server offers no admin API to end a grant, a session or an account, so Portcullis can do nothing else here: disable the account or the client at the provider, or rotate the client's secret (stops new client_credentials tokens, not issued ones)";

fn oauth2(spec: &TargetSpec, has_value: bool) -> Knowledge {
    match spec {
        TargetSpec::Token { kind, .. } if has_value => {
            let refresh = *kind == Some(CredentialKind::RefreshToken);
            let mut k = ready(
                "POST revocation_endpoint token=<the supplied value> (RFC 7009), as the console's client".into(),
                if refresh {
                    &["the refresh token is revoked and, with it, its grant: the access tokens issued from that grant die with it"]
                } else {
                    &["the access token is revoked at the server"]
                },
                &[JWT_STAYS, "RFC 7009 answers 200 even when the server declines: only introspection proves it"],
                "introspection (RFC 7662) must answer active:false",
                ResendPolicy::Idempotent,
            );
            if !refresh {
                k.will_not.insert(
                    0,
                    "its refresh token (if any) stays alive and can mint new access tokens: revoke the refresh token to end the grant".into(),
                );
            }
            k
        }
        TargetSpec::Token { .. } | TargetSpec::Credential { .. } => {
            needs_value("an OAuth 2.0 server", &[NO_OTHER_OAUTH2])
        }
        TargetSpec::Login { principal } => blocked(
            Readiness::Unsupported,
            format!("an OAuth 2.0 server has no API to disable {principal}'s login"),
            &[NO_OTHER_OAUTH2],
        ),
        TargetSpec::Grant { grant } => blocked(
            Readiness::Unsupported,
            format!(
                "scope `{}` of {} is the client's configuration at the provider, not something an OAuth 2.0 API revokes",
                grant.to_id, grant.from_id
            ),
            &["remove the scope from the client's allowed scopes at the provider; tokens already issued keep it until they expire or are revoked"],
        ),
    }
}

fn postgres(spec: &TargetSpec) -> Knowledge {
    match spec {
        TargetSpec::Credential {
            kind: CredentialKind::Session,
            external_id,
        } => {
            let pid = external_id
                .strip_prefix("session:")
                .and_then(|r| r.split(':').next())
                .unwrap_or(external_id);
            ready(
                format!("SELECT pg_terminate_backend({pid}), only while that pid still has the session's start time"),
                &["the session's connection is closed and its open transaction rolled back"],
                &["the role can log in again: disable its login (NOLOGIN) as well to keep it out"],
                "pg_stat_activity must no longer list the session (pid and start time)",
                // The start time guards the pid: a second send never hits another session.
                ResendPolicy::Idempotent,
            )
        }
        TargetSpec::Credential {
            kind: CredentialKind::Login,
            external_id,
        } => nologin(external_id.strip_prefix("login:").unwrap_or(external_id)),
        TargetSpec::Login { principal } => nologin(principal),
        TargetSpec::Grant { grant } => match (grant.from_kind, grant.to_kind) {
            (NodeKind::Principal, NodeKind::Principal) => ready(
                format!("REVOKE {} FROM {}", grant.to_id, grant.from_id),
                &["the membership goes, and with it every privilege the group role gives"],
                &[
                    "sessions that already SET ROLE to the group keep it until they end",
                    "privileges held directly or through other group roles stay",
                ],
                "pg_auth_members must no longer list the membership",
                ResendPolicy::Idempotent,
            ),
            (NodeKind::Principal, NodeKind::Permission) => {
                let privilege = grant.to_id.rsplit(':').next().unwrap_or_default();
                if privilege == "OWNER" {
                    return blocked(
                        Readiness::Unsupported,
                        format!("{} owns the object: ownership cannot be revoked, only transferred", grant.from_id),
                        &["ALTER … OWNER TO another role (as a superuser or the owner)"],
                    );
                }
                if grant.to_id.starts_with("cluster:") {
                    return ready(
                        format!("ALTER ROLE {} NO{privilege}", grant.from_id),
                        &["the role loses the attribute"],
                        &["only a superuser can change these attributes: without it the backend refuses"],
                        "pg_roles must show the attribute off",
                        ResendPolicy::Idempotent,
                    );
                }
                ready(
                    format!("REVOKE {privilege} ON {} FROM {} (as the object's owner)", grant.to_id, grant.from_id),
                    &["the direct privilege goes"],
                    &["the role may still hold it through a group role or PUBLIC: the verification checks the effective privilege and says so"],
                    "has_*_privilege must answer false (effective, through any group role)",
                    ResendPolicy::Idempotent,
                )
            }
            _ => blocked(
                Readiness::Unsupported,
                format!("`{} → {}` is a role's own privilege: revoke it from the group role, or the membership", grant.from_id, grant.to_id),
                &[],
            ),
        },
        TargetSpec::Credential { kind, external_id } => blocked(
            Readiness::Unsupported,
            format!("PostgreSQL has no {} `{external_id}` to revoke", kind.as_str()),
            &[],
        ),
        TargetSpec::Token { .. } => blocked(
            Readiness::Unsupported,
            "PostgreSQL has no tokens: terminate the session or disable the login".into(),
            &[],
        ),
    }
}

fn nologin(role: &str) -> Knowledge {
    ready(
        format!("ALTER ROLE {role} NOLOGIN"),
        &["new connections as the role are refused"],
        &[
            "sessions already open stay open: terminate them too",
            "the role keeps its memberships and privileges (LOGIN again restores everything), and its password is unchanged",
        ],
        "pg_roles.rolcanlogin must be false",
        ResendPolicy::Idempotent,
    )
}

const KC_TOKENS_STAY: &str = "access tokens already issued stay valid until they expire at resource servers that check only their signature; push a not-before for the client or the realm to reach adapters with an admin URL";

fn keycloak(spec: &TargetSpec, has_value: bool) -> Knowledge {
    let gone_ok = "Keycloak answers 404 when it is already gone: a second send is harmless";
    match spec {
        TargetSpec::Credential {
            kind: CredentialKind::Session,
            external_id,
        } if external_id.starts_with("offline/") => ready(
            "DELETE /admin/realms/REALM/sessions/ID?isOffline=true".into(),
            &["the offline session ends: its offline tokens stop refreshing", gone_ok],
            &[KC_TOKENS_STAY, "the user's consent to the client stays: the client can get offline access again after a new login"],
            "the user's offline sessions must no longer list it",
            ResendPolicy::Idempotent,
        ),
        TargetSpec::Credential {
            kind: CredentialKind::Session,
            ..
        } => ready(
            "DELETE /admin/realms/REALM/sessions/ID".into(),
            &["the session ends: its refresh tokens stop working", gone_ok],
            &[KC_TOKENS_STAY, "offline sessions are not ended: revoke the user's consents to end them", "the user can log in again: disable the user to prevent that"],
            "the user's sessions must no longer list it",
            ResendPolicy::Idempotent,
        ),
        TargetSpec::Credential {
            kind: CredentialKind::RefreshToken,
            ..
        } => ready(
            "DELETE /admin/realms/REALM/users/USER/consents/CLIENT".into(),
            &["the user's consent and the offline tokens granted to the client go", gone_ok],
            &[KC_TOKENS_STAY, "online sessions of the user with the client are not ended", "the user may consent again at the next login"],
            "the user's consents must no longer list the client",
            ResendPolicy::Idempotent,
        ),
        TargetSpec::Credential { kind, external_id } => blocked(
            Readiness::Unsupported,
            format!("Keycloak has no {} `{external_id}` Portcullis can revoke: revoke sessions, consents or a token by value", kind.as_str()),
            &[],
        ),
        TargetSpec::Login { principal } if principal.starts_with("client:") || principal.starts_with("realm:") => ready(
            format!("PUT notBefore=now on {principal}, then POST push-revocation"),
            &["Keycloak refuses refresh and offline tokens issued before now, and its introspection reports older tokens inactive"],
            &["resource servers that validate JWTs themselves and have no admin URL keep accepting older access tokens until they expire", "sessions are not ended: a user with a browser session gets new tokens without logging in"],
            "introspection of older tokens must answer inactive (the not-before is read back)",
            // A second push moves the cut-off and kills tokens issued since the first: never resend.
            ResendPolicy::Never,
        ),
        TargetSpec::Login { .. } => ready(
            "POST /admin/realms/REALM/users/USER/logout".into(),
            &["all the user's sessions end and Keycloak sets the user's not-before: its introspection and userinfo refuse older tokens"],
            &[KC_TOKENS_STAY, "offline tokens are not ended: revoke the user's consents", "the user can log in again: disable the user to prevent that"],
            "the user must have no sessions left",
            ResendPolicy::Idempotent,
        ),
        TargetSpec::Grant { grant } => ready(
            format!("DELETE the {} → {} mapping (Admin API)", grant.from_id, grant.to_id),
            &["the membership, role mapping or consent goes", gone_ok],
            &["tokens already issued keep the roles until they expire", "the same role may still come through a group or a composite role"],
            "the mapping must be gone and the effective roles re-read",
            ResendPolicy::Idempotent,
        ),
        TargetSpec::Token { .. } if has_value => ready(
            "introspect, then POST the realm's revocation endpoint (RFC 7009)".into(),
            &["the token is revoked (Keycloak does this only for the client it was issued to)"],
            &[KC_TOKENS_STAY],
            "introspection must answer active:false",
            ResendPolicy::Idempotent,
        ),
        TargetSpec::Token { .. } => needs_value(
            "Keycloak",
            &["delete the user's session, revoke the user's consent to the client, or push a not-before for the client"],
        ),
    }
}

const KONG_CACHE: &str = "Kong nodes cache credentials: other nodes and data planes stop accepting it once the change propagates, usually within seconds";

fn kong(spec: &TargetSpec) -> Knowledge {
    match spec {
        TargetSpec::Credential { kind, external_id } => ready(
            format!("DELETE /consumers/CONSUMER/PLUGIN/{external_id} (located first through the global collections)"),
            &[if *kind == CredentialKind::AccessToken {
                "the OAuth 2.0 token and its refresh token are deleted"
            } else {
                "the credential is deleted: requests signed or keyed with it are refused"
            }],
            &[KONG_CACHE, "the consumer keeps its other credentials"],
            "Kong must answer 404 for the credential",
            // A second DELETE answers 404: verify first, resend only if still there.
            ResendPolicy::VerifyFirst,
        ),
        TargetSpec::Grant { grant } if grant.to_id.starts_with("acl/") || grant.to_id.starts_with("consumer_group/") => ready(
            format!("DELETE /consumers/{}/… {}", grant.from_id, grant.to_id),
            &["the consumer leaves the ACL group or consumer group"],
            &[KONG_CACHE, "the consumer keeps what its other groups allow"],
            "the consumer's groups must no longer list it",
            ResendPolicy::VerifyFirst,
        ),
        TargetSpec::Grant { grant } => blocked(
            Readiness::Unsupported,
            format!("`{} → {}` is in a plugin's configuration", grant.from_id, grant.to_id),
            &["edit the acl plugin's allow/deny lists"],
        ),
        TargetSpec::Token { .. } | TargetSpec::Login { .. } => blocked(
            Readiness::Unsupported,
            "Kong revokes credentials by id only; consumers have no login".into(),
            &["revoke each of the consumer's credentials"],
        ),
    }
}

fn gitlab(spec: &TargetSpec) -> Knowledge {
    match spec {
        TargetSpec::Credential { external_id, .. } => ready(
            format!("DELETE /personal_access_tokens/{external_id}"),
            &["the token (personal, project or group access token) is revoked: GitLab refuses it at once, for the API and for Git over HTTPS"],
            &[
                "the user keeps their other tokens, SSH keys and browser sessions",
                "tokens rotated from this one earlier are separate tokens and stay valid",
            ],
            "GET /personal_access_tokens/ID must answer revoked or inactive (or 404)",
            // Revoking twice answers an error, never harm: verify first all the same.
            ResendPolicy::VerifyFirst,
        ),
        TargetSpec::Login { principal } => ready(
            format!("POST /users/{principal}/block"),
            &["the user cannot sign in, and GitLab refuses their tokens and SSH keys while blocked"],
            &["unblocking the user restores their tokens: revoke the tokens too to end them for good"],
            "GET /users/ID must answer state \"blocked\"",
            ResendPolicy::Idempotent,
        ),
        TargetSpec::Grant { grant } if grant.to_id.starts_with("group:") || grant.to_id.starts_with("project:") => ready(
            format!("DELETE the membership of user {} in {}", grant.from_id, grant.to_id),
            &["the user leaves the group or project, with the rights of that membership"],
            &["memberships of parent groups and of other groups shared with it still grant their rights", "the user's tokens keep working within what is left"],
            "GET …/members/USER must answer 404",
            ResendPolicy::VerifyFirst,
        ),
        TargetSpec::Grant { grant } => blocked(
            Readiness::Unsupported,
            format!("`{} → {}` is not a membership (administrator status is an account setting)", grant.from_id, grant.to_id),
            &["remove administrator status from the user in GitLab's Admin area"],
        ),
        TargetSpec::Token { .. } => blocked(
            Readiness::Unsupported,
            "GitLab revokes a token by its id; Portcullis does not take token values here".into(),
            &["revoke it by its id from the credentials list"],
        ),
    }
}

/// Mirrors `crates/connectors/src/hoop/revoke.rs`: a credential's id says what it is.
fn hoop(spec: &TargetSpec) -> Knowledge {
    const REACTIVATE: &str = "an administrator can reactivate a revoked key in hoop";
    match spec {
        TargetSpec::Credential { external_id, .. } => match external_id.split_once(':') {
            Some((kind @ ("api-key" | "ai-agent"), id)) => ready(
                format!("DELETE /{kind}s/{id}"),
                &["hoop marks the key revoked and refuses it at once, for the API and for connections"],
                &[REACTIVATE, "sessions the key opened earlier are not killed: kill them too"],
                "GET /api-keys/ID (or /ai-agents/ID) must answer status \"revoked\"",
                ResendPolicy::Idempotent,
            ),
            Some(("review", id)) => ready(
                format!("PUT /reviews/{id} with status REVOKED"),
                &["the just-in-time access this approval gave ends: hoop refuses new connections under it"],
                &["a session already open under it is not killed: kill it too", "the user may ask for access again"],
                "GET /reviews/ID must answer status \"REVOKED\"",
                ResendPolicy::Idempotent,
            ),
            Some(("session", id)) => ready(
                format!("POST /sessions/{id}/kill"),
                &["the open session is ended at the gateway"],
                &["the user may open a new one while their groups allow it: revoke the approval or deactivate them to keep them out"],
                "GET /sessions/ID must answer status \"done\"",
                ResendPolicy::VerifyFirst,
            ),
            _ => blocked(
                Readiness::Unsupported,
                format!("`{external_id}` is not a hoop key, approval or session"),
                &["sync the backend again"],
            ),
        },
        TargetSpec::Login { principal } => ready(
            format!("set user or service account {principal} inactive (GET, then PUT with status inactive; a key is revoked)"),
            &["hoop refuses every request of an inactive user or service account"],
            &["open sessions are not killed: kill them too", "the identity provider's account is untouched"],
            "GET /users/ID (or the service account's listing) must answer status \"inactive\"",
            ResendPolicy::Idempotent,
        ),
        TargetSpec::Grant { grant }
            if grant.from_kind == NodeKind::Principal
                && grant.to_kind == NodeKind::Role
                && grant.to_id != portcullis_model::HOOP_EVERYONE =>
        {
            ready(
                format!("remove group {} from {} (GET the user or service account, then PUT it back without the group)", grant.to_id, grant.from_id),
                &["the principal leaves the group, and the connections the group opened to it"],
                &["its other groups may still open the same connections", "open sessions are not killed: kill them too", "an API key's groups are not changed this way: revoke the key"],
                "the user's or service account's groups must no longer list the group",
                ResendPolicy::Idempotent,
            )
        }
        TargetSpec::Grant { grant } => blocked(
            Readiness::Unsupported,
            format!("`{} → {}` is a connection's access control or hoop's own (everyone while access control is off)", grant.from_id, grant.to_id),
            &["remove the group from the connection in hoop's access control", "deactivate the principal"],
        ),
        TargetSpec::Token { .. } => blocked(
            Readiness::Unsupported,
            "hoop revokes keys by id; Portcullis does not take key values here".into(),
            &["revoke it by its id from the credentials list"],
        ),
    }
}

fn github(spec: &TargetSpec) -> Knowledge {
    use portcullis_connectors::github::{credential_target, Target};
    let target = match spec {
        TargetSpec::Credential { external_id, .. } => credential_target(external_id),
        _ => None,
    };
    match target {
        Some(Target::PatGrant(id)) => ready(
            format!("POST /orgs/ORG/personal-access-tokens {{\"action\": \"revoke\", \"pat_ids\": [{id}]}}"),
            &["the fine-grained token's grant to this organisation is revoked: GitHub refuses it on the organisation's resources"],
            &[
                "the token itself lives on: it keeps its access to its owner's own repositories and to other organisations",
                "its owner can ask for access to this organisation again, with this token or another",
            ],
            "GET /orgs/ORG/personal-access-tokens must no longer list the grant",
            // Revoking a grant that is gone answers an error, never harm: verify first all the same.
            ResendPolicy::VerifyFirst,
        ),
        Some(Target::Sso(id)) => ready(
            format!("DELETE /orgs/ORG/credential-authorizations/{id}"),
            &["the credential's SAML SSO authorization is removed: it no longer reaches the organisation's SSO-protected resources"],
            &[
                "the classic token or SSH key itself is not revoked: it keeps working wherever SSO does not guard",
                "its owner can authorize it for SSO again",
            ],
            "GET /orgs/ORG/credential-authorizations must no longer list the credential",
            ResendPolicy::VerifyFirst,
        ),
        None => blocked(
            Readiness::Unsupported,
            "on GitHub Portcullis revokes fine-grained PAT grants and SSO credential authorizations only".into(),
            &[
                "remove the member, change their role or uninstall the app in the organisation's settings",
                "revoke each of the member's PAT grants and SSO authorizations",
            ],
        ),
    }
}

fn kubernetes(spec: &TargetSpec) -> Knowledge {
    match spec {
        TargetSpec::Credential { external_id, .. } => ready(
            format!("DELETE the legacy token Secret {external_id}"),
            &["the API server refuses the legacy token whose Secret is gone"],
            &["the ServiceAccount and its short-lived (TokenRequest) tokens are untouched", "pods that mounted the Secret keep the file, which no longer works"],
            "the Secret must be gone (404)",
            ResendPolicy::VerifyFirst,
        ),
        TargetSpec::Grant { grant } if grant.from_kind == NodeKind::Principal => ready(
            format!("PUT {} without subject {} (GET first; a concurrent change is retried once)", grant.to_id, grant.from_id),
            &["the subject loses what the binding granted"],
            &["other bindings may grant the same role to the subject or a group it belongs to: the verification asks a SubjectAccessReview"],
            "the subject must be gone from the binding and a SubjectAccessReview must answer allowed:false",
            ResendPolicy::VerifyFirst,
        ),
        TargetSpec::Grant { grant } => ready(
            format!("DELETE binding {}", grant.from_id),
            &["every subject of the binding loses what it granted"],
            &[],
            "the binding must be gone (404)",
            ResendPolicy::VerifyFirst,
        ),
        TargetSpec::Token { .. } | TargetSpec::Login { .. } => blocked(
            Readiness::Unsupported,
            "Kubernetes cannot revoke a token by value and has no login to disable".into(),
            &["delete the legacy token Secret, or remove the subject from its bindings"],
        ),
    }
}

const AWS_STS_STAY: &str = "STS sessions already made with the key (AssumeRole, GetSessionToken) are not ended: they stay valid until they expire";

fn aws_iam(spec: &TargetSpec) -> Knowledge {
    match spec {
        TargetSpec::Credential { external_id, .. } => ready(
            format!("UpdateAccessKey Status=Inactive, then DeleteAccessKey (access key {external_id}; its user found with GetAccessKeyLastUsed)"),
            &[
                "the access key is deactivated first, so it stops signing requests even if the delete fails",
                "the access key is then deleted",
            ],
            &[
                AWS_STS_STAY,
                "the user keeps its other access keys, its console password and any role it may assume",
            ],
            "GetAccessKeyLastUsed must answer NoSuchEntity, or the user's ListAccessKeys must no longer list the key",
            // A second send finds no key (NoSuchEntity): verify first, resend only if still there.
            ResendPolicy::VerifyFirst,
        ),
        TargetSpec::Grant { grant } => blocked(
            Readiness::Unsupported,
            format!("Portcullis revokes AWS IAM access keys only; `{} → {}` is a group membership or policy attachment", grant.from_id, grant.to_id),
            &["remove the user from the group or detach the policy in IAM", "revoke the user's access keys"],
        ),
        TargetSpec::Token { .. } | TargetSpec::Login { .. } => blocked(
            Readiness::Unsupported,
            "AWS IAM revokes access keys by their AccessKeyId; it cannot look a key up by its secret, and a console login is not a key".into(),
            &["revoke each of the user's access keys", "delete the user's login profile in IAM"],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_model::Grant;

    fn token(kind: CredentialKind) -> TargetSpec {
        TargetSpec::Token {
            fingerprint: "f".repeat(64),
            kind: Some(kind),
        }
    }

    #[test]
    fn oauth2_tokens_without_their_value_say_so_and_say_what_else_there_is() {
        let k = knowledge(
            BackendKind::Oauth2,
            &token(CredentialKind::RefreshToken),
            false,
        );
        assert_eq!(k.readiness, Readiness::NeedsTokenValue);
        let reason = k.blocked_reason.unwrap();
        assert!(
            reason.contains("RFC 7009") && reason.contains("--tokens-from"),
            "{reason}"
        );
        assert!(
            k.alternatives[0].contains("no admin API"),
            "{:?}",
            k.alternatives
        );

        let k = knowledge(
            BackendKind::Oauth2,
            &token(CredentialKind::RefreshToken),
            true,
        );
        assert_eq!(k.readiness, Readiness::Ready);
        assert!(k.will[0].contains("grant"), "{:?}", k.will);
        assert!(k.will_not.iter().any(|w| w.contains("JWT")));
        let k = knowledge(
            BackendKind::Oauth2,
            &token(CredentialKind::AccessToken),
            true,
        );
        assert!(k.will_not[0].contains("refresh token"), "{:?}", k.will_not);
    }

    #[test]
    fn every_ready_item_says_how_it_is_verified_and_what_it_does_not_do() {
        let grant = |to_kind, to: &str| TargetSpec::Grant {
            grant: Grant {
                from_kind: NodeKind::Principal,
                from_id: "alice".into(),
                to_kind,
                to_id: to.into(),
            },
        };
        let cases = [
            (
                BackendKind::Vault,
                TargetSpec::Credential {
                    kind: CredentialKind::Accessor,
                    external_id: "acc".into(),
                },
            ),
            (
                BackendKind::Postgres,
                TargetSpec::Credential {
                    kind: CredentialKind::Session,
                    external_id: "session:42:1700000000".into(),
                },
            ),
            (
                BackendKind::Postgres,
                TargetSpec::Credential {
                    kind: CredentialKind::Login,
                    external_id: "login:alice".into(),
                },
            ),
            (
                BackendKind::Postgres,
                grant(NodeKind::Principal, "billing_write"),
            ),
            (
                BackendKind::Postgres,
                grant(NodeKind::Permission, "table:billing.invoices:SELECT"),
            ),
            (
                BackendKind::Keycloak,
                TargetSpec::Login {
                    principal: "u1".into(),
                },
            ),
            (
                BackendKind::Keycloak,
                TargetSpec::Credential {
                    kind: CredentialKind::Session,
                    external_id: "u1/s1".into(),
                },
            ),
            (
                BackendKind::Kong,
                TargetSpec::Credential {
                    kind: CredentialKind::ApiKey,
                    external_id: "k1".into(),
                },
            ),
            (
                BackendKind::Kubernetes,
                grant(NodeKind::Role, "ClusterRoleBinding/x"),
            ),
            (
                BackendKind::AwsIam,
                TargetSpec::Credential {
                    kind: CredentialKind::ApiKey,
                    external_id: "AKIAEXAMPLE".into(),
                },
            ),
        ];
        for (kind, spec) in cases {
            let k = knowledge(kind, &spec, false);
            assert_eq!(k.readiness, Readiness::Ready, "{kind:?} {spec:?}");
            assert!(
                !k.verify.is_empty() && !k.will.is_empty(),
                "{kind:?} {spec:?}"
            );
            assert!(!k.action.is_empty());
        }
        let nologin = knowledge(
            BackendKind::Postgres,
            &TargetSpec::Login {
                principal: "alice".into(),
            },
            false,
        );
        assert_eq!(nologin.action, "ALTER ROLE alice NOLOGIN");
        let aws = knowledge(
            BackendKind::AwsIam,
            &TargetSpec::Credential {
                kind: CredentialKind::ApiKey,
                external_id: "AKIAEXAMPLE".into(),
            },
            false,
        );
        assert!(aws
            .action
            .starts_with("UpdateAccessKey Status=Inactive, then DeleteAccessKey"));
        assert!(
            aws.will_not.iter().any(|w| w.contains("STS sessions")),
            "{:?}",
            aws.will_not
        );
        assert!(nologin.will_not[0].contains("sessions already open"));
    }

    #[test]
    fn github_says_the_token_lives_on_and_blocks_what_it_cannot_revoke() {
        let cred = |id: &str| TargetSpec::Credential {
            kind: CredentialKind::Pat,
            external_id: id.into(),
        };
        let grant = knowledge(BackendKind::GitHub, &cred("pat-grant:25381"), false);
        assert_eq!(grant.readiness, Readiness::Ready);
        assert!(
            grant.action.contains("\"pat_ids\": [25381]"),
            "{}",
            grant.action
        );
        assert!(grant.will_not.iter().any(|w| w.contains("lives on")));
        let sso = knowledge(BackendKind::GitHub, &cred("sso:161195"), false);
        assert_eq!(
            sso.action,
            "DELETE /orgs/ORG/credential-authorizations/161195"
        );
        assert!(sso.will_not.iter().any(|w| w.contains("not revoked")));
        for spec in [
            cred("25381"),
            TargetSpec::Login {
                principal: "octocat".into(),
            },
        ] {
            let k = knowledge(BackendKind::GitHub, &spec, false);
            assert_eq!(k.readiness, Readiness::Unsupported, "{spec:?}");
            assert!(!k.alternatives.is_empty());
        }
    }

    #[test]
    fn what_cannot_be_revoked_is_blocked_with_an_alternative() {
        let k = knowledge(
            BackendKind::Vault,
            &TargetSpec::Login {
                principal: "alice".into(),
            },
            false,
        );
        assert_eq!(k.readiness, Readiness::Unsupported);
        assert!(k.alternatives.iter().any(|a| a.contains("entity")));
        let owner = TargetSpec::Grant {
            grant: Grant {
                from_kind: NodeKind::Principal,
                from_id: "acme_owner".into(),
                to_kind: NodeKind::Permission,
                to_id: "table:billing.invoices:OWNER".into(),
            },
        };
        assert_eq!(
            knowledge(BackendKind::Postgres, &owner, false).readiness,
            Readiness::Unsupported
        );
        let not_before = TargetSpec::Login {
            principal: "client:app".into(),
        };
        assert_eq!(
            knowledge(BackendKind::Keycloak, &not_before, false).resend,
            ResendPolicy::Never
        );
    }
}
