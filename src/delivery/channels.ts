import { amqpChannel } from './amqp-channel';
import type { DeliveryChannel } from './channel';
import { slackChannel } from './slack-channel';
import { webhookChannel } from './webhook-channel';

/**
 * The event channels, in the order they are called after the S3 upload and the e-mail (whose
 * presigned links they show). A new channel is one file implementing `DeliveryChannel` plus one
 * line here.
 */
export const EVENT_CHANNELS: readonly DeliveryChannel[] = [
  slackChannel,
  webhookChannel,
  amqpChannel,
];
