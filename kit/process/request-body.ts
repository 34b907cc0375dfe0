import type http from 'node:http';

/** A body as received: its chunks, joined only when asked for (a refused body never is). */
export interface ReceivedBody {
  size: number;
  chunks: readonly Buffer[];
  buffer(): Buffer;
}
export type BodyRead = ReceivedBody | 'too-large' | 'timeout' | 'aborted';

const received = (chunks: Buffer[], size: number): ReceivedBody => {
  let joined: Buffer | undefined;
  return { size, chunks, buffer: () => (joined ??= chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)) };
};

/** The most of a refused body read and thrown away, so the client hears the refusal; past it, the connection is cut. */
const DISCARD_LIMIT_BYTES = 8 * 2 ** 20;

/**
 * Throws away what is left of a refused request's body, without keeping it, so that a client
 * still sending it gets the answer instead of a broken pipe; past DISCARD_LIMIT_BYTES the
 * connection is cut.
 */
export function discardBody(req: http.IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > DISCARD_LIMIT_BYTES) {
        req.socket.destroy();
        resolve();
      }
    });
    req.on('end', () => resolve());
    req.on('close', () => resolve());
    req.resume();
  });
}

/**
 * Reads a request body of at most `limit` bytes within `timeoutMs`, handing each chunk to
 * `onChunk` as it comes (to hash it on the way in). A declared length over the
 * limit is refused before a byte is read; past the limit or the time, reading stops and the
 * rest is thrown away (discardBody): a client cannot make the process buffer more than its
 * limit, nor hold it open by sending slowly (the server's request timeout ends that).
 */
export function readBody(
  req: http.IncomingMessage,
  { limit, timeoutMs, onChunk }: { limit: number; timeoutMs: number; onChunk?: (chunk: Buffer) => void },
): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    void discardBody(req);
    return Promise.resolve('too-large');
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyRead) => {
      clearTimeout(timer);
      req.removeListener('data', onData);
      if (result === 'too-large') void discardBody(req);
      else if (typeof result === 'string') req.resume();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish('too-large');
      chunks.push(chunk);
      onChunk?.(chunk);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    req.on('data', onData);
    req.on('end', () => finish(received(chunks, size)));
    req.on('error', () => finish('aborted'));
    req.on('aborted', () => finish('aborted'));
  });
}
