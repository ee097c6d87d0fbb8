import { z } from 'zod';
import { credentialFreeUrl } from './secret-settings';
import { ConfigError } from '../domain/errors';
import { parseEnv, presentEnv } from './env-problems';
import type { S3Settings } from '../delivery/object-store';
import type { SmtpSettings } from '../delivery/smtp-mailer';
import type { AmqpSettings } from '../delivery/amqp-channel';
import type { HttpDeliverySettings } from '../delivery/http-delivery';
import type { SlackSettings } from '../delivery/slack-channel';
import type { WebhookSettings } from '../delivery/webhook-channel';

/** When the summary e-mail is sent: every invocation, only with discrepancies or failures, only with failures. */
export type EmailPolicy = 'always' | 'discrepancies' | 'failures';

/** Delivery settings (README "Delivery"); a channel that is not configured is `undefined`. */
export interface DeliveryConfig {
  readonly s3?: S3Settings;
  readonly smtp?: SmtpSettings;
  /** Slack incoming webhook (`SLACK_WEBHOOK_URL`). */
  readonly slack?: SlackSettings;
  /** Signed JSON POST per run (`RECON_WEBHOOK_URL`, `RECON_WEBHOOK_SECRET`). */
  readonly webhook?: WebhookSettings;
  /** AMQP 0-9-1 broker (`RECON_AMQP_URL`). */
  readonly amqp?: AmqpSettings;
  readonly emailOn: EmailPolicy;
  /** The CSV report is attached when at most this many bytes, linked otherwise. */
  readonly attachMaxBytes: number;
  /** `RECON_DELIVERY_FAILURE_EXIT=0`: a failed delivery exits 0 instead of 7 (README "Exit codes"). */
  readonly allowDeliveryFailure: boolean;
}

const whole = (fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .optional()
    .transform((value) => value ?? fallback);

/** An e-mail address as OPERATIONS_EMAIL takes it: `local@domain`, no spaces or angle brackets. */
const EMAIL_ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

function recipientsOf(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter(Boolean);
}

/**
 * An `http(s)` URL for Slack or the webhook: `https` only unless `RECON_ALLOW_HTTP_DELIVERY=1`
 * (checked in `deliveryConfigFrom`'s caller schema, see `DeliveryEnvSchema`'s refinement). The
 * value is a secret (its path carries the token): problems never quote it.
 */
const deliveryUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
  .refine(
    (value) => !/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(value),
    'must not contain credentials (user:password@)',
  );

/**
 * The delivery variables (README "Delivery") and how each is validated; part of `loadConfig`'s
 * schema. Input: the set (non-empty) variables.
 */
export const DeliveryEnvSchema = z.object({
  AWS_S3_BUCKET_NAME: z.string().min(1).optional(),
  AWS_REGION: z
    .string()
    .min(1)
    .optional()
    .transform((value) => value ?? 'us-east-1'),
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_S3_ENDPOINT: credentialFreeUrl('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY').optional(),
  AWS_S3_SSE: z
    .enum(['AES256', 'aws:kms', 'none'])
    .optional()
    .transform((value) => value ?? 'AES256'),
  AWS_S3_KMS_KEY_ID: z.string().min(1).optional(),
  AWS_S3_PRESIGN_EXPIRY_SECONDS: whole(86_400).refine(
    (v) => v >= 1 && v <= 604_800,
    'must be from 1 to 604800 (7 days)',
  ),
  AWS_S3_CONNECT_TIMEOUT_MS: whole(5_000),
  AWS_S3_REQUEST_TIMEOUT_MS: whole(30_000),
  AWS_S3_MAX_ATTEMPTS: whole(3).refine((v) => v >= 1, 'must be at least 1'),
  AWS_S3_DEADLINE_MS: whole(90_000).refine((v) => v >= 1, 'must be at least 1'),
  SMTP_SERVER: z.string().min(1).optional(),
  SMTP_PORT: whole(587).refine(
    (v) => v >= 1 && v <= 65535,
    'must be a port number from 1 to 65535',
  ),
  SMTP_SECURE: z.enum(['true', 'false']).optional(),
  EMAIL_USER: z.string().min(1).optional(),
  EMAIL_PASSWORD: z.string().optional(),
  EMAIL_FROM: z.string().min(1).optional(),
  OPERATIONS_EMAIL: z
    .string()
    .refine(
      (text) => recipientsOf(text).every((address) => EMAIL_ADDRESS.test(address)),
      'must be e-mail addresses separated by commas',
    )
    .optional(),
  SMTP_CONNECT_TIMEOUT_MS: whole(10_000),
  SMTP_GREETING_TIMEOUT_MS: whole(10_000),
  SMTP_SOCKET_TIMEOUT_MS: whole(30_000),
  SMTP_DEADLINE_MS: whole(90_000).refine((v) => v >= 1, 'must be at least 1'),
  RECON_EMAIL_ON: z
    .enum(['always', 'discrepancies', 'failures'])
    .optional()
    .transform((value) => value ?? 'always'),
  RECON_EMAIL_ATTACH_MAX_BYTES: whole(1_048_576),
  RECON_DELIVERY_FAILURE_EXIT: z.enum(['0', '7'], { message: 'must be 0 or 7' }).optional(),
  // --- delivery channels (issue #17): Slack, webhook, AMQP ----------------------------------
  SLACK_WEBHOOK_URL: deliveryUrl.optional(),
  RECON_WEBHOOK_URL: deliveryUrl.optional(),
  RECON_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  RECON_ALLOW_HTTP_DELIVERY: z.enum(['0', '1'], { message: 'must be 0 or 1' }).optional(),
  RECON_HTTP_DELIVERY_TIMEOUT_MS: whole(10_000).refine((v) => v >= 1, 'must be at least 1'),
  RECON_HTTP_DELIVERY_MAX_ATTEMPTS: whole(4).refine((v) => v >= 1, 'must be at least 1'),
  RECON_HTTP_DELIVERY_DEADLINE_MS: whole(60_000).refine((v) => v >= 1, 'must be at least 1'),
  RECON_SLACK_TOP_BREAKS: whole(10).refine((v) => v >= 1 && v <= 40, 'must be from 1 to 40'),
  RECON_AMQP_URL: z
    .url({ protocol: /^amqps?$/, message: 'must be an amqp:// or amqps:// URL' })
    .optional(),
  RECON_AMQP_EXCHANGE: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,127}$/, 'must be an exchange name (letters, digits, . _ : -)')
    .optional()
    .transform((value) => value ?? 'recon.events'),
  RECON_AMQP_ROUTING_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{0,100}$/, 'must be letters, digits, . _ : -')
    .optional()
    .transform((value) => value ?? ''),
  RECON_AMQP_TIMEOUT_MS: whole(10_000).refine((v) => v >= 1, 'must be at least 1'),
});

/**
 * The problems of the channel URLs that need the other variables: `SLACK_WEBHOOK_URL` and
 * `RECON_WEBHOOK_URL` must be `https` unless `RECON_ALLOW_HTTP_DELIVERY=1` (tests, a local
 * receiver). Input: the validated variables. Never quotes the URLs (they carry tokens).
 */
export function deliveryUrlProblems(e: DeliveryEnv): string[] {
  if (e.RECON_ALLOW_HTTP_DELIVERY === '1') return [];
  return (['SLACK_WEBHOOK_URL', 'RECON_WEBHOOK_URL'] as const).flatMap((variable) =>
    e[variable]?.startsWith('http:')
      ? [`${variable} must be an https URL (set RECON_ALLOW_HTTP_DELIVERY=1 to allow http)`]
      : [],
  );
}

/** The delivery variables after validation. */
export type DeliveryEnv = z.output<typeof DeliveryEnvSchema>;

/**
 * The delivery settings from validated variables. S3 is on when `AWS_S3_BUCKET_NAME` is set;
 * e-mail when `SMTP_SERVER` and `OPERATIONS_EMAIL` are.
 */
export function deliveryConfigFrom(e: DeliveryEnv): DeliveryConfig {
  const recipients = recipientsOf(e.OPERATIONS_EMAIL);
  const s3: S3Settings | undefined = e.AWS_S3_BUCKET_NAME
    ? {
        bucket: e.AWS_S3_BUCKET_NAME,
        region: e.AWS_REGION,
        endpoint: e.AWS_S3_ENDPOINT,
        accessKeyId: e.AWS_ACCESS_KEY_ID,
        secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
        serverSideEncryption: e.AWS_S3_SSE,
        kmsKeyId: e.AWS_S3_KMS_KEY_ID,
        presignExpirySeconds: e.AWS_S3_PRESIGN_EXPIRY_SECONDS,
        connectTimeoutMs: e.AWS_S3_CONNECT_TIMEOUT_MS,
        requestTimeoutMs: e.AWS_S3_REQUEST_TIMEOUT_MS,
        maxAttempts: e.AWS_S3_MAX_ATTEMPTS,
        deadlineMs: e.AWS_S3_DEADLINE_MS,
      }
    : undefined;
  const smtp: SmtpSettings | undefined =
    e.SMTP_SERVER && recipients.length > 0
      ? {
          host: e.SMTP_SERVER,
          port: e.SMTP_PORT,
          secure: e.SMTP_SECURE === undefined ? e.SMTP_PORT === 465 : e.SMTP_SECURE === 'true',
          user: e.EMAIL_USER,
          password: e.EMAIL_PASSWORD,
          from: e.EMAIL_FROM ?? e.EMAIL_USER ?? 'recon@localhost',
          to: recipients,
          connectionTimeoutMs: e.SMTP_CONNECT_TIMEOUT_MS,
          greetingTimeoutMs: e.SMTP_GREETING_TIMEOUT_MS,
          socketTimeoutMs: e.SMTP_SOCKET_TIMEOUT_MS,
          deadlineMs: e.SMTP_DEADLINE_MS,
        }
      : undefined;
  const http: HttpDeliverySettings = {
    requestTimeoutMs: e.RECON_HTTP_DELIVERY_TIMEOUT_MS,
    maxAttempts: e.RECON_HTTP_DELIVERY_MAX_ATTEMPTS,
    deadlineMs: e.RECON_HTTP_DELIVERY_DEADLINE_MS,
    retryBaseMs: 500,
    retryMaxMs: 10_000,
  };
  const slack: SlackSettings | undefined = e.SLACK_WEBHOOK_URL
    ? { url: e.SLACK_WEBHOOK_URL, topBreaks: e.RECON_SLACK_TOP_BREAKS, http }
    : undefined;
  const webhook: WebhookSettings | undefined = e.RECON_WEBHOOK_URL
    ? { url: e.RECON_WEBHOOK_URL, secret: e.RECON_WEBHOOK_SECRET, http }
    : undefined;
  const amqp: AmqpSettings | undefined = e.RECON_AMQP_URL
    ? {
        url: e.RECON_AMQP_URL,
        exchange: e.RECON_AMQP_EXCHANGE,
        routingKeyPrefix: e.RECON_AMQP_ROUTING_KEY_PREFIX,
        timeoutMs: e.RECON_AMQP_TIMEOUT_MS,
      }
    : undefined;
  return {
    s3,
    smtp,
    slack,
    webhook,
    amqp,
    emailOn: e.RECON_EMAIL_ON,
    attachMaxBytes: e.RECON_EMAIL_ATTACH_MAX_BYTES,
    allowDeliveryFailure: e.RECON_DELIVERY_FAILURE_EXIT === '0',
  };
}

/**
 * Reads only the delivery settings from `env` (a thin wrapper; commands get them as
 * `loadConfig(env).delivery`, validated with everything else). Empty strings count as unset.
 * @throws ConfigError listing every bad delivery setting (values of secret settings never shown).
 */
export function loadDeliveryConfig(env: NodeJS.ProcessEnv): DeliveryConfig {
  const problems: string[] = [];
  const e = parseEnv(DeliveryEnvSchema, presentEnv(env), problems);
  if (e === undefined) throw new ConfigError(problems);
  const urlProblems = deliveryUrlProblems(e);
  if (urlProblems.length > 0) throw new ConfigError(urlProblems);
  return deliveryConfigFrom(e);
}
