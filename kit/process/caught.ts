/**
 * Reading values whose shape nobody promised: anything can be thrown, and parsed JSON or
 * a library's loosely typed hook argument is whatever it is. Each reader checks, so no
 * caller has to assert a type it cannot know.
 */

/** `value[key]` when `value` is an object, otherwise undefined. */
export function propertyOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, key) : undefined;
}

/** A string property, or undefined when absent or not a string. */
export function stringPropertyOf(value: unknown, key: string): string | undefined {
  const property = propertyOf(value, key);
  return typeof property === 'string' ? property : undefined;
}

/** The message of whatever was thrown, for a log line or a one-line refusal. */
export function messageOf(thrown: unknown): string {
  return stringPropertyOf(thrown, 'message') ?? String(thrown);
}

/** The class name of whatever was thrown (`TimeoutError`, `AbortError`), or `Error`. */
export function nameOf(thrown: unknown): string {
  return stringPropertyOf(thrown, 'name') ?? 'Error';
}

/** The GraphQL error code (`extensions.code`) of whatever was thrown, if it has one. */
export function graphqlCodeOf(thrown: unknown): string | undefined {
  return stringPropertyOf(propertyOf(thrown, 'extensions'), 'code');
}

/** Whatever was thrown, as an Error (DataLoader and promise rejections want one). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(messageOf(thrown));
}
