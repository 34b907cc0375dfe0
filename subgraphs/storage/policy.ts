import { z } from 'zod';

const MEDIA_TYPE = /^[a-z0-9][\w!#$&^.+-]{0,126}\/([a-z0-9][\w!#$&^.+-]{0,126}|\*)$/;
const mediaTypes = (fallback: readonly string[]) =>
  z
    .string()
    .default(fallback.join(','))
    .transform((list) =>
      list
        .split(',')
        .map((type) => type.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(MEDIA_TYPE, 'must be a comma-separated list of media types such as image/png or image/*')));

/** Types that cannot run script in a browser, whatever bytes a file holds (no HTML, no SVG). */
const UPLOADABLE = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'video/mp4',
  'audio/mpeg',
  'application/pdf',
  'text/plain',
  'text/csv',
  'application/zip',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
];
/** Types a browser may show in place; every other file downloads as an attachment. */
const INLINE = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'video/mp4', 'audio/mpeg', 'application/pdf'];
/** The type a file is served as inline, by its name's extension: never the type stored with it. */
const TYPE_BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  mp4: 'video/mp4',
  mp3: 'audio/mpeg',
  pdf: 'application/pdf',
};

export const FilePolicyConfig = z.object({
  /** Largest upload in bytes; the presigned URL signs the size, so storage refuses any other. */
  UPLOAD_MAX_BYTES: z.coerce
    .number({ error: 'must be a number of bytes' })
    .int()
    .min(1)
    .max(5 * 2 ** 30)
    .default(25 * 2 ** 20),
  /** Media types that may be uploaded (`image/*` for a whole family); the URL signs the one declared. */
  UPLOAD_CONTENT_TYPES: mediaTypes(UPLOADABLE),
  /** Media types served inline when a file's extension names one; all other files are attachments. */
  DOWNLOAD_INLINE_TYPES: mediaTypes(INLINE),
});
export type FilePolicyConfig = z.infer<typeof FilePolicyConfig>;

/** A file name as an RFC 5987 ext-value (percent-encoded UTF-8). */
const rfc5987 = (value: string) => encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const matches = (allowed: readonly string[], type: string) =>
  allowed.some((entry) => entry === type || (entry.endsWith('/*') && type.startsWith(entry.slice(0, -1))));

/**
 * What may be uploaded, and how files are served. An upload declares its size and media type,
 * both signed into its URL; a download is an attachment (saved, never rendered by the browser
 * on storage's origin) unless its name says a type on the inline list, and then it is served as
 * exactly that type, whatever type the object was stored with.
 */
export function createFilePolicy(config: FilePolicyConfig) {
  return {
    maxUploadBytes: config.UPLOAD_MAX_BYTES,
    /** Why an upload of this size and type is refused, or undefined. */
    uploadRefusal(size: number, contentType: string): { message: string; field: 'size' | 'contentType' } | undefined {
      if (!Number.isInteger(size) || size < 1 || size > config.UPLOAD_MAX_BYTES) {
        return { message: `input.size must be a whole number of bytes from 1 to ${config.UPLOAD_MAX_BYTES}`, field: 'size' };
      }
      if (!MEDIA_TYPE.test(contentType) || contentType.endsWith('/*') || !matches(config.UPLOAD_CONTENT_TYPES, contentType)) {
        return { message: `input.contentType must be one of ${config.UPLOAD_CONTENT_TYPES.join(', ')}`, field: 'contentType' };
      }
      return undefined;
    },
    /** The S3 response overrides a download URL signs: how the browser is to treat the file. */
    downloadOverrides(fileName: string): Record<string, string> {
      const extension = /\.([a-z0-9]{1,8})$/i.exec(fileName)?.[1]?.toLowerCase();
      const inline = extension ? TYPE_BY_EXTENSION[extension] : undefined;
      if (inline && matches(config.DOWNLOAD_INLINE_TYPES, inline))
        return { 'response-content-type': inline, 'response-content-disposition': 'inline' };
      return { 'response-content-disposition': `attachment; filename*=UTF-8''${rfc5987(fileName)}` };
    },
  };
}
export type FilePolicy = ReturnType<typeof createFilePolicy>;
