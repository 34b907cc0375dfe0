/**
 * Command-line programs (bench, token, schema check, running one service) say what is wrong
 * with their arguments in one line and stop with exit code 2, the code every patchbay
 * program uses for bad usage or configuration.
 */
export function usageError(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** A whole-number option in [min, max], or a usage error naming the option. */
export function wholeNumber(option: string, raw: string | undefined, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) usageError(`--${option} must be a whole number from ${min} to ${max}`);
  return value;
}
