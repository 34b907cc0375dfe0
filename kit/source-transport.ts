import http from 'node:http';
import https from 'node:https';
import { got, RequestError } from 'got';
import { UpstreamError, UpstreamErrorCode } from './errors.js';
import { safeUrl } from './logger.js';
import { TokenBucket } from './rate-limit.js';
import type { OutgoingRequest, RequestOptions, SourceOptions } from './source.js';
import { messageOf } from './thrown.js';
import { SpanKind, SpanStatusCode, context, injectContext, tracer } from './tracing.js';
import { buildResponse, codeForStatus, retryAfterHeaderMs, type UpstreamResponse } from './upstream-response.js';

/**
 * One attempt at an upstream, as the source's policy runs it: a turn from the rate limit,
 * the signature, the HTTP call under the per-attempt timeout (got, never retrying on its
 * own), its span and metrics, and its failure as one UpstreamError.
 */
export interface Transport {
  attempt(request: RequestOptions, prepared: OutgoingRequest, signal: AbortSignal): Promise<UpstreamResponse>;
  close(): void;
}

export function createTransport(options: SourceOptions, deadlineMs: number): Transport {
  const { name, logger, metrics } = options;
  const maxSockets = options.bulkhead?.maxConcurrent ?? 64;
  const agent = {
    http: new http.Agent({ keepAlive: true, maxSockets }),
    https: new https.Agent({ keepAlive: true, maxSockets }),
  };
  const readRetryAfter = options.retryAfterMs ?? retryAfterHeaderMs;
  const limiter =
    options.rateLimiter ?? (options.rateLimit ? new TokenBucket(options.rateLimit.perSecond, options.rateLimit.burst) : undefined);

  async function attempt(request: RequestOptions, prepared: OutgoingRequest, signal: AbortSignal): Promise<UpstreamResponse> {
    if (limiter) {
      const turn = await limiter.take(deadlineMs, signal);
      if ('refusedForMs' in turn) {
        throw new UpstreamError(name, UpstreamErrorCode.RATE_LIMITED, { retryAfterMs: turn.refusedForMs, cause: 'client-side rate limit' });
      }
      if (turn.waitedMs > 0) metrics?.rateLimitWaits.inc({ source: name });
    }
    const { method, url, body } = prepared;
    const headers = { ...prepared.headers };
    if (options.sign) Object.assign(headers, options.sign({ method, url, headers, body }));

    const startedAt = performance.now();
    const labels = { source: name, operation: request.operation };
    const observe = (outcome: string) => {
      metrics?.attemptDuration.observe({ ...labels, outcome }, (performance.now() - startedAt) / 1000);
      metrics?.requests.inc({ ...labels, outcome });
    };
    // The provider's HTTP call, a client span carrying our trace context on to it.
    const span = tracer.startSpan(`HTTP ${method}`, { kind: SpanKind.CLIENT }, context.active());
    if (span.isRecording()) {
      span.setAttributes({
        'http.request.method': method,
        'server.address': url.hostname,
        'url.full': safeUrl(url),
        'patchbay.source': name,
      });
      injectContext(span, headers);
    }
    let response;
    try {
      response = await got(url, {
        method,
        headers,
        body,
        signal,
        agent,
        retry: { limit: 0 },
        timeout: { request: options.timeoutMs },
        throwHttpErrors: false,
        followRedirect: false,
        responseType: 'buffer',
        decompress: true,
      });
    } catch (cause) {
      const timedOut = cause instanceof RequestError && (cause.name === 'TimeoutError' || signal.aborted);
      observe(timedOut ? 'timeout' : 'network_error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: timedOut ? 'timeout' : 'network error' });
      span.end();
      logger?.warn({ source: name, operation: request.operation, url: safeUrl(url), err: messageOf(cause) }, 'upstream attempt failed');
      throw new UpstreamError(name, timedOut ? UpstreamErrorCode.TIMEOUT : UpstreamErrorCode.UNAVAILABLE, { cause });
    }
    const status = response.statusCode;
    const result = buildResponse(name, status, response.headers, response.body);
    const ok = (status >= 200 && status < 400) || request.expect?.includes(status);
    span.setAttribute('http.response.status_code', status);
    if (status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
    span.end();
    observe(ok ? 'success' : `http_${Math.floor(status / 100)}xx`);
    if (ok) return result;
    // A provider's own throttle headers mean "wait" only on a 429 (SendGrid sends its reset on
    // every response); a 503 may carry a standard Retry-After.
    const retryAfterMs = status === 429 ? readRetryAfter(result) : status === 503 ? retryAfterHeaderMs(result) : undefined;
    logger?.warn({ source: name, operation: request.operation, url: safeUrl(url), status }, 'upstream answered with an error status');
    throw new UpstreamError(name, codeForStatus(status), { status, retryAfterMs, cause: `HTTP ${status}` });
  }

  return {
    attempt,
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}
