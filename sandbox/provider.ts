import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createServiceApp } from '../kit/process/service.js';
import { FaultInjector, validateRules, type ErrorBody, type ThrottleHeaders } from './faults.js';
import type { SandboxCredentials } from './credentials.js';
import type { SeedData } from './seed.js';

/**
 * Common shell of a sandbox provider: counts every call by operation (so tests can assert
 * upstream-call budgets from the provider's side) and serves the admin endpoints under
 * /__sandbox. The provider's own routes are registered with `route`.
 */
export interface ProviderApp {
  name: string;
  app: Express;
  calls: CallCounter;
  faults: FaultInjector;
  /** Counts a call and applies any fault; true when the fault already answered it. */
  enter(operation: string, req: Request, res: Response): Promise<boolean>;
  route(
    method: 'get' | 'head' | 'post' | 'put' | 'delete',
    path: string,
    operation: string | ((req: Request) => string),
    handler: (req: Request, res: Response, next: NextFunction) => unknown,
  ): void;
  /** A provider that posts delivery webhooks: where to (a subgraph's receiver), or nowhere. */
  deliverWebhooksTo?(url: string | undefined): void;
}

export class CallCounter {
  private counts = new Map<string, number>();
  private inFlight = new Map<string, number>();
  private peaks = new Map<string, number>();
  private spans: Array<[number, number]> = [];
  /** Counts a call; with its response, also how many of the operation were answered at once, and when it was in flight. */
  record(operation: string, res?: Response): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
    if (!res) return;
    const now = (this.inFlight.get(operation) ?? 0) + 1;
    this.inFlight.set(operation, now);
    this.peaks.set(operation, Math.max(now, this.peaks.get(operation) ?? 0));
    const span: [number, number] = [performance.now(), Infinity];
    // Bounded: a benchmark reads them per request and resets.
    if (this.spans.length < 100_000) this.spans.push(span);
    res.once('close', () => {
      this.inFlight.set(operation, (this.inFlight.get(operation) ?? 1) - 1);
      span[1] = performance.now();
    });
  }
  /** When each call since the last reset was in flight (performance.now(), ms): what a benchmark subtracts as upstream time. */
  inFlightSpans(): ReadonlyArray<readonly [number, number]> {
    return this.spans;
  }
  /** The most calls of `operation` in flight at one time since the last reset. */
  peakInFlight(operation: string): number {
    return this.peaks.get(operation) ?? 0;
  }
  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
  byOperation(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
  reset(): void {
    this.counts.clear();
    this.peaks.clear();
    this.spans = [];
  }
}

export interface ProviderOptions {
  /** The provider's own error body for a status, used by injected faults (with the wait a throttle asks for, in seconds). */
  errorBody: (status: number, req: Request, retryAfter?: number) => ErrorBody;
  /** The provider's own throttle headers; Retry-After when absent. */
  throttleHeaders?: ThrottleHeaders;
}

export const jsonError =
  (body: (status: number) => unknown) =>
  (status: number): ErrorBody => ({
    contentType: 'application/json',
    body: JSON.stringify(body(status)),
  });

export function createProviderApp(name: string, options: ProviderOptions): ProviderApp {
  // The shell every patchbay process has (/healthz, /readyz), before the provider's own routes.
  const app = createServiceApp();
  app.set('query parser', 'simple');
  const calls = new CallCounter();
  const faults = new FaultInjector(options.errorBody);

  app.get('/__sandbox/faults', (_req, res) => {
    res.json({ provider: name, rules: faults.list() });
  });
  app.post('/__sandbox/faults', express.json(), (req, res) => {
    const rules = validateRules(req.body);
    if (typeof rules === 'string') return res.status(400).json({ error: rules });
    faults.set(rules);
    res.json({ provider: name, rules: faults.list() });
  });
  app.delete('/__sandbox/faults', (_req, res) => {
    faults.clear();
    res.status(204).end();
  });

  app.get('/__sandbox/calls', (_req, res) => {
    res.json({ provider: name, total: calls.total, byOperation: calls.byOperation() });
  });
  app.delete('/__sandbox/calls', (_req, res) => {
    calls.reset();
    res.status(204).end();
  });

  const enter = async (operation: string, req: Request, res: Response) => {
    calls.record(operation, res);
    return faults.apply(operation, req, res, options.throttleHeaders);
  };
  return {
    name,
    app,
    calls,
    faults,
    enter,
    route(method, path, operation, handler) {
      app[method](path, (req, res, next) => {
        enter(typeof operation === 'function' ? operation(req) : operation, req, res)
          .then((answered) => (answered ? undefined : handler(req, res, next)))
          .catch(next);
      });
    },
  };
}

/** The fields of a form body (multipart or urlencoded), each name with its values (a file by its name); undefined when it is not a form. */
export async function formFields(body: Buffer, contentType: string): Promise<Record<string, string[]> | undefined> {
  try {
    const fields: Record<string, string[]> = {};
    for (const [name, value] of await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData())
      (fields[name] ??= []).push(typeof value === 'string' ? value : value.name);
    return fields;
  } catch {
    return undefined;
  }
}

/** Reads the whole request body as bytes, whatever its content type. */
export const rawBody = (limit: string) => express.raw({ type: () => true, limit });

/**
 * Where a sandbox provider posts its delivery webhooks, once told (`deliverTo`): like the
 * real provider, a short moment after it accepted a message, and never failing the send.
 */
export function webhookSender(sign: (body: string) => Record<string, string>) {
  let target: string | undefined;
  return {
    deliverTo(url: string | undefined) {
      target = url;
    },
    post(payload: unknown) {
      if (!target) return;
      const url = target;
      const body = JSON.stringify(payload);
      setTimeout(() => {
        fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...sign(body) }, body }).catch(() => undefined);
      }, 20).unref();
    },
  };
}

/**
 * A provider of the sandbox, as sandbox/index.ts runs it: created over the seed, served on
 * the port the registry gives it (subgraphs/registry.ts), and the environment that points
 * its subgraph at it. One per module, exported as `sandboxProvider`.
 */
export interface SandboxProvider<App extends ProviderApp = ProviderApp> {
  name: string;
  /** The provider over the seed, accepting (and signing with) the given credentials. */
  create(seed: SeedData, credentials: SandboxCredentials): App;
  /** The subgraph settings that make it use this provider at `url`. */
  env(url: string): Record<string, string>;
  /** A provider that posts delivery webhooks: the path of its receiver on its subgraph. */
  webhookPath?: string;
}

export const defineSandboxProvider = <App extends ProviderApp>(provider: SandboxProvider<App>): SandboxProvider<App> => provider;
