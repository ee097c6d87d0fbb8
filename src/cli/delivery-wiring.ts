import type { DeliveryConfig } from '../config/delivery-config';
import type { Logger } from '../config/logger';
import type { FxRates } from '../domain/fx-rates';
import { S3ObjectStore } from '../delivery/object-store';
import { SmtpMailer } from '../delivery/smtp-mailer';
import type { DeliveryDeps } from '../job/deliver-results';
import { DeliveryStore } from '../store/delivery-store';
import type { RunStore } from '../store/run-store';

/**
 * Builds the delivery collaborators from configuration; `close` releases the S3 client. `fx`: the
 * optional reporting currency for the e-mail (`AppConfig.fx`). `escalateDays`: RECON_ESCALATE_DAYS
 * for the break counts the event channels (Slack, webhook, AMQP) send.
 */
export function buildDeliveryDeps(
  config: DeliveryConfig,
  store: RunStore,
  logger: Logger,
  fx: FxRates | null = null,
  escalateDays = 7,
): { deps: DeliveryDeps; close(): void } {
  const objectStore = config.s3 ? new S3ObjectStore(config.s3) : null;
  return {
    deps: {
      objectStore,
      mailer: config.smtp ? new SmtpMailer(config.smtp) : null,
      deliveries: new DeliveryStore(() => store.database()),
      logger,
      now: () => Date.now(),
      emailOn: config.emailOn,
      attachMaxBytes: config.attachMaxBytes,
      presignExpirySeconds: config.s3?.presignExpirySeconds ?? 86_400,
      fx,
      channelSettings: { slack: config.slack, webhook: config.webhook, amqp: config.amqp },
      escalateDays,
    },
    close: () => objectStore?.close(),
  };
}
