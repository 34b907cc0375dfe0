import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, ProcessConfig, loadConfig } from './config.js';
import { messageOf } from './caught.js';

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

/** Parses the command line; an unknown or malformed option is a usage error with the usage line. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T, usage: string) {
  try {
    return parseArgs(config);
  } catch (error) {
    usageError(`${messageOf(error)}\n${usage}`);
  }
}

/**
 * Runs a command-line program. Its settings are validated before it does anything (NODE_ENV
 * and LOG_LEVEL with the program's own): a bad one is a line naming it and exit 2; a
 * configuration error raised later (by a service it starts) too. Any other failure is one
 * line and exit 1, never a stack trace.
 */
export async function runCommand(name: string, main: () => Promise<void>): Promise<void> {
  try {
    loadConfig(ProcessConfig, process.env);
    await main();
  } catch (error) {
    if (error instanceof ConfigError) usageError(error.message);
    process.stderr.write(`${name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
