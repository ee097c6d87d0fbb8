import {
  chooseLogFormat,
  createLogger,
  formatPrettyLine,
  routeProcessWarnings,
} from '../../src/config/logger';

/** A destination that keeps every line pino writes. */
function capture(): { write(line: string): void; lines: string[] } {
  const lines: string[] = [];
  return { write: (line: string) => lines.push(line), lines };
}

/** Drops the timestamp, the only field that changes from run to run. */
function withoutTime(line: string): Record<string, unknown> {
  const { time, ...rest } = JSON.parse(line) as Record<string, unknown>;
  expect(time).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/));
  return rest;
}

describe('chooseLogFormat', () => {
  it('prints human-readable lines on a terminal and JSON otherwise', () => {
    expect(chooseLogFormat(undefined, true)).toBe('pretty');
    expect(chooseLogFormat(undefined, false)).toBe('json');
  });

  it('lets RECON_LOG_FORMAT override what the terminal suggests', () => {
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
  });
});

describe('createLogger', () => {
  it('writes JSON lines whose level is the string label Datadog and CloudWatch read', () => {
    const sink = capture();
    const logger = createLogger('info', { format: 'json', destination: sink });
    logger.info({ processor: 'stripe' }, 'run started');
    logger.warn('slow');
    logger.debug('hidden at info');
    expect(sink.lines.map(withoutTime)).toEqual([
      { level: 'info', app: 'recon', processor: 'stripe', msg: 'run started' },
      { level: 'warn', app: 'recon', msg: 'slow' },
    ]);
    expect(sink.lines.every((line) => line.endsWith('\n'))).toBe(true);
  });

  it('keeps the fields of child loggers (run_id) on every line', () => {
    const sink = capture();
    const run = createLogger('info', { format: 'json', destination: sink }).child({
      run_id: 'r-1',
    });
    run.warn({ attempt: 1 }, 'API call failed, retrying');
    expect(sink.lines.map(withoutTime)).toEqual([
      { level: 'warn', app: 'recon', run_id: 'r-1', attempt: 1, msg: 'API call failed, retrying' },
    ]);
  });

  it('still redacts secrets in both formats', () => {
    const json = capture();
    createLogger('info', { format: 'json', destination: json }).info(
      { password: 'hunter2', db: { connectionString: 'postgres://u:p@h/d' } },
      'connecting',
    );
    expect(withoutTime(json.lines[0] ?? '{}')).toEqual({
      level: 'info',
      app: 'recon',
      password: '[REDACTED]',
      db: { connectionString: '[REDACTED]' },
      msg: 'connecting',
    });
    const pretty = capture();
    createLogger('info', { format: 'pretty', destination: pretty }).info(
      { password: 'hunter2' },
      'connecting',
    );
    expect(pretty.lines.join('')).not.toContain('hunter2');
  });

  it('pretty format: one readable line per entry with time, level, message and fields', () => {
    const sink = capture();
    const logger = createLogger('info', { format: 'pretty', destination: sink, color: false });
    logger.child({ run_id: 'r-1', processor: 'stripe' }).info({ rows: 12 }, 'inputs read');
    expect(sink.lines).toEqual([
      expect.stringMatching(
        /^\d\d:\d\d:\d\d\.\d{3} INFO {2}inputs read {2}run_id=r-1 processor=stripe rows=12\n$/,
      ),
    ]);
  });
});

describe('formatPrettyLine', () => {
  it('quotes values with spaces, shows objects as JSON and error stacks indented', () => {
    const line = formatPrettyLine(
      JSON.stringify({
        level: 'error',
        time: '2026-12-01T09:30:05.123Z',
        app: 'recon',
        msg: 'internal error',
        detail: 'two words',
        counts: { a: 1 },
        err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (x.js:1:1)' },
      }),
      false,
    );
    expect(line).toBe(
      '09:30:05.123 ERROR internal error  detail="two words" counts={"a":1}\n' +
        '    Error: boom\n' +
        '        at f (x.js:1:1)\n',
    );
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatPrettyLine('not json\n', false)).toBe('not json\n');
  });

  it('colours the level only when asked', () => {
    const line = formatPrettyLine(
      JSON.stringify({ level: 'warn', time: '2026-12-01T09:30:05.123Z', msg: 'm' }),
      true,
    );
    expect(line).toBe('09:30:05.123 \u001b[33mWARN \u001b[0m m\n');
  });
});

describe('routeProcessWarnings', () => {
  it('logs a process warning as one JSON warn line instead of Node printing plain text', () => {
    const sink = capture();
    const logger = createLogger('info', { format: 'json', destination: sink });
    const restore = routeProcessWarnings(() => logger);
    try {
      // What process.emitWarning emits on the next tick (jest's sandboxed `process` does not
      // deliver emitWarning itself; the e2e tests cover the real path).
      const warning = Object.assign(
        new Error('NodeVersionSupportWarning: The AWS SDK\nwill require node >=22.'),
        { name: 'Warning', code: 'AWS_TEST' },
      );
      process.emit('warning', warning);
    } finally {
      restore();
    }
    expect(sink.lines.map(withoutTime)).toEqual([
      {
        level: 'warn',
        app: 'recon',
        warning: 'Warning',
        code: 'AWS_TEST',
        msg: 'NodeVersionSupportWarning: The AWS SDK will require node >=22.',
      },
    ]);
  });
});
