import type { Transporter } from 'nodemailer';
import { DependencyUnavailableError } from '../domain/errors';

/** SMTP settings (README "Delivery"). Timeouts in milliseconds; the password is never logged. */
export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
  readonly secure: boolean;
  readonly user?: string;
  readonly password?: string;
  readonly from: string;
  /** Recipients (OPERATIONS_EMAIL, comma separated). */
  readonly to: readonly string[];
  /** Until the TCP (and TLS) connection is up (SMTP_CONNECT_TIMEOUT_MS). */
  readonly connectionTimeoutMs: number;
  /** From connecting until the server's greeting (SMTP_GREETING_TIMEOUT_MS). */
  readonly greetingTimeoutMs: number;
  /** The longest silence on the connection (SMTP_SOCKET_TIMEOUT_MS). */
  readonly socketTimeoutMs: number;
  /** One deadline for a whole send or verify: connect, greeting, login, message (SMTP_DEADLINE_MS). */
  readonly deadlineMs: number;
}

/** An attachment; with `cid` it is an inline image referenced as `cid:…` from the HTML. */
export interface MailAttachment {
  readonly filename: string;
  readonly content: Buffer;
  readonly contentType: string;
  readonly cid?: string;
}

/** A message to the operations team. */
export interface MailMessage {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly attachments: readonly MailAttachment[];
}

/** A port: how the summary e-mail leaves. Implemented over SMTP by `SmtpMailer`. */
export interface Mailer {
  /** `smtp://host:port` (no credentials), for messages. */
  readonly description: string;
  readonly recipients: readonly string[];
  /** Sends the message; throws nodemailer's error when the server refuses, stalls or rejects auth. */
  send(message: MailMessage): Promise<void>;
}

/**
 * E-mail through nodemailer over SMTP (https://nodemailer.com/smtp/), with bounded connection,
 * greeting and socket timeouts (nodemailer's defaults wait minutes) and one overall deadline per
 * send or verify (`deadlineMs`): a server that trickles bytes cannot keep it going either. At the
 * deadline the send is aborted (its connection closed) and a `DependencyUnavailableError` thrown.
 */
export class SmtpMailer implements Mailer {
  readonly description: string;
  readonly recipients: readonly string[];

  constructor(private readonly settings: SmtpSettings) {
    this.description = `smtp://${settings.host}:${settings.port}`;
    this.recipients = settings.to;
  }

  /** A new transport (nodemailer is loaded on first use: runs that send no e-mail skip it). */
  private async transport(): Promise<Transporter> {
    const { createTransport } = await import('nodemailer');
    const { settings } = this;
    return createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      auth: settings.user ? { user: settings.user, pass: settings.password ?? '' } : undefined,
      connectionTimeout: settings.connectionTimeoutMs,
      greetingTimeout: settings.greetingTimeoutMs,
      socketTimeout: settings.socketTimeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  }

  /**
   * Runs `work` until it settles or the deadline passes, whichever is first; at the deadline
   * `controller` aborts (nodemailer closes the connection of a send) and the promise rejects.
   */
  private async bounded(work: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
    const { deadlineMs } = this.settings;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new DependencyUnavailableError(
          'smtp',
          `the SMTP server did not finish within ${deadlineMs} ms (SMTP_DEADLINE_MS)`,
        );
        controller.abort(error);
        reject(error);
      }, deadlineMs);
    });
    try {
      await Promise.race([work(controller.signal), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Health probe: connects, greets (EHLO) and logs in if configured; sends nothing. Bounded by
   * the deadline (nodemailer's verify takes no signal: a connection still open then ends at its
   * own greeting or socket timeout).
   */
  verify(): Promise<void> {
    return this.bounded(async () => {
      const transport = await this.transport();
      try {
        await transport.verify();
      } finally {
        transport.close();
      }
    });
  }

  send(message: MailMessage): Promise<void> {
    return this.bounded(async (signal) => {
      const transport = await this.transport();
      try {
        await transport.sendMail({
          signal,
          from: this.settings.from,
          to: [...this.settings.to],
          subject: message.subject,
          text: message.text,
          html: message.html,
          attachments: message.attachments.map((a) => ({
            filename: a.filename,
            content: a.content,
            contentType: a.contentType,
            cid: a.cid,
          })),
        });
      } finally {
        transport.close();
      }
    });
  }
}
