import type { Request, Response } from 'express';
import { z } from 'zod';

/**
 * Fault injection of a sandbox provider, set at run time through its admin endpoint
 * (`POST /__sandbox/faults`). Rules are tried in order; the first that matches a request
 * and has uses left applies. Everything is deterministic: a `rate` of 0.25 fails exactly
 * every fourth matching request, and `times` makes scripted sequences ("fail 2 times, then
 * answer normally").
 */
export const FaultRule = z.object({
  /** Provider operation to match (as counted in /__sandbox/calls); all when absent. */
  operation: z.string().optional(),
  /** Added delay before answering (or before the fault), in ms. */
  latencyMs: z.number({ error: 'must be 0 to 120000' }).min(0, 'must be 0 to 120000').max(120_000, 'must be 0 to 120000').optional(),
  /** Answer with this status and the provider's own error body for it. */
  status: z.int({ error: 'must be an HTTP status' }).min(100, 'must be an HTTP status').max(599, 'must be an HTTP status').optional(),
  /** Seconds to wait, sent in the provider's own throttle headers (Retry-After by default). */
  retryAfter: z.number().min(0).optional(),
  /** Destroy the connection without an answer. */
  reset: z.boolean().optional(),
  /** Never answer. */
  hang: z.boolean().optional(),
  /** Fraction of matching requests the fault hits, spread evenly (1 by default). */
  rate: z.number({ error: 'must be in (0, 1]' }).gt(0, 'must be in (0, 1]').max(1, 'must be in (0, 1]').optional(),
  /** Matching requests this rule applies to before it is spent; unlimited when absent. */
  times: z.int({ error: 'must be a positive integer' }).positive('must be a positive integer').optional(),
});
export type FaultRule = z.infer<typeof FaultRule>;
const FaultRules = z.object({ rules: z.array(FaultRule) }, { error: 'body must be {"rules": [...]}' });

export interface ErrorBody {
  contentType: string;
  body: string;
}

/** The headers a provider throttles with, for a wait of `seconds`. */
export type ThrottleHeaders = (seconds: number, req: Request) => Record<string, string>;
export const retryAfterHeader: ThrottleHeaders = (seconds) => ({ 'Retry-After': String(seconds) });

interface ActiveRule extends FaultRule {
  seen: number;
  used: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The rules of a `POST /__sandbox/faults` body, or what is wrong with the first bad one. */
export function validateRules(input: unknown): FaultRule[] | string {
  const parsed = FaultRules.safeParse(input);
  if (parsed.success) return parsed.data.rules;
  const issue = parsed.error.issues[0]!;
  const [, index, field] = issue.path;
  if (index === undefined) return 'body must be {"rules": [...]}';
  return `rules[${String(index)}]${field === undefined ? '' : `.${String(field)}`}: ${issue.message}`;
}

export class FaultInjector {
  private rules: ActiveRule[] = [];
  private readonly hanging = new Set<Response>();

  /** `errorBody` writes the provider's own error; `retryAfter`, the wait a throttle rule asks for, for providers that say it in words. */
  constructor(private readonly errorBody: (status: number, req: Request, retryAfter?: number) => ErrorBody) {}

  set(rules: FaultRule[]): void {
    this.rules = rules.map((r) => ({ ...r, seen: 0, used: 0 }));
  }
  list(): FaultRule[] {
    return this.rules.map(({ seen: _seen, used, ...rule }) => ({ ...rule, ...(rule.times ? { times: rule.times - used } : {}) }));
  }
  clear(): void {
    this.rules = [];
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  private pick(operation: string): ActiveRule | undefined {
    for (const rule of this.rules) {
      if (rule.operation && rule.operation !== operation) continue;
      if (rule.times !== undefined && rule.used >= rule.times) continue;
      rule.seen++;
      const rate = rule.rate ?? 1;
      // Bresenham-style: hits exactly rate * seen requests, evenly spread.
      if (Math.floor(rule.seen * rate) === Math.floor((rule.seen - 1) * rate)) continue;
      rule.used++;
      return rule;
    }
    return undefined;
  }

  /** Applies the first matching rule; true when the request has been answered (or dropped). */
  async apply(operation: string, req: Request, res: Response, throttleHeaders: ThrottleHeaders = retryAfterHeader): Promise<boolean> {
    const rule = this.pick(operation);
    if (!rule) return false;
    if (rule.latencyMs) await sleep(rule.latencyMs);
    if (rule.hang) {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return true;
    }
    if (rule.reset) {
      req.socket.destroy();
      return true;
    }
    if (rule.status === undefined) return false;
    if (rule.retryAfter !== undefined) {
      for (const [name, value] of Object.entries(throttleHeaders(rule.retryAfter, req))) res.setHeader(name, value);
    }
    const { contentType, body } = this.errorBody(rule.status, req, rule.retryAfter);
    res.status(rule.status);
    if (req.method === 'HEAD' || rule.status === 204 || rule.status === 304) res.end();
    else res.type(contentType).send(body);
    return true;
  }
}
