import { GraphQLError } from 'graphql';
import type { Caller } from './token.js';

/**
 * Every scope a token may carry, declared once: the subgraphs check them, `npm run token`
 * refuses others. `admin` sees and does everything (support staff, back office).
 */
export const SCOPES = { admin: 'admin', sendEmail: 'email:send', readAnalytics: 'analytics:read' } as const;
export type Scope = (typeof SCOPES)[keyof typeof SCOPES];
const ALL_SCOPES: ReadonlySet<string> = new Set(Object.values(SCOPES));
export const isScope = (value: string): value is Scope => ALL_SCOPES.has(value);
const ADMIN = SCOPES.admin;

export const forbidden = (message: string) => new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });

export const hasScope = (caller: Caller, scope: Scope) => caller.scopes.includes(scope) || caller.scopes.includes(ADMIN);

/** A user's own data is theirs; anyone else's needs the admin scope. */
export function requireSelf(caller: Caller, userId: string): void {
  if (caller.userId !== userId && !caller.scopes.includes(ADMIN)) {
    throw forbidden("Only the user themselves (or the admin scope) may see or change this user's data");
  }
}

export function requireScope(caller: Caller, scope: Scope): void {
  if (!hasScope(caller, scope)) throw forbidden(`This needs the ${scope} scope`);
}
