import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { requestError } from '../errors.js';

/** How much a request may carry before anything runs: its document's size, its variables (and extensions). */
export interface RequestLimits {
  /**
   * Characters of the document. Parsing stops at the token limit, but comments and blanks
   * are not tokens; the engine keeps recent documents, so each costs its size in memory.
   */
  documentChars: number;
  /** Deepest nesting of lists and objects. */
  variableDepth: number;
  /** Values in all: every scalar, list and object counts one. */
  variableValues: number;
  /** Characters of all strings and object keys together. */
  variableChars: number;
}

/**
 * Why a request's variables ask too much, or undefined: one walk with a stack of its own (no
 * recursion, whatever the nesting), stopping at the first limit crossed, so its cost is
 * bounded by the limits, not by what was sent.
 */
export function variableLimitExceeded(values: readonly unknown[], limits: RequestLimits): string | undefined {
  const tooMany = `Variables hold more than ${limits.variableValues} values.`;
  const tooMuchText = `Variables hold more than ${limits.variableChars} characters of text.`;
  // Values are counted as they are found, before any is visited: a list of 45,000 is refused
  // by its length, not walked.
  const pending: Array<{ value: unknown; depth: number }> = values.map((value) => ({ value, depth: 0 }));
  let count = pending.length;
  let chars = 0;
  while (pending.length) {
    const { value, depth } = pending.pop()!;
    if (typeof value === 'string' && (chars += value.length) > limits.variableChars) return tooMuchText;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= limits.variableDepth) return `Variables are nested deeper than ${limits.variableDepth} levels.`;
    if (Array.isArray(value)) {
      if ((count += value.length) > limits.variableValues) return tooMany;
      for (const item of value) pending.push({ value: item, depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(value);
    if ((count += keys.length) > limits.variableValues) return tooMany;
    for (const key of keys) {
      if ((chars += key.length) > limits.variableChars) return tooMuchText;
      pending.push({ value: Reflect.get(value, key) as unknown, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * Bounds what a request can cost before its document is parsed: its size (the memory the
 * engine's document cache spends on it), and the CPU its variables cost when they are
 * coerced, planned, sent on to subgraphs and coerced there again (depth, values, text), per
 * client. A request past one is refused 400 before anything else reads it: a document over
 * its size GRAPHQL_PARSE_FAILED, variables BAD_USER_INPUT. Extensions count with variables.
 */
export function useRequestLimits(limits: RequestLimits): GatewayPlugin {
  return {
    onParams({ params }) {
      if (typeof params.query === 'string' && params.query.length > limits.documentChars) {
        throw requestError(`Document size limit of ${limits.documentChars} characters exceeded.`, 'GRAPHQL_PARSE_FAILED');
      }
      const exceeded = variableLimitExceeded([params.variables, params.extensions], limits);
      if (exceeded) throw requestError(exceeded, 'BAD_USER_INPUT');
    },
  };
}
