import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MeasuredStore, type StoreRequest } from '../../../../src/lake/store/measured';
import type { Listing } from '../../../../src/lake/store/lake-store';
import { LocalStore } from '../../../../src/lake/store/local';

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

describe('MeasuredStore', () => {
  let root: string;
  let requests: StoreRequest[];
  let store: MeasuredStore;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'measured-store-'));
    requests = [];
    let tick = 0;
    store = new MeasuredStore(new LocalStore(root), { storeRequest: (request) => requests.push(request) }, () => (tick += 5));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reports each request with its duration and the bytes it wrote, streamed bodies included', async () => {
    await store.create('a', Buffer.from('12345'));
    await store.create('b', chunks('123', '4567'));
    await store.list('', { delimiter: true });
    expect(requests).toEqual([
      { operation: 'create', durationMs: 5, bytesWritten: 5 },
      { operation: 'create', durationMs: 5, bytesWritten: 7 },
      { operation: 'list', durationMs: 5, bytesWritten: 0 },
    ]);
  });

  it('reports a failed request with its error and still throws it', async () => {
    await expect(store.open('absent')).rejects.toThrow();
    expect(requests).toMatchObject([{ operation: 'open', bytesWritten: 0, error: expect.objectContaining({ code: 'ENOENT' }) }]);
  });

  it('tells readiness when the store fails until a request succeeds, and when a request waits too long', async () => {
    let now = 0;
    const measured = new MeasuredStore(new LocalStore(root), { storeRequest: () => undefined }, () => now);
    await expect(measured.open('absent')).rejects.toThrow();
    now = 4000;
    expect(measured.problem()).toMatch(/^failing for 4 s: .*ENOENT/);
    await measured.create('present', Buffer.from('x'));
    expect(measured.problem()).toBeNull();

    let answer: () => void = () => undefined;
    class HangingList extends LocalStore {
      override list(): Promise<Listing> {
        return new Promise((resolve) => (answer = () => resolve({ objects: [], prefixes: [] })));
      }
    }
    const hanging = new MeasuredStore(new HangingList(root), { storeRequest: () => undefined }, () => now);
    const listing = hanging.list('');
    now += 31_000;
    expect(hanging.problem()).toBe('a request has waited 31 s for an answer');
    answer();
    await listing;
    expect(hanging.problem()).toBeNull();
  });
});
