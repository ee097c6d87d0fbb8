import { randomUUID } from 'node:crypto';
import type * as S3Module from '@aws-sdk/client-s3';
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import type * as PresignerModule from '@aws-sdk/s3-request-presigner';
import { DependencyUnavailableError } from '../domain/errors';
import { credentialsExpirationOf } from './presign-expiry';

/** The AWS SDK modules, loaded on first use (~0.1 s: runs without S3 do not pay it). */
interface S3Sdk {
  readonly s3: typeof S3Module;
  readonly presigner: typeof PresignerModule;
  readonly client: S3Client;
}

/** Server-side encryption of uploaded reports: S3-managed keys, KMS, or none. */
export type ServerSideEncryption = 'AES256' | 'aws:kms' | 'none';

/**
 * S3 settings (README "Delivery"). Credentials: explicit keys, or — when absent — the SDK's
 * default provider chain (environment, shared config, ECS task role, EC2 instance role).
 * Timeouts in milliseconds.
 */
export interface S3Settings {
  readonly bucket: string;
  readonly region: string;
  /** S3-compatible endpoint (MinIO, s3rver…); implies path-style addressing. */
  readonly endpoint?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly serverSideEncryption: ServerSideEncryption;
  readonly kmsKeyId?: string;
  /** Lifetime of presigned GET URLs, in seconds (default 24 h). */
  readonly presignExpirySeconds: number;
  /** Until the TCP (and TLS) connection is up, per attempt (AWS_S3_CONNECT_TIMEOUT_MS). */
  readonly connectTimeoutMs: number;
  /** One attempt's request and response, and the longest silence on its socket (AWS_S3_REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs: number;
  /** Attempts per call, the first included (the SDK retries with backoff). */
  readonly maxAttempts: number;
  /**
   * One deadline for every call made through one `S3ObjectStore` (all uploads of an invocation
   * together, retries included), counted from its first call (AWS_S3_DEADLINE_MS).
   */
  readonly deadlineMs: number;
}

/** The subset of `NodeHttpHandlerOptions` (@smithy/types) that bounds an attempt; milliseconds. */
export interface S3RequestHandlerOptions {
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
  readonly socketTimeout: number;
  readonly throwOnRequestTimeout: boolean;
}

/**
 * Options of the SDK's `NodeHttpHandler` (@smithy/node-http-handler) for `settings`. Its
 * `requestTimeout` only logs a warning unless `throwOnRequestTimeout` is set, and its socket has
 * no idle timeout by default: both are set, so a silent server ends an attempt.
 */
export function s3RequestHandlerOptions(settings: S3Settings): S3RequestHandlerOptions {
  return {
    connectionTimeout: settings.connectTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    socketTimeout: settings.requestTimeoutMs,
    throwOnRequestTimeout: true,
  };
}

/** A port: where reports are archived. Implemented by `S3ObjectStore`; tests may hand in fakes. */
export interface ObjectStore {
  /** `s3://bucket` (never credentials), for messages. */
  readonly description: string;
  /** Uploads `body` under `key`. Throws the store's error when it fails after retries. */
  put(key: string, body: Buffer, contentType: string): Promise<void>;
  /** A presigned GET URL for `key`, valid for `expiresInSeconds`. */
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  /** When the signing credentials expire (see `presignedUrlExpiry`); undefined = never. */
  credentialsExpiration?(): Promise<Date | undefined>;
}

/**
 * Reports in Amazon S3 or an S3-compatible store, through `@aws-sdk/client-s3`, with bounded
 * connect and request timeouts (the SDK's defaults have none), the SDK's retries, and one
 * overall deadline (`deadlineMs`) shared by every call of this instance: create one per
 * invocation. A call still going at the deadline is aborted and rejects with a
 * `DependencyUnavailableError`; later calls reject at once.
 * Server-side encryption is requested on every upload unless `serverSideEncryption` is `none`.
 */
export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  private sdk: Promise<S3Sdk> | null = null;
  private client: S3Client | null = null;
  private deadline: AbortSignal | null = null;

  constructor(private readonly settings: S3Settings) {
    this.description = `s3://${settings.bucket}`;
  }

  private load(): Promise<S3Sdk> {
    this.sdk ??= (async () => {
      const [s3, presigner] = await Promise.all([
        import('@aws-sdk/client-s3'),
        import('@aws-sdk/s3-request-presigner'),
      ]);
      const { settings } = this;
      const client = new s3.S3Client({
        region: settings.region,
        endpoint: settings.endpoint,
        forcePathStyle: settings.endpoint !== undefined,
        credentials:
          settings.accessKeyId && settings.secretAccessKey
            ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
            : undefined,
        maxAttempts: settings.maxAttempts,
        requestHandler: s3RequestHandlerOptions(settings),
      });
      this.client = client;
      return { s3, presigner, client };
    })();
    return this.sdk;
  }

  /**
   * Runs `call` within the instance's deadline (started by the first call): rejects with the
   * deadline's error as soon as it passes, whatever the SDK is doing (credential lookups too).
   */
  private async bounded<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { deadlineMs } = this.settings;
    const deadline = (this.deadline ??= AbortSignal.timeout(deadlineMs));
    const expired = (): DependencyUnavailableError =>
      new DependencyUnavailableError(
        's3',
        `S3 did not finish within ${deadlineMs} ms (AWS_S3_DEADLINE_MS)`,
      );
    if (deadline.aborted) throw expired();
    let onAbort = (): void => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(expired());
      deadline.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([call(deadline), aborted]);
    } catch (error) {
      // The SDK's own AbortError says less than the deadline does.
      throw deadline.aborted ? expired() : error;
    } finally {
      deadline.removeEventListener('abort', onAbort);
    }
  }

  put(key: string, body: Buffer, contentType: string): Promise<void> {
    return this.bounded((signal) => this.send(key, body, contentType, signal));
  }

  private async send(
    key: string,
    body: Buffer,
    contentType: string,
    abortSignal: AbortSignal,
  ): Promise<void> {
    const { s3, client } = await this.load();
    const input: PutObjectCommandInput = {
      Bucket: this.settings.bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
      ContentLength: body.length,
    };
    if (this.settings.serverSideEncryption !== 'none') {
      input.ServerSideEncryption = this.settings.serverSideEncryption;
      if (this.settings.serverSideEncryption === 'aws:kms' && this.settings.kmsKeyId) {
        input.SSEKMSKeyId = this.settings.kmsKeyId;
      }
    }
    await client.send(new s3.PutObjectCommand(input), { abortSignal });
  }

  presignGet(key: string, expiresInSeconds: number): Promise<string> {
    // Signing is local, but may first resolve credentials over the network (instance role).
    return this.bounded(async () => {
      const { s3, presigner, client } = await this.load();
      return presigner.getSignedUrl(
        client,
        new s3.GetObjectCommand({ Bucket: this.settings.bucket, Key: key }),
        { expiresIn: expiresInSeconds },
      );
    });
  }

  async credentialsExpiration(): Promise<Date | undefined> {
    return credentialsExpirationOf((await this.load()).client);
  }

  /**
   * Health probe: the bucket is reachable (HeadBucket) and writable — a tiny object
   * `health/probe-<uuid>.txt` is written and deleted. Throws the SDK's error otherwise, or a
   * `DependencyUnavailableError` at the deadline.
   */
  probe(): Promise<void> {
    return this.bounded(async (abortSignal) => {
      const { s3, client } = await this.load();
      await client.send(new s3.HeadBucketCommand({ Bucket: this.settings.bucket }), {
        abortSignal,
      });
      const key = `health/probe-${randomUUID()}.txt`;
      await this.send(key, Buffer.from('recon health probe\n'), 'text/plain', abortSignal);
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key }), {
        abortSignal,
      });
    });
  }

  /** Closes the SDK's connections (if it was ever loaded). */
  close(): void {
    this.client?.destroy();
  }
}

/**
 * The object key of a report: `reports/{date}/{processor}/{run_id}/reconciliation_report_{processor}_{date}.{ext}`.
 * The run id makes every run's objects distinct, so a rerun never overwrites an earlier run's.
 */
export function reportObjectKey(
  date: string,
  processor: string,
  runId: string,
  extension: 'csv' | 'json',
): string {
  return `reports/${date}/${processor}/${runId}/reconciliation_report_${processor}_${date}.${extension}`;
}
