/**
 * Contract tests against the providers' published specs (kept beside the repository in
 * ../shared/specs, never copied in): every request our sources build (method, path, query,
 * body) must be one the spec describes, and what the sandbox answers must fit the spec's
 * response. Requests are recorded by a proxy between the real sources and the sandbox.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Ajv, type AnySchema } from 'ajv';
import addFormats from 'ajv-formats';
import { XMLParser } from 'fast-xml-parser';
import { parse as parseYaml } from 'yaml';
import { startSandbox, type Sandbox } from '../sandbox/index.js';
import { formFields } from '../sandbox/provider.js';
import { AnalyticsConfig } from '../subgraphs/analytics/config.js';
import { createMixpanelApi } from '../subgraphs/analytics/mixpanel.js';
import { EmailConfig } from '../subgraphs/email/config.js';
import { createMailgunApi } from '../subgraphs/email/mailgun.js';
import { createSendgridApi } from '../subgraphs/email/sendgrid.js';
import { StorageConfig } from '../subgraphs/storage/config.js';
import { createS3Api } from '../subgraphs/storage/s3.js';
import { FREE_SANDBOX_PORTS, testResources } from './helpers.js';
import { providerEntry } from '../subgraphs/registry.js';

const SPECS = new URL('../../shared/specs/', import.meta.url);
const HAVE_SPECS = existsSync(SPECS);
if (!HAVE_SPECS) process.stderr.write('../shared/specs not found beside the repository: the provider contract tests are skipped\n');

interface Exchange {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
  /** The request's content type, and its fields when it is a form (multipart or urlencoded). */
  requestType: string;
  form?: Record<string, string[]>;
  status: number;
  contentType: string;
  response: string;
}

/** A proxy in front of one sandbox provider that keeps every request and its answer. */
async function recorder(target: string): Promise<{ url: string; exchanges: Exchange[]; server: http.Server }> {
  const exchanges: Exchange[] = [];
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const requestType = String(req.headers['content-type'] ?? '');
      const form = /^(multipart\/form-data|application\/x-www-form-urlencoded)/.test(requestType)
        ? await formFields(body, requestType)
        : undefined;
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            const response = Buffer.concat(parts);
            const url = new URL(req.url!, 'http://x');
            exchanges.push({
              method: req.method!,
              path: url.pathname,
              query: url.searchParams,
              body: body.toString(),
              requestType,
              ...(form ? { form } : {}),
              status: answer.statusCode!,
              contentType: String(answer.headers['content-type'] ?? ''),
              response: response.toString(),
            });
            res.writeHead(answer.statusCode!, answer.headers);
            res.end(response);
          });
        },
      );
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exchanges, server };
}

type OpenApi = { paths: Record<string, Record<string, OpenApiOperation>> };
type Parameter = { name: string; in: string; required?: boolean; schema?: AnySchema } | { $ref: string };
type OpenApiOperation = { parameters?: Parameter[]; requestBody?: unknown; responses: Record<string, unknown> };

/**
 * Checks exchanges against an OpenAPI document: the path and method exist; every required
 * query parameter is sent, nothing undeclared is sent, each value fits its schema; the JSON
 * body fits the request schema; the status is declared and a JSON answer fits its schema.
 * Returns one line per problem.
 */
function openApiProblems(spec: OpenApi, specId: string, ajv: Ajv, exchanges: Exchange[], basePath = ''): string[] {
  ajv.addSchema(spec as unknown as AnySchema, specId);
  const deref = <T>(value: unknown): T => {
    let current = value as { $ref?: string };
    while (current?.$ref?.startsWith('#/')) {
      current = current.$ref
        .slice(2)
        .split('/')
        .reduce<any>((node, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
    }
    return current as T;
  };
  const problems: string[] = [];
  for (const exchange of exchanges) {
    const label = `${exchange.method} ${exchange.path}`;
    const path = exchange.path.slice(basePath.length);
    const template = Object.keys(spec.paths).find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
    const method = exchange.method.toLowerCase();
    const operation = template ? spec.paths[template]![method] : undefined;
    if (!template || !operation) {
      problems.push(`${label}: no such operation in the spec`);
      continue;
    }
    const pathParameters = (spec.paths[template] as unknown as { parameters?: Parameter[] }).parameters ?? [];
    const parameters = [...pathParameters, ...(operation.parameters ?? [])].map((p) => deref<Exclude<Parameter, { $ref: string }>>(p));
    const queryParameters = parameters.filter((p) => p.in === 'query');
    for (const p of queryParameters)
      if (p.required && !exchange.query.has(p.name)) problems.push(`${label}: required query parameter ${p.name} missing`);
    for (const [name, raw] of exchange.query) {
      const p = queryParameters.find((q) => q.name === name);
      if (!p) {
        problems.push(`${label}: query parameter ${name} is not in the spec`);
        continue;
      }
      const schema = deref<{ type?: string }>(p.schema ?? {});
      const value = schema.type === 'number' || schema.type === 'integer' ? Number(raw) : schema.type === 'boolean' ? raw === 'true' : raw;
      const check = p.schema ? ajv.compile({ $ref: `${specId}#${jsonPointerTo(spec, p.schema)}` }) : () => true;
      if (!check(value)) problems.push(`${label}: query ${name}=${raw}: ${ajv.errorsText((check as { errors?: null }).errors)}`);
    }
    if (exchange.body) {
      const requestBody = deref<{ content?: Record<string, { schema?: AnySchema }> }>(operation.requestBody);
      const mediaType = exchange.requestType.split(';')[0]!.trim() || 'application/json';
      const schema = requestBody?.content?.[mediaType]?.schema;
      if (!schema) problems.push(`${label}: sends a ${mediaType} body the spec does not describe`);
      else {
        const check = ajv.compile({ $ref: `${specId}#${jsonPointerTo(spec, schema)}` });
        const value = exchange.form
          ? formValue(exchange.form, deref(schema), deref, (problem) => problems.push(`${label}: ${problem}`))
          : JSON.parse(exchange.body);
        if (!check(value)) problems.push(`${label}: body: ${ajv.errorsText(check.errors)}`);
      }
    }
    const response = deref<{ content?: Record<string, { schema?: AnySchema }> }>(
      operation.responses[String(exchange.status)] ?? operation.responses.default,
    );
    if (!response) problems.push(`${label}: status ${exchange.status} is not in the spec`);
    const responseSchema = response?.content?.['application/json']?.schema;
    if (responseSchema && exchange.contentType.includes('json') && exchange.response) {
      const check = ajv.compile({ $ref: `${specId}#${jsonPointerTo(spec, responseSchema)}` });
      if (!check(JSON.parse(exchange.response))) problems.push(`${label}: response ${exchange.status}: ${ajv.errorsText(check.errors)}`);
    }
  }
  return problems;
}

/** A form's fields as the object its schema describes: a field is an array where the schema says so, else one value. */
function formValue(
  form: Record<string, string[]>,
  schema: { properties?: Record<string, unknown> },
  deref: <T>(value: unknown) => T,
  problem: (text: string) => void,
): Record<string, string | string[]> {
  return Object.fromEntries(
    Object.entries(form).map(([name, values]) => {
      if (deref<{ type?: string }>(schema.properties?.[name] ?? {}).type === 'array') return [name, values];
      if (values.length > 1) problem(`form field ${name} is sent ${values.length} times; the spec takes one`);
      return [name, values[0]!];
    }),
  );
}

/** The JSON pointer of `target` inside `root` (schemas are compiled in place, so their $refs resolve). */
function jsonPointerTo(root: unknown, target: unknown, path: string[] = []): string {
  if (root === target) return `/${path.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
  if (root && typeof root === 'object') {
    for (const [key, value] of Object.entries(root)) {
      const found = jsonPointerTo(value, target, [...path, key]);
      if (found) return found;
    }
  }
  return '';
}

const ajv2020 = () => addFormats.default(new Ajv2020({ strict: false, allErrors: true, validateSchema: false }));
// OpenAPI 3.0 schemas are draft-04-ish with `nullable`, which Ajv supports by default.
const ajv07 = () => addFormats.default(new Ajv({ strict: false, allErrors: true, validateSchema: false }));
const readJson = (file: string) => JSON.parse(readFileSync(new URL(file, SPECS), 'utf8'));

(HAVE_SPECS ? describe : describe.skip)("requests our sources build, against the providers' specs", () => {
  let sandbox: Sandbox;
  const servers: http.Server[] = [];
  const resources = testResources;
  beforeAll(async () => {
    sandbox = await startSandbox({ ...FREE_SANDBOX_PORTS, SANDBOX_USERS: '30' });
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await sandbox?.close();
  });
  const record = async (provider: Parameters<Sandbox['url']>[0]) => {
    const r = await recorder(sandbox.url(provider));
    servers.push(r.server);
    return r;
  };

  test('SendGrid (OpenAPI 3.1): mail send, Email Activity, bounces', async () => {
    const { url, exchanges } = await record('sendgrid');
    const sendgrid = createSendgridApi(EmailConfig.parse({ ...sandbox.env(), SENDGRID_API_URL: url }), resources());
    const user = sandbox.seed.users[0]!;
    await sendgrid.send({ to: user.email, subject: 'Contract', text: 'Plain', sendId: 'contract-1' });
    await sendgrid.send({ to: user.email, subject: 'Contract', html: '<p>Rich</p>', categories: ['receipts'], sendId: 'contract-2' });
    await sendgrid.messagesTo([user.email], 10);
    await sendgrid.messagesTo([user.email, sandbox.seed.users[1]!.email], 1000);
    await sendgrid.isBounced(user.email);
    await sendgrid.bouncedAddresses(2);
    const byFile = {
      'sendgrid-tsg_mail_v3.json': exchanges.filter((e) => e.path.startsWith('/v3/mail')),
      'sendgrid-tsg_email_activity_v3.json': exchanges.filter((e) => e.path.startsWith('/v3/messages')),
      'sendgrid-tsg_suppressions_v3.json': exchanges.filter((e) => e.path.startsWith('/v3/suppression')),
    };
    const problems = Object.entries(byFile).flatMap(([file, list]) => openApiProblems(readJson(file), file, ajv2020(), list));
    expect(problems).toEqual([]);
    expect(Object.values(byFile).map((list) => list.length)).toEqual([2, 2, 2]);
  });

  test('Mailgun (OpenAPI 3.1): a send as multipart form fields, and its answer', async () => {
    const { url, exchanges } = await record('mailgun');
    const mailgun = createMailgunApi(EmailConfig.parse({ ...sandbox.env(), MAILGUN_API_URL: url }), resources());
    const user = sandbox.seed.users[0]!;
    await mailgun.send({ to: user.email, subject: 'Contract', text: 'Plain', sendId: 'contract-1' });
    await mailgun.send({ to: user.email, subject: 'Contract', html: '<p>Rich</p>', categories: ['receipts', 'eu'], sendId: 'contract-2' });
    const spec = parseYaml(readFileSync(new URL('mailgun-openapi.yaml', SPECS), 'utf8')) as OpenApi;
    expect(openApiProblems(spec, 'mailgun', ajv2020(), exchanges)).toEqual([]);
    expect(exchanges.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
      `POST /v3/${providerEntry('mailgun').account.domain}/messages 200`,
      `POST /v3/${providerEntry('mailgun').account.domain}/messages 200`,
    ]);
    expect(exchanges[1]!.form).toMatchObject({ 'o:tag': ['receipts', 'eu'], 'v:patchbay_send_id': ['contract-2'] });
  });

  test('Mixpanel Query API (OpenAPI 3.0): stream query and segmentation', async () => {
    const { url, exchanges } = await record('mixpanel');
    const mixpanel = createMixpanelApi(AnalyticsConfig.parse({ ...sandbox.env(), MIXPANEL_API_URL: `${url}/api/query` }), resources());
    await mixpanel.eventsOf(['usr_00001', 'usr_00002'], '2026-11-01', '2026-11-26');
    await mixpanel.counts('Search', '2026-11-01', '2026-11-26', 'day');
    await mixpanel.counts('Search', '2026-11-25', '2026-11-26', 'hour');
    const spec = parseYaml(readFileSync(new URL('mixpanel-query.openapi.yaml', SPECS), 'utf8')) as OpenApi;
    expect(openApiProblems(spec, 'mixpanel-query', ajv07(), exchanges, '/api/query')).toEqual([]);
    expect(exchanges).toHaveLength(3);
  });

  test('S3 (Smithy model): ListObjectsV2 and HeadObject bindings, and the listing XML', async () => {
    const { url, exchanges } = await record('s3');
    const s3 = createS3Api(StorageConfig.parse({ ...sandbox.env(), S3_ENDPOINT: url }), resources());
    const page = await s3.listObjects({ prefix: 'users/usr_00001/', maxKeys: 2 });
    await s3.listObjects({ prefix: 'users/usr_00001/', maxKeys: 2, continuationToken: page.nextContinuationToken });
    await s3.listObjects({ prefix: 'users/usr_00001/', maxKeys: 1000, startAfter: page.objects[0]!.key });
    await s3.headObject(page.objects[0]!.key);
    await s3.headObject('users/usr_00001/missing');

    const model = readJson('aws-s3-2006-03-01.smithy.json') as { shapes: Record<string, any> };
    const shape = (name: string) => model.shapes[`com.amazonaws.s3#${name}`];
    const problems: string[] = [];
    for (const e of exchanges) {
      const name = e.method === 'HEAD' ? 'HeadObject' : 'ListObjectsV2';
      const operation = shape(name);
      const binding = operation.traits['smithy.api#http'] as { method: string; uri: string };
      const [uriPath, literalQuery] = binding.uri.split('?');
      if (binding.method !== e.method) problems.push(`${name}: method ${e.method}, model says ${binding.method}`);
      const pathPattern = new RegExp(`^${uriPath!.replace(/\{[^}]+\+\}/g, '.+').replace(/\{[^}]+\}/g, '[^/]+')}$`);
      if (!pathPattern.test(e.path)) problems.push(`${name}: path ${e.path} does not fit ${uriPath}`);
      const input = shape(operation.input.target.split('#')[1]);
      const declared = new Set(
        Object.values(input.members)
          .map((m: any) => m.traits?.['smithy.api#httpQuery'])
          .filter(Boolean),
      );
      for (const pair of (literalQuery ?? '').split('&').filter(Boolean)) {
        const [k, v] = pair.split('=');
        if (e.query.get(k!) !== v) problems.push(`${name}: must send ${pair}`);
        declared.add(k);
      }
      for (const key of e.query.keys())
        if (!declared.has(key)) problems.push(`${name}: query ${key} is not a member of ${input ? operation.input.target : '?'}`);
      if (name === 'ListObjectsV2' && e.status === 200) {
        const output = shape(operation.output.target.split('#')[1]);
        const root = output.traits['smithy.api#xmlName'] as string;
        const xml = new XMLParser().parse(e.response) as Record<string, Record<string, unknown>>;
        if (!xml[root]) problems.push(`ListObjectsV2: answer's root is not ${root}`);
        const members = new Set(Object.entries(output.members).map(([k, m]: [string, any]) => m.traits?.['smithy.api#xmlName'] ?? k));
        for (const element of Object.keys(xml[root] ?? {}))
          if (!members.has(element)) problems.push(`ListObjectsV2: element ${element} is not in ${root}`);
      }
    }
    expect(problems).toEqual([]);
    expect(exchanges.map((e) => `${e.method} ${e.status}`)).toEqual(['GET 200', 'GET 200', 'GET 200', 'HEAD 200', 'HEAD 404']);
  });
});
