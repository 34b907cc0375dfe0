import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { AuthError, type AuthFailure, type Identity, type Verifier } from '../auth.js';
import { errorResponse } from '../responses.js';

/** What the gateway knows of the caller of a request, for the plugins after this one. */
export interface ClientAuthContext {
  identity: Identity;
}

/** Each request's verified caller, from its first hook on (the context is built only after validation). */
const identities = new WeakMap<Request, Identity>();
export const verifiedIdentity = (request: Request): Identity | undefined => identities.get(request);

/** How long a client waits before asking again when the identity provider's keys are away. */
const KEYS_RETRY_AFTER_SECONDS = 5;

/**
 * Every operation needs a verified caller: the bearer token is checked before anything is
 * parsed, so an unauthenticated client costs a header read. A refused token answers 401 with
 * the reason in WWW-Authenticate and in the error; keys that cannot be fetched answer 503
 * with Retry-After (the token may be fine). Preflight requests and the IDE page need no token.
 */
export function useClientAuth(
  verify: Verifier,
  graphqlPath: string,
  onRefused: (reason: AuthFailure) => void = () => {},
): GatewayPlugin<ClientAuthContext> {
  return {
    onRequest({ request, url, endResponse }) {
      if (request.method === 'OPTIONS' || url.pathname !== graphqlPath) return;
      const refuse = (error: unknown) => {
        if (!(error instanceof AuthError)) throw error;
        onRefused(error.reason);
        const accept = request.headers.get('accept');
        if (error.unavailable) {
          endResponse(
            errorResponse(
              accept,
              503,
              error.message,
              'AUTHENTICATION_UNAVAILABLE',
              { 'retry-after': String(KEYS_RETRY_AFTER_SECONDS) },
              { retryable: true },
            ),
          );
          return;
        }
        // RFC 6750: a request without credentials gets the challenge alone; a bad token, why.
        const challenge = request.headers.has('authorization')
          ? `Bearer realm="patchbay", error="invalid_token", error_description="${error.message.replace(/"/g, "'")}"`
          : 'Bearer realm="patchbay"';
        endResponse(errorResponse(accept, 401, error.message, 'UNAUTHENTICATED', { 'www-authenticate': challenge }));
      };
      let identity: Identity | Promise<Identity>;
      try {
        identity = verify(request.headers.get('authorization'));
      } catch (error) {
        return refuse(error);
      }
      if (!(identity instanceof Promise)) {
        identities.set(request, identity);
        return;
      }
      return identity.then((verified) => void identities.set(request, verified), refuse);
    },
    onContextBuilding({ context, extendContext }) {
      const identity = identities.get(context.request);
      if (identity) extendContext({ identity });
    },
  };
}
