import type { Command } from 'commander';
import { UsageError } from '../../domain/errors';
import type { BreakStatus, ManualAction } from '../../engine/break-lifecycle';

/** Who does a manual action: `--by`, else `$USER`. @throws UsageError (exit 2) when neither is set. */
export function actorOf(by: string | undefined, env: NodeJS.ProcessEnv): string {
  const actor = (by ?? env.USER ?? '').trim();
  if (!actor) throw new UsageError('--by is required when $USER is not set');
  return actor;
}

/** `text` unless blank. @throws UsageError (exit 2) naming `flag` for a blank text. */
export function nonEmpty(text: string, flag: string): string {
  if (text.trim() === '') throw new UsageError(`${flag} must not be empty`);
  return text;
}

/**
 * How one kind of break is acted on by hand: `noun` names it in descriptions and in the one-line
 * answer (`break`, `settlement break`); `apply` performs the action (`idOrPrefix`: a break id or a
 * unique prefix of at least 8 characters) and returns the break after it.
 */
export interface ManualBreakActions {
  readonly noun: string;
  readonly env: NodeJS.ProcessEnv;
  readonly out: (text: string) => void;
  readonly apply: (
    idOrPrefix: string,
    action: ManualAction,
    actor: string,
    text: string,
  ) => Promise<{ readonly breakId: string; readonly status: BreakStatus }>;
}

/**
 * Registers `resolve ID --reason R [--write-off]`, `reopen ID --reason R` and `comment ID --text T`
 * (each with `--by`) on `parent`: the manual transitions of `break-lifecycle.ts`, answered with
 * `<noun> <id>: <status> (by <actor>)`. What `apply` refuses (a bad id, a transition the lifecycle
 * refuses) is its `UsageError` (exit 2, one line).
 */
export function registerManualBreakActions(parent: Command, actions: ManualBreakActions): void {
  const { noun } = actions;
  const manual = (
    name: string,
    description: string,
    action: (options: { writeOff?: boolean }) => ManualAction,
    textFlag: '--reason' | '--text',
  ): Command => {
    const command = parent
      .command(name)
      .description(description)
      .argument('<break-id>', `${noun} id or a unique prefix of at least 8 characters`)
      .requiredOption(`${textFlag} <text>`, textFlag === '--reason' ? 'why' : 'the comment')
      .option('--by <name>', 'who does it (default: $USER)');
    command.action(
      async (
        id: string,
        options: { reason?: string; text?: string; by?: string; writeOff?: boolean },
      ) => {
        const text = nonEmpty(options.reason ?? options.text ?? '', textFlag);
        const actor = actorOf(options.by, actions.env);
        const after = await actions.apply(id, action(options), actor, text);
        actions.out(`${noun} ${after.breakId}: ${after.status} (by ${actor})`);
      },
    );
    return command;
  };
  manual(
    'resolve',
    `resolve an open or pending ${noun} by hand (--write-off to write it off)`,
    (options) => ({ type: 'resolve', writeOff: options.writeOff === true }),
    '--reason',
  ).option('--write-off', 'write the break off instead of resolving it');
  manual(
    'reopen',
    `reopen a resolved or written-off ${noun}`,
    () => ({ type: 'reopen' }),
    '--reason',
  );
  manual('comment', `add a comment to a ${noun}`, () => ({ type: 'comment' }), '--text');
}
