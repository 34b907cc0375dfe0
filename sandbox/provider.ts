import express, { type Express, type NextFunction, type Request, type Response } from 'express';

/**
 * Common shell of a sandbox provider: counts every call by operation (so tests can assert
 * upstream-call budgets from the provider's side) and serves the admin endpoints under
 * /__sandbox. The provider's own routes are registered with `route`.
 */
export interface ProviderApp {
  name: string;
  app: Express;
  calls: CallCounter;
  route(
    method: 'get' | 'head' | 'post' | 'put' | 'delete',
    path: string,
    operation: string | ((req: Request) => string),
    handler: (req: Request, res: Response, next: NextFunction) => unknown,
  ): void;
}

export class CallCounter {
  private counts = new Map<string, number>();
  record(operation: string): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
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
  }
}

export function createProviderApp(name: string): ProviderApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const calls = new CallCounter();

  app.get('/__sandbox/calls', (_req, res) => {
    res.json({ provider: name, total: calls.total, byOperation: calls.byOperation() });
  });
  app.delete('/__sandbox/calls', (_req, res) => {
    calls.reset();
    res.status(204).end();
  });

  return {
    name,
    app,
    calls,
    route(method, path, operation, handler) {
      app[method](path, (req, res, next) => {
        calls.record(typeof operation === 'function' ? operation(req) : operation);
        Promise.resolve(handler(req, res, next)).catch(next);
      });
    },
  };
}

/** Reads the whole request body as bytes, whatever its content type. */
export const rawBody = (limit: string) => express.raw({ type: () => true, limit });
