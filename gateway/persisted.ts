import { readFileSync } from 'node:fs';
import type express from 'express';
import { z } from 'zod';

/** Apollo's persisted query manifest (`@apollo/generate-persisted-query-manifest`). */
const Manifest = z.object({
  format: z.literal('apollo-persisted-query-manifest'),
  version: z.literal(1),
  operations: z.array(
    z.object({ id: z.string().regex(/^[0-9a-f]{64}$/), name: z.string(), type: z.enum(['query', 'mutation', 'subscription']), body: z.string() }),
  ),
});

const parseManifest = (file: URL) => Manifest.parse(JSON.parse(readFileSync(file, 'utf8')));

/** Operation bodies by id: what a safelisted gateway runs. */
export function readManifest(file: URL): Map<string, string> {
  return new Map(parseManifest(file).operations.map((op) => [op.id, op.body]));
}

/** The request extension that names a manifest's operation by id, as the apps send it. */
export function persistedQueryExtension(file: URL, operationName: string) {
  const operation = parseManifest(file).operations.find((op) => op.name === operationName);
  if (!operation) throw new Error(`${operationName} is not in the persisted query manifest: run npm run persisted`);
  return { persistedQuery: { version: 1, sha256Hash: operation.id } };
}

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

/** A request error the way GraphQL over HTTP wants it: 4xx, in the media type the client accepts. */
function refuse(req: express.Request, res: express.Response, message: string, code: string) {
  const type = req.accepts([GRAPHQL_RESPONSE, 'application/json']) || 'application/json';
  res.status(400).type(type === GRAPHQL_RESPONSE ? `${GRAPHQL_RESPONSE}; charset=utf-8` : 'application/json; charset=utf-8');
  res.send(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/**
 * Safelisting: only the operations of the client's manifest run. A request names one by
 * id (the APQ extension `persistedQuery.sha256Hash`, which is what Apollo's clients send);
 * the gateway runs the manifest's body for it, whatever text came along. A raw query, or an
 * id the manifest does not have, is refused before anything is parsed or executed, and
 * nothing is ever registered at run time.
 */
export function safelist(operations: ReadonlyMap<string, string>): express.RequestHandler {
  return (req, res, next) => {
    const isGet = req.method === 'GET';
    const params = (isGet ? req.query : req.body) as Record<string, unknown> | undefined;
    if (!params || typeof params !== 'object' || Array.isArray(params)) return next();
    const extensions = parseJson(params.extensions) as { persistedQuery?: { sha256Hash?: unknown } } | undefined;
    const id = extensions?.persistedQuery?.sha256Hash;
    if (typeof id !== 'string') {
      return refuse(req, res, 'This endpoint runs persisted operations only: send extensions.persistedQuery.sha256Hash', 'PERSISTED_QUERY_ID_REQUIRED');
    }
    const body = operations.get(id);
    if (!body) return refuse(req, res, `No persisted operation has the id ${id.slice(0, 64)}`, 'PERSISTED_QUERY_NOT_IN_LIST');

    const { persistedQuery: _named, ...otherExtensions } = extensions!;
    if (isGet) {
      const url = new URL(req.originalUrl, 'http://gateway');
      url.searchParams.set('query', body);
      if (Object.keys(otherExtensions).length) url.searchParams.set('extensions', JSON.stringify(otherExtensions));
      else url.searchParams.delete('extensions');
      req.url = `${req.url.split('?')[0]}${url.search}`;
    } else {
      req.body = { ...params, query: body, extensions: otherExtensions };
    }
    next();
  };
}
