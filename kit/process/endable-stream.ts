/**
 * A subscription's stream, ended by the first of: its source, its reader (return), or `ended`,
 * whose result is then its last event (why it ended: the reader acts on it). Not a generator: a
 * generator waiting for its source's next event cannot be returned, and would hold the source
 * (a subgraph's stream, an event stream's reader) open until an event came.
 */
export function endableStream<Result>(
  source: AsyncIterable<Result>,
  ended: Promise<Result>,
  onFinish: () => void = () => {},
): AsyncIterableIterator<Result> {
  const inner = source[Symbol.asyncIterator]();
  let finished = false;
  let close: () => void = () => {};
  const closed = new Promise<IteratorResult<Result>>((resolve) => (close = () => resolve({ done: true, value: undefined })));
  const finish = () => {
    if (finished) return;
    finished = true;
    close();
    onFinish();
    // Not awaited: a source busy waiting for its next event answers return() only once it has one.
    void inner.return?.()?.catch(() => {});
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (finished) return { done: true, value: undefined };
      const next = await Promise.race([inner.next(), ended.then((last) => ({ last })), closed]);
      if ('last' in next) {
        finish();
        return { done: false, value: next.last };
      }
      if (next.done) finish();
      return next;
    },
    async return() {
      finish();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      finish();
      throw error;
    },
  };
}
