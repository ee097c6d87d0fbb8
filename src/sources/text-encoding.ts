import { isUtf8 } from 'node:buffer';

/**
 * Character encodings of input files (`--encoding`, README "Input encoding"):
 * - `utf-8` (default): UTF-8, with or without a byte order mark. Bytes that are not UTF-8
 *   (a Latin-1 `é`, an overlong form, a surrogate, a sequence cut short) make their row invalid.
 * - `latin1`: ISO-8859-1 exactly, every byte one character U+0000–U+00FF (Node's `Buffer`
 *   'latin1'; not the WHATWG label `latin1`, which means windows-1252).
 * - `windows-1252`: as `latin1`, except 0x80–0x9F, which are the windows-1252 characters of the
 *   WHATWG Encoding Standard (https://encoding.spec.whatwg.org/index-windows-1252.txt): `€`,
 *   curly quotes, dashes…; 0x81, 0x8D, 0x8F, 0x90, 0x9D stay U+0081 … as that table says.
 */
export type InputEncoding = 'utf-8' | 'latin1' | 'windows-1252';

/** Every `InputEncoding`, as `--encoding` accepts and documents them. */
export const INPUT_ENCODINGS: readonly InputEncoding[] = ['utf-8', 'latin1', 'windows-1252'];

const ALIASES: Readonly<Record<string, InputEncoding>> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  latin1: 'latin1',
  'iso-8859-1': 'latin1',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
};

/**
 * The encoding named `name` (case-insensitive; also `utf8`, `iso-8859-1`, `cp1252`), or
 * `undefined` for any other name.
 */
export function parseInputEncoding(name: string): InputEncoding | undefined {
  const key = name.trim().toLowerCase();
  return Object.hasOwn(ALIASES, key) ? ALIASES[key] : undefined;
}

/** windows-1252 code points of the bytes 0x80–0x9F (WHATWG index-windows-1252). */
const WINDOWS_1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152,
  0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122,
  0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

const C1_RANGE = /[\u0080-\u009f]/;
const C1_CHARS = /[\u0080-\u009f]/g;

/**
 * `text` decoded as Latin-1 (one character per byte) → the same bytes decoded as windows-1252.
 * Returns `text` itself when it has no character in U+0080–U+009F (nearly always).
 */
export function latin1ToWindows1252(text: string): string {
  if (!C1_RANGE.test(text)) return text;
  return text.replace(C1_CHARS, (c) =>
    String.fromCharCode(WINDOWS_1252_HIGH[c.charCodeAt(0) - 0x80] as number),
  );
}

/** What is wrong with the bytes at a `TextFault`'s offset. */
export type TextFaultKind = 'invalid_utf8' | 'nul';

/**
 * Finds, in a file read chunk by chunk, the byte offsets where the bytes are not text: the start
 * of every byte sequence that is not UTF-8 (in `utf-8` mode; split as the WHATWG UTF-8 decoder
 * splits them, https://encoding.spec.whatwg.org/#utf-8-decoder) and every NUL byte (any
 * encoding: PostgreSQL text cannot hold U+0000). Offsets are pushed in increasing order to
 * `invalid` and `nul`.
 *
 * Clean chunks cost one `isUtf8` and one `indexOf(0)` (both native); only a chunk that fails is
 * walked byte by byte.
 */
export class TextFaultScanner {
  /** Offsets of invalid UTF-8 sequences, in increasing order. */
  readonly invalid: number[] = [];
  /** Offsets of NUL bytes, in increasing order. */
  readonly nul: number[] = [];
  private needed = 0;
  private seen = 0;
  private lower = 0x80;
  private upper = 0xbf;
  private sequenceStart = 0;

  constructor(private readonly utf8: boolean) {}

  /** Scans `chunk`, whose first byte is at file offset `base`. */
  scan(chunk: Uint8Array, base: number): void {
    for (let at = chunk.indexOf(0); at !== -1; at = chunk.indexOf(0, at + 1)) {
      this.nul.push(base + at);
    }
    if (!this.utf8) return;
    const length = chunk.length;
    let at = 0;
    // Finish a sequence begun in the previous chunk.
    while (this.needed > 0 && at < length) {
      if (this.step(chunk[at] as number, base + at)) at++;
    }
    // Leave an incomplete sequence at the end for the next chunk.
    let tail = length;
    for (let k = length - 1; k >= at && k >= length - 3; k--) {
      const byte = chunk[k] as number;
      if ((byte & 0xc0) === 0x80) continue;
      if (byte >= 0xc2 && byte <= 0xf4 && k + sequenceLength(byte) > length) tail = k;
      break;
    }
    if (at < tail && !isUtf8(chunk.subarray(at, tail))) {
      for (; at < tail;) if (this.step(chunk[at] as number, base + at)) at++;
    }
    for (at = tail; at < length;) if (this.step(chunk[at] as number, base + at)) at++;
  }

  /** Ends the file: a sequence still open is cut short (invalid). */
  end(): void {
    if (this.needed > 0) {
      this.invalid.push(this.sequenceStart);
      this.reset();
    }
  }

  private reset(): void {
    this.needed = 0;
    this.seen = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }

  /** One step of the WHATWG UTF-8 decoder; false when `byte` must be read again. */
  private step(byte: number, offset: number): boolean {
    if (this.needed === 0) {
      if (byte <= 0x7f) return true;
      this.sequenceStart = offset;
      if (byte >= 0xc2 && byte <= 0xdf) this.needed = 1;
      else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte === 0xe0) this.lower = 0xa0;
        if (byte === 0xed) this.upper = 0x9f;
        this.needed = 2;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte === 0xf0) this.lower = 0x90;
        if (byte === 0xf4) this.upper = 0x8f;
        this.needed = 3;
      } else this.invalid.push(offset);
      return true;
    }
    if (byte < this.lower || byte > this.upper) {
      this.invalid.push(this.sequenceStart);
      this.reset();
      return false;
    }
    this.lower = 0x80;
    this.upper = 0xbf;
    if (++this.seen === this.needed) this.reset();
    return true;
  }
}

function sequenceLength(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
}

/**
 * `bytes` as readable text for a finding's value: valid UTF-8 (or, for the single-byte
 * encodings, every byte but NUL) as text, every other byte as `\xNN` (`tx\xE9`, `a\x00b`).
 */
export function describeBytes(bytes: Uint8Array, encoding: InputEncoding): string {
  let out = '';
  if (encoding !== 'utf-8') {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
    const decoded = encoding === 'windows-1252' ? latin1ToWindows1252(text) : text;
    return decoded.replace(/\0/g, '\\x00');
  }
  const scanner = new TextFaultScanner(true);
  scanner.scan(bytes, 0);
  scanner.end();
  const bad = new Set(scanner.invalid);
  let at = 0;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  while (at < bytes.length) {
    // A run of good bytes up to the next bad sequence.
    let next = at;
    while (next < bytes.length && !bad.has(next)) next++;
    out += buffer.toString('utf8', at, next).replace(/\0/g, '\\x00');
    if (next >= bytes.length) break;
    // The bad sequence: its bytes up to the next sequence start (good or bad).
    let end = next + 1;
    while (end < bytes.length && !bad.has(end) && ((bytes[end] as number) & 0xc0) === 0x80) end++;
    for (let k = next; k < end; k++) out += `\\x${hex(bytes[k] as number)}`;
    at = end;
  }
  return out;
}

/** `byte` as two upper-case hex digits. */
export function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with control characters (C0, DEL, C1) written `\xNN`, for one-line messages. */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARS, (c) => `\\x${hex(c.charCodeAt(0))}`);
}
