/** Lakes in temp folders, for tests that build or read one with the project's own lake modules. */
import path from 'node:path';
import { readFooter, type FileFooter } from '../../src/lake/footer';
import type { Lake } from '../../src/lake/lake';
import { seedLayout, type LakeLayout } from '../../src/lake/layout';
import { LocalStore } from '../../src/lake/store/local';

export function localLake(dir: string, layout: LakeLayout = seedLayout): Lake {
  return { store: new LocalStore(dir), layout };
}

/** The footer of the Parquet file at a path. */
export function footerAt(filePath: string): Promise<FileFooter> {
  return readFooter(new LocalStore(path.dirname(filePath)), path.basename(filePath));
}
