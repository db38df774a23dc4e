import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalStore } from '../../../../src/lake/store/local';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));

describe('LocalStore', () => {
  let root: string;
  let store: LocalStore;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'local-store-'));
    store = new LocalStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates an object once: a second create of the key is refused and the first body stays', async () => {
    expect(await store.create('2025/10/17/t/a.parquet', Buffer.from('first'))).toBe(true);
    expect(await store.create('2025/10/17/t/a.parquet', chunks('sec', 'ond'))).toBe(false);
    expect(text(await store.read('2025/10/17/t/a.parquet'))).toBe('first');
    expect(readdirSync(path.join(root, '2025/10/17/t'))).toEqual(['a.parquet']);
  });

  it('asks stillValid just before the object appears, after the body is written: false writes nothing', async () => {
    let asked = 0;
    const refused = store.create('2025/10/17/t/late.parquet', chunks('a'.repeat(50_000), 'b'), () => {
      asked++;
      return false;
    });
    await expect(refused).rejects.toMatchObject({ code: 'PUBLISH_FENCE_EXPIRED', retryable: true });
    expect(asked).toBe(1);
    expect(readdirSync(path.join(root, '2025/10/17/t'))).toEqual([]);
    expect(await store.create('2025/10/17/t/late.parquet', Buffer.from('x'), () => true)).toBe(true);
  });

  it('lets exactly one of several concurrent creates of a key win', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.create('k', Buffer.from(`writer ${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(text(await store.read('k'))).toBe(`writer ${results.indexOf(true)}`);
  });

  it('streams a body and reads it back as a lazy Blob', async () => {
    await store.create('big', chunks('a'.repeat(100_000), 'b'.repeat(100_000)));
    const blob = await store.open('big');
    expect(blob.size).toBe(200_000);
    expect(await blob.slice(99_999, 100_001).text()).toBe('ab');
  });

  it('replaces metadata objects whole', async () => {
    await store.replace('d/.lock', Buffer.from('one'));
    await store.replace('d/.lock', Buffer.from('two'));
    expect(text(await store.read('d/.lock'))).toBe('two');
    expect(await store.stat('d/.lock')).toMatchObject({ key: 'd/.lock', size: 3 });
  });

  it('lists one level with sub-folders, or everything below, in key order, after a key, without temp files', async () => {
    for (const key of ['2025/10/17/b.parquet', '2025/10/17/a.parquet', '2025/10/17/t/part-1.parquet', '2025/10/18/x.parquet']) await store.create(key, Buffer.from(key));
    writeFileSync(path.join(root, '2025/10/17/.c.parquet.1234.tmp'), 'half');

    const level = await store.list('2025/10/17/', { delimiter: true });
    expect(level.objects.map((o) => o.key)).toEqual(['2025/10/17/a.parquet', '2025/10/17/b.parquet']);
    expect(level.prefixes).toEqual(['2025/10/17/t/']);
    expect((await store.list('2025/', {})).objects.map((o) => o.key)).toEqual(['2025/10/17/a.parquet', '2025/10/17/b.parquet', '2025/10/17/t/part-1.parquet', '2025/10/18/x.parquet']);
    expect((await store.list('2025/10/17/b', { delimiter: true })).objects.map((o) => o.key)).toEqual(['2025/10/17/b.parquet']);
    expect((await store.list('2025/10/17/', { delimiter: true, startAfter: '2025/10/17/a.parquet' })).objects.map((o) => o.key)).toEqual(['2025/10/17/b.parquet']);
    expect(await store.list('2026/', { delimiter: true })).toEqual({ objects: [], prefixes: [] });
  });

  it('answers nothing for a folder unchanged since the time given', async () => {
    await store.create('old/a', Buffer.from('a'));
    const past = new Date(Date.UTC(2020, 0, 1));
    utimesSync(path.join(root, 'old'), past, past);
    expect((await store.list('old/', { delimiter: true, changedSinceMs: Date.UTC(2021, 0, 1) })).objects).toEqual([]);
    expect((await store.list('old/', { delimiter: true, changedSinceMs: Date.UTC(2019, 0, 1) })).objects).toHaveLength(1);
  });

  it('removes objects, absent ones too, and the folders they emptied', async () => {
    await store.create('2025/10/17/t/p1', Buffer.from('1'));
    await store.create('2025/10/17/t/p2', Buffer.from('2'));
    await store.create('2025/10/17/t.parquet', Buffer.from('c'));
    await store.remove(['2025/10/17/t/p1', '2025/10/17/t/p2', '2025/10/17/t/absent']);
    expect(existsSync(path.join(root, '2025/10/17/t'))).toBe(false);
    expect(existsSync(path.join(root, '2025/10/17/t.parquet'))).toBe(true);
  });

  it('sweeps only temp files older than the age given', async () => {
    await store.create('d/a', Buffer.from('a'));
    const old = path.join(root, 'd/.b.1.tmp');
    const young = path.join(root, 'd/.c.2.tmp');
    writeFileSync(old, 'x');
    writeFileSync(young, 'y');
    const past = new Date(Date.now() - 3_600_000);
    utimesSync(old, past, past);
    expect(await store.sweepAbandoned(60_000)).toEqual([old]);
    expect(existsSync(young)).toBe(true);
    expect(existsSync(path.join(root, 'd/a'))).toBe(true);
  });

  it('probes: a writable folder is fine, a file in its place is not', async () => {
    expect(await store.probe()).toBeNull();
    const file = path.join(root, 'file');
    writeFileSync(file, '');
    expect(await new LocalStore(file).probe()).toMatch(/not a directory/);
  });
});
