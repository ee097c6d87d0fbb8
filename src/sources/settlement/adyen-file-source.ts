import { readFile } from 'node:fs/promises';
import { InputRejectedError } from '../../domain/errors';
import type { SettlementRead, SettlementSource } from '../../engine/settlement';
import { latin1ToWindows1252, type InputEncoding } from '../text-encoding';
import { adyenBatchGroups, type AdyenBatchGroups } from './adyen-batch-groups';

/**
 * The settlement groups of an Adyen settlement details report file
 * (https://docs.adyen.com/reporting/settlement-detail-report): one group per batch and net
 * currency with a `MerchantPayout` row (`kind` `adyen_batch`, `parentId` the batch number), read
 * by `adyenBatchGroups` (columns by name, so the 30- and 49-column layouts both work).
 * `invalidRows` are the rows `adyenBatchGroups` left out (a field count that differs from the
 * header's, an unreadable amount or currency), by physical line. Batches without a payout row
 * (all carried over by `Balancetransfer`) form no group; they are kept in `carriedBatches` after
 * a read, for reports that want to list them.
 */
export class AdyenFileSettlementSource implements SettlementSource {
  /** The batches of the last read that have no payout row (see `AdyenBatchGroups`). */
  carriedBatches: AdyenBatchGroups['carriedBatches'] = [];

  constructor(
    readonly location: string,
    private readonly encoding: InputEncoding = 'utf-8',
  ) {}

  /**
   * Reads and groups the file (`signal` is accepted for the interface; a local read is not
   * interrupted).
   * @throws InputRejectedError (exit 4) for a missing or unreadable file, a file that is not CSV,
   *   or a required column missing (named with its header line).
   */
  async read(signal?: AbortSignal): Promise<SettlementRead> {
    signal?.throwIfAborted();
    let bytes: Buffer;
    try {
      bytes = await readFile(this.location);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new InputRejectedError(
        `Adyen settlement details report ${this.location}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? 'error'})`}`,
        { location: this.location },
        { cause: error },
      );
    }
    const text =
      this.encoding === 'utf-8'
        ? bytes.toString('utf8')
        : this.encoding === 'latin1'
          ? bytes.toString('latin1')
          : latin1ToWindows1252(bytes.toString('latin1'));
    const groups = adyenBatchGroups(text, this.location);
    this.carriedBatches = groups.carriedBatches;
    return {
      location: this.location,
      parents: groups.parents,
      children: groups.children,
      invalidRows: groups.invalidRows,
    };
  }
}
