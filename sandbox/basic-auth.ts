import type { Request } from 'express';

/** The `user:password` of a request's Basic authorization, or undefined. */
export function basicUser(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  return Buffer.from(header.slice(6), 'base64').toString('utf8');
}
