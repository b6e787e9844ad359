#!/usr/bin/env python3
"""Seeds the Portcullis sandbox from seed.toml (stdlib only).

  seed.py check    verifies that seed.toml is consistent (expected findings follow from the rules)
  seed.py render   checks, then writes the servers' configuration and random secrets to the state dir
  seed.py seed     seeds the running servers, generates the activity of seed.toml, writes sandbox.json

Environment: PORTCULLIS_SANDBOX_DIR (state dir), PORTCULLIS_OIDC_PORT, PORTCULLIS_BAO_PORT,
PORTCULLIS_PG_PORT (all set by scripts/sandbox). Every outcome listed in seed.toml (allow/deny) is
checked; a mismatch aborts with a message naming the backend and the activity.
"""
from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.cookiejar import CookieJar
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = tomllib.loads((HERE / "seed.toml").read_text())
STATE = Path(os.environ.get("PORTCULLIS_SANDBOX_DIR", HERE.parent.parent / ".cache" / "sandbox")).resolve()
OIDC_PORT = int(os.environ.get("PORTCULLIS_OIDC_PORT", "9400"))
BAO_PORT = int(os.environ.get("PORTCULLIS_BAO_PORT", "8200"))
PG_PORT = int(os.environ.get("PORTCULLIS_PG_PORT", "55432"))
HOST = "127.0.0.1"
ISSUER = f"http://{HOST}:{OIDC_PORT}"
BAO_URL = f"http://{HOST}:{BAO_PORT}"
SECRETS_FILE = STATE / "secrets.json"
PEOPLE = {p["name"]: p for p in SEED["people"]}
DISABLED = [p["name"] for p in SEED["people"] if not p["enabled"]]


class SeedError(Exception):
    pass


def log(msg: str) -> None:
    print(f"seed: {msg}", file=sys.stderr, flush=True)


def random_secret(n: int = 24) -> str:
    return secrets.token_urlsafe(n)


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Writes a file that only its owner may read, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def seconds(duration: str) -> int:
    m = re.fullmatch(r"(\d+)([smhd])", duration)
    if not m:
        raise SeedError(f"bad duration {duration!r}")
    return int(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]


def phase_of(entry: dict) -> str:
    return entry.get("phase", "normal")


def check(backend: str, what: str, expect: str, outcome: str, detail: str = "") -> None:
    if outcome != expect:
        raise SeedError(f"{backend}: {what}: expected {expect}, got {outcome} {detail}".rstrip())


# --------------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------------
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def http(method: str, url: str, *, headers: dict | None = None, form: dict | None = None,
         body: dict | None = None, opener=None) -> tuple[int, dict, bytes]:
    data = None
    headers = dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    opener = opener or urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def json_of(raw: bytes) -> dict:
    return json.loads(raw) if raw else {}


# --------------------------------------------------------------------------------------------------
# render: configuration files and secrets
# --------------------------------------------------------------------------------------------------
def render() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    now = int(time.time())
    sec = {
        "oidc_clients": {c["client_id"]: random_secret() for c in SEED["oidc"]["clients"]},
        "bao_root_token": "root-" + random_secret(),
        "bao_userpass": {u["person"]: random_secret() for u in SEED["openbao"]["users"]},
        "pg_superuser": random_secret(),
        "pg_roles": {r["name"]: random_secret() for r in SEED["postgres"]["login_roles"]},
        "pg_console": random_secret(),
    }
    write_private(SECRETS_FILE, json.dumps(sec, indent=2))

    # OIDC
    oidc_dir = STATE / "oidc"
    clients = []
    for c in SEED["oidc"]["clients"]:
        expires = c.get("secret_expires", "none")
        clients.append({
            "client_id": c["client_id"],
            "client_secret": sec["oidc_clients"][c["client_id"]],
            "kind": c["kind"],
            "scopes": c["scopes"],
            "secret_expires_at": 0 if expires == "none" else now + seconds(expires),
            "access_token_ttl": seconds(c["access_token_ttl"]) if "access_token_ttl" in c else None,
            "refresh_token_ttl": seconds(c["refresh_token_ttl"]) if "refresh_token_ttl" in c else None,
            "redirect_uris": [f"{ISSUER}/seed-callback/{c['client_id']}"],
        })
    config = {
        "issuer": ISSUER,
        "port": OIDC_PORT,
        "resource": SEED["oidc"]["resource"],
        "scopes": [s["name"] for s in SEED["oidc"]["scopes"]],
        "clients": clients,
        "accounts_file": str(oidc_dir / "accounts.json"),
        "event_log": str(oidc_dir / "oidc-events.jsonl"),
    }
    write_private(oidc_dir / "config.json", json.dumps(config, indent=2))
    write_accounts(disabled=[])  # offboarding happens after the normal-phase activity

    # OpenBao: the audit device must be declared in the config file (2.x refuses it over the API).
    bao_dir = STATE / "bao"
    bao_dir.mkdir(parents=True, exist_ok=True)
    (bao_dir / "bao.hcl").write_text(
        "# rendered by seed.py\n"
        f'api_addr = "{BAO_URL}"\n'
        "# no cluster listener: it would take the port after ours (8201 is the test sandbox's)\n"
        "disable_clustering = true\n"
        "# lets seed.toml issue 10-year (never-expiring in practice) service tokens\n"
        'max_lease_ttl = "87600h"\n'
        'audit "file" "file" {\n'
        "  options {\n"
        f'    file_path = "{bao_dir / "audit.log"}"\n'
        "  }\n"
        "}\n"
    )
    write_private(bao_dir / "root-token", sec["bao_root_token"])

    # PostgreSQL: the superuser password file is read by initdb (running as the postgres user).
    pg_dir = STATE / "pg"
    pg_dir.mkdir(parents=True, exist_ok=True)
    write_private(pg_dir / "superuser-password", sec["pg_superuser"] + "\n")


def write_accounts(disabled: list[str]) -> None:
    accounts = [{
        "id": p["name"],
        "name": p["full_name"],
        "email": f"{p['name']}@acme.test",
        "team": p["team"],
        "enabled": p["name"] not in disabled,
    } for p in SEED["people"]]
    write_private(STATE / "oidc" / "accounts.json", json.dumps(accounts, indent=2))


def load_secrets() -> dict:
    return json.loads(SECRETS_FILE.read_text())


# --------------------------------------------------------------------------------------------------
# OIDC
# --------------------------------------------------------------------------------------------------
class Oidc:
    def __init__(self, sec: dict):
        self.sec = sec
        self.cfg = SEED["oidc"]
        self.clients = {c["client_id"]: c for c in self.cfg["clients"]}
        self.creds = {c["name"]: c for c in self.cfg["credentials"]}
        self.tokens: dict[str, dict] = {}

    def basic(self, client_id: str) -> dict:
        raw = f"{client_id}:{self.sec['oidc_clients'][client_id]}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def token_request(self, client_id: str, form: dict) -> tuple[int, dict]:
        status, _, raw = http("POST", f"{ISSUER}/token", headers=self.basic(client_id),
                              form={"resource": self.cfg["resource"], **form})
        return status, json_of(raw)

    def client_credentials(self, client_id: str, scopes: list[str]) -> tuple[int, dict]:
        return self.token_request(client_id, {"grant_type": "client_credentials", "scope": " ".join(scopes)})

    def refresh(self, client_id: str, refresh_token: str) -> tuple[int, dict]:
        return self.token_request(client_id, {"grant_type": "refresh_token", "refresh_token": refresh_token})

    def login_and_consent(self, client_id: str, person: str, scopes: list[str]) -> dict:
        """Authorization code flow through devInteractions; returns the token response."""
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
        redirect_uri = f"{ISSUER}/seed-callback/{client_id}"
        query = urllib.parse.urlencode({
            "client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri,
            "scope": " ".join(["openid", "offline_access", *scopes]), "prompt": "consent",
            "resource": self.cfg["resource"], "state": random_secret(8), "nonce": random_secret(8),
        })
        url = f"{ISSUER}/auth?{query}"
        status, headers, body = http("GET", url, opener=opener)
        for _ in range(10):
            if status not in (302, 303):
                raise SeedError(f"oidc: login of {person} to {client_id}: HTTP {status} {body[:300]!r}")
            location = urllib.parse.urljoin(url, headers["Location"])
            if location.startswith(redirect_uri):
                params = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
                if "code" not in params:
                    raise SeedError(f"oidc: login of {person} to {client_id}: {params}")
                status, tokens = self.token_request(client_id, {
                    "grant_type": "authorization_code", "code": params["code"][0], "redirect_uri": redirect_uri,
                })
                if status != 200 or "refresh_token" not in tokens:
                    raise SeedError(f"oidc: code exchange for {person}: HTTP {status} {tokens}")
                return tokens
            url = location
            status, headers, body = http("GET", url, opener=opener)
            if status == 200 and "/interaction/" in url:
                page = body.decode()
                prompt = re.search(r'name="prompt" value="(\w+)"', page)[1]
                action = urllib.parse.urljoin(url, re.search(r'<form[^>]*action="([^"]+)"', page)[1])
                form = {"prompt": prompt}
                if prompt == "login":
                    form.update(login=person, password="devinteractions-accepts-any")
                url = action
                status, headers, body = http("POST", url, form=form, opener=opener)
        raise SeedError(f"oidc: login of {person} to {client_id}: too many redirects")

    def issue(self) -> None:
        for cred in self.cfg["credentials"]:
            if cred["kind"] == "client_credentials":
                status, tok = self.client_credentials(cred["client"], cred["scopes"])
                if status != 200:
                    raise SeedError(f"oidc: client_credentials for {cred['name']}: HTTP {status} {tok}")
                value = tok["access_token"]
            else:
                value = self.login_and_consent(cred["client"], cred["principal"], cred["scopes"])["refresh_token"]
            self.tokens[cred["name"]] = {"backend": "oidc", "value": value, "accessor": None}
        log(f"oidc: issued {len(self.tokens)} credentials")

    def gateway_use(self, access_token: str, scope: str) -> str:
        status, _, raw = http("POST", f"{ISSUER}/token/introspection",
                              headers={**self.basic(self.cfg["gateway_client"]), "X-Acme-Scope-Used": scope},
                              form={"token": access_token})
        if status != 200:
            raise SeedError(f"oidc: gateway introspection: HTTP {status} {raw[:200]!r}")
        body = json_of(raw)
        return "allow" if body.get("active") and scope in body.get("scope", "").split() else "deny"

    def run_activity(self, phase: str) -> None:
        for act in (a for a in self.cfg["activity"] if phase_of(a) == phase):
            cred = self.creds[act["credential"]]
            raw_token = self.tokens[cred["name"]]["value"]
            what = f"{act['credential']} {act['use']} {act.get('scope', '')}".strip()
            for _ in range(act.get("times", 1)):
                if act["use"] == "gateway":
                    token = raw_token
                    if cred["kind"] == "refresh_token":
                        status, tok = self.refresh(cred["client"], raw_token)
                        if status != 200:
                            raise SeedError(f"oidc: refresh for {what}: HTTP {status} {tok}")
                        token = tok["access_token"]
                    outcome = self.gateway_use(token, act["scope"])
                elif act["use"] == "token":
                    status, _ = self.client_credentials(cred["client"], [act["scope"]])
                    outcome = "allow" if status == 200 else "deny"
                elif act["use"] == "refresh":
                    status, _ = self.refresh(cred["client"], raw_token)
                    outcome = "allow" if status == 200 else "deny"
                else:
                    raise SeedError(f"oidc: unknown use {act['use']!r}")
                check("oidc", what, act["expect"], outcome)

    def disable(self) -> None:
        write_accounts(disabled=DISABLED)


# --------------------------------------------------------------------------------------------------
# OpenBao
# --------------------------------------------------------------------------------------------------
class Bao:
    def __init__(self, sec: dict):
        self.sec = sec
        self.cfg = SEED["openbao"]
        self.root = sec["bao_root_token"]
        self.tokens: dict[str, dict] = {}
        self.entities: dict[str, str] = {}
        self.console: dict = {}

    def call(self, method: str, path: str, token: str | None = None, body: dict | None = None,
             ok: tuple[int, ...] = (200, 204)) -> dict:
        status, raw = self.raw(method, path, token, body)
        if status not in ok:
            raise SeedError(f"openbao: {method} {path}: HTTP {status} {raw[:300]!r}")
        return json_of(raw)

    def raw(self, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, bytes]:
        status, _, raw = http(method, f"{BAO_URL}/v1/{path}", headers={"X-Vault-Token": token or self.root}, body=body)
        return status, raw

    def setup(self) -> None:
        mount = self.cfg["kv_mount"]
        for policy in self.cfg["policies"]:
            self.call("PUT", f"sys/policies/acl/{policy['name']}", body={"policy": policy["rules"]})
        for secret in self.cfg["secrets"]:
            data = {k: random_secret(16) for k in secret["keys"]}
            self.call("POST", f"{mount}/data/{secret['path']}", body={"data": data})

        up = self.cfg["userpass_mount"]
        self.call("POST", f"sys/auth/{up}", body={"type": "userpass", "description": "Acme people"})
        accessor = self.call("GET", "sys/auth")["data"][f"{up}/"]["accessor"]
        for user in self.cfg["users"]:
            person = PEOPLE[user["person"]]
            self.call("POST", f"auth/{up}/users/{person['name']}", body={
                "password": self.sec["bao_userpass"][person["name"]],
                "token_policies": user["policies"],
            })
            entity = self.call("POST", "identity/entity", body={
                "name": person["name"],
                "metadata": {"full_name": person["full_name"], "team": person["team"]},
            })["data"]["id"]
            self.call("POST", "identity/entity-alias", body={
                "name": person["name"], "canonical_id": entity, "mount_accessor": accessor,
            })
            self.entities[person["name"]] = entity

        # The console's own token: orphan, least privilege, expiring.
        auth = self.call("POST", "auth/token/create-orphan", body={
            "policies": [self.cfg["console_policy"]], "no_default_policy": True,
            "ttl": self.cfg["console_token_ttl"], "renewable": True,
            "display_name": "portcullis-console", "meta": {"principal": "portcullis-console"},
        })["auth"]
        self.console = {"token": auth["client_token"], "accessor": auth["accessor"]}

        for tok in self.cfg["tokens"]:
            body = {
                "policies": tok["policies"], "display_name": tok["name"], "renewable": True,
                "meta": {"principal": tok["principal"], "credential": tok["name"]},
            }
            if "period" in tok:
                body["period"] = tok["period"]
            else:
                body["ttl"] = tok["ttl"]
            path = "auth/token/create-orphan" if tok.get("orphan") else "auth/token/create"
            auth = self.call("POST", path, body=body)["auth"]
            self.tokens[tok["name"]] = {"backend": "openbao", "value": auth["client_token"], "accessor": auth["accessor"]}

        for user in self.cfg["users"]:
            if not user.get("login_credential"):
                continue
            name = user["person"]
            auth = self.call("POST", f"auth/{up}/login/{name}", token="",
                             body={"password": self.sec["bao_userpass"][name]})["auth"]
            self.tokens[user["login_credential"]] = {
                "backend": "openbao", "value": auth["client_token"], "accessor": auth["accessor"],
            }
        log(f"openbao: {len(self.cfg['policies'])} policies, {len(self.cfg['users'])} users, {len(self.tokens)} tokens")

    def run_activity(self, phase: str) -> None:
        mount = self.cfg["kv_mount"]
        for act in (a for a in self.cfg["activity"] if phase_of(a) == phase):
            token = self.tokens[act["credential"]]["value"]
            what = f"{act['credential']} {act['op']} {act['path']}"
            for _ in range(act.get("times", 1)):
                if act["op"] == "read":
                    status, raw = self.raw("GET", f"{mount}/data/{act['path']}", token)
                elif act["op"] == "write":
                    status, raw = self.raw("POST", f"{mount}/data/{act['path']}", token,
                                           {"data": {"rotated_at": datetime.now(timezone.utc).isoformat()}})
                elif act["op"] == "list":
                    status, raw = self.raw("LIST", f"{mount}/metadata/{act['path']}", token)
                else:
                    raise SeedError(f"openbao: unknown op {act['op']!r}")
                outcome = "allow" if status in (200, 204) else "deny" if status == 403 else f"HTTP {status}"
                check("openbao", what, act["expect"], outcome, raw[:200].decode(errors="replace"))

    def disable(self) -> None:
        for name in DISABLED:
            if name in self.entities:
                self.call("POST", f"identity/entity/id/{self.entities[name]}", body={"disabled": True})


# --------------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------------
def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def valid_until(spec: str) -> str:
    if spec == "none":
        return ""
    if spec.startswith("+"):
        when = datetime.now(timezone.utc) + timedelta(days=seconds(spec[1:]) / 86400)
        return f" VALID UNTIL {sql_literal(when.strftime('%Y-%m-%d %H:%M:%S+00'))}"
    return f" VALID UNTIL {sql_literal(spec)}"


class Postgres:
    def __init__(self, sec: dict):
        self.sec = sec
        self.cfg = SEED["postgres"]
        self.db = self.cfg["database"]
        self.owner = self.cfg["owner"]

    def psql(self, sql: str, *, user: str = "postgres", password: str | None = None, db: str | None = None,
             app: str = "acme-seed", tuples_only: bool = False) -> subprocess.CompletedProcess:
        env = {**os.environ, "PGPASSWORD": password or self.sec["pg_superuser"], "PGAPPNAME": app,
               "PGCONNECT_TIMEOUT": "10"}
        return subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(PG_PORT), "-U", user,
             "-d", db or self.db, *(["-At"] if tuples_only else []), "-c", sql],
            env=env, capture_output=True, text=True, timeout=60,
        )

    def admin(self, sql: str, db: str | None = None, tuples_only: bool = False) -> str:
        res = self.psql(sql, db=db, tuples_only=tuples_only)
        if res.returncode != 0:
            raise SeedError(f"postgres: admin SQL failed: {res.stderr.strip()}\n  SQL: {sql[:300]}")
        return res.stdout

    def setup(self) -> None:
        owner, db = ident(self.owner), ident(self.db)
        self.admin(f"CREATE ROLE {owner} NOLOGIN; CREATE ROLE {ident(self.cfg['audit_role'])} NOLOGIN;", db="postgres")
        self.admin(f"CREATE DATABASE {db} OWNER {owner}", db="postgres")
        self.admin("CREATE EXTENSION pgaudit")
        schema = (HERE / "postgres" / "schema.sql").read_text()
        self.admin(f"SET ROLE {owner};\n{schema}")
        # Object audit: reads of card data are audited whoever does them.
        self.admin(f"SET ROLE {owner}; GRANT SELECT ON payments.cards TO {ident(self.cfg['audit_role'])}")

        stmts = []
        for group in self.cfg["group_roles"]:
            stmts.append(f"CREATE ROLE {ident(group['name'])} NOLOGIN")
        for group in self.cfg["group_roles"]:
            for parent in group.get("member_of", []):
                stmts.append(f"GRANT {ident(parent)} TO {ident(group['name'])}")
        self.admin(";\n".join(stmts))
        grants = [f"{g} TO {ident(group['name'])}" for group in self.cfg["group_roles"] for g in group["grants"]]
        self.admin(f"SET ROLE {owner};\n" + ";\n".join(grants))

        stmts = []
        for role in self.cfg["login_roles"]:
            attrs = " ".join(role.get("attributes", []))
            pw = sql_literal(self.sec["pg_roles"][role["name"]])
            stmts.append(f"CREATE ROLE {ident(role['name'])} LOGIN {attrs} PASSWORD {pw}{valid_until(role['valid_until'])}")
            for parent in role.get("member_of", []):
                stmts.append(f"GRANT {ident(parent)} TO {ident(role['name'])}")
        self.admin(";\n".join(stmts))
        self.setup_console()
        log(f"postgres: database {self.db}, {len(self.cfg['group_roles'])} group roles, "
            f"{len(self.cfg['login_roles'])} login roles")

    def setup_console(self) -> None:
        """The console role: see SEED.md ("How the console revokes in Postgres")."""
        console = ident(self.cfg["console_role"])
        pw = sql_literal(self.sec["pg_console"])
        self.admin(";\n".join([
            f"CREATE ROLE {console} LOGIN CREATEROLE PASSWORD {pw}{valid_until(self.cfg['console_valid_until'])}",
            f"GRANT pg_read_all_stats, pg_signal_backend TO {console}",
            f"GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text) TO {console}",
            f"GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text, bigint, bigint) TO {console}",
            f"GRANT EXECUTE ON FUNCTION pg_catalog.pg_current_logfile() TO {console}",
            f"GRANT EXECUTE ON FUNCTION pg_catalog.pg_current_logfile(text) TO {console}",
            f"GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_logdir() TO {console}",
            "CREATE ROLE portcullis_revoker NOLOGIN NOINHERIT",
            f"GRANT {ident(self.owner)} TO portcullis_revoker",
            f"GRANT portcullis_revoker TO {console}",
        ]))

    def run_activity(self, phase: str) -> None:
        for act in (a for a in self.cfg["activity"] if phase_of(a) == phase):
            role = act["role"]
            sql = act.get("sql", "SELECT 1")
            what = f"{role}: {act.get('sql', '(login)')}"
            for _ in range(act.get("times", 1)):
                res = self.psql(sql, user=role, password=self.sec["pg_roles"][role], app=f"acme-{role}")
                if res.returncode == 0:
                    outcome = "allow"
                elif re.search(r"permission denied|password authentication failed|not permitted to log in",
                               res.stderr):
                    outcome = "deny"
                else:
                    outcome = "error"
                check("postgres", what, act["expect"], outcome, res.stderr.strip())

    def open_sessions(self) -> None:
        """Long-lived idle sessions (psql running `\\watch 3600`), tracked by pid files."""
        pids = STATE / "pids"
        pids.mkdir(exist_ok=True)
        script = STATE / "pg" / "keepalive.sql"
        script.write_text("SELECT current_user AS keepalive \\watch 3600\n")
        for role in (r for r in self.cfg["login_roles"] if r.get("session") == "idle"):
            name = role["name"]
            logfile = open(STATE / "pg" / f"session-{name}.log", "w")
            env = {**os.environ, "PGPASSWORD": self.sec["pg_roles"][name], "PGAPPNAME": f"acme-{name}-worker"}
            proc = subprocess.Popen(
                ["psql", "-X", "-q", "-h", HOST, "-p", str(PG_PORT), "-U", name, "-d", self.db,
                 "-f", str(script)],
                env=env, stdin=subprocess.DEVNULL, stdout=logfile, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            (pids / f"pg-session-{name}.pid").write_text(f"{proc.pid}\n")
        self.await_sessions()

    def await_sessions(self) -> None:
        wanted = sorted(r["name"] for r in self.cfg["login_roles"] if r.get("session") == "idle")
        names = ",".join(sql_literal(n) for n in wanted)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            out = self.admin(f"SELECT count(DISTINCT usename) FROM pg_stat_activity "
                             f"WHERE usename IN ({names}) AND state = 'idle'", db="postgres", tuples_only=True)
            if out.strip() == str(len(wanted)):
                return
            time.sleep(0.1)
        raise SeedError(f"postgres: idle sessions of {wanted} did not appear in pg_stat_activity")

    def disable(self) -> None:
        roles = {r["principal"]: r["name"] for r in self.cfg["login_roles"]}
        stmts = [f"ALTER ROLE {ident(roles[p])} NOLOGIN" for p in DISABLED if p in roles]
        if stmts:
            self.admin(";\n".join(stmts))


# --------------------------------------------------------------------------------------------------
# check: recompute the expected findings from seed.toml (the rules of [review])
# --------------------------------------------------------------------------------------------------
TEN_YEARS = 3650 * 86400
BROAD_PG_ROLES = {"pg_read_all_data", "pg_write_all_data"}
BROAD_PG_ATTRIBUTES = ("CREATEROLE", "BYPASSRLS", "CREATEDB", "REPLICATION")


def enabled(principal: str) -> bool:
    return PEOPLE.get(principal, {}).get("enabled", True)


def allowed_uses(activity: list[dict], key: str) -> dict[str, set[str]]:
    """credential/role -> the grants its allowed activity exercised."""
    used: dict[str, set[str]] = {}
    for act in activity:
        if act["expect"] == "allow":
            used.setdefault(act[key], set()).add(act.get("uses", ""))
    return used


def derive_findings() -> set[tuple[str, str, str, str]]:
    found: set[tuple[str, str, str, str]] = set()

    def add(backend, kind, principal, subject):
        found.add((backend, kind, principal, subject))

    # OIDC
    o = SEED["oidc"]
    broad = {sc["name"] for sc in o["scopes"] if sc.get("broad")}
    used = allowed_uses(o["activity"], "credential")
    grants: dict[str, set[str]] = {}
    active: dict[str, set[str]] = {}
    for client in o["clients"]:
        if client.get("secret_expires", "none") == "none":
            add("oidc", "never_expiring_credential", client["principal"], f"client_secret:{client['client_id']}")
        if client["kind"] == "service":
            grants.setdefault(client["principal"], set()).update(client["scopes"])
    for cred in o["credentials"]:
        who = cred["principal"]
        if cred["kind"] == "refresh_token":
            grants.setdefault(who, set()).update(cred["scopes"])
        for scope in set(cred["scopes"]) & broad:
            add("oidc", "over_broad", who, scope)
        if cred["name"] in used:
            active.setdefault(who, set()).update(used[cred["name"]])
        if not enabled(who):
            add("oidc", "disabled_principal_live_credential", who, cred["name"])
        elif cred["name"] not in used:
            add("oidc", "stale_credential", who, cred["name"])
        if seconds(cred["ttl"]) >= TEN_YEARS:
            add("oidc", "never_expiring_credential", who, cred["name"])
    for who, uses in active.items():
        for scope in grants.get(who, set()) - uses:
            add("oidc", "unused_grant", who, scope)

    # OpenBao
    b = SEED["openbao"]
    admin_policies = {p["name"] for p in b["policies"] if p["breadth"] == "admin"}
    used = allowed_uses(b["activity"], "credential")
    grants, active = {}, {}
    for user in b["users"]:
        who, cred = user["person"], user.get("login_credential")
        grants.setdefault(who, set()).update(user["policies"])
        if cred in used:
            active.setdefault(who, set()).update(used[cred])
        if not enabled(who):
            if cred:
                add("openbao", "disabled_principal_live_credential", who, cred)
        elif not cred or cred not in used:
            add("openbao", "stale_credential", who, cred or f"userpass:{who}")
    for tok in b["tokens"]:
        who = tok["principal"]
        grants.setdefault(who, set()).update(tok["policies"])
        if tok["name"] in used:
            active.setdefault(who, set()).update(used[tok["name"]])
        else:
            add("openbao", "stale_credential", who, tok["name"])
        if "period" in tok or seconds(tok["ttl"]) >= TEN_YEARS:
            add("openbao", "never_expiring_credential", who, tok["name"])
    for who, policies in grants.items():
        for policy in policies & admin_policies:
            add("openbao", "over_broad", who, policy)
    for who, uses in active.items():
        for policy in grants[who] - uses - {"default"}:
            add("openbao", "unused_grant", who, policy)

    # PostgreSQL
    used = allowed_uses(SEED["postgres"]["activity"], "role")
    today = datetime.now(timezone.utc).date().isoformat()
    for role in SEED["postgres"]["login_roles"]:
        name, until = role["name"], role["valid_until"]
        attrs = role.get("attributes", [])
        expired = until not in ("none",) and not until.startswith("+") and until < today
        if "SUPERUSER" in attrs:
            add("postgres", "superuser", name, "SUPERUSER")
        if [a for a in attrs if a in BROAD_PG_ATTRIBUTES]:
            add("postgres", "over_broad", name, " ".join(a for a in attrs if a in BROAD_PG_ATTRIBUTES))
        for parent in set(role.get("member_of", [])) & BROAD_PG_ROLES:
            add("postgres", "over_broad", name, parent)
        if until == "none":
            add("postgres", "never_expiring_credential", name, "password")
        if expired:
            add("postgres", "expired_credential", name, "password")
        if not enabled(role["principal"]):
            if role.get("session"):
                add("postgres", "disabled_principal_live_credential", name, "session")
        elif name in used:
            for parent in set(role.get("member_of", [])) - used[name]:
                add("postgres", "unused_grant", name, parent)
        elif not expired:
            add("postgres", "stale_credential", name, "password")
    return found


def check_seed() -> None:
    """seed.toml is consistent: `used` flags match the activity, findings match the rules."""
    problems = []
    o_used = allowed_uses([a for a in SEED["oidc"]["activity"] if phase_of(a) == "normal"], "credential")
    b_used = allowed_uses([a for a in SEED["openbao"]["activity"] if phase_of(a) == "normal"], "credential")
    for cred in SEED["oidc"]["credentials"]:
        if cred["used"] != (cred["name"] in o_used):
            problems.append(f"oidc credential {cred['name']}: used = {cred['used']} disagrees with the activity")
    for tok in SEED["openbao"]["tokens"]:
        if tok["used"] != (tok["name"] in b_used):
            problems.append(f"openbao token {tok['name']}: used = {tok['used']} disagrees with the activity")
    expected = {(f["backend"], f["kind"], f["principal"], f["subject"]) for f in SEED["expected_findings"]}
    kinds = set(SEED["review"]["finding_kinds"])
    problems += [f"unknown finding kind: {f}" for f in expected if f[1] not in kinds]
    derived = derive_findings()
    problems += [f"expected_findings lacks {f}" for f in sorted(derived - expected)]
    problems += [f"expected_findings has {f}, which the rules do not give" for f in sorted(expected - derived)]
    if problems:
        raise SeedError("seed.toml is inconsistent:\n  " + "\n  ".join(problems))


# --------------------------------------------------------------------------------------------------
# seed
# --------------------------------------------------------------------------------------------------
def seed() -> None:
    sec = load_secrets()
    oidc, bao, pg = Oidc(sec), Bao(sec), Postgres(sec)

    oidc.issue()
    bao.setup()
    pg.setup()

    for backend in (oidc, bao, pg):
        backend.run_activity("normal")
    pg.open_sessions()
    for backend in (oidc, bao, pg):
        backend.disable()
    for backend in (oidc, bao, pg):
        backend.run_activity("after_disable")
    log("activity done")

    write_sandbox_json(sec, oidc, bao)
    write_credentials_json(sec)


def write_sandbox_json(sec: dict, oidc: Oidc, bao: Bao) -> None:
    pg_cfg = SEED["postgres"]
    console = pg_cfg["console_role"]
    doc = {
        "oidc": {
            "issuer": ISSUER,
            "client_id": SEED["oidc"]["console_client"],
            "client_secret": sec["oidc_clients"][SEED["oidc"]["console_client"]],
            "event_log": str(STATE / "oidc" / "oidc-events.jsonl"),
        },
        "openbao": {
            "url": BAO_URL,
            "token": bao.console["token"],
            "root_token": sec["bao_root_token"],
            "audit_log": str(STATE / "bao" / "audit.log"),
        },
        "postgres": {
            "url": f"postgres://{console}@{HOST}:{PG_PORT}/{pg_cfg['database']}",
            "host": HOST,
            "port": PG_PORT,
            "user": console,
            "password": sec["pg_console"],
            "database": pg_cfg["database"],
            "superuser_url": f"postgres://postgres:{sec['pg_superuser']}@{HOST}:{PG_PORT}/{pg_cfg['database']}",
            "log_dir": str(STATE / "pg" / "log"),
        },
        "tokens": {**oidc.tokens, **bao.tokens},
    }
    write_private(STATE / "sandbox.json", json.dumps(doc, indent=2) + "\n")


def write_credentials_json(sec: dict) -> None:
    """Secondary secrets (not part of the sandbox.json interface), for tests that want them."""
    doc = {
        "oidc_client_secrets": sec["oidc_clients"],
        "openbao_userpass_passwords": sec["bao_userpass"],
        "postgres_role_passwords": sec["pg_roles"],
    }
    write_private(STATE / "credentials.json", json.dumps(doc, indent=2) + "\n")


def main() -> int:
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        if cmd == "check":
            check_seed()
            log(f"seed.toml is consistent ({len(SEED['expected_findings'])} expected findings)")
        elif cmd == "render":
            check_seed()
            render()
        elif cmd == "seed":
            seed()
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except SeedError as err:
        print(f"seed: FAILED: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
