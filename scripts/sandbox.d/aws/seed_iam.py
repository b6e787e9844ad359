#!/usr/bin/env python3
"""Seeds the sandbox's moto_server (AWS IAM) with Acme's AWS account, through real SigV4-signed
calls (boto3), then turns moto's IAM enforcement on and adds an "aws" section to sandbox.json.

Run by scripts/sandbox with the moto venv's python (.cache/venv-moto, which has boto3). Environment:
PORTCULLIS_SANDBOX_DIR, PORTCULLIS_MOTO_PORT.

The organisation (who has what is written here, not inferred from names):
- users: the console's own user (an inline policy granting exactly what `backend check` asks for),
  an administrator (AdministratorAccess-like inline policy; its key is for tests' setup only),
  four people and two service users, each with an access key; some keys sign requests so that
  moto records their last use, one is never used, one is Inactive;
- groups with customer managed policies using Allow and Deny, `*` wildcards, NotAction and
  NotResource; an inline Deny on one user; a role with a trust policy and an attached policy.
Every key's last use is checked after the activity: a mismatch aborts the seeding.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

STATE = Path(os.environ["PORTCULLIS_SANDBOX_DIR"]).resolve()
PORT = int(os.environ.get("PORTCULLIS_MOTO_PORT", "5050"))
ENDPOINT = f"http://127.0.0.1:{PORT}"
REGION = "us-east-1"

# The console's rights: the same list as crates/connectors/src/aws_iam/mod.rs RIGHTS (the
# connector test `check_names_every_right_and_holds_them` fails if they drift apart).
CONSOLE_ACTIONS = [
    "iam:GetUser", "iam:ListUsers", "iam:ListGroups", "iam:ListRoles", "iam:ListGroupsForUser",
    "iam:ListAttachedUserPolicies", "iam:ListUserPolicies", "iam:GetUserPolicy",
    "iam:ListAttachedGroupPolicies", "iam:ListGroupPolicies", "iam:GetGroupPolicy",
    "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:GetPolicy",
    "iam:GetPolicyVersion", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed",
    "iam:UpdateAccessKey", "iam:DeleteAccessKey",
]


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


POLICIES = {
    # Developers: read IAM, everything on their buckets, never delete anything in IAM.
    "acme-developers": doc(
        {"Sid": "ReadIam", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {"Sid": "DevBuckets", "Effect": "Allow", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::acme-dev-*", "arn:aws:s3:::acme-dev-*/*"]},
        {"Sid": "NoIamDeletes", "Effect": "Deny", "Action": "iam:Delete*", "Resource": "*"},
    ),
    # Auditors: everything except IAM itself, and read-only IAM users (single-character wildcard).
    "acme-auditors": doc(
        {"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Sid": "ListUsers", "Effect": "Allow", "Action": "iam:List?sers", "Resource": "*"},
    ),
    # Releases: write to the release bucket only; a Deny on every other bucket via NotResource.
    "acme-release": doc(
        {"Sid": "Put", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": "arn:aws:s3:::acme-releases/*"},
        {"Sid": "OnlyReleases", "Effect": "Deny", "Action": "s3:*",
         "NotResource": ["arn:aws:s3:::acme-releases", "arn:aws:s3:::acme-releases/*"]},
    ),
}

# user → (groups, managed policies attached to the user, inline policies, keys: list of
# (status, signs requests?))
USERS = {
    "rhea": (["developers"], [], {}, [("Active", True)]),
    "tomasz": (["auditors"], [], {}, [("Active", True)]),
    "ines": (["developers"], [], {
        "no-keys-for-others": doc({"Sid": "OwnKeysOnly", "Effect": "Deny",
                                   "Action": ["iam:CreateAccessKey", "iam:UpdateAccessKey"],
                                   "NotResource": "arn:aws:iam::*:user/ines"}),
    }, [("Active", False)]),
    "oskar": ([], [], {}, [("Active", True), ("Inactive", False)]),
    "svc-release": ([], ["acme-release"], {}, [("Active", True)]),
    "svc-legacy-ci": ([], [], {
        "everything": doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    }, [("Active", False)]),
}
GROUPS = {"developers": ["acme-developers"], "auditors": ["acme-auditors"]}
ROLES = {
    "release-deployer": (
        doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/svc-release"},
             "Action": "sts:AssumeRole"}),
        ["acme-release"],
        {"read-logs": doc({"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"})},
    ),
}


class SeedError(Exception):
    pass


def log(msg: str) -> None:
    print(f"seed-iam: {msg}", file=sys.stderr, flush=True)


def client(key_id: str, secret: str, service: str = "iam"):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION,
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


def moto_api(path: str, data: bytes | None = None) -> bytes:
    # text/plain: Flask would parse a form body away from request.data.
    req = urllib.request.Request(f"{ENDPOINT}/moto-api/{path}", data=data,
                                 headers={"Content-Type": "text/plain"},
                                 method="POST" if data is not None else "GET")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


def seed() -> dict:
    boot = client("AKIDBOOTSTRAP0000000", "bootstrap")
    boot.create_user(UserName="acme-admin")
    boot.put_user_policy(UserName="acme-admin", PolicyName="admin",
                         PolicyDocument=doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    admin_key = boot.create_access_key(UserName="acme-admin")["AccessKey"]
    iam = client(admin_key["AccessKeyId"], admin_key["SecretAccessKey"])
    account = client(admin_key["AccessKeyId"], admin_key["SecretAccessKey"], "sts") \
        .get_caller_identity()["Account"]

    iam.create_user(UserName="portcullis-console")
    iam.put_user_policy(UserName="portcullis-console", PolicyName="portcullis-console",
                        PolicyDocument=doc({"Sid": "PortcullisConsole", "Effect": "Allow",
                                            "Action": CONSOLE_ACTIONS, "Resource": "*"}))
    console_key = iam.create_access_key(UserName="portcullis-console")["AccessKey"]

    arns = {}
    for name, document in POLICIES.items():
        arns[name] = iam.create_policy(PolicyName=name, PolicyDocument=document)["Policy"]["Arn"]
    for group, policies in GROUPS.items():
        iam.create_group(GroupName=group)
        for p in policies:
            iam.attach_group_policy(GroupName=group, PolicyArn=arns[p])
    for role, (trust, managed, inline) in ROLES.items():
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
        for p in managed:
            iam.attach_role_policy(RoleName=role, PolicyArn=arns[p])
        for pname, document in inline.items():
            iam.put_role_policy(RoleName=role, PolicyName=pname, PolicyDocument=document)

    keys: dict[str, list[dict]] = {}
    for user, (groups, managed, inline, key_specs) in USERS.items():
        iam.create_user(UserName=user)
        for g in groups:
            iam.add_user_to_group(GroupName=g, UserName=user)
        for p in managed:
            iam.attach_user_policy(UserName=user, PolicyArn=arns[p])
        for pname, document in inline.items():
            iam.put_user_policy(UserName=user, PolicyName=pname, PolicyDocument=document)
        for status, signs in key_specs:
            k = iam.create_access_key(UserName=user)["AccessKey"]
            if signs:
                # A real signed request with the user's own key: moto records its last use.
                client(k["AccessKeyId"], k["SecretAccessKey"]).get_user()
            if status != "Active":
                iam.update_access_key(UserName=user, AccessKeyId=k["AccessKeyId"], Status=status)
            keys.setdefault(user, []).append(
                {"id": k["AccessKeyId"], "status": status, "used": signs})

    for user, ks in keys.items():
        for k in ks:
            used = iam.get_access_key_last_used(AccessKeyId=k["id"])["AccessKeyLastUsed"]
            if bool(used.get("LastUsedDate")) != k["used"]:
                raise SeedError(f"{user}'s key {k['id']}: moto says last used {used}, expected used={k['used']}")
    log(f"{len(USERS) + 2} users, {len(GROUPS)} groups, {len(ROLES)} roles, "
        f"{sum(len(v) for v in keys.values())} people's keys")

    # From now on every request must be signed by a key moto knows and allowed by its policies.
    moto_api("reset-auth", b"0")
    try:
        client(console_key["AccessKeyId"], console_key["SecretAccessKey"]).create_user(UserName="x")
        raise SeedError("moto's IAM enforcement is not on: the console could create a user")
    except iam.exceptions.ClientError as err:
        if err.response["Error"]["Code"] != "AccessDenied":
            raise
    return {
        "url": f"http://{console_key['AccessKeyId']}@127.0.0.1:{PORT}",
        "endpoint": ENDPOINT,
        "account_id": account,
        "access_key_id": console_key["AccessKeyId"],
        "secret_access_key": console_key["SecretAccessKey"],
        "admin_access_key_id": admin_key["AccessKeyId"],
        "admin_secret_access_key": admin_key["SecretAccessKey"],
        "keys": keys,
    }


def main() -> int:
    try:
        aws = seed()
    except SeedError as err:
        print(f"seed-iam: FAILED: {err}", file=sys.stderr)
        return 1
    path = STATE / "sandbox.json"
    sandbox = json.loads(path.read_text())
    sandbox["aws"] = aws
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(sandbox, indent=2) + "\n")
    os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
