import { Logger as EngineLogger, type LogLevel } from '@graphql-hive/logger';
import type { Logger } from '../kit/process/logger.js';
import { nameOf, propertyOf } from '../kit/process/caught.js';

/** What the engine attaches to its logs that must not reach a log line: headers (tokens) and bodies (user data). */
const DROPPED = new Set(['headers', 'request', 'body', 'variables', 'authorization', 'cookie', 'x-patchbay-caller']);

function sanitize(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.slice(0, 20).map((item) => sanitize(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !DROPPED.has(key.toLowerCase()))
      .map(([key, item]) => [key, sanitize(item, depth + 1)]),
  );
}

/**
 * A GraphQL error the engine logs after the error masker (gateway/errors.ts) has answered it:
 * the masker already logged what was unexpected, and a client's error quotes the client's
 * input (a document's tokens, a variable's value), which stays out of the log.
 */
const isMaskedGraphQLError = (attrs: unknown) =>
  nameOf(attrs) === 'GraphQLError' || (propertyOf(attrs, 'extensions') !== undefined && propertyOf(attrs, 'message') !== undefined);

/**
 * The engine's logger, writing through the process's pino logger: one JSON log stream per
 * process, at its level, without the headers and bodies the engine attaches to some logs.
 */
export function engineLogger(logger: Logger): EngineLogger {
  // The engine's logger library checks LOG_LEVEL itself on every logger it makes and throws on
  // pino's `fatal` and `silent`, which patchbay accepts. The level is passed explicitly below,
  // so the variable is only read to be checked: give it a value the library knows.
  if (process.env.LOG_LEVEL === 'silent' || process.env.LOG_LEVEL === 'fatal') process.env.LOG_LEVEL = 'error';
  const level = logger.level === 'silent' || logger.level === 'fatal' ? false : (logger.level as LogLevel);
  return new EngineLogger({
    level,
    writers: [
      {
        write(writeLevel, attrs, msg) {
          if (isMaskedGraphQLError(attrs)) {
            const code = propertyOf(propertyOf(attrs, 'extensions'), 'code');
            return void logger.debug({ engine: { code: typeof code === 'string' ? code : undefined } }, msg ?? 'request error');
          }
          logger[writeLevel](attrs ? { engine: sanitize(attrs) } : {}, msg ?? '');
        },
      },
    ],
  });
}
