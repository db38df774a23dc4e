/**
 * Worker threads and forked child processes cannot load TypeScript, and a unit suite should not
 * depend on a dist/ that may be stale: these transpile the sources they need on their own.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const REPO = path.resolve(__dirname, '..', '..');
const SOURCE = path.join(REPO, 'src');

/**
 * A build folder for one suite, inside the repository so that the compiled code resolves its
 * packages from node_modules.
 */
export function suiteBuildDir(name: string): string {
  return path.join(REPO, '.cache', `${name}-${process.pid}`);
}

/** Transpiles these files of src/ (paths relative to it) to CommonJS under `build`, at the same relative paths. */
export function transpileSources(build: string, files: readonly string[]): void {
  for (const file of files) {
    const { outputText } = ts.transpileModule(readFileSync(path.join(SOURCE, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const target = path.join(build, file.replace(/\.ts$/, '.js'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
}

/** The TypeScript files directly in these folders of src/ ('.' is src/ itself), as paths relative to src/. */
export function sourcesIn(folders: readonly string[]): string[] {
  return folders.flatMap((folder) =>
    readdirSync(path.join(SOURCE, folder))
      .filter((name) => name.endsWith('.ts'))
      .map((name) => path.join(folder, name)),
  );
}
