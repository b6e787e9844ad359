// Portcullis sandbox: node-oidc-provider 9.13.3 configured from a JSON file that seed.py renders
// from seed.toml. Usage: node server.mjs <config.json>
//
// - opaque access tokens for the one resource server (introspectable and revocable);
// - client_credentials, authorization_code (devInteractions) + refresh_token;
// - the console client may introspect and revoke any client's tokens, the resource server (gateway)
//   may introspect any token; every other client only its own;
// - every provider event and every introspection/revocation request is appended as one JSON line to
//   the event log. Tokens appear only as fingerprints (lowercase hex SHA-256 of the token value);
//   for opaque tokens the token id (jti) is the value;
// - a `*.saved` line's detail carries the expiry and issue time the provider STORED for the token
//   (`exp=… iat=…`): with a ttl function, oidc-provider 9 computes `exp` only into the stored
//   payload (lib/models/formats/opaque.js), never onto the token object the event receives;
// - at start, one `client.configured` line per client carries its client secret's expiry
//   (`secret_expires_at=<RFC 3339>|none`, from the provider's parsed client metadata). A real
//   server exposes this through RFC 7592 client read, which needs each client's own
//   registration access token; static clients have none, so the log is how a console learns it.
//   Never the secret itself, nor a digest of it.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const configPath = process.argv[2];
if (!configPath) {
  console.error('usage: node server.mjs <config.json>');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
const clientsById = new Map(cfg.clients.map((c) => [c.client_id, c]));
const apiScopes = new Set(cfg.scopes);
const DAY = 24 * 60 * 60;

// ---------------------------------------------------------------------------------------------
// Event log
// ---------------------------------------------------------------------------------------------
const fingerprint = (value) => (value ? createHash('sha256').update(String(value)).digest('hex') : null);
const isoTime = (epoch) => (epoch ? new Date(epoch * 1000).toISOString() : null);

function logEvent(fields) {
  const ctx = Provider.ctx;
  const entry = {
    ts: new Date().toISOString(),
    event: fields.event,
    client_id: fields.client_id ?? ctx?.oidc?.client?.clientId ?? null,
    account_id: fields.account_id ?? null,
    grant_id: fields.grant_id ?? null,
    scope: fields.scope ?? null,
    fingerprint: fields.fingerprint ?? null,
    source_ip: fields.source_ip ?? ctx?.ip ?? null,
    outcome: fields.outcome ?? 'allow',
    detail: fields.detail ?? null,
  };
  appendFileSync(cfg.event_log, `${JSON.stringify(entry)}\n`);
}

const denyErrors = new Set([
  'invalid_client', 'invalid_grant', 'invalid_scope', 'invalid_target', 'unauthorized_client',
  'access_denied', 'unsupported_grant_type', 'invalid_request',
]);
const outcomeOf = (err) => (denyErrors.has(err?.error) ? 'deny' : 'error');
const describe = (err) => [err?.error, err?.error_description, err?.error_detail]
  .filter(Boolean).join(': ') || String(err);

// ---------------------------------------------------------------------------------------------
// Accounts: the directory file is re-read on every lookup, so disabling a person there takes effect
// at once (new logins and refreshes are refused; issued tokens stay until revoked).
// ---------------------------------------------------------------------------------------------
function loadAccount(id) {
  const accounts = JSON.parse(readFileSync(cfg.accounts_file, 'utf8'));
  return accounts.find((a) => a.id === id);
}

async function findAccount(ctx, id) {
  const account = loadAccount(id);
  if (!account || !account.enabled) return undefined;
  return {
    accountId: id,
    async claims() {
      return { sub: id, name: account.name, email: account.email };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------
function clientMetadata(c) {
  const base = {
    client_id: c.client_id,
    client_secret: c.client_secret,
    client_secret_expires_at: c.secret_expires_at,
    token_endpoint_auth_method: 'client_secret_basic',
  };
  if (c.kind === 'app') {
    return {
      ...base,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: c.redirect_uris,
      scope: ['openid', 'offline_access', ...c.scopes].join(' '),
    };
  }
  return {
    ...base,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: c.scopes.join(' ') || undefined,
  };
}

const clientCfg = (client) => clientsById.get(client?.clientId) ?? {};
const privileged = (client, kinds) => kinds.includes(clientCfg(client).kind);

// ---------------------------------------------------------------------------------------------
// Policies: record the decision on ctx.state so the request log shows allow/deny.
// ---------------------------------------------------------------------------------------------
function decide(ctx, allowed, reason) {
  ctx.state.policy = { allowed, reason };
  return allowed;
}

async function introspectionAllowedPolicy(ctx, client, token) {
  if (privileged(client, ['console', 'resource_server'])) return decide(ctx, true, clientCfg(client).kind);
  if (token.clientId === client.clientId) return decide(ctx, true, 'own token');
  return decide(ctx, false, `${client.clientId} may not introspect tokens of ${token.clientId}`);
}

async function revocationAllowedPolicy(ctx, client, token) {
  if (privileged(client, ['console'])) return decide(ctx, true, 'console');
  if (token.clientId === client.clientId) return decide(ctx, true, 'own token');
  // RFC 7009: the provider still answers 200; the log records the refusal.
  return decide(ctx, false, `${client.clientId} may not revoke tokens of ${token.clientId}`);
}

async function getResourceServerInfo(ctx, indicator, client) {
  if (indicator !== cfg.resource) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
  const allowed = clientCfg(client).scopes ?? [];
  const requested = String(ctx.oidc.params?.scope ?? '').split(' ').filter((s) => apiScopes.has(s));
  const refused = requested.filter((s) => !allowed.includes(s));
  if (refused.length) throw new errors.InvalidScope('requested scope is not allowed', refused.join(' '));
  return {
    scope: allowed.join(' '),
    audience: cfg.resource,
    accessTokenFormat: 'opaque',
    accessTokenTTL: clientCfg(client).access_token_ttl || 3600,
  };
}

// ---------------------------------------------------------------------------------------------
// Storage: unbounded, in memory, entries expire with their TTL. (The bundled adapter is an LRU of
// 1000 entries: heavy test use could silently evict the seeded tokens.)
// ---------------------------------------------------------------------------------------------
const store = new Map(); // key -> { value, expiresAt (ms, 0 = never) }

function storeGet(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.value;
}

function storeSet(key, value, expiresIn) {
  store.set(key, { value, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : 0 });
}

setInterval(() => {
  for (const key of store.keys()) storeGet(key);
}, 60_000).unref();

class SandboxAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    storeSet(this.key(id), payload, expiresIn);
    if (payload.grantId) {
      const grantKey = `grant:${payload.grantId}`;
      const members = storeGet(grantKey) ?? new Set();
      members.add(this.key(id));
      storeSet(grantKey, members, 0);
    }
    if (this.model === 'Session' && payload.uid) storeSet(`sessionUid:${payload.uid}`, id, expiresIn);
    if (payload.userCode) storeSet(`userCode:${payload.userCode}`, id, expiresIn);
  }

  async find(id) {
    return storeGet(this.key(id));
  }

  async findByUid(uid) {
    const id = storeGet(`sessionUid:${uid}`);
    return id ? this.find(id) : undefined;
  }

  async findByUserCode(userCode) {
    const id = storeGet(`userCode:${userCode}`);
    return id ? this.find(id) : undefined;
  }

  async consume(id) {
    const payload = storeGet(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    for (const member of storeGet(grantKey) ?? []) store.delete(member);
    store.delete(grantKey);
  }
}

// ---------------------------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------------------------
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'sandbox-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(cfg.issuer, {
  adapter: SandboxAdapter,
  clients: cfg.clients.map(clientMetadata),
  findAccount,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', ...cfg.scopes],
  claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
  responseTypes: ['code'],
  pkce: { required: () => false },
  rotateRefreshToken: false,
  issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: introspectionAllowedPolicy },
    revocation: { enabled: true, allowedPolicy: revocationAllowedPolicy },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf ?? cfg.resource,
      useGrantedResource: async () => true,
      getResourceServerInfo,
    },
  },
  ttl: {
    AccessToken: (ctx, token, client) => clientCfg(client).access_token_ttl || 3600,
    ClientCredentials: (ctx, token, client) => clientCfg(client).access_token_ttl || 3600,
    RefreshToken: (ctx, token, client) => clientCfg(client).refresh_token_ttl || 14 * DAY,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Session: 14 * DAY,
    // A refresh token dies with its grant (introspection checks grant.isExpired), so the grant
    // lives as long as the client's refresh tokens. The grant is created with a clientId only
    // (no client object, and ctx.oidc.client is unset during interactions): look it up by id.
    Grant: (ctx, grant, client) => clientsById.get(grant?.clientId ?? client?.clientId)?.refresh_token_ttl || 14 * DAY,
  },
});
provider.proxy = false;

// Token lifecycle events.
//
// Expiry and issue time as stored: BaseModel.save() upserts the payload (where opaque.js put
// `exp = token.exp || now + token.expiration` and `iat`) and only then emits `saved`, so the
// adapter already holds exactly what introspection will answer. The token object itself has no
// `exp` when its ttl is a function (every ttl here).
function storedTimes(token) {
  const stored = storeGet(`${token.kind}:${token.jti}`);
  const exp = stored?.exp ?? token.exp ?? (token.expiration ? (token.iat ?? Math.floor(Date.now() / 1000)) + token.expiration : undefined);
  const iat = stored?.iat ?? token.iat;
  return `exp=${isoTime(exp) ?? 'none'}${iat ? ` iat=${isoTime(iat)}` : ''}`;
}

for (const kind of ['access_token', 'client_credentials', 'refresh_token', 'authorization_code']) {
  for (const what of ['saved', 'destroyed', 'consumed']) {
    provider.on(`${kind}.${what}`, (token) => logEvent({
      event: `${kind}.${what}`,
      client_id: token.clientId,
      account_id: token.accountId,
      grant_id: token.grantId,
      scope: token.scope,
      fingerprint: fingerprint(token.jti),
      detail: what === 'saved' ? `${storedTimes(token)}${token.aud ? ` aud=${token.aud}` : ''}` : null,
    }));
  }
}
provider.on('grant.saved', (grant) => logEvent({
  event: 'grant.saved', client_id: grant.clientId, account_id: grant.accountId, grant_id: grant.jti,
  scope: [grant.getOIDCScope(), grant.getResourceScope(cfg.resource)].filter(Boolean).join(' ') || null,
  detail: storedTimes(grant),
}));
provider.on('grant.destroyed', (grant) => logEvent({
  event: 'grant.destroyed', client_id: grant.clientId, account_id: grant.accountId, grant_id: grant.jti,
}));

// Grant (token endpoint) outcomes.
provider.on('grant.success', (ctx) => {
  const { entities, params } = ctx.oidc;
  const presented = entities.RefreshToken;
  logEvent({
    event: 'grant.success',
    account_id: entities.Account?.accountId ?? presented?.accountId,
    grant_id: entities.Grant?.jti ?? presented?.grantId,
    scope: ctx.body?.scope,
    fingerprint: params.grant_type === 'refresh_token' ? fingerprint(params.refresh_token) : null,
    detail: `grant_type=${params.grant_type}`,
  });
});
provider.on('grant.error', (ctx, err) => {
  const params = ctx.oidc?.params ?? {};
  logEvent({
    event: 'grant.error',
    client_id: ctx.oidc?.client?.clientId ?? params.client_id,
    account_id: ctx.oidc?.entities?.RefreshToken?.accountId,
    grant_id: ctx.oidc?.entities?.RefreshToken?.grantId,
    scope: params.scope,
    fingerprint: params.grant_type === 'refresh_token' ? fingerprint(params.refresh_token) : null,
    outcome: outcomeOf(err),
    detail: `grant_type=${params.grant_type} ${describe(err)}`,
  });
});
provider.on('grant.revoked', (ctx, grantId) => logEvent({
  event: 'grant.revoked', grant_id: grantId, detail: `via ${ctx.oidc?.route}`,
}));
provider.on('authorization.error', (ctx, err) => logEvent({
  event: 'authorization.error', client_id: ctx.oidc?.client?.clientId, outcome: outcomeOf(err), detail: describe(err),
}));
provider.on('server_error', (ctx, err) => logEvent({
  event: 'server_error', outcome: 'error', detail: String(err?.stack ?? err).split('\n')[0],
}));

// Introspection / revocation requests, and token use by the resource server.
const USED_SCOPE_HEADER = 'x-acme-scope-used';

function logTokenRequest(ctx) {
  const { route } = ctx.oidc;
  const client = ctx.oidc.client;
  const token = ctx.oidc.entities?.AccessToken ?? ctx.oidc.entities?.ClientCredentials ?? ctx.oidc.entities?.RefreshToken;
  const policy = ctx.state.policy;
  const failed = ctx.status >= 400;
  const base = {
    client_id: client?.clientId ?? ctx.oidc.params?.client_id,
    account_id: token?.accountId,
    grant_id: token?.grantId,
    scope: token?.scope,
    fingerprint: fingerprint(ctx.oidc.params?.token),
    source_ip: ctx.ip,
  };
  let outcome = 'allow';
  let detail;
  if (failed) {
    outcome = ctx.status >= 500 ? 'error' : 'deny';
    detail = describe(ctx.body);
  } else if (policy && !policy.allowed) {
    outcome = 'deny';
    detail = policy.reason;
  } else if (route === 'introspection') {
    detail = `active=${Boolean(ctx.body?.active)}${token ? ` kind=${token.kind} owner=${token.clientId}` : ''}`;
  } else {
    detail = token ? `revoked kind=${token.kind} owner=${token.clientId}` : 'token unknown or already inactive (200 per RFC 7009)';
  }
  logEvent({ event: `${route}.request`, ...base, outcome, detail });

  const scopeUsed = ctx.get(USED_SCOPE_HEADER);
  if (route === 'introspection' && !failed && scopeUsed && privileged(client, ['resource_server'])) {
    const active = Boolean(ctx.body?.active);
    const held = new Set(String(ctx.body?.scope ?? '').split(' '));
    let why = 'ok';
    if (!active) why = 'invalid_token (inactive)';
    else if (!held.has(scopeUsed)) why = 'insufficient_scope';
    logEvent({
      event: 'token.used',
      client_id: token?.clientId ?? null,
      account_id: token?.accountId,
      grant_id: token?.grantId,
      scope: scopeUsed,
      fingerprint: base.fingerprint,
      source_ip: ctx.ip,
      outcome: why === 'ok' ? 'allow' : 'deny',
      detail: `resource_server=${client.clientId} ${why}`,
    });
  }
}

provider.use(async (ctx, next) => {
  await next();
  const route = ctx.oidc?.route;
  if (route === 'introspection' || route === 'revocation') {
    try {
      logTokenRequest(ctx);
    } catch (err) {
      console.error('event log failure', err);
    }
  }
});

// Client secrets' expiry, as the provider parsed it (RFC 7591 `client_secret_expires_at`, 0 =
// never), logged before the server accepts requests so a sync never sees a client without it.
for (const c of cfg.clients) {
  const client = await provider.Client.find(c.client_id);
  if (!client) continue;
  const expiresAt = client.clientSecretExpiresAt;
  logEvent({
    event: 'client.configured',
    client_id: client.clientId,
    detail: [
      `secret_expires_at=${expiresAt ? isoTime(expiresAt) : 'none'}`,
      client.clientIdIssuedAt ? `issued_at=${isoTime(client.clientIdIssuedAt)}` : null,
      `auth_method=${client.tokenEndpointAuthMethod}`,
    ].filter(Boolean).join(' '),
  });
}

const server = provider.listen(cfg.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${cfg.issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
