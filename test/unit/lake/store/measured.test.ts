import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MeasuredStore, type StoreRequest } from '../../../../src/lake/store/measured';
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
});
