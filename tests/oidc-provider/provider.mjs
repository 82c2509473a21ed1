// A strict, real OAuth 2.0 / OpenID Connect server for Keyway's browser tests: oidc-provider
// (panva), run by the Node 22 in node_modules/node/bin/node (`npm ci` here installs both).
// keyway_tests::oidc starts it; by hand:
//
//   OIDC_CLIENTS='[{"client_id":"app","client_secret":"s","token_endpoint_auth_method":"client_secret_basic",
//     "redirect_uris":["http://127.0.0.1:8400/cb"]}]' node_modules/node/bin/node provider.mjs
//
// Environment:
//   OIDC_HOST     address to listen on (default 127.0.0.2: cookies are per host, not per port, so
//                 the provider's own cookies never mix with a console's on 127.0.0.1)
//   OIDC_PORT     port (default 0: a free one)
//   OIDC_CLIENTS  JSON array of {client_id, client_secret, token_endpoint_auth_method
//                 ("client_secret_basic" | "client_secret_post"), redirect_uris: [...]}
//
// Prints exactly one line on stdout, `ready http://HOST:PORT` (the issuer, no trailing slash),
// once it listens; everything else (oidc-provider's notices and warnings) goes to stderr.
//
// Endpoints, relative to the issuer, as its /.well-known/openid-configuration lists them:
//   authorization  /auth
//   token          /token
//   revocation     /token/revocation
//   userinfo       /me
//   jwks           /jwks
//   end session    /session/end
// The built-in development login and consent pages are under /interaction/<uid>: the login form
// has input[name=login], input[name=password] and button[type=submit] ("Sign-in"); the consent
// form has one button[type=submit] ("Continue").
//
// Strictness, beyond oidc-provider's defaults (exact redirect_uri match, single-use codes,
// RFC 6749 §2.3.1 decoding of client_secret_basic credentials):
//   - PKCE is required of every client, S256 only (v9 supports no other method);
//   - every client may use exactly authorization_code + refresh_token, response_type code, and
//     the one token_endpoint_auth_method it is registered with;
//   - every authorization_code grant issues a refresh token (no offline_access/prompt=consent
//     dance), and every refresh rotates it: the old one is then refused with invalid_grant;
//   - access tokens live 300 s.

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

// oidc-provider prints its notices with console.info; stdout carries only the ready line.
console.log = console.info = console.error;

function fail(message) {
  console.error(`provider.mjs: ${message}`);
  process.exit(2);
}

const host = process.env.OIDC_HOST || '127.0.0.2';
const port = Number(process.env.OIDC_PORT || 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`OIDC_PORT is not a port: ${process.env.OIDC_PORT}`);

let clients;
try {
  clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
} catch (e) {
  fail(`OIDC_CLIENTS is not JSON: ${e.message}`);
}
if (!Array.isArray(clients)) fail('OIDC_CLIENTS must be a JSON array');
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];
clients = clients.map((c, i) => {
  const { client_id, client_secret, token_endpoint_auth_method, redirect_uris, ...rest } = c ?? {};
  if (Object.keys(rest).length) fail(`OIDC_CLIENTS[${i}] has unknown fields: ${Object.keys(rest).join(', ')}`);
  if (typeof client_id !== 'string' || !client_id) fail(`OIDC_CLIENTS[${i}].client_id must be a string`);
  if (typeof client_secret !== 'string' || !client_secret) fail(`OIDC_CLIENTS[${i}].client_secret must be a string`);
  if (!AUTH_METHODS.includes(token_endpoint_auth_method)) {
    fail(`OIDC_CLIENTS[${i}].token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`);
  }
  if (!Array.isArray(redirect_uris) || !redirect_uris.length) fail(`OIDC_CLIENTS[${i}].redirect_uris must be a non-empty array`);
  return {
    client_id,
    client_secret,
    token_endpoint_auth_method,
    redirect_uris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  };
});

// Listen first, so that a port of 0 is known before the issuer (which contains it) is.
const server = createServer();
server.on('error', (e) => fail(`cannot listen on ${host}:${port}: ${e.message}`));
server.listen(port, host, () => {
  const address = server.address();
  const issuer = `http://${host}:${address.port}`;

  const provider = new Provider(issuer, {
    clients,
    // The dev interactions' own account: whatever login is typed in is the subject.
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, name: sub, email: `${sub}@example.test`, email_verified: true };
        },
      };
    },
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    pkce: { required: () => true },
    // Refresh tokens for every client allowed the grant, whatever the scope (the default wants
    // offline_access, which oidc-provider only keeps with prompt=consent).
    async issueRefreshToken(_ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
    rotateRefreshToken: true,
    // Tokens live by their TTLs, not by the provider's browser session (the default ends tokens
    // granted without offline_access with the session).
    async expiresWithSession() {
      return false;
    },
    ttl: {
      AccessToken: 300,
      AuthorizationCode: 60,
      IdToken: 300,
      RefreshToken: 24 * 60 * 60,
      Interaction: 600,
      Session: 24 * 60 * 60,
      Grant: 24 * 60 * 60,
    },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
    },
    // Fresh signing keys for the cookies of each run (the dev default warns and uses none).
    cookies: { keys: [randomBytes(32).toString('base64url')] },
  });

  // The dev pages' stylesheet @imports a web font from the internet; tests reach loopback only,
  // so the page must not make the browser try.
  provider.use(async (ctx, next) => {
    await next();
    if (typeof ctx.body === 'string' && ctx.type === 'text/html') {
      ctx.body = ctx.body.replace(/@import url\(https?:[^)]*\);?/g, '');
    }
  });
  provider.on('server_error', (_ctx, e) => console.error('provider.mjs: server_error', e));

  server.on('request', provider.callback());
  process.stdout.write(`ready ${issuer}\n`);
});

// The harness kills the process; end promptly and quietly on the usual signals too.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
