import { GraphQLError } from 'graphql';
import { SignJWT, jwtVerify } from 'jose';

/**
 * Who is calling, as the gateway verified it from the client's token. It travels to the
 * subgraphs as a short-lived token signed with a key only the gateways and subgraphs hold
 * (INTERNAL_TOKEN_SECRET), so a request that reaches a subgraph any other way cannot claim
 * to be anyone.
 */
export interface Caller {
  userId: string;
  scopes: readonly string[];
  /** The client the request came through (web, mobile). */
  client: string;
}

export const CALLER_HEADER = 'x-patchbay-caller';
const ISSUER = 'patchbay-gateway';
const AUDIENCE = 'patchbay-subgraphs';
/** Long enough for a request's slowest subgraph call, short enough to be useless if leaked. */
const TTL_SECONDS = 60;

const keyOf = (secret: string) => new TextEncoder().encode(secret);

export async function signCaller(caller: Caller, secret: string): Promise<string> {
  return new SignJWT({ scope: caller.scopes.join(' '), client: caller.client })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(caller.userId)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${TTL_SECONDS}s`)
    .sign(keyOf(secret));
}

/** The caller a subgraph request carries, or undefined when the header is missing or not ours. */
export async function verifyCaller(token: string | undefined, secret: string): Promise<Caller | undefined> {
  if (!token) return undefined;
  try {
    const { payload } = await jwtVerify(token, keyOf(secret), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
    if (typeof payload.sub !== 'string') return undefined;
    return {
      userId: payload.sub,
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      client: typeof payload.client === 'string' ? payload.client : 'unknown',
    };
  } catch {
    return undefined;
  }
}

/** Scope that sees and does everything (support staff, back office). */
export const ADMIN = 'admin';

const forbidden = (message: string) => new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });

export const hasScope = (caller: Caller, scope: string) => caller.scopes.includes(scope) || caller.scopes.includes(ADMIN);

/** A user's own data is theirs; anyone else's needs the admin scope. */
export function requireSelf(caller: Caller, userId: string): void {
  if (caller.userId !== userId && !caller.scopes.includes(ADMIN)) {
    throw forbidden("Only the user themselves (or the admin scope) may see or change this user's data");
  }
}

export function requireScope(caller: Caller, scope: string): void {
  if (!hasScope(caller, scope)) throw forbidden(`This needs the ${scope} scope`);
}
