#!/usr/bin/env bash
# Registers the sandbox backends in a workspace (once) and checks them, so the app opens connected.
# Credentials are referenced by environment-variable NAME (see `scripts/sandbox env`); no secret
# is written to the workspace.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WS="${1:?usage: connect-sandbox.sh WORKSPACE_DIR}"
PC="$ROOT/target/debug/portcullis"
SANDBOX_JSON="${PORTCULLIS_SANDBOX_DIR:-$ROOT/.cache/sandbox}/sandbox.json"

field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$SANDBOX_JSON" "$1"; }

existing="$("$PC" --workspace "$WS" --json backend list | python3 -c 'import json,sys; print(" ".join(b["name"] for b in json.load(sys.stdin)))')"
add() { # name kind url env-var [audit-log]
  case " $existing " in *" $1 "*) return 0 ;; esac
  "$PC" --workspace "$WS" backend add "$1" --kind "$2" --url "$3" --credential-env "$4" \
    ${5:+--audit-log "$5"} >/dev/null
}

issuer="$(field '["oidc"]["issuer"]')"
client="$(field '["oidc"]["client_id"]')"
add oidc oauth2 "${issuer/:\/\//://$client@}" PORTCULLIS_SANDBOX_OIDC_SECRET "$(field '["oidc"]["event_log"]')"
add openbao vault "$(field '["openbao"]["url"]')" PORTCULLIS_SANDBOX_BAO_TOKEN "$(field '["openbao"]["audit_log"]')"
add postgres postgres "$(field '["postgres"]["url"]')" PORTCULLIS_SANDBOX_PG_PASSWORD
add aws aws-iam "$(field '["aws"]["url"]')" PORTCULLIS_SANDBOX_AWS_SECRET

for b in oidc openbao postgres aws; do
  "$PC" --workspace "$WS" backend check "$b" >/dev/null || echo "warning: sandbox backend $b failed its check; see the Backends page" >&2
done
# Fresh data on every start: incremental, so a warm sync takes well under a second.
"$PC" --workspace "$WS" sync >/dev/null 2>&1 || echo "warning: a sandbox sync failed; see the Backends page" >&2
