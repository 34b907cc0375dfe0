import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../kit/process/logger.js';

/** How often a watched path is read again in case a change event was missed. */
export const RECHECK_MS = 5_000;

/**
 * Calls `check` whenever what is at `path` (a file or a directory) may have changed: on a change
 * event (for a file, of its directory: editors and ConfigMaps replace files rather than write
 * them, and a ConfigMap swaps its `..data` symlink), and every few seconds in case an event was
 * missed or watching fails (some network volumes). `check` compares what it reads with what it
 * holds, so a spurious call costs one read.
 */
export function watchPath(path: string, check: () => void, logger: Logger, everyMs = RECHECK_MS): { close(): void } {
  const timer = setInterval(check, everyMs);
  timer.unref();
  let watcher: FSWatcher | undefined;
  try {
    const isDirectory = statSync(path).isDirectory();
    const name = basename(path);
    watcher = watch(isDirectory ? path : dirname(path), (_event, changed) => {
      if (isDirectory || !changed || changed === name || changed.startsWith('..')) setTimeout(check, 50).unref();
    });
    watcher.on('error', (error) => logger.warn({ path, err: error.message }, 'watching failed; checking every few seconds instead'));
    watcher.unref();
  } catch (error) {
    // Nothing there yet (a client's first release is still to come) is no fault: it is checked for.
    const absent = (error as NodeJS.ErrnoException).code === 'ENOENT';
    logger[absent ? 'debug' : 'warn']({ path, err: (error as Error).message }, 'cannot watch; checking every few seconds instead');
  }
  return {
    close() {
      clearInterval(timer);
      watcher?.close();
    },
  };
}
