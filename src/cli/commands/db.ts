import type { Command } from 'commander';
import { IntegrityError } from '../../domain/errors';
import { verifyAuditChain } from '../../store/audit-chain';
import { setUpCitus } from '../../store/citus';
import { openDatabase } from '../../store/open-store';
import { setUpRoles } from '../../store/roles';
import { auditProblemLine, auditReportJson, auditReportText } from '../audit-output';
import type { CommandContext } from '../command-context';
import { EXIT_CODES } from '../exit-codes';
import { parseAuditHead } from '../options';

/** Registers `recon db init` (apply setup.sql, optionally roles) and `recon db verify-audit`. */
export function registerDbCommands(program: Command, ctx: CommandContext): void {
  const { io, env } = ctx;
  const db = program.command('db').description('database administration');
  db.command('init')
    .description('apply setup.sql to the configured database (idempotent)')
    .option(
      '--roles',
      'also create the owner and app roles and grant the app role what the job needs',
    )
    .option(
      '--citus',
      'also distribute the staging tables of --engine postgres on a Citus coordinator (exit 2 without Citus)',
    )
    .action(async (options: { roles?: boolean; citus?: boolean }) => {
      const { config, logger } = ctx.settings();
      const database = await openDatabase(config.database, { initialise: true });
      try {
        logger.info({ database: database.description }, 'schema applied');
        io.out(`schema applied to ${database.description}`);
        if (options.roles) {
          const roles = {
            owner: env.RECON_OWNER_ROLE?.trim() || 'recon_owner',
            app: env.RECON_APP_ROLE?.trim() || 'recon_app',
            appPassword: env.RECON_APP_PASSWORD || undefined,
          };
          await setUpRoles(database, roles);
          io.out(
            `roles ready: ${roles.owner} owns the tables; ${roles.app} may insert (audit_log: insert only)`,
          );
        }
        if (options.citus) {
          const citus = await setUpCitus(database, database.description);
          logger.info({ database: database.description, citus }, 'citus set up');
          io.out(
            `citus ${citus.version}: staging tables distributed by transaction_id, co-located` +
              `${citus.distributed.length === 0 ? ' (already)' : ''}; run tables stay on the ` +
              `coordinator; citus.multi_shard_modify_mode at its default (parallel) for database ${citus.database}`,
          );
        }
      } finally {
        await database.close();
      }
    });
  db.command('verify-audit')
    .description(
      "recompute the audit log's hash chain and check every completed run's results against it; exit 6 at the first problem",
    )
    .option(
      '--expect-head <hash>',
      "an audit head kept outside the database (a run's audit_head): exit 6 unless it is still in the chain",
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean; expectHead?: string }) => {
      const expectHead = parseAuditHead(options.expectHead);
      const { config } = ctx.settings();
      const database = await openDatabase(config.database);
      try {
        const report = await verifyAuditChain(database, { expectHead });
        io.out(options.json ? JSON.stringify(auditReportJson(report)) : auditReportText(report));
        if (report.problem) {
          if (!options.json) throw new IntegrityError(auditProblemLine(report));
          ctx.setExitCode(EXIT_CODES.INTEGRITY);
        }
      } finally {
        await database.close();
      }
    });
}
