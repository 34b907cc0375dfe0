import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { env } from '../../kit/process/config.js';
import { providerEntry, sandboxUrl } from '../registry.js';
import { FilePolicyConfig } from './policy.js';

/** Where the bucket is, how to sign for it, and what may be stored (policy.ts). */
export const StorageConfig = z
  .object({
    S3_ENDPOINT: env.upstreamUrl(sandboxUrl('s3')),
    /** Where clients reach storage for presigned URLs, when it differs from S3_ENDPOINT. */
    S3_PUBLIC_ENDPOINT: env.url().optional(),
    S3_REGION: env.local(z.string().min(1).default(providerEntry('s3').account.region)),
    S3_BUCKET: env.local(
      z
        .string()
        .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name')
        .default(providerEntry('s3').account.bucket),
    ),
    S3_ACCESS_KEY_ID: env.secret(providerEntry('s3').account.accessKeyId, {
      generate: () => `AKIA${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`,
    }),
    S3_SECRET_ACCESS_KEY: env.secret(providerEntry('s3').credentials.secretAccessKey),
    /**
     * Path-style (`endpoint/bucket/key`: the sandbox, MinIO) or virtual-host style
     * (`bucket.endpoint/key`: AWS S3, which requires it for buckets made since 2020, R2).
     */
    S3_FORCE_PATH_STYLE: env.bool(true),
    /**
     * The API key the bucket's event notifications carry (`x-api-key`: an EventBridge API
     * destination's API_KEY connection), checked on POST /webhooks/s3.
     */
    S3_EVENTS_API_KEY: env.secret(providerEntry('s3').credentials.eventsApiKey),
    S3_PRESIGN_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(900),
  })
  .extend(FilePolicyConfig.shape);
export type StorageConfig = z.infer<typeof StorageConfig>;
