import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import type { Logger } from '../../kit/process/logger.js';
import { nameOf } from '../../kit/process/caught.js';
import type { RequestLimits } from './request-limits.js';
import { requestError } from '../errors.js';

const JSON_CONTENT_TYPE = /^application\/(?:graphql\+)?json\s*(?:;|$)/i;
/** Whether a request (a fetch Request, or the node one before it) POSTs a JSON body. */
export const isPostJson = (method: string | undefined, contentType: string | null | undefined) =>
  method === 'POST' && JSON_CONTENT_TYPE.test(contentType ?? '');

/**
 * A JSON body the server read before the engine saw the request (gateway/index.ts: with its
 * size limit and timeout), handed over as `req.body`. The engine's server adapter takes an
 * object there for a body already parsed, and builds its request without one: no stream is
 * made to read it again, nor to count its bytes a second time; the parser below reads it.
 */
export class ReadAheadJson {
  constructor(readonly text: string) {}
  /** What the adapter's `request.text()` would serialize: the body itself. */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}
const readAheadOf = (serverContext: unknown) => {
  const body = (serverContext as { req?: { body?: unknown } } | undefined)?.req?.body;
  return body instanceof ReadAheadJson ? body : undefined;
};

/** Most of what a JSON text may hold before it is parsed: nesting, values, characters inside strings. */
export interface JsonShape {
  depth: number;
  values: number;
  chars: number;
}

/**
 * Which bound of `max` a JSON text passes, read without parsing it and stopping at the first:
 * JSON.parse of a body of brackets, or of 45,000 small values, costs ten times this scan.
 * Values are counted by their separators and containers, so the count is at most one short
 * per container.
 */
export function jsonShapeExceeded(text: string, max: JsonShape): keyof JsonShape | undefined {
  let depth = 0;
  let values = 1;
  let chars = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x22) inString = false;
      else {
        if (code === 0x5c) i++;
        if (++chars > max.chars) return 'chars';
      }
    } else if (code === 0x22) inString = true;
    else if (code === 0x2c) {
      if (++values > max.values) return 'values';
    } else if (code === 0x5b || code === 0x7b) {
      if (++depth > max.depth) return 'depth';
      if (++values > max.values) return 'values';
    } else if (code === 0x5d || code === 0x7d) depth--;
  }
  return undefined;
}

/**
 * The JSON of a request, read the way this gateway can afford: a POST body holding more than
 * its variables may (with room for the envelope around them: nesting, values, text) is refused
 * before it is parsed;
 * a body (or a GET's `variables`/`extensions`) that does not parse is refused 400 BAD_REQUEST
 * whatever the client accepts: it is not a GraphQL-over-HTTP request at all (the engine
 * answered 200 to `application/json`, and a GET's 500). That is logged as one short line,
 * never the content: the parser's message quotes the text, and the text holds variables.
 */
export function useJsonBodies(options: { logger: Logger; limits: RequestLimits }): GatewayPlugin {
  const { limits } = options;
  // The body around the variables (its own object, `variables`, the document and the rest of
  // the envelope) gets room of its own; the exact limits are checked once it is parsed.
  const max: JsonShape = {
    depth: limits.variableDepth + 2,
    values: limits.variableValues + 100,
    chars: limits.variableChars + limits.documentChars + 4096,
  };
  const refusals: Record<keyof JsonShape, string> = {
    depth: `Variables are nested deeper than ${limits.variableDepth} levels.`,
    values: `Variables hold more than ${limits.variableValues} values.`,
    chars: `Variables hold more than ${limits.variableChars} characters of text.`,
  };
  const malformed = (request: Request, where: string) => {
    options.logger.info({ method: request.method, contentLength: request.headers.get('content-length') }, 'request JSON does not parse');
    return requestError(`${where} not valid JSON`, 'BAD_REQUEST');
  };
  const parseJson = (request: Request, text: string) => {
    const exceeded = jsonShapeExceeded(text, max);
    if (exceeded) throw requestError(refusals[exceeded], 'BAD_USER_INPUT');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw malformed(request, 'Request body is');
    }
    if (body === null || typeof body !== 'object') throw requestError('Request body must be a JSON object', 'BAD_REQUEST');
    // A list is a batch, which the engine refuses in words of its own.
    return body as Record<string, unknown>; // the engine reads what it needs of it (query, variables, ...) and checks each
  };
  return {
    onRequestParse({ request, requestParser, setRequestParser, serverContext }) {
      if (isPostJson(request.method, request.headers.get('content-type'))) {
        const readAhead = readAheadOf(serverContext);
        return setRequestParser(
          readAhead ? () => parseJson(request, readAhead.text) : async () => parseJson(request, await request.text()),
        );
      }
      if (!requestParser) return;
      // A GET's (or a form's) variables or extensions: parsed by JSON.parse where the engine reads them.
      const refuse = (error: unknown): never => {
        if (nameOf(error) === 'SyntaxError') throw malformed(request, 'The variables or extensions in the request are');
        throw error;
      };
      setRequestParser((parsed) => {
        try {
          const params = requestParser(parsed);
          return params instanceof Promise ? params.catch(refuse) : params;
        } catch (error) {
          return refuse(error);
        }
      });
    },
  };
}
