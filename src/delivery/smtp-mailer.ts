import type { Transporter } from 'nodemailer';

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
  readonly connectionTimeoutMs: number;
  readonly greetingTimeoutMs: number;
  readonly socketTimeoutMs: number;
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
 * greeting and socket timeouts (nodemailer's defaults wait minutes).
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

  /** Health probe: connects, greets (EHLO) and logs in if configured; sends nothing. */
  async verify(): Promise<void> {
    const transport = await this.transport();
    try {
      await transport.verify();
    } finally {
      transport.close();
    }
  }

  async send(message: MailMessage): Promise<void> {
    const transport = await this.transport();
    try {
      await transport.sendMail({
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
  }
}
