import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { createProviderApp, defineSandboxProvider, jsonError, type ProviderApp } from './provider.js';
import type { SeedUser } from './seed.js';

export interface AccountsSandboxOptions {
  users: SeedUser[];
  token: string;
}

const MAX_IDS = 100;
const MAX_LIMIT = 100;

function fail(res: Response, status: number, code: string, message: string) {
  res.status(status).json({ error: { code, message } });
}

/**
 * Answers with an ETag and the given Cache-Control, or 304 when the client holds this body.
 * How our account service lets callers cache: users change rarely, lists more often.
 */
function sendCacheable(req: Request, res: Response, body: unknown, cacheControl: string) {
  const json = JSON.stringify(body);
  const etag = `W/"${createHash('sha1').update(json).digest('base64url')}"`;
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('ETag', etag);
  if (req.headers['if-none-match'] === etag) return res.status(304).end();
  res.type('application/json').send(json);
}

/** Single users and users by id may be reused for 30 s; listings must be revalidated. */
const USER_CACHE = 'private, max-age=30';
const LIST_CACHE = 'private, no-cache';

/**
 * Our own account service: JSON REST with bearer auth.
 *   GET /v1/users/{id}             one user, 404 when unknown
 *   GET /v1/users?ids=a,b,c        up to 100 users in one call; unknown ids are left out
 *   GET /v1/users?limit=&cursor=   all users, oldest first, cursor paginated
 */
export function createAccountsSandbox({ users, token }: AccountsSandboxOptions): ProviderApp {
  const provider = createProviderApp('accounts', {
    errorBody: jsonError((status) => ({ error: { code: status === 429 ? 'rate_limited' : 'unavailable', message: `injected ${status}` } })),
  });
  const byId = new Map(users.map((u, index) => [u.id, { user: u, index }]));

  provider.app.use('/v1', (req: Request, res: Response, next) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      return fail(res, 401, 'unauthorized', 'A valid bearer token is required.');
    }
    next();
  });

  provider.route('get', '/v1/users/:id', 'getUser', (req, res) => {
    const found = byId.get(String(req.params.id));
    if (!found) return fail(res, 404, 'not_found', 'No user with that id.');
    sendCacheable(req, res, found.user, USER_CACHE);
  });

  provider.route(
    'get',
    '/v1/users',
    (req) => (req.query.ids === undefined ? 'listUsers' : 'getUsersByIds'),
    (req, res) => {
      const ids = req.query.ids;
      if (typeof ids === 'string') {
        const wanted = ids.split(',').filter(Boolean);
        if (wanted.length > MAX_IDS) return fail(res, 400, 'too_many_ids', `At most ${MAX_IDS} ids per request.`);
        return sendCacheable(req, res, { data: wanted.flatMap((id) => byId.get(id)?.user ?? []) }, USER_CACHE);
      }
      const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
        return fail(res, 400, 'invalid_limit', `limit must be an integer from 1 to ${MAX_LIMIT}.`);
      }
      let start = 0;
      if (typeof req.query.cursor === 'string') {
        const found = byId.get(Buffer.from(req.query.cursor, 'base64url').toString('utf8'));
        if (!found) return fail(res, 400, 'invalid_cursor', 'cursor is not one this service issued.');
        start = found.index + 1;
      }
      const page = users.slice(start, start + limit);
      const last = page.at(-1);
      const more = start + limit < users.length;
      sendCacheable(req, res, { data: page, next_cursor: more && last ? Buffer.from(last.id).toString('base64url') : null }, LIST_CACHE);
    },
  );

  return provider;
}

export const sandboxProvider = defineSandboxProvider({
  name: 'accounts',
  create: (seed, credentials) => createAccountsSandbox({ users: seed.users, token: credentials.ACCOUNTS_API_TOKEN }),
  env: (url) => ({ ACCOUNTS_API_URL: url }),
});
