import type { Command } from 'commander';
import { currencyExponent } from '../../domain/currency';
import { NotFoundError, UsageError } from '../../domain/errors';
import { formatMinor } from '../../domain/money';
import { STATUS_MAPS } from '../../domain/status';
import { MATCH_ENGINES } from '../../engine/match-transactions';
import { NO_RULES, rulesFor } from '../../engine/rules';
import { explainTransaction, type Explanation } from '../../engine/tiers';
import { SourceFactory, sourceChoiceOf } from '../../job/build-sources';
import type { CommandContext } from '../command-context';
import { runRequestFrom, type RunOptions } from '../options';

/** Options of `recon explain`: those of `recon run` that choose the inputs, plus `--id`. */
interface ExplainOptions extends RunOptions {
  id?: string;
}

function explanationText(
  e: Explanation,
  processor: string,
  date: string,
  currency: string | null,
): string {
  const head =
    `${processor} ${date} ${e.transactionId}: ${e.outcome.replace(/_/g, ' ')}` +
    (e.decidedBy ? ` by tier ${e.decidedBy}` : '') +
    (e.pairedWith && e.pairedWith !== e.transactionId ? ` with ${e.pairedWith}` : '') +
    (e.differenceMinor !== null && currency
      ? ` (difference ${formatMinor(e.differenceMinor, currencyExponent(currency))} ${currency})`
      : '');
  const lines = [head];
  for (const t of e.tiers) {
    const label = `  tier ${t.tier} (${t.type}): `;
    if (t.verdict === 'not_reached') lines.push(`${label}not reached (decided earlier)`);
    else if (t.verdict === 'paired')
      lines.push(`${label}paired${t.candidates.length ? ` with ${t.candidates.join(', ')}` : ''}`);
    else if (t.verdict === 'ambiguous')
      lines.push(`${label}ambiguous: several candidates ${t.candidates.join(', ')}`);
    else if (t.type === 'id')
      lines.push(`${label}no row of the other side has this transaction_id`);
    else if (t.nearest.length === 0)
      lines.push(`${label}no candidate: no unmatched row of the other side with the same key`);
    else
      lines.push(
        `${label}no candidate: ${t.nearest.map((n) => `${n.transactionId}: ${n.reason}`).join('; ')}`,
      );
  }
  return lines.join('\n');
}

/**
 * Registers `recon explain --date D --processors P --id ID`: reads both sides like a dry run
 * (same input options and rules file), matches them and prints which tier matched the
 * transaction or why each tier did not. Stores and writes nothing.
 */
export function registerExplainCommand(program: Command, ctx: CommandContext): void {
  program
    .command('explain')
    .description('explain which matching tier matched a transaction, or why each tier did not')
    .requiredOption('--id <transaction_id>', 'the transaction id (either side)')
    .option('--date <YYYY-MM-DD>', 'business date')
    .option('--processors <name>', 'the processor (exactly one)')
    .option('--data-dir <dir>', 'input root, as for recon run')
    .option('--processor-file <file>', 'processor-side file')
    .option('--internal-file <file>', 'ledger-side file')
    .option('--format <name>', 'processor export format, as for recon run')
    .option('--config <file>', 'rules file (overrides RECON_CONFIG)')
    .option('--json', 'print JSON')
    .action(async (options: ExplainOptions) => {
      const { config, logger } = ctx.settings();
      const request = runRequestFrom(
        {
          ...options,
          processors: options.processors ? [String(options.processors)] : undefined,
          dryRun: true,
        },
        config,
        ctx.env,
        Date.now(),
        ctx.appVersion,
      );
      const [date] = request.dates;
      const [processor] = request.processors;
      if (!date || !processor || request.dates.length !== 1 || request.processors.length !== 1)
        throw new UsageError('recon explain needs exactly one --date and one processor');
      const id = options.id ?? '';
      const sources = new SourceFactory(sourceChoiceOf(request), config.apis, logger);
      const [processorSource, internalSource] = sources.sourcesFor(date, processor);
      const context = { businessDate: date, timeZone: request.timeZone };
      const [p, i] = await Promise.all([
        processorSource.read({ ...context, statusMap: STATUS_MAPS[processor] }),
        internalSource.read({ ...context, statusMap: STATUS_MAPS.internal }),
      ]);
      const own = rulesFor(request.rules ?? NO_RULES, processor);
      const engine = MATCH_ENGINES.memory;
      const untiered = engine.match(p.table, i.table);
      const tiered = engine.applyRules(untiered, own, p.table, request.timeZone);
      const has = (table: typeof p.table): boolean => {
        for (let row = 0; row < table.length; row++) if (table.idAt(row) === id) return true;
        return false;
      };
      const explanation = explainTransaction(id, untiered, tiered, own, request.timeZone, {
        processor: has(p.table),
        internal: has(i.table),
      });
      if (!explanation)
        throw new NotFoundError(
          `no transaction ${id} on either side of ${processor} ${date} (${processorSource.location}, ${internalSource.location})`,
        );
      let currency: string | null = null;
      for (const table of [p.table, i.table])
        for (let row = 0; row < table.length && currency === null; row++)
          if (table.idAt(row) === id)
            currency = table.currencies[table.currencyIndexAt(row)] ?? null;
      ctx.io.out(
        options.json
          ? JSON.stringify({
              transaction_id: explanation.transactionId,
              sides: explanation.sides,
              outcome: explanation.outcome,
              decided_by: explanation.decidedBy,
              paired_with: explanation.pairedWith,
              difference:
                explanation.differenceMinor !== null && currency
                  ? formatMinor(explanation.differenceMinor, currencyExponent(currency))
                  : null,
              tiers: explanation.tiers.map((t) => ({
                tier: t.tier,
                type: t.type,
                verdict: t.verdict,
                candidates: t.candidates,
                nearest: t.nearest.map((n) => ({
                  transaction_id: n.transactionId,
                  reason: n.reason,
                })),
              })),
            })
          : explanationText(explanation, processor, date, currency),
      );
    });
}
