import { badUserInput } from '../errors.js';

/** A page size argument within 1..max, with the argument's name in the error. */
export function pageSize(value: number | null | undefined, name: string, max: number, fallback: number): number {
  const size = value ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) {
    throw badUserInput(`${name} must be between 1 and ${max}, got ${size}`, name);
  }
  return size;
}
