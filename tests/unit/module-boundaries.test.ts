import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/cli';

/** Every `.ts` file under `dir`, as paths relative to the repository root. */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
    .sort();
}

describe('module boundaries (ARCHITECTURE.md: no arrow runs up to config/)', () => {
  it('no module of store/, delivery/, engine/, domain/ or sources/ imports config/', () => {
    const offenders: string[] = [];
    for (const dir of ['src/store', 'src/delivery', 'src/engine', 'src/domain', 'src/sources']) {
      for (const file of sourceFiles(dir)) {
        const text = readFileSync(join(ROOT, file), 'utf8');
        for (const match of text.matchAll(/from '((?:\.\.\/)+config\/[^']+)'/g)) {
          offenders.push(`${file} imports ${match[1] ?? ''}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
