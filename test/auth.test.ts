/**
 * Authentication at the gateway, the caller's identity carried to the subgraphs in a form
 * only the gateway can produce, access rules in the subgraphs, and what else the gateway
 * passes on (trace context, allow-listed headers).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { DashboardDocument, UserListDocument } from '../clients/web/__generated__/operations.js';
import { startGateway } from '../gateway/index.js';
import { web } from '../gateway/clients/web.js';
import { CALLER_HEADER, createCallerSigner, createCallerVerifier } from '../kit/caller/token.js';
import { LOCAL } from '../kit/process/local-defaults.js';
import type { RunningService } from '../kit/process/service.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { ADMIN_USER, as, asGateway, expectNoLeaks, graphql } from './helpers.js';
import { envName } from '../kit/process/env-name.js';

let stack: Stack;
let gateway: string;
const extra: RunningService[] = [];
const servers: http.Server[] = [];
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  gateway = `${stack.gateways.web!.url}/graphql`;
});
afterAll(async () => {
  await Promise.all(extra.map((s) => s.close()));
  for (const server of servers) server.close();
  await stack?.close();
});

const secret = new TextEncoder().encode(LOCAL.auth.jwtSecret);
const claims = (over: Record<string, unknown> = {}) => ({ sub: 'usr_00001', iss: LOCAL.auth.issuer, aud: LOCAL.auth.audience, ...over });
const hs256 = (payload: Record<string, unknown>, key: Uint8Array = secret, expiresIn: string | number = '5m') =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(expiresIn).sign(key);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const ME = '{ me { id name } }';

async function refused(headers: Record<string, string>) {
  const { status, headers: responseHeaders, body } = await graphql(gateway, ME, undefined, headers);
  expect(status).toBe(401);
  expect(responseHeaders.get('www-authenticate')).toMatch(/^Bearer /);
  expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expectNoLeaks(body);
  return body.errors![0]!.message;
}

describe('client tokens', () => {
  test('a valid token: me is the caller', async () => {
    const { body } = await graphql(gateway, ME, undefined, await as('usr_00002'));
    expect(body).toEqual({ data: { me: { id: 'usr_00002', name: stack.sandbox.seed.users[1]!.name } } });
  });

  test('no token, or not a bearer JWT', async () => {
    expect(await refused({})).toBe('Authentication required: send Authorization: Bearer <token>');
    expect(await refused({ authorization: 'Basic dXNlcjpwYXNz' })).toBe('Authorization must be "Bearer <JWT>"');
  });

  test('alg "none" is refused', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims(), exp: Math.floor(Date.now() / 1000) + 300 })}.`;
    expect(await refused(bearer(unsigned))).toMatch(/algorithm is not accepted|signature or format is invalid/);
  });

  test('a token signed with another key is refused', async () => {
    const token = await hs256(claims(), new TextEncoder().encode('someone-elses-secret-that-is-long-enough-0001'));
    expect(await refused(bearer(token))).toBe('Token signature or format is invalid');
  });

  test('an expired, a not-yet-valid, a foreign-issuer and a foreign-audience token are refused', async () => {
    expect(await refused(bearer(await hs256(claims(), secret, Math.floor(Date.now() / 1000) - 60)))).toBe('Token has expired');
    expect(await refused(bearer(await hs256(claims({ nbf: Math.floor(Date.now() / 1000) + 600 }))))).toBe('Token is not valid yet');
    expect(await refused(bearer(await hs256(claims({ iss: 'https://evil.example' }))))).toBe('Token claim "iss" is not accepted');
    expect(await refused(bearer(await hs256(claims({ aud: 'another-api' }))))).toBe('Token claim "aud" is not accepted');
  });

  test('an asymmetric token is refused where an HS256 secret is configured (no algorithm swap)', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256' }).setExpirationTime('5m').sign(privateKey);
    expect(await refused(bearer(token))).toBe('Token algorithm is not accepted');
  });

  test('with JWT_JWKS_URL, tokens signed by a published key verify and others do not', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwks = http.createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    servers.push(jwks);
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const idp = await idpGateway(`http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`);
    const ok = await graphql(idp, ME, undefined, bearer(await signWith(privateKey, 'k1')));
    expect(ok.body.data).toEqual({ me: { id: 'usr_00003', name: stack.sandbox.seed.users[2]!.name } });
    const forged = await graphql(idp, ME, undefined, bearer(await signWith(other.privateKey, 'k1')));
    expect(forged.status).toBe(401);
    // The local HS256 development token means nothing to a gateway trusting an identity provider.
    expect((await graphql(idp, ME, undefined, await as('usr_00003'))).status).toBe(401);
  });
});

/** A web gateway that trusts an identity provider's keys at `jwksUrl`; its GraphQL URL. */
async function idpGateway(jwksUrl: string) {
  const subgraphUrls = Object.fromEntries(
    Object.entries(stack.subgraphs).map(([n, s]) => [envName(n, 'SUBGRAPH_URL'), `${s.url}/graphql`]),
  );
  const idp = await startGateway(web, {
    ...subgraphUrls,
    WEB_GATEWAY_PORT: '0',
    LOG_LEVEL: 'silent',
    JWT_JWKS_URL: jwksUrl,
    JWT_ISSUER: 'https://id.example',
    JWT_AUDIENCE: 'patchbay-web',
  });
  extra.push(idp);
  return `${idp.url}/graphql`;
}
const signWith = (key: Parameters<SignJWT['sign']>[0], kid: string, subject = 'usr_00003') =>
  new SignJWT({ sub: subject, iss: 'https://id.example', aud: 'patchbay-web' })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);

describe('an identity provider that cannot be reached', () => {
  test('never reached: 503 with Retry-After, the token may be fine', async () => {
    const url = await idpGateway('http://127.0.0.1:9/jwks.json');
    const { privateKey } = await generateKeyPair('ES256');
    const { status, headers, body } = await graphql(url, ME, undefined, bearer(await signWith(privateKey, 'k1')));
    expect(status).toBe(503);
    expect(headers.get('retry-after')).toMatch(/^\d+$/);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'AUTHENTICATION_UNAVAILABLE', retryable: true });
  });

  test('gone after its keys were fetched: tokens with known keys keep working', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    let fetches = 0;
    const jwks = http.createServer((_req, res) => {
      fetches++;
      res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const url = await idpGateway(`http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`);
    expect((await graphql(url, ME, undefined, bearer(await signWith(privateKey, 'k1')))).status).toBe(200);
    await new Promise((resolve) => jwks.close(resolve));
    // Other users' tokens (never seen, so verified now) with the key already known: answered.
    for (const subject of ['usr_00004', 'usr_00005']) {
      const { status, body } = await graphql(url, ME, undefined, bearer(await signWith(privateKey, 'k1', subject)));
      expect({ status, id: (body.data as { me?: { id: string } } | undefined)?.me?.id }).toEqual({ status: 200, id: subject });
    }
    expect(fetches).toBe(1);
  });
});

describe('access rules in the subgraphs', () => {
  const user = () => stack.sandbox.seed.users[0]!;

  test("a user sees their own Dashboard, and nobody else's", async () => {
    const own = await graphql(gateway, DashboardDocument, { userId: user().id }, await as(user().id));
    expect(own.body.errors).toBeUndefined();
    const other = await graphql(gateway, DashboardDocument, { userId: 'usr_00002' }, await as(user().id));
    expect(other.body).toMatchObject({ data: { user: null }, errors: [{ path: ['user'], extensions: { code: 'FORBIDDEN' } }] });
  });

  test('the admin UserList needs the admin scope', async () => {
    const plain = await graphql(gateway, UserListDocument, { first: 5 }, await as(user().id));
    expect(plain.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const admin = await graphql(gateway, UserListDocument, { first: 5 }, await as(ADMIN_USER, 'admin'));
    expect(admin.body.errors).toBeUndefined();
    expect(admin.body.data!.users.nodes).toHaveLength(5);
  });

  test('sending email needs email:send; uploading is for your own folder only', async () => {
    const send = 'mutation { sendEmail(input: { to: "a@example.com", subject: "Hi", text: "x" }) { messageId } }';
    expect((await graphql(gateway, send, undefined, await as(user().id))).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await graphql(gateway, send, undefined, await as(user().id, 'email:send'))).body.errors).toBeUndefined();
    const upload = (userId: string) =>
      `mutation { createUploadUrl(input: { userId: "${userId}", fileName: "a.png", contentType: "image/png", size: 10 }) { key } }`;
    expect((await graphql(gateway, upload('usr_00002'), undefined, await as(user().id))).body.errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    expect((await graphql(gateway, upload(user().id), undefined, await as(user().id))).body.errors).toBeUndefined();
  });

  test('a caller header sent by a client is not passed on: the gateway vouches for the token only', async () => {
    const forgedAdmin = await asGateway('accounts', ADMIN_USER, 'admin');
    const { body } = await graphql(gateway, UserListDocument, { first: 5 }, { ...(await as(user().id)), ...forgedAdmin });
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('a request straight to a subgraph', () => {
  const subgraph = () => `${stack.subgraphs.accounts!.url}/graphql`;
  const USERS = '{ users(first: 1) { nodes { id } } }';

  test('without the caller header, or with one the gateway did not sign, is refused', async () => {
    const noHeader = await graphql(subgraph(), USERS, undefined, {});
    expect(noHeader.status).toBe(401);
    expect(noHeader.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const wrongKey = await createCallerSigner('a-guess-at-the-internal-secret-00000000')(
      { userId: ADMIN_USER, scopes: ['admin'], client: 'web' },
      'accounts',
    );
    expect((await graphql(subgraph(), USERS, undefined, { [CALLER_HEADER]: wrongKey })).status).toBe(401);

    const unsigned = `${b64({ alg: 'none' })}.${b64({ sub: ADMIN_USER, scope: 'admin', iss: 'patchbay-gateway', aud: 'patchbay-subgraphs', exp: 9_999_999_999 })}.`;
    expect((await graphql(subgraph(), USERS, undefined, { [CALLER_HEADER]: unsigned })).status).toBe(401);

    // The client's own token is no key to a subgraph either.
    expect((await graphql(subgraph(), USERS, undefined, await as(ADMIN_USER, 'admin'))).status).toBe(401);
    // A token the gateway signed for another subgraph opens nothing here.
    expect((await graphql(subgraph(), USERS, undefined, await asGateway('storage', ADMIN_USER, 'admin'))).status).toBe(401);
    // What the gateway signs for this subgraph is accepted.
    expect((await graphql(subgraph(), USERS, undefined, await asGateway('accounts', ADMIN_USER, 'admin'))).body.errors).toBeUndefined();
  });
});

describe('what the gateway passes to subgraphs', () => {
  test('the trace context with a span of its own, the request id, the signed caller and allow-listed headers only', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const target = new URL(stack.subgraphs.accounts!.url);
    // A recording proxy in front of the accounts subgraph.
    const proxy = http.createServer((req, res) => {
      seen.push(req.headers);
      const upstream = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    servers.push(proxy);
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const recorded = await startGateway(web, {
      ACCOUNTS_SUBGRAPH_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`,
      WEB_GATEWAY_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    extra.push(recorded);

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const { body } = await graphql(`${recorded.url}/graphql`, ME, undefined, {
      ...(await as('usr_00001')),
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      'accept-language': 'de-CH',
      'x-request-id': 'req-123',
      cookie: 'session=secret',
      'x-internal-debug': '1',
    });
    expect(body.errors).toBeUndefined();
    const headers = seen[0]!;
    expect(headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(headers.traceparent).not.toContain('00f067aa0ba902b7');
    expect(headers['x-request-id']).toBe('req-123');
    expect(headers['accept-language']).toBe('de-CH');
    expect(headers.cookie).toBeUndefined();
    expect(headers['x-internal-debug']).toBeUndefined();
    expect(headers.authorization).toBeUndefined();
    expect(await createCallerVerifier(LOCAL.auth.internalTokenSecret, 'accounts')(String(headers[CALLER_HEADER]))).toEqual({
      userId: 'usr_00001',
      scopes: [],
      client: 'web',
    });
  });
});
