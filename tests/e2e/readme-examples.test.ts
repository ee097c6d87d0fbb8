import { spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FLAGS, ROOT } from '../helpers/cli';
import {
  exampleCommands,
  exampleScript,
  extractShellExamples,
  type ShellExample,
} from '../helpers/readme-examples';

/**
 * Every ` ```sh ` example of README.md, run as written, in document order, in one sandbox that
 * looks like a fresh clone (copies of data/, tests/fixtures/, package.json, setup.sql; links to
 * dist/ and node_modules/; bin/recon starts the checkout's launcher), with the embedded database
 * and the reports inside the sandbox and none of the developer's settings. Blocks marked
 * `# needs: …`, `# slow: …` or `# not runnable: …` are listed as skipped with that reason. The
 * conventions are in tests/helpers/readme-examples.ts and the README's "README examples".
 */
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const examples = extractShellExamples(README);
const BLOCK_TIMEOUT_MS = 60_000;

let sandbox = '';

/** In the sandbox, `npm ci` is the checkout's install and `npm test` is this very suite. */
const NPM_SHIM = `#!/bin/sh
case "$1" in
  ci) echo "npm ci: the checkout's install and build are used in the README sandbox"; exit 0 ;;
  test) echo "npm test: not run again from inside the test suite"; exit 0 ;;
  *) echo "npm $*: not run by the README test; mark its block '# slow: ...'" >&2; exit 98 ;;
esac
`;

function makeSandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), 'recon-readme-'));
  cpSync(join(ROOT, 'data'), join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'tests'));
  cpSync(join(ROOT, 'tests', 'fixtures'), join(dir, 'tests', 'fixtures'), { recursive: true });
  for (const file of ['package.json', 'setup.sql', 'README.md']) {
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  for (const link of ['dist', 'node_modules']) {
    symlinkSync(join(ROOT, link), join(dir, link));
  }
  // ./bin/recon runs the checkout's launcher with the suite's Node flags (NODE_FLAGS).
  mkdirSync(join(dir, 'bin'));
  writeFileSync(
    join(dir, 'bin', 'recon'),
    `#!/bin/sh\nexec "${process.execPath}" ${NODE_FLAGS.join(' ')} "${join(ROOT, 'bin', 'recon')}" "$@"\n`,
  );
  chmodSync(join(dir, 'bin', 'recon'), 0o755);
  mkdirSync(join(dir, '.shim'));
  writeFileSync(join(dir, '.shim', 'npm'), NPM_SHIM);
  chmodSync(join(dir, '.shim', 'npm'), 0o755);
  return dir;
}

interface BlockResult {
  readonly exit: number | null;
  readonly output: string;
}

/** Runs one block's script with bash in the sandbox; kills its whole process group on timeout. */
function runBlock(example: ShellExample): Promise<BlockResult> {
  const script = join(sandbox, '.shim', `block-${example.line}.sh`);
  writeFileSync(script, exampleScript(exampleCommands(example)));
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [script], {
      cwd: sandbox,
      detached: true,
      env: {
        PATH: `${join(sandbox, '.shim')}:${process.env.PATH ?? ''}`,
        HOME: process.env.HOME ?? '',
        // The test machine may itself be a container: no embedded-database warning.
        RECON_CONTAINER: 'no',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      output += `\n[killed after ${BLOCK_TIMEOUT_MS} ms]`;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, BLOCK_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ exit: code, output });
    });
  });
}

describe('README examples', () => {
  beforeAll(() => {
    sandbox = makeSandbox();
  });
  afterAll(() => {
    if (sandbox !== '') rmSync(sandbox, { recursive: true, force: true });
  });

  it('starts with the newcomer commands: install and run on the bundled sample day, then npm test', () => {
    const first = examples[0];
    expect(first?.skip).toBeNull();
    expect(first === undefined ? [] : exampleCommands(first).map((c) => c.command)).toEqual([
      'npm ci && ./bin/recon run --date 2025-09-30 --processors stripe paypal square --data-dir data/samples',
      'npm test',
    ]);
    // within the first lines of the file, before any description
    expect((first?.line ?? Infinity) <= 6).toBe(true);
  });

  for (const example of examples) {
    const title = `README.md line ${example.line}: ${(example.text.split('\n')[0] ?? '').slice(0, 70)}`;
    if (example.skip !== null) {
      it.skip(`${title} (skipped, ${example.skip})`, () => undefined);
      continue;
    }
    it(
      title,
      async () => {
        const result = await runBlock(example);
        // the whole output is shown when a block fails
        expect({ exit: result.exit, output: result.exit === 0 ? '' : result.output }).toEqual({
          exit: 0,
          output: '',
        });
      },
      BLOCK_TIMEOUT_MS + 5_000,
    );
  }

  it('leave no failed run in the history', async () => {
    const listing = await runBlock({
      line: 0,
      text: './bin/recon runs list --limit 1000 --json > runs.json',
      skip: null,
    });
    expect(listing).toEqual({ exit: 0, output: '' });
    const runs = JSON.parse(readFileSync(join(sandbox, 'runs.json'), 'utf8')) as {
      status: string;
      processor: string;
      date: string;
      error: string | null;
    }[];
    expect(runs.length > 0).toBe(true);
    expect(runs.filter((run) => run.status === 'failed')).toEqual([]);
  });
});

describe('README example conventions', () => {
  const example: ShellExample = {
    line: 10,
    text: [
      '# a comment',
      './bin/recon run --date 2025-09-30 \\',
      '  --dry-run   # trailing comment',
      '# recon: shown output',
      './bin/recon run --reports-dir package.json',
      '# recon: reports directory …',
      'echo $?   # 2',
      './bin/recon run --json | jq .',
      'echo "${PIPESTATUS[0]}"   # 4',
    ].join('\n'),
    skip: null,
  };

  it('splits a block into commands, joining continued lines, with the exit code each must end with', () => {
    expect(exampleCommands(example)).toEqual([
      {
        line: 11,
        command: './bin/recon run --date 2025-09-30 \\\n  --dry-run   # trailing comment',
        expectedExit: 0,
        status: '$?',
      },
      {
        line: 14,
        command: './bin/recon run --reports-dir package.json',
        expectedExit: 2,
        status: '$?',
      },
      {
        line: 17,
        command: './bin/recon run --json | jq .',
        expectedExit: 4,
        status: '${PIPESTATUS[0]}',
      },
    ]);
  });

  it('finds only sh blocks and reads the skip markers of their first line', () => {
    const markdown = [
      '# title',
      '```sh',
      'npm test',
      '```',
      '```',
      'recon: output, not an example',
      '```',
      '```sh',
      '# needs: an S3 bucket',
      './bin/recon deliver x',
      '```',
      '```text',
      './bin/recon not run',
      '```',
      '```sh',
      '# slow: minutes',
      'npm run bench',
      '```',
      '```sh',
      '# not runnable: a crontab entry',
      '0 1 * * * recon run',
      '```',
    ].join('\n');
    expect(extractShellExamples(markdown)).toEqual([
      { line: 3, text: 'npm test', skip: null },
      {
        line: 9,
        text: '# needs: an S3 bucket\n./bin/recon deliver x',
        skip: 'needs: an S3 bucket',
      },
      { line: 16, text: '# slow: minutes\nnpm run bench', skip: 'slow: minutes' },
      {
        line: 20,
        text: '# not runnable: a crontab entry\n0 1 * * * recon run',
        skip: 'not runnable: a crontab entry',
      },
    ]);
  });

  it('fails a block at the first command whose exit code is not the expected one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recon-readme-convention-'));
    try {
      const script = join(dir, 'block.sh');
      const text = 'true\nfalse\necho $?   # 1\nfalse\necho not reached';
      writeFileSync(script, exampleScript(exampleCommands({ line: 1, text, skip: null })));
      const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
        const child = spawn('bash', [script], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => done({ code, stderr }));
      });
      expect(result).toEqual({ code: 97, stderr: 'README.md line 4: exit 1, expected 0\n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
