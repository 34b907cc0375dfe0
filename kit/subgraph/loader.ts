import DataLoader from 'dataloader';
import { inSpan } from '../process/tracing.js';

/**
 * A DataLoader whose every batch is a span (`dataloader.batch <name>`, with its size), so a
 * trace shows which lookups of a request became one upstream call.
 */
export function createLoader<K, V, C = K>(
  batch: DataLoader.BatchLoadFn<K, V>,
  options: DataLoader.Options<K, V, C> & { name: string },
): DataLoader<K, V, C> {
  const traced: DataLoader.BatchLoadFn<K, V> = (keys) =>
    inSpan(
      `dataloader.batch ${options.name}`,
      { attributes: { 'patchbay.loader': options.name, 'patchbay.batch.size': keys.length } },
      async () => batch(keys),
    );
  return new DataLoader<K, V, C>(traced, options);
}
