/**
 * The README's shell examples and the conventions that say how they run (documented in the
 * README under "Development → README examples"):
 *
 * - every fenced ` ```sh ` block is an example, run in document order;
 * - a block whose first line is `# needs: …`, `# slow: …` or `# not runnable: …` is skipped, with
 *   that line's text as the reason;
 * - each command (a line, joined with the following ones while it ends in `\`) must exit 0, unless
 *   the next line that is not a comment is `echo $?   # N` or `echo "${PIPESTATUS[0]}"   # N`:
 *   then it must exit N;
 * - comment lines (`# …`, e.g. output shown after a command) are not run.
 */

/** One ` ```sh ` block of a markdown file. `line` is the 1-based line of its first command line. */
export interface ShellExample {
  readonly line: number;
  readonly text: string;
  /** Why the block is not run (`needs: S3 …`), or null for a runnable block. */
  readonly skip: string | null;
}

/** One command of a block with the exit code it must end with. `line` is 1-based in the file. */
export interface ExampleCommand {
  readonly line: number;
  readonly command: string;
  readonly expectedExit: number;
  /** The shell expression holding the exit code to check: `$?` or `${PIPESTATUS[0]}`. */
  readonly status: '$?' | '${PIPESTATUS[0]}';
}

const SKIP_MARKER = /^#\s*((?:needs|slow|not runnable):.*)$/;
const EXPECT_EXIT = /^echo\s+(\$\?|"\$\{PIPESTATUS\[0\]\}")\s+#\s*(\d+)\s*$/;

/** Every ` ```sh ` block of `markdown`, in order; other fences (` ``` `, `text`, `json`…) are not examples. */
export function extractShellExamples(markdown: string): ShellExample[] {
  const lines = markdown.split('\n');
  const examples: ShellExample[] = [];
  let open: { lang: string; start: number; body: string[] } | null = null;
  lines.forEach((line, index) => {
    const fence = /^```(.*)$/.exec(line);
    if (open === null) {
      if (fence) open = { lang: (fence[1] ?? '').trim(), start: index + 2, body: [] };
      return;
    }
    if (fence && (fence[1] ?? '').trim() === '') {
      if (open.lang === 'sh') {
        const first = open.body.find((bodyLine) => bodyLine.trim() !== '') ?? '';
        const marker = SKIP_MARKER.exec(first.trim());
        examples.push({
          line: open.start,
          text: open.body.join('\n'),
          skip: marker ? (marker[1] ?? '').trim() : null,
        });
      }
      open = null;
      return;
    }
    open.body.push(line);
  });
  return examples;
}

/** Splits a block into commands with the exit code each must end with (see the module comment). */
export function exampleCommands(example: ShellExample): ExampleCommand[] {
  const lines = example.text.split('\n');
  const commands: ExampleCommand[] = [];
  let index = 0;
  while (index < lines.length) {
    const first = lines[index] ?? '';
    const trimmed = first.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      index++;
      continue;
    }
    const start = index;
    const parts = [first];
    while ((lines[index] ?? '').trimEnd().endsWith('\\') && index + 1 < lines.length) {
      index++;
      parts.push(lines[index] ?? '');
    }
    index++;
    let expectedExit = 0;
    let status: ExampleCommand['status'] = '$?';
    // the `echo $?   # N` line may follow the output shown as comments
    let after = index;
    while (after < lines.length && (lines[after] ?? '').trim().startsWith('#')) after++;
    const next = EXPECT_EXIT.exec((lines[after] ?? '').trim());
    if (next) {
      expectedExit = Number.parseInt(next[2] ?? '0', 10);
      status = next[1] === '$?' ? '$?' : '${PIPESTATUS[0]}';
      index = after + 1;
    }
    commands.push({ line: example.line + start, command: parts.join('\n'), expectedExit, status });
  }
  return commands;
}

/**
 * A bash script that runs the commands one after the other (with `pipefail`) and stops at the
 * first one whose exit code is not the expected one, printing
 * `README.md line L: exit X, expected Y` on stderr and exiting 97.
 */
export function exampleScript(commands: readonly ExampleCommand[]): string {
  const out = ['set -o pipefail'];
  for (const command of commands) {
    out.push(`# README.md line ${command.line}`);
    out.push(command.command);
    out.push(
      `__rc=${command.status}; if [ "$__rc" != ${command.expectedExit} ]; then ` +
        `echo "README.md line ${command.line}: exit $__rc, expected ${command.expectedExit}" >&2; exit 97; fi`,
    );
  }
  return `${out.join('\n')}\n`;
}
