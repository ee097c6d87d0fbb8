import type { S3Client } from '@aws-sdk/client-s3';

/** When presigned URLs stop working, and whether the signing credentials cut them short. */
export interface PresignedUrlExpiry {
  readonly expiresAt: Date;
  /** True when the credentials expire before the requested lifetime ends. */
  readonly limitedByCredentials: boolean;
}

/**
 * The real expiry of a presigned URL signed at `nowMs` (epoch ms) for `requestedSeconds`: the
 * earlier of the requested lifetime and `credentialsExpiration`. A URL signed with temporary
 * credentials (ECS task role, EC2 instance role, STS / SSO sessions) stops working when they
 * expire, whatever `X-Amz-Expires` says
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html).
 * `credentialsExpiration` undefined = long-lived keys.
 */
export function presignedUrlExpiry(
  nowMs: number,
  requestedSeconds: number,
  credentialsExpiration: Date | undefined,
): PresignedUrlExpiry {
  const requested = new Date(nowMs + requestedSeconds * 1000);
  if (credentialsExpiration && credentialsExpiration.getTime() < requested.getTime()) {
    return { expiresAt: new Date(credentialsExpiration.getTime()), limitedByCredentials: true };
  }
  return { expiresAt: requested, limitedByCredentials: false };
}

/**
 * The expiration of the credentials `client` signs with, from its credential provider (explicit
 * keys or the SDK's default chain); undefined for credentials that do not expire.
 * @throws the provider's error when no credentials can be resolved
 */
export async function credentialsExpirationOf(client: S3Client): Promise<Date | undefined> {
  const identity = await client.config.credentials();
  return identity.expiration;
}
