import { readFileSync } from 'node:fs';
import { ConfigError, describeError } from '../domain/errors';
import { parseFxRatesCsv, type FxRates } from '../domain/fx-rates';

/**
 * The optional reporting currency (README "Reporting currency"): `RECON_REPORTING_CURRENCY` (ISO
 * 4217) and `RECON_FX_RATES_FILE` (a CSV `currency,rate,as_of`, see `parseFxRatesCsv`), both or
 * neither. Read and validated once, at start, before any side effect. Null when neither is set.
 * Empty strings count as unset.
 * @throws ConfigError when only one is set, the file cannot be read, or a row is bad (names the
 *   file, line and field).
 */
export function loadFxRates(env: NodeJS.ProcessEnv): FxRates | null {
  const currency = env.RECON_REPORTING_CURRENCY?.trim() || undefined;
  const file = env.RECON_FX_RATES_FILE?.trim() || undefined;
  if (!currency && !file) return null;
  if (!currency)
    throw new ConfigError('RECON_FX_RATES_FILE is set but RECON_REPORTING_CURRENCY is not');
  if (!file)
    throw new ConfigError(
      'RECON_REPORTING_CURRENCY needs RECON_FX_RATES_FILE, a CSV file currency,rate,as_of',
    );
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : describeError(error);
    throw new ConfigError(`RECON_FX_RATES_FILE ${file} cannot be read: ${reason}`);
  }
  return parseFxRatesCsv(text, file, currency);
}
