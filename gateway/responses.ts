/**
 * Request errors answered before GraphQL runs (authentication, body size), the way GraphQL
 * over HTTP wants them: a 4xx or 5xx status, `{ errors: [...] }`, in
 * application/graphql-response+json when the client accepts it, else application/json.
 */
export const GRAPHQL_RESPONSE = 'application/graphql-response+json';

export function mediaTypeFor(accept: string | null | undefined): string {
  const wanted = (accept ?? '').toLowerCase();
  // A client that names only application/json (older clients) gets what it names.
  return wanted.includes(GRAPHQL_RESPONSE) || !wanted.includes('application/json') ? GRAPHQL_RESPONSE : 'application/json';
}

export function errorBody(message: string, code: string, extensions: Record<string, unknown> = {}): string {
  return JSON.stringify({ errors: [{ message, extensions: { code, ...extensions } }] });
}

export function errorResponse(
  accept: string | null | undefined,
  status: number,
  message: string,
  code: string,
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
): Response {
  return new Response(errorBody(message, code, extensions), {
    status,
    headers: { 'content-type': `${mediaTypeFor(accept)}; charset=utf-8`, ...headers },
  });
}
