import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { getGraphQLWSOptions, type GatewayRuntime } from '@graphql-hive/gateway-runtime';
import { GraphQLError } from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { AuthError, type Identity, type Verifier } from './auth.js';
import type { SubscriptionLimits } from './plugins/subscription-policy.js';
import type { Logger } from '../kit/process/logger.js';

/** What a connection holds: the identity it was opened with, and the subscriptions it carries. */
interface Connection {
  identity?: Identity;
  open: Set<string>;
  idle?: NodeJS.Timeout;
}
type WsContext = Context<Record<string, unknown> | undefined, Extra & { connection?: Connection }>;

/** Normal closure when a connection carried nothing for a while: the client opens another when it needs one. */
const IDLE_CLOSE = { code: 1000, reason: 'Idle' };
/** Going away: this replica stops; the client reconnects (to another) and resumes after its last event id. */
const DRAIN_CLOSE = { code: 1001, reason: 'Gateway stopping: reconnect' };

const typed = (message: string, code: string) => [new GraphQLError(message, { extensions: { code } })];

/**
 * GraphQL over WebSocket (the graphql-ws protocol, `graphql-transport-ws`) on the gateway's
 * /graphql, beside SSE. Every operation runs through the same engine and plugins as an HTTP
 * one (limits, persisted-query policy, subscription policy, signed subgraph calls). Auth is at
 * connect: `connection_init`'s payload carries `authorization: "Bearer <token>"`, verified like
 * the header (refused: closed 4403 Forbidden); each subscribe is checked against that token's
 * expiry (TOKEN_EXPIRED), and an open subscription ends TOKEN_EXPIRED when it expires. A
 * connection carries at most `perConnection` subscriptions (TOO_MANY_SUBSCRIPTIONS) and is
 * closed (1000 Idle) after `idleMs` without one; pings every 12 s keep proxies from cutting it
 * and find dead peers. On drain its subscriptions end RECONNECT and it closes 1001.
 */
export function serveWebSockets(
  gateway: GatewayRuntime,
  {
    path,
    verify,
    limits,
    logger,
    refusal,
  }: {
    path: string;
    verify: Verifier;
    limits: SubscriptionLimits;
    logger: Logger;
    /** Why a connection is refused before anything else (an app version no longer supported): its close code and reason. */
    refusal?: (request: http.IncomingMessage) => { code: number; reason: string } | undefined;
  },
) {
  const server = new WebSocketServer({ noServer: true, maxPayload: 1 * 2 ** 20 });
  const connections = new Map<WsContext, Connection>();
  let draining = false;
  const idleSoon = (ctx: WsContext, connection: Connection) => {
    clearTimeout(connection.idle);
    // Draining: closed once its last subscription was told RECONNECT and completed.
    if (draining && connection.open.size === 0) return ctx.extra.socket.close(DRAIN_CLOSE.code, DRAIN_CLOSE.reason);
    if (connection.open.size === 0)
      connection.idle = setTimeout(() => ctx.extra.socket.close(IDLE_CLOSE.code, IDLE_CLOSE.reason), limits.idleMs);
  };
  const engine = getGraphQLWSOptions<Record<string, unknown>, Extra>(gateway, (ctx) => {
    const { request } = ctx.extra;
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string') headers.set(name, value);
    const connection = connections.get(ctx as WsContext);
    // The request the plugins see: the upgrade's URL and headers.
    return { request: new Request(`http://gateway${request.url ?? path}`, { headers }), identity: connection?.identity };
  });
  useServer(
    {
      ...engine,
      connectionInitWaitTimeout: 5_000,
      onConnect: async (ctx) => {
        const refused = refusal?.(ctx.extra.request);
        if (refused) {
          ctx.extra.socket.close(refused.code, refused.reason);
          return false;
        }
        const authorization = ctx.connectionParams?.authorization;
        try {
          const identity = await verify(typeof authorization === 'string' ? authorization : undefined);
          const connection: Connection = { identity, open: new Set() };
          connections.set(ctx as WsContext, connection);
          idleSoon(ctx as WsContext, connection);
          return true;
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          logger.info({ reason: error.reason }, 'websocket refused at connect');
          return false;
        }
      },
      onSubscribe: (ctx, id, payload) => {
        const connection = connections.get(ctx as WsContext);
        if (!connection?.identity) return typed('Authentication required at connect', 'UNAUTHENTICATED');
        if (Date.now() >= connection.identity.expiresAt)
          return typed('The token this connection was opened with expired: connect again with a fresh one', 'TOKEN_EXPIRED');
        if (connection.open.size >= limits.perConnection)
          return typed(
            `At most ${limits.perConnection} subscriptions are carried by one connection: open another`,
            'TOO_MANY_SUBSCRIPTIONS',
          );
        connection.open.add(id);
        clearTimeout(connection.idle);
        return engine.onSubscribe!(ctx, id, payload);
      },
      onComplete: (ctx, id) => {
        const connection = connections.get(ctx as WsContext);
        if (!connection) return;
        connection.open.delete(id);
        idleSoon(ctx as WsContext, connection);
      },
      onClose: (ctx) => {
        clearTimeout(connections.get(ctx as WsContext)?.idle);
        connections.delete(ctx as WsContext);
      },
    },
    server,
  );

  return {
    /** Takes a request to switch to WebSocket on /graphql; refuses it on any other path. */
    upgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer) {
      if ((request.url ?? '').split('?')[0] !== path) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      server.handleUpgrade(request, socket, head, (ws) => server.emit('connection', ws, request));
    },
    /**
     * Closes every connection (1001) once its subscriptions, told RECONNECT by the subscription
     * policy, completed; any still open after a few seconds is closed all the same.
     */
    drain() {
      draining = true;
      for (const [ctx, connection] of connections) idleSoon(ctx, connection);
      setTimeout(() => {
        for (const ctx of connections.keys()) ctx.extra.socket.close(DRAIN_CLOSE.code, DRAIN_CLOSE.reason);
      }, 5_000).unref();
    },
    /** Open connections, for metrics. */
    connections: () => connections.size,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
