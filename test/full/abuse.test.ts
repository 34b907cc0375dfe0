/**
 * The abuse suite: what an attacker of a public GraphQL API tries, against the services run
 * as their own processes (each subgraph as deployed per process, in development mode; the
 * web gateway in production mode, the mobile gateway in development mode, so both modes are
 * held to the same answers). A battery of known attacks, each with the refusal it must get,
 * then a bounded property-based fuzz (fast-check) of bodies, variables and headers against
 * both gateways, a subgraph and the webhook routes. Every answer must be JSON, below 500, and
 * free of stacks, file paths, secrets and internal URLs; no process may die.
 */
import { createHash, createHmac, createPrivateKey, createSign, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { AuthConfig, mintToken } from '../../gateway/auth.js';
import { persistedQueryExtension } from '../../gateway/manifest.js';
import { mobile as mobileClient } from '../../gateway/clients/mobile.js';
import { persistedManifestFile } from '../../gateway/clients/index.js';
import { CALLER_HEADER, createCallerSigner } from '../../kit/caller/token.js';
import { SIGNATURE_HEADER, createRequestSignature } from '../../kit/caller/body-signature.js';
import { LOCAL } from '../../kit/process/local-defaults.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { providerEntry, SUBGRAPH_NAMES } from '../../subgraphs/registry.js';
import { FREE_SANDBOX_PORTS, until } from '../helpers.js';
import { bareEnv, startProgram, startProgramsTogether, tsxProgram, type RunningProgram } from '../../scripts/programs.js';
import { envName } from '../../kit/process/env-name.js';
import { COMMITTED_SECRETS } from '../../kit/process/committed-secrets.js';

/** This deployment's own secrets: none of them is a committed development value. */
const SECRETS = {
  INTERNAL_TOKEN_SECRET: 'abuse-suite-internal-secret-0123456789abcdef',
  JWT_SECRET: 'abuse-suite-jwt-secret-0123456789abcdef01234',
  JWT_ISSUER: 'https://id.abuse.example/',
  JWT_AUDIENCE: 'patchbay-abuse',
};
const auth = AuthConfig.parse(SECRETS);
const CORS_ORIGINS = ['https://app.abuse.example', 'https://admin.abuse.example'];
/** The gateways' heap limit in deploy/kubernetes (memory limit 768 Mi). */
const GATEWAY_NODE_OPTIONS = '--max-old-space-size=512';
/** What no log line may hold: it is sent in bodies, variables, headers and webhook payloads (see the last suite). */
const MARKER = 'LOGMARKER7f3a9c';

let sandbox: Sandbox;
const subgraphs: Record<string, RunningProgram> = {};
let web: RunningProgram;
let mobile: RunningProgram;
let user: string;
let otherUser: string;
let admin: string;
const signCaller = createCallerSigner(SECRETS.INTERNAL_TOKEN_SECRET);
const requestSignature = createRequestSignature(SECRETS.INTERNAL_TOKEN_SECRET);

beforeAll(async () => {
  sandbox = await startSandbox({ ...FREE_SANDBOX_PORTS, SANDBOX_USERS: '50' });
  const started = await startProgramsTogether(
    SUBGRAPH_NAMES.map((name) =>
      startProgram(
        tsxProgram('scripts/run-subgraph.ts', name),
        bareEnv({
          ...sandbox.env(),
          [envName(name, 'PORT')]: '0',
          INTERNAL_TOKEN_SECRET: SECRETS.INTERNAL_TOKEN_SECRET,
          LOG_LEVEL: 'info',
        }),
      ),
    ),
  );
  SUBGRAPH_NAMES.forEach((name, i) => (subgraphs[name] = started[i]!));
  sandbox.deliverWebhooksTo('email', subgraphs.email!.url);
  const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((name) => [envName(name, 'SUBGRAPH_URL'), `${subgraphs[name]!.url}/graphql`]));
  [web, mobile] = await startProgramsTogether([
    startProgram(
      tsxProgram('gateway/index.ts', 'web'),
      bareEnv({
        ...subgraphUrls,
        ...SECRETS,
        NODE_ENV: 'production',
        WEB_GATEWAY_PORT: '0',
        WEB_CORS_ORIGINS: CORS_ORIGINS.join(','),
        // As the Kubernetes manifests run it: the heap bounded below the container's memory limit.
        NODE_OPTIONS: GATEWAY_NODE_OPTIONS,
        LOG_LEVEL: 'info',
      }),
    ),
    startProgram(
      tsxProgram('gateway/index.ts', 'mobile'),
      bareEnv({ ...subgraphUrls, ...SECRETS, MOBILE_GATEWAY_PORT: '0', LOG_LEVEL: 'info' }),
    ),
  ]);
  user = `Bearer ${await mintToken(auth, 'usr_00001', ['email:send'])}`;
  otherUser = `Bearer ${await mintToken(auth, 'usr_00002', [])}`;
  admin = `Bearer ${await mintToken(auth, 'usr_admin', ['admin'])}`;
}, 120_000);

afterAll(async () => {
  const programs = [web, mobile, ...Object.values(subgraphs)].filter(Boolean);
  // 0 crashes: every process is still running when the suite is done, and stops cleanly.
  const alive = programs.map((program) => program.child.exitCode === null && program.child.signalCode === null);
  const codes = await Promise.all(programs.map((program) => program.stop()));
  await sandbox?.close();
  expect(alive.every(Boolean)).toBe(true);
  expect(codes.every((code) => code === 0)).toBe(true);
});

/** What may never be in an answer: stacks, file paths, error class names, secrets, where subgraphs live. */
function leaks(text: string): string[] {
  const found: string[] = [];
  const patterns: Array<[string, RegExp]> = [
    ['stack frame', /\n\s+at |\bat [\w.<>]+ \(/],
    ['file path', /node_modules|file:\/\/|\/(?:home|root|work|tmp|usr)\/|\.[cm]?[jt]s:\d+/],
    ['error class', /\b(?:SyntaxError|TypeError|RangeError|ReferenceError|PayloadTooLargeError|MaxRetriesPerRequestError|AbortError)\b/],
  ];
  for (const [what, pattern] of patterns) if (pattern.test(text)) found.push(what);
  const secrets = [...Object.values(SECRETS).slice(0, 2), ...COMMITTED_SECRETS];
  for (const secret of secrets) if (text.includes(secret)) found.push(`secret ${secret.slice(0, 6)}...`);
  for (const program of Object.values(subgraphs))
    if (text.includes(new URL(program.url).host)) found.push(`internal address ${new URL(program.url).host}`);
  return found;
}

interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }>; [key: string]: unknown } | undefined;
}

const tally = new Map<string, { sent: number; byClass: Record<string, number>; leaks: number }>();

/** One request; its answer is checked for leaks and JSON, and counted. */
async function send(target: string, url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: Answer['json'];
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    json = undefined;
  }
  const counts = tally.get(target) ?? { sent: 0, byClass: {}, leaks: 0 };
  counts.sent++;
  const statusClass = `${Math.floor(response.status / 100)}xx`;
  counts.byClass[statusClass] = (counts.byClass[statusClass] ?? 0) + 1;
  const found = leaks(text);
  if (found.length) counts.leaks++;
  tally.set(target, counts);
  expect({ url, found, sample: found.length ? text.slice(0, 300) : '' }).toEqual({ url, found: [], sample: '' });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, json };
}

const graphqlUrl = (program: RunningProgram) => `${program.url}/graphql`;
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
const post = (program: RunningProgram, body: unknown, headers: Record<string, string> = {}) =>
  send(program === web ? 'web' : 'mobile', graphqlUrl(program), {
    method: 'POST',
    headers: { ...JSON_HEADERS, authorization: user, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** A refusal: the status and code wanted, a message, no data. */
function expectRefusal(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.json?.errors?.[0]?.extensions?.code }).toEqual({ status, code });
  expect(answer.contentType).toMatch(/json/);
  expect(answer.json?.errors?.[0]?.message).toEqual(expect.any(String));
}

const repeat = (text: string, times: number) => Array(times).fill(text).join(' ');

describe('the gateway refuses costly documents before they cost (web, production mode)', () => {
  test.each([
    ['a field repeated 490 times', `{ ${repeat('me { id }', 490)} }`, 'GRAPHQL_VALIDATION_FAILED', /^Repeated field limit of 20 exceeded/],
    [
      'a fragment spread doubling 25 times',
      `${Array.from({ length: 25 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F25 on Query { me { id } } { ...F0 }`,
      'GRAPHQL_VALIDATION_FAILED',
      /^(Selection|Repeated field) limit of \d+ exceeded/,
    ],
    [
      'a fragment spread doubling into new places',
      `${Array.from({ length: 25 }, (_, i) => `fragment F${i} on User { a${i}: id ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F25 on User { id } { me { ...F0 } }`,
      'GRAPHQL_VALIDATION_FAILED',
      /^(Selection|Repeated field) limit of \d+ exceeded/,
    ],
    [
      'an unused fragment with repeats',
      `fragment X on Query { ${repeat('me { id }', 100)} } { me { id } }`,
      'GRAPHQL_VALIDATION_FAILED',
      /^Repeated field limit/,
    ],
    [
      'a 20,000-deep list literal',
      `{ user(id: ${'['.repeat(20_000)}${']'.repeat(20_000)}) { id } }`,
      'GRAPHQL_PARSE_FAILED',
      /^Document size limit of 32768 characters exceeded/,
    ],
    [
      '10,000 nested selections',
      `${'{ me '.repeat(10_000)}${'}'.repeat(10_000)}`,
      'GRAPHQL_PARSE_FAILED',
      /^Document size limit of 32768 characters exceeded/,
    ],
    [
      'a 5,000-deep list literal (under the size limit)',
      `{ user(id: ${'['.repeat(5000)}${']'.repeat(5000)}) { id } }`,
      'GRAPHQL_PARSE_FAILED',
      /^(Token limit of 2000 exceeded|The document is nested too deeply)/,
    ],
    [
      '2,000 tokens hidden in 30 KB of comments pass the token limit, not the size',
      `{ me { id } } # ${'x'.repeat(33_000)}`,
      'GRAPHQL_PARSE_FAILED',
      /^Document size limit/,
    ],
    ['2,001 tokens', `{ me { ${repeat('id', 2000)} } }`, 'GRAPHQL_PARSE_FAILED', /^Token limit/],
    [
      '16 aliases',
      `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: me { id }`).join(' ')} }`,
      'GRAPHQL_VALIDATION_FAILED',
      /^Aliases limit/,
    ],
    [
      'an estimated cost over the limit',
      '{ users(first: 100) { nodes { files(first: 100) { nodes { key } } } } }',
      'COST_ESTIMATED_TOO_EXPENSIVE',
      /^Cost limit of 5000 exceeded/,
    ],
    ['introspection in production', '{ __schema { types { name } } }', 'GRAPHQL_VALIDATION_FAILED', /introspection/i],
  ])('%s', async (_name, query, code, message) => {
    const answer = await post(web, { query });
    expectRefusal(answer, 400, code);
    expect(answer.json!.errors![0]!.message).toMatch(message);
  });

  test('a 20,000-deep list in variables is a clear 400, not a stack overflow', async () => {
    const variables = `{"id":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const answer = await post(web, `{"query":"query($id: ID!) { user(id: $id) { id } }","variables":${variables}}`);
    expectRefusal(answer, 400, 'BAD_USER_INPUT');
    expect(answer.json!.errors![0]!.message).toBe('Variables are nested deeper than 10 levels.');
  });

  // Variables are bounded before anything reads them (coercion, planning, subgraphs): the
  // flood of the round-two report (90 KB bodies of nested variables) stops here.
  test.each([
    ['nested 11 deep', `{"v":${'['.repeat(11)}1${']'.repeat(11)}}`, 'Variables are nested deeper than 10 levels.'],
    ['5,001 values', `{"v":[${Array(5000).fill(1).join(',')}]}`, 'Variables hold more than 5000 values.'],
    ['65,537 characters of text', JSON.stringify({ v: 'x'.repeat(65_536) }), 'Variables hold more than 65536 characters of text.'],
  ])('variables %s are refused before they are read', async (_name, variables, message) => {
    const answer = await post(web, `{"query":"query($v: [ID]) { me { id } }","variables":${variables}}`);
    expectRefusal(answer, 400, 'BAD_USER_INPUT');
    expect(answer.json!.errors![0]!.message).toBe(message);
  });

  test('production suggests no field names', async () => {
    const answer = await post(web, { query: '{ mee { id } }' });
    expectRefusal(answer, 400, 'GRAPHQL_VALIDATION_FAILED');
    expect(answer.text).not.toMatch(/Did you mean/);
  });
});

describe('the gateway answers every malformed request per GraphQL over HTTP', () => {
  const body201k = JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(200 * 1024)}` });
  test.each([
    ['a body over the limit', () => post(web, body201k), 413, 'PAYLOAD_TOO_LARGE'],
    ['malformed JSON', () => post(web, '{"query":'), 400, 'BAD_REQUEST'],
    ['a batch', () => post(web, [{ query: '{ me { id } }' }, { query: '{ me { id } }' }]), 400, 'BAD_REQUEST'],
    [
      'a mutation over GET',
      () =>
        send('web', `${graphqlUrl(web)}?query=${encodeURIComponent('mutation { track(events: []) { accepted } }')}`, {
          headers: { authorization: user, 'apollo-require-preflight': '1' },
        }),
      405,
      'BAD_REQUEST',
    ],
    [
      'a GET without a CSRF header',
      () => send('web', `${graphqlUrl(web)}?query=${encodeURIComponent('{ me { id } }')}`, { headers: { authorization: user } }),
      403,
      'CSRF_PREVENTED',
    ],
    [
      'a text/plain POST (a form could send it)',
      () => post(web, { query: '{ me { id } }' }, { 'content-type': 'text/plain' }),
      403,
      'CSRF_PREVENTED',
    ],
    [
      'an unsupported media type',
      () => post(web, '<query/>', { 'content-type': 'application/xml', 'apollo-require-preflight': '1' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['an Accept it cannot answer', () => post(web, { query: '{ me { id } }' }, { accept: 'text/html' }), 406, 'NOT_ACCEPTABLE'],
    [
      'an operationName not in the document',
      () => post(web, { query: 'query A { me { id } }', operationName: 'B' }),
      400,
      'OPERATION_RESOLUTION_FAILURE',
    ],
    [
      'a subscription asked for as JSON',
      () => post(web, { query: 'subscription { emailSendUpdated(idempotencyKey: "k") { eventId } }' }),
      406,
      'NOT_ACCEPTABLE',
    ],
    [
      'an APQ hash that is not the query',
      () => post(web, { query: '{ me { id } }', extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } }),
      400,
      'PERSISTED_QUERY_HASH_MISMATCH',
    ],
    [
      'an APQ hash never registered',
      () => post(web, { extensions: { persistedQuery: { version: 1, sha256Hash: '1'.repeat(64) } } }),
      404,
      'PERSISTED_QUERY_NOT_FOUND',
    ],
    ['headers over 16 KB', () => send('web', graphqlUrl(web), { headers: { 'x-filler': 'a'.repeat(20_000) } }), 431, 'HEADERS_TOO_LARGE'],
    ['a route that is not there', () => send('web', `${web.url}/admin`), 404, 'NOT_FOUND'],
    ['metrics on the public port', () => send('web', `${web.url}/metrics`), 404, 'NOT_FOUND'],
    ['the mobile safelist: an ad-hoc query', () => post(mobile, { query: '{ me { id } }' }), 400, 'PERSISTED_QUERY_ID_REQUIRED'],
    [
      'the mobile safelist: an id not on it',
      () => post(mobile, { extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } }),
      400,
      'PERSISTED_QUERY_NOT_IN_LIST',
    ],
  ] as const)('%s', async (_name, request, status, code) => {
    expectRefusal(await request(), status, code);
  });

  test('metrics are served on their own port', async () => {
    const response = await fetch(`${web.metricsUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('patchbay_supergraph_reloads_total');
  });
});

describe('tokens: forged, stale and overlong ones are refused with the reason', () => {
  const claims = () => ({ sub: 'usr_admin', scope: 'admin', iss: SECRETS.JWT_ISSUER, aud: SECRETS.JWT_AUDIENCE });
  const hs256 = (key: string, build: (jwt: SignJWT) => SignJWT = (jwt) => jwt.setExpirationTime('5m')) =>
    build(new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).setIssuedAt()).sign(Buffer.from(key));
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = () => Math.floor(Date.now() / 1000);
  const YEAR = 365 * 86_400;
  test.each<[string, () => Promise<string | undefined>, RegExp]>([
    ['none', async () => undefined, /Authentication required/],
    ['not a bearer token', async () => 'Basic dXNlcjpwYXNz', /Bearer <JWT>/],
    ['alg none', async () => `Bearer ${b64({ alg: 'none' })}.${b64({ ...claims(), exp: 9_999_999_999 })}.`, /algorithm|signature/i],
    ['signed with another key', async () => `Bearer ${await hs256('a-guess-at-the-jwt-secret-0123456789abcdef')}`, /signature/i],
    ['signed with the committed development secret', async () => `Bearer ${await hs256(LOCAL.auth.jwtSecret)}`, /signature/i],
    [
      'expired',
      async () => `Bearer ${await hs256(SECRETS.JWT_SECRET, (jwt) => jwt.setExpirationTime(Math.floor(Date.now() / 1000) - 60))}`,
      /expired/,
    ],
    ['valid for 100 years', async () => `Bearer ${await hs256(SECRETS.JWT_SECRET, (jwt) => jwt.setExpirationTime('100y'))}`, /lifetime/],
    [
      'issued 100 years ahead, an hour before it expires',
      async () =>
        `Bearer ${await hs256(SECRETS.JWT_SECRET, (jwt) => jwt.setIssuedAt(now() + 100 * YEAR - 3600).setExpirationTime(now() + 100 * YEAR))}`,
      /issued in the future/,
    ],
    [
      'issued a minute ahead',
      async () => `Bearer ${await hs256(SECRETS.JWT_SECRET, (jwt) => jwt.setIssuedAt(now() + 60).setExpirationTime(now() + 600))}`,
      /issued in the future/,
    ],
    [
      'issued now, for 25 hours',
      async () => `Bearer ${await hs256(SECRETS.JWT_SECRET, (jwt) => jwt.setIssuedAt(now()).setExpirationTime(now() + 25 * 3600))}`,
      /lifetime/,
    ],
    [
      'without iat, expiring in 25 hours',
      async () =>
        `Bearer ${await new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256' })
          .setExpirationTime(now() + 25 * 3600)
          .sign(Buffer.from(SECRETS.JWT_SECRET))}`,
      /lifetime/,
    ],
  ])('%s', async (_name, authorization, reason) => {
    const header = await authorization();
    const answer = await send('web', graphqlUrl(web), {
      method: 'POST',
      headers: { ...JSON_HEADERS, ...(header ? { authorization: header } : {}) },
      body: '{"query":"{ me { id } }"}',
    });
    expectRefusal(answer, 401, 'UNAUTHENTICATED');
    expect(answer.json!.errors![0]!.message).toMatch(reason);
  });
});

describe("another user's data stays theirs", () => {
  test('through the gateway: a user, a list for admins, a file cursor', async () => {
    const other = await post(web, { query: '{ user(id: "usr_00002") { id name email files { nodes { key } } } }' });
    expect(other.json).toMatchObject({ data: { user: null }, errors: [{ extensions: { code: 'FORBIDDEN' } }] });
    const list = await post(web, { query: '{ users(first: 5) { nodes { id email } } }' });
    expect(list.json?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // A cursor is a key in the bucket: one pointing into another user's folder is refused.
    const cursor = Buffer.from('users/usr_00002/a').toString('base64url');
    const files = await post(web, { query: `{ me { files(after: "${cursor}") { nodes { key } } } }` });
    expect(files.json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(files.text).not.toContain('usr_00002/');
  });

  test('an upload cannot leave its folder; an upload URL or a download URL edited is refused by storage', async () => {
    const upload = (fileName: string, userId = 'usr_00001') =>
      post(web, {
        query: `mutation { createUploadUrl(input: { userId: "${userId}", fileName: ${JSON.stringify(fileName)}, contentType: "text/plain", size: 5 }) { url key } }`,
      });
    for (const name of ['../usr_00002/x.txt', '..', 'a/b.txt', 'a\\b.txt', 'x\u0000.txt'])
      expect((await upload(name)).json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await upload('x.txt', 'usr_00002')).json?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const { url, key } = ((await upload('tamper.txt')).json!.data as { createUploadUrl: { url: string; key: string } }).createUploadUrl;
    const put = (target: string, body: string) =>
      send('storage', target, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body });
    expect(key).toBe('users/usr_00001/tamper.txt');
    expect((await put(url.replace('usr_00001', 'usr_00002'), 'hello')).status).toBe(403);
    expect((await put(url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604800'), 'hello')).status).toBe(403);
    expect((await put(url, 'hello, and then some')).status).toBe(403);
    expect((await put(url, 'hello')).status).toBe(200);

    const listed = await post(web, { query: '{ me { files(first: 1) { nodes { key downloadUrl } } } }' });
    const file = (listed.json!.data as { me: { files: { nodes: Array<{ key: string; downloadUrl: string }> } } }).me.files.nodes[0]!;
    expect((await send('storage', file.downloadUrl)).status).toBe(200);
    expect((await send('storage', file.downloadUrl.replace('usr_00001', 'usr_00002'))).status).toBe(403);
  });
});

describe('a subgraph answers the gateway only', () => {
  const url = () => graphqlUrl(subgraphs.accounts!);
  const USERS = JSON.stringify({ query: '{ users(first: 2) { nodes { id email } } }' });
  const callerFor = (subgraph: string, userId = 'usr_admin', scopes = ['admin']) =>
    signCaller({ userId, scopes, client: 'web' }, subgraph) as Promise<string>;
  const direct = (headers: Record<string, string>, body = USERS, method = 'POST') =>
    send('subgraph', url(), { method, headers: { 'content-type': 'application/json', ...headers }, ...(method === 'GET' ? {} : { body }) });

  test.each([
    ['no caller header', async () => direct({}), 401, 'UNAUTHENTICATED'],
    ["the client's own token", async () => direct({ authorization: admin }), 401, 'UNAUTHENTICATED'],
    ['a caller token for another subgraph', async () => direct({ [CALLER_HEADER]: await callerFor('storage') }), 401, 'UNAUTHENTICATED'],
    [
      'a caller token seen in traffic, with a body of its own making',
      async () => direct({ [CALLER_HEADER]: await callerFor('accounts') }),
      401,
      'UNAUTHENTICATED',
    ],
    [
      'a signature of another body',
      async () => {
        const token = await callerFor('accounts');
        return direct({ [CALLER_HEADER]: token, [SIGNATURE_HEADER]: requestSignature.sign(token, '{"query":"{ me { id } }"}') });
      },
      401,
      'UNAUTHENTICATED',
    ],
    ['a GET', async () => direct({ [CALLER_HEADER]: await callerFor('accounts') }, '', 'GET'), 405, 'METHOD_NOT_ALLOWED'],
    [
      'a signed body that is not JSON',
      async () => {
        const token = await callerFor('accounts');
        return direct({ [CALLER_HEADER]: token, [SIGNATURE_HEADER]: requestSignature.sign(token, '{"query":') }, '{"query":');
      },
      400,
      'BAD_REQUEST',
    ],
    [
      'a 2 MB body',
      async () => direct({ [CALLER_HEADER]: await callerFor('accounts') }, JSON.stringify({ query: 'x'.repeat(2 * 2 ** 20) })),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['a route that is not there', async () => send('subgraph', `${subgraphs.accounts!.url}/debug`), 404, 'NOT_FOUND'],
  ] as const)('%s', async (_name, request, status, code) => {
    expectRefusal(await request(), status, code);
  });

  test("_entities as an ordinary caller: another user's data is FORBIDDEN", async () => {
    const token = await callerFor('accounts', 'usr_00001', []);
    const body = JSON.stringify({
      query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name email } } }',
      variables: { r: [{ __typename: 'User', id: 'usr_00002' }] },
    });
    const answer = await direct({ [CALLER_HEADER]: token, [SIGNATURE_HEADER]: requestSignature.sign(token, body) }, body);
    expect(answer.json).toMatchObject({ data: { _entities: [null] }, errors: [{ extensions: { code: 'FORBIDDEN' } }] });
  });
});

describe('webhooks: forged, stale, replayed and oversized deliveries', () => {
  const hook = (path: string) => `${subgraphs.email!.url}/webhooks/${path}`;
  const signSendgrid = (body: string, timestamp = Math.floor(Date.now() / 1000)) => ({
    'x-twilio-email-event-webhook-timestamp': String(timestamp),
    'x-twilio-email-event-webhook-signature': createSign('sha256')
      .update(String(timestamp) + body)
      .sign(
        createPrivateKey({
          key: Buffer.from(providerEntry('sendgrid').credentials.webhookPrivateKey, 'base64'),
          format: 'der',
          type: 'pkcs8',
        }),
      )
      .toString('base64'),
  });
  const deliver = (path: string, body: string, headers: Record<string, string> = {}) =>
    send('webhooks', hook(path), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const events = JSON.stringify([
    { event: 'delivered', sg_event_id: randomBytes(8).toString('hex'), sg_message_id: 'abuse-1.x', timestamp: 1 },
  ]);
  const basic = (credentials: string) => ({ authorization: `Basic ${Buffer.from(credentials).toString('base64')}` });

  test.each([
    ['SendGrid, unsigned', () => deliver('sendgrid', events), 401, 'UNAUTHENTICATED'],
    [
      'SendGrid, signed for another body',
      () => deliver('sendgrid', events.replace('delivered', 'bounce'), signSendgrid(events)),
      401,
      'UNAUTHENTICATED',
    ],
    [
      'SendGrid, an hour old',
      () => deliver('sendgrid', events, signSendgrid(events, Math.floor(Date.now() / 1000) - 3600)),
      401,
      'UNAUTHENTICATED',
    ],
    [
      'SendGrid, signed but not events',
      () => deliver('sendgrid', '{"not":"events"}', signSendgrid('{"not":"events"}')),
      400,
      'BAD_REQUEST',
    ],
    [
      'Postmark, a password with something after it',
      () =>
        deliver(
          'postmark',
          '{"RecordType":"Delivery","MessageID":"m"}',
          basic(`${providerEntry('postmark').credentials.webhookUser}:${providerEntry('postmark').credentials.webhookPassword}:x`),
        ),
      401,
      'UNAUTHENTICATED',
    ],
    [
      'Mailgun, forged',
      () =>
        deliver(
          'mailgun',
          JSON.stringify({
            signature: { timestamp: String(Math.floor(Date.now() / 1000)), token: 't', signature: 'f'.repeat(64) },
            'event-data': { event: 'delivered', message: { headers: { 'message-id': 'm' } } },
          }),
        ),
      401,
      'UNAUTHENTICATED',
    ],
    ['a 2 MB delivery, unsigned: refused unread', () => deliver('sendgrid', 'x'.repeat(2 * 2 ** 20)), 401, 'UNAUTHENTICATED'],
    [
      'a 2 MB delivery, signed',
      () => deliver('sendgrid', 'x'.repeat(2 * 2 ** 20), signSendgrid('x'.repeat(2 * 2 ** 20))),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    ['Postmark, 2 MB without credentials: refused unread', () => deliver('postmark', 'x'.repeat(2 * 2 ** 20)), 401, 'UNAUTHENTICATED'],
    [
      'a compressed delivery',
      () =>
        deliver('postmark', '{}', {
          ...basic(`${providerEntry('postmark').credentials.webhookUser}:${providerEntry('postmark').credentials.webhookPassword}`),
          'content-encoding': 'gzip',
        }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
  ] as const)('%s', async (_name, request, status, code) => {
    expectRefusal(await request(), status, code);
  });

  const mailgunSignature = (token = randomBytes(25).toString('hex'), timestamp = String(Math.floor(Date.now() / 1000))) => ({
    timestamp,
    token,
    signature: createHmac('sha256', providerEntry('mailgun').credentials.webhookSigningKey)
      .update(timestamp + token)
      .digest('hex'),
  });
  const mailgunEvent = (event: string, messageId: string) => ({
    id: randomBytes(8).toString('hex'),
    event,
    message: { headers: { 'message-id': `<${messageId}>` } },
  });

  test('a Mailgun signature is spent on the body it came with: another body is refused, the same one is a retry', async () => {
    const signature = mailgunSignature();
    const delivered = JSON.stringify({ signature, 'event-data': mailgunEvent('delivered', 'abuse-mg-1') });
    const bounced = JSON.stringify({ signature, 'event-data': mailgunEvent('failed', 'abuse-mg-1') });
    expect((await deliver('mailgun', delivered)).json).toEqual({ received: 1, applied: 1, duplicates: 0 });
    expectRefusal(await deliver('mailgun', bounced), 401, 'UNAUTHENTICATED');
    expect((await deliver('mailgun', delivered)).json).toEqual({ received: 1, applied: 0, duplicates: 1 });
  });

  test('a Mailgun body cannot carry a second signature block for the one verified', async () => {
    const genuine = mailgunSignature();
    // The verified block sits inside the event; the body's own signature is something else.
    const body = JSON.stringify({
      'event-data': { ...mailgunEvent('failed', 'abuse-mg-2'), 'user-variables': { signature: genuine } },
      signature: { timestamp: genuine.timestamp, token: 'another', signature: 'f'.repeat(64) },
    });
    expectRefusal(await deliver('mailgun', body), 401, 'UNAUTHENTICATED');
  });

  test('a replayed delivery is answered 200 and applies nothing', async () => {
    const signed = signSendgrid(events);
    expect((await deliver('sendgrid', events, signed)).json).toEqual({ received: 1, applied: 1, duplicates: 0 });
    expect((await deliver('sendgrid', events, signed)).json).toEqual({ received: 1, applied: 0, duplicates: 1 });
  });
});

describe('CORS: only the configured origins, never `null`', () => {
  const preflight = (origin: string) =>
    fetch(graphqlUrl(web), {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
  const query = (origin: string) =>
    fetch(graphqlUrl(web), {
      method: 'POST',
      headers: { ...JSON_HEADERS, authorization: user, origin },
      body: '{"query":"{ me { id } }"}',
    });

  test.each(['null', 'https://evil.example', 'https://app.abuse.example.evil.example', 'http://app.abuse.example'])(
    'origin %s gets no CORS headers, on a preflight or a query',
    async (origin) => {
      for (const response of [await preflight(origin), await query(origin)]) {
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
      }
    },
  );

  test.each(CORS_ORIGINS)('origin %s gets itself back, varying by Origin', async (origin) => {
    for (const response of [await preflight(origin), await query(origin)]) {
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('vary')).toMatch(/\bOrigin\b/);
    }
  });
});

describe('file names: what a file name may hold', () => {
  const upload = (fileName: string) =>
    post(web, {
      query: `mutation($name: String!) { createUploadUrl(input: { userId: "usr_00001", fileName: $name, contentType: "text/plain", size: 5 }) { key } }`,
      variables: { name: fileName },
    });
  test.each<[string, string, boolean]>([
    ['plain', 'report 2026 (final).txt', true],
    ['accents and CJK', 'résumé-家.pdf', true],
    ['an emoji', 'holiday 🏖.png', true],
    ['right-to-left override (an extension that lies)', 'invoice\u202Egnp.txt', false],
    ['left-to-right mark', 'a\u200Eb.txt', false],
    ['isolates', 'a\u2066b\u2069.txt', false],
    ['Arabic letter mark', 'a\u061Cb.txt', false],
    ['zero-width space', 'a\u200Bb.txt', false],
    ['byte order mark', '\uFEFFa.txt', false],
    ['soft hyphen', 'a\u00ADb.txt', false],
    ['line separator', 'a\u2028b.txt', false],
    ['C1 control', 'a\u0085b.txt', false],
    ['NUL', 'a\u0000b.txt', false],
    ['newline', 'a\nb.txt', false],
    ['DEL', 'a\u007Fb.txt', false],
    ['a lone surrogate', 'a\uD800b.txt', false],
    ['slash', 'a/b.txt', false],
    ['backslash', 'a\\b.txt', false],
    ['dot-dot', '..', false],
    ['256 characters', 'a'.repeat(256), false],
  ])('%s', async (_name, fileName, accepted) => {
    const answer = await upload(fileName);
    if (accepted) expect(answer.json?.errors).toBeUndefined();
    else expect(answer.json).toMatchObject({ data: null, errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] });
  });
});

describe("tracked event ids are the caller's", () => {
  test("another user's reuse of an event id drops nothing and replaces nothing", async () => {
    const id = `shared-${randomBytes(4).toString('hex')}`;
    const track = (authorization: string, userId: string, name: string) =>
      post(
        web,
        {
          query: 'mutation($e: [TrackEventInput!]!) { track(events: $e) { accepted eventIds } }',
          variables: { e: [{ id, userId, name }] },
        },
        { authorization },
      );
    expect((await track(user, 'usr_00001', `Mine ${id}`)).json).toEqual({ data: { track: { accepted: 1, eventIds: [id] } } });
    expect((await track(otherUser, 'usr_00002', `Theirs ${id}`)).json).toEqual({ data: { track: { accepted: 1, eventIds: [id] } } });
    // Both reach Segment, each under a message id of its user's (Segment keeps one event per message id).
    const delivered = () => sandbox.providers.segment.ingested.filter((event) => event.event.endsWith(id));
    await until(() => delivered().length >= 2, { timeoutMs: 20_000, what: 'both events at Segment' });
    expect(
      delivered()
        .map((event) => [event.properties.distinct_id, event.event])
        .sort(),
    ).toEqual([
      ['usr_00001', `Mine ${id}`],
      ['usr_00002', `Theirs ${id}`],
    ]);
    expect(new Set(delivered().map((event) => event.properties.$insert_id)).size).toBe(2);
  }, 30_000);
});

describe('results per GraphQL over HTTP', () => {
  const forbiddenMutation = {
    query: 'mutation { createUploadUrl(input: { userId: "usr_00002", fileName: "a.txt", contentType: "text/plain", size: 5 }) { url } }',
  };
  test.each(['application/graphql-response+json', 'application/json'])(
    'a failed non-null mutation field keeps data: null with its error (accept %s)',
    async (accept) => {
      const answer = await post(web, forbiddenMutation, { accept });
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ data: null, errors: [{ path: ['createUploadUrl'], extensions: { code: 'FORBIDDEN' } }] });
    },
  );
  test.each(['application/graphql-response+json', 'application/json', '*/*'])(
    'malformed JSON is 400 whatever the accept (%s)',
    async (accept) => {
      expectRefusal(await post(web, '{"query":', { accept }), 400, 'BAD_REQUEST');
    },
  );
  test('malformed JSON variables in a GET are 400, not a server error', async () => {
    const answer = await send('web', `${graphqlUrl(web)}?query=${encodeURIComponent('{ me { id } }')}&variables=%7Bnot-json`, {
      headers: { authorization: user, 'apollo-require-preflight': '1' },
    });
    expectRefusal(answer, 400, 'BAD_REQUEST');
  });
});

describe('memory per caller is bounded in bytes', () => {
  /** Resident memory of a process, in MiB. */
  const rssMiB = (program: RunningProgram) =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${program.child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  /** A counter's value in a metrics text, by its labels. */
  const counterValue = (text: string, name: string, labels: string) =>
    Number(new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);

  const registrations = async () => {
    const metrics = await (await fetch(`${web.metricsUrl}/metrics`)).text();
    const outcome = (name: string) => counterValue(metrics, 'patchbay_gateway_apq_registrations_total', `outcome="${name}"`);
    return { registered: outcome('registered'), callerQuota: outcome('caller_quota'), totalQuota: outcome('total_quota') };
  };
  const registering = (query: string) => ({
    query,
    extensions: { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } },
  });

  test('one caller registers at most 1 MB a day; past it, queries still run', async () => {
    const before = await registrations();
    const statuses: number[] = [];
    const query = (n: number) => `{ me { id } } # one caller ${n} ${'y'.repeat(30_000)}`;
    for (let n = 0; n < 20; n++) statuses.push((await post(web, registering(query(n)))).status);
    expect(statuses).toEqual(Array(20).fill(200));
    const after = await registrations();
    // Each registration counts its bytes in memory (two a character): 17 of ~60 KB fit in 1 MB.
    expect({ registered: after.registered - before.registered, callerQuota: after.callerQuota - before.callerQuota }).toEqual({
      registered: 17,
      callerQuota: 3,
    });
    const { extensions } = registering(query(19));
    expectRefusal(await post(web, { extensions }), 404, 'PERSISTED_QUERY_NOT_FOUND');
  });

  test('APQ registrations, verified tokens and caller tokens each stay within their bytes; RSS stays under 600 MiB', async () => {
    // 1,200 requests, each with a token of its own (an 8 KB scope each: every cache keyed by
    // what a client sends gets a big key), from 200 callers each registering six ~30 KB
    // documents: 72 MB of registrations, past the 64 MB total quota.
    const REQUESTS = 1200;
    const CALLERS = 200;
    const tokens = await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) =>
        mintToken(auth, `usr_mem_${i % CALLERS}`, [`pad-${i}-${'p'.repeat(8000)}`]).then((token) => `Bearer ${token}`),
      ),
    );
    const before = await registrations();
    let peak = rssMiB(web);
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(web))), 100);
    const statuses: Record<number, number> = {};
    try {
      for (let i = 0; i < REQUESTS; i += 8) {
        await Promise.all(
          Array.from({ length: 8 }, async (_, j) => {
            const n = i + j;
            const response = await fetch(graphqlUrl(web), {
              method: 'POST',
              headers: { ...JSON_HEADERS, authorization: tokens[n]! },
              body: JSON.stringify(registering(`{ me { id } } # ${n} ${'x'.repeat(30_000)}`)),
            });
            await response.arrayBuffer();
            statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          }),
        );
      }
    } finally {
      clearInterval(sampler);
    }
    const after = await registrations();
    const registered = after.registered - before.registered;
    const totalQuota = after.totalQuota - before.totalQuota;
    console.log(
      `memory: ${REQUESTS} requests of 30 KB with 8 KB tokens: RSS peak ${peak.toFixed(0)} MiB; APQ registered ${registered}, over the total quota ${totalQuota}`,
    );
    expect(statuses).toEqual({ 200: REQUESTS });
    // 64 MB a day in all (what the previous test registered counts too), ~60 KB each.
    expect(after.registered).toBeLessThanOrEqual(Math.floor((64 * 2 ** 20) / 60_000));
    expect(totalQuota).toBeGreaterThan(0);
    expect(registered + totalQuota + after.callerQuota - before.callerQuota).toBe(REQUESTS);
    // The container's limit is 768 Mi; the heap is capped at 512 MiB (GATEWAY_NODE_OPTIONS).
    expect(peak).toBeLessThan(600);
  }, 120_000);
});

describe('logs hold no request bodies, variables, headers or webhook payloads', () => {
  test('a marker sent every way reaches no log line of any process (LOG_LEVEL=info)', async () => {
    const padded = `${MARKER} ${'z'.repeat(90_000)}`;
    const headers = { 'user-agent': MARKER, 'accept-language': MARKER, 'x-forwarded-for': MARKER, 'idempotency-key': MARKER };
    // The web gateway: malformed bodies, variables, documents, headers, a GET's query string, a bad token.
    await post(web, `{"query":"${padded}`);
    await post(web, { query: 'query($v: Int) { me { id } }', variables: { v: MARKER } }, headers);
    await post(web, { query: `{ me { ${MARKER} } }` }, headers);
    await post(web, { query: `{ ${MARKER}` });
    await post(
      web,
      {
        query: 'mutation($i: SendEmailInput!) { sendEmail(input: $i) { messageId } }',
        variables: { i: { to: `${MARKER}@example.com`, subject: MARKER, text: MARKER } },
      },
      headers,
    );
    await send('web', `${graphqlUrl(web)}?query=${encodeURIComponent('{ me { id } }')}&variables=${MARKER}`, {
      headers: { authorization: user, 'apollo-require-preflight': '1' },
    });
    await post(web, { query: '{ me { id } }' }, { authorization: `Bearer ${MARKER}.${MARKER}.${MARKER}` });
    // The mobile gateway: a persisted operation's variables, and a raw query.
    await post(
      mobile,
      { variables: { userId: MARKER }, extensions: persistedQueryExtension(persistedManifestFile(mobileClient), 'Home') },
      headers,
    );
    await post(mobile, { query: `{ ${MARKER} }` });
    // A subgraph, called as the gateway calls it: variables and a body that is not JSON.
    const caller = await (signCaller({ userId: 'usr_00001', scopes: [], client: 'web' }, 'accounts') as Promise<string>);
    for (const body of [
      JSON.stringify({ query: 'query($id: ID!) { user(id: $id) { id } }', variables: { id: MARKER } }),
      `{"q":"${MARKER}`,
    ]) {
      await send('subgraph', graphqlUrl(subgraphs.accounts!), {
        method: 'POST',
        headers: { 'content-type': 'application/json', [CALLER_HEADER]: caller, [SIGNATURE_HEADER]: requestSignature.sign(caller, body) },
        body,
      });
    }
    // Webhooks: forged, malformed and genuine deliveries carrying the marker.
    const hook = (provider: string) => `${subgraphs.email!.url}/webhooks/${provider}`;
    const postmarkAuth = `Basic ${Buffer.from(`${providerEntry('postmark').credentials.webhookUser}:${providerEntry('postmark').credentials.webhookPassword}`).toString('base64')}`;
    const deliveries: Array<[string, string, Record<string, string>]> = [
      ['sendgrid', padded, {}],
      ['mailgun', JSON.stringify({ signature: { timestamp: '1', token: MARKER, signature: '0'.repeat(64) }, 'event-data': MARKER }), {}],
      ['postmark', MARKER, { authorization: `Basic ${Buffer.from(`${MARKER}:${MARKER}`).toString('base64')}` }],
      ['postmark', `{"${MARKER}":`, { authorization: postmarkAuth }],
      [
        'postmark',
        JSON.stringify({ RecordType: 'Delivery', MessageID: MARKER, Recipient: `${MARKER}@example.com` }),
        { authorization: postmarkAuth },
      ],
    ];
    for (const [provider, body, extra] of deliveries)
      await send('webhooks', hook(provider), { method: 'POST', headers: { 'content-type': 'application/json', ...extra }, body });

    const programs = { web, mobile, ...subgraphs };
    for (const [name, program] of Object.entries(programs))
      expect({ name, holdsMarker: program.output().includes(MARKER) }).toEqual({ name, holdsMarker: false });
    // The refusals were logged, each as one short line.
    const refusal = web
      .output()
      .split('\n')
      .find((line) => line.includes('request JSON does not parse'));
    expect(refusal?.length).toBeLessThan(400);
    expect(subgraphs.email!.output()).toContain('webhook refused');
  });
});

describe('fuzz (fast-check): no request makes a process answer 5xx, crash or leak', () => {
  const token = fc.constantFrom(
    '{',
    '}',
    '(',
    ')',
    '[',
    ']',
    ':',
    '...',
    '$v',
    '@defer',
    '@include(if: $v)',
    'me',
    'id',
    'name',
    'email',
    'user',
    'users',
    'files',
    'nodes',
    'first',
    'id:',
    '"usr_00001"',
    '1e400',
    '-1',
    'null',
    'query',
    'mutation',
    'subscription',
    'fragment',
    'F',
    'on',
    'User',
    'Query',
    '__typename',
    '__schema',
    'track',
    'events:',
    '"\\u0000"',
    '#',
    ',',
    'ID!',
    'Int',
    'String',
  );
  const document = fc.oneof(
    fc.array(token, { maxLength: 80 }).map((tokens) => tokens.join(' ')),
    fc.string({ maxLength: 200 }),
  );
  // Variables as JSON text: a list nested up to 30,000 deep is more than JSON.stringify's stack allows.
  const deepList = fc.integer({ min: 1, max: 30_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
  const variables = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }).map((value) => JSON.stringify(value)),
    fc
      .dictionary(
        fc.string({ maxLength: 8 }),
        fc.oneof(
          fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
          deepList,
        ),
        { maxKeys: 3 },
      )
      .map(
        (entries) =>
          `{${Object.entries(entries)
            .map(([name, text]) => `${JSON.stringify(name)}:${text}`)
            .join(',')}}`,
      ),
  );
  const extensions = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record({
      persistedQuery: fc.record({ version: fc.integer(), sha256Hash: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string()) }),
    }),
  );
  /** A GraphQL-over-HTTP body, as JSON text, with any of its members. */
  const params = fc
    .record(
      {
        query: document.map((value) => JSON.stringify(value)),
        variables,
        operationName: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null)).map((value) => JSON.stringify(value)),
        extensions: extensions.map((value) => JSON.stringify(value)),
      },
      { requiredKeys: [] },
    )
    .map(
      (members) =>
        `{${Object.entries(members)
          .map(([name, text]) => `"${name}":${text}`)
          .join(',')}}`,
    );
  const body = fc.oneof(
    params,
    fc.jsonValue({ maxDepth: 5 }).map((value) => JSON.stringify(value)),
    fc.string({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  );
  const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);
  const headers = fc.record(
    {
      'content-type': fc.oneof(
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'application/graphql+json',
          'application/graphql',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
        ),
        headerValue,
      ),
      accept: fc.oneof(
        fc.constantFrom('application/graphql-response+json', 'application/json', '*/*', 'text/event-stream', 'multipart/mixed'),
        headerValue,
      ),
      'apollo-require-preflight': fc.constant('1'),
      'x-request-id': headerValue,
      traceparent: headerValue,
      'idempotency-key': headerValue,
    },
    { requiredKeys: [] },
  );
  const request = fc.record({ method: fc.constantFrom('POST', 'POST', 'POST', 'GET'), body, headers, withToken: fc.boolean() });

  /** Sends one generated request; the property: below 500, JSON when refused, nothing leaked. */
  interface Generated {
    method: string;
    body: string;
    headers: Partial<Record<string, string>>;
    withToken: boolean;
  }
  async function holds(
    target: string,
    url: string,
    generated: Generated,
    credentials: (body: string) => Promise<Record<string, string>>,
  ): Promise<boolean> {
    const { method, body: sent, headers: given, withToken } = generated;
    const headerSet = { ...(given as Record<string, string>), ...(withToken ? await credentials(sent) : {}) };
    const requestUrl = method === 'GET' ? `${url}?${new URLSearchParams(safeParams(sent)).toString()}` : url;
    const answer = await send(target, requestUrl, { method, headers: headerSet, ...(method === 'GET' ? {} : { body: sent }) });
    if (answer.status >= 500)
      throw new Error(`${target}: ${answer.status} for ${method} ${sent.slice(0, 200)}: ${answer.text.slice(0, 200)}`);
    // A refusal is JSON; for a client that accepts only incremental delivery (multipart/mixed or
    // server-sent events), JSON inside that format.
    const jsonError = /json/.test(answer.contentType)
      ? answer.json?.errors !== undefined
      : /multipart\/mixed|text\/event-stream/.test(answer.contentType) && answer.text.includes('{"errors":[');
    if (answer.status >= 400 && !jsonError)
      throw new Error(
        `${target}: ${answer.status} without a JSON error for ${sent.slice(0, 200)}: ${answer.contentType} ${answer.text.slice(0, 200)}`,
      );
    return true;
  }
  const safeParams = (sent: string): Record<string, string> => {
    try {
      const parsed = JSON.parse(sent) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    } catch {
      // not JSON: sent as the query itself
    }
    return { query: sent };
  };
  const RUNS = { web: 500, mobile: 200, subgraph: 300, webhooks: 150 };

  test('web gateway (production mode)', async () => {
    await fc.assert(
      fc.asyncProperty(request, (r) => holds('web', graphqlUrl(web), r, async () => ({ authorization: user }))),
      { numRuns: RUNS.web },
    );
  }, 120_000);

  test('mobile gateway (persisted operations; development mode)', async () => {
    const home = persistedQueryExtension(persistedManifestFile(mobileClient), 'Home');
    const persistedBody = fc
      .record({ variables, operationName: fc.constantFrom('"Home"', '"Track"', '"X"') })
      .map(
        ({ variables: vars, operationName }) =>
          `{"operationName":${operationName},"variables":${vars},"extensions":${JSON.stringify(home)}}`,
      );
    const persistedRequest = fc.record({ method: fc.constantFrom('POST', 'GET'), body: persistedBody, headers, withToken: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.oneof(request, persistedRequest), (r) =>
        holds('mobile', graphqlUrl(mobile), r, async () => ({ authorization: user })),
      ),
      { numRuns: RUNS.mobile },
    );
  }, 120_000);

  test('a subgraph, called as the gateway would (signed caller and body)', async () => {
    const signed = async (sent: string) => {
      const caller = await (signCaller({ userId: 'usr_00001', scopes: [], client: 'web' }, 'accounts') as Promise<string>);
      return { [CALLER_HEADER]: caller, [SIGNATURE_HEADER]: requestSignature.sign(caller, sent) };
    };
    await fc.assert(
      fc.asyncProperty(request, (r) => holds('subgraph', graphqlUrl(subgraphs.accounts!), r, signed)),
      { numRuns: RUNS.subgraph },
    );
  }, 120_000);

  test('the webhook routes', async () => {
    const path = fc.constantFrom('sendgrid', 'mailgun', 'postmark');
    await fc.assert(
      fc.asyncProperty(path, request, (provider, r) =>
        holds('webhooks', `${subgraphs.email!.url}/webhooks/${provider}`, { ...r, method: 'POST' }, async () => basic()),
      ),
      { numRuns: RUNS.webhooks },
    );
    function basic() {
      return {
        authorization: `Basic ${Buffer.from(`${providerEntry('postmark').credentials.webhookUser}:${providerEntry('postmark').credentials.webhookPassword}`).toString('base64')}`,
      };
    }
  }, 120_000);

  afterAll(() => {
    const lines = [...tally.entries()].map(
      ([target, t]) =>
        `${target}: ${t.sent} requests, ${Object.entries(t.byClass)
          .sort()
          .map(([c, n]) => `${c} ${n}`)
          .join(', ')}, ${t.leaks} leaks`,
    );
    console.log(`abuse suite tally\n${lines.join('\n')}`);
  });
});
