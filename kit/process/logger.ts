import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * One JSON logger per service. Credentials can reach a log line only through headers or
 * URLs, so those paths are redacted wherever they appear.
 */
export function createLogger(service: string, level: string): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: {
      paths: [
        'headers.authorization',
        'headers.cookie',
        'headers["x-api-key"]',
        'headers["x-postmark-server-token"]',
        '*.headers.authorization',
        '*.headers.cookie',
        '*.headers["x-postmark-server-token"]',
        'apiKey',
        '*.apiKey',
        'secret',
        '*.secret',
      ],
      censor: '[redacted]',
    },
  });
}

/** Strips the query string (presigned signatures, keys) and userinfo from a URL for logging. */
export function safeUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '[unparseable url]';
  }
}
