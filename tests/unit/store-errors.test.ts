import { DependencyUnavailableError } from '../../src/domain/errors';
import { translateDatabaseError } from '../../src/store/store-errors';

const DB = '127.0.0.1:5432/recon';

/** A driver error as `pg` raises it: a message, and a SQLSTATE `code` for server errors. */
function driverError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe('translateDatabaseError', () => {
  it.each([
    ['the client-side query timeout of pg', driverError('Query read timeout')],
    [
      "the server's statement timeout",
      driverError('canceling statement due to statement timeout', '57014'),
    ],
  ])('names the setting to raise for %s (exit 3)', (_, error) => {
    const translated = translateDatabaseError(error, DB);
    expect(translated).toBeInstanceOf(DependencyUnavailableError);
    expect((translated as Error).message).toBe(
      `database ${DB} did not finish a statement in time (${error.message}): a statement may run at most DB_STATEMENT_TIMEOUT_MS (default 300000 ms); raise it for large runs or a slow server`,
    );
  });

  it('still reports an unreachable server as unavailable', () => {
    const translated = translateDatabaseError(
      driverError('connect ECONNREFUSED', 'ECONNREFUSED'),
      DB,
    );
    expect(translated).toBeInstanceOf(DependencyUnavailableError);
    expect((translated as Error).message).toBe(
      `database ${DB} is unavailable: connect ECONNREFUSED`,
    );
  });
});
