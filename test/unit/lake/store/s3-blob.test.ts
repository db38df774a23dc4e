import { clampPosition, RangedBlob } from '../../../../src/lake/store/s3-blob';

/** An in-memory object standing in for S3: the slicing arithmetic is all that is under test here. */
function blobOver(bytes: Uint8Array): { blob: Blob; reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  const blob = new RangedBlob(
    async (start, end) => {
      reads.push([start, end]);
      return bytes.slice(start, end);
    },
    0,
    bytes.byteLength,
  );
  return { blob, reads };
}

const bytes = new TextEncoder().encode('0123456789');

describe('RangedBlob', () => {
  it('reads nothing until asked, then only the slice asked for', async () => {
    const { blob, reads } = blobOver(bytes);
    const footer = blob.slice(-4).slice(1, 3);
    expect(footer.size).toBe(2);
    expect(reads).toEqual([]);
    expect(await footer.text()).toBe('78');
    expect(new Uint8Array(await blob.slice(2, 5).arrayBuffer())).toEqual(new TextEncoder().encode('234'));
    expect(reads).toEqual([
      [7, 9],
      [2, 5],
    ]);
  });

  it('follows the Blob specification for out-of-range and reversed slices, without reading empty ones', async () => {
    const { blob, reads } = blobOver(bytes);
    expect(blob.slice(8, 100).size).toBe(2);
    expect(blob.slice(-100, 2).size).toBe(2);
    expect(blob.slice(6, 3).size).toBe(0);
    expect((await blob.slice(6, 3).bytes()).byteLength).toBe(0);
    expect(reads).toEqual([]);
    expect([clampPosition(-3, 10), clampPosition(12, 10), clampPosition(2.7, 10)]).toEqual([7, 10, 2]);
  });

  it('streams its bytes', async () => {
    const { blob } = blobOver(bytes);
    const parts: Uint8Array[] = [];
    for await (const part of blob.slice(0, 3).stream()) parts.push(part);
    expect(Buffer.concat(parts).toString()).toBe('012');
  });

  it('streams its slice as UTF-8 text', async () => {
    const { blob } = blobOver(new TextEncoder().encode('€uro'));
    const parts: string[] = [];
    for await (const part of blob.slice(0, 4).textStream()) parts.push(part);
    expect(parts.join('')).toBe('€u');
  });
});
