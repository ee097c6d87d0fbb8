import type { PgliteSettings } from './pglite-database';
import type { PostgresSettings } from './postgres-database';

/**
 * Where runs are stored: a PostgreSQL server (`postgres`, see `PostgresSettings`), or embedded
 * PGlite (`pglite`, the zero-setup default, see `PgliteSettings`). Built from the environment by
 * `config/load-config.ts`; it lives beside the store so that `store/` never imports `config/`.
 */
export type DatabaseConfig =
  | { readonly kind: 'postgres'; readonly settings: PostgresSettings }
  | { readonly kind: 'pglite'; readonly settings: PgliteSettings };
