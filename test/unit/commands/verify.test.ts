import { verifyOutput } from '../../../src/commands/verify';
import { runVerifyCommand } from '../../../src/commands/verify-cli';
import { hiveLayout } from '../../../src/lake/layout';
import { localLake } from '../../harness/local-lake';
import { DAY, records, removeLake, tempLake, writePart } from '../lake/compaction/lake-fixture';

describe('verify on a Hive lake', () => {
  let lake: string;
  beforeEach(async () => {
    lake = tempLake();
    await writePart(lake, 'trades', records(0, 0, 4), { layout: hiveLayout });
    await writePart(lake, 'trades', records(0, 4, 6), { layout: hiveLayout, day: DAY + 1 });
  });
  afterEach(() => removeLake(lake));

  it('finds the files of topic=/date= folders and reports what they hold', async () => {
    const result = await verifyOutput({ lake: localLake(lake, hiveLayout), topics: [] });

    expect(result.files).toBe(2);
    expect(result.reports).toMatchObject([{ topic: 'trades', partition: 0, rows: 8, duplicates: 1 }]);
    expect(result.failed).toBe(true);
  });

  it('reads LAYOUT from the configuration on the command line', async () => {
    const previous = process.env.LAYOUT;
    process.env.LAYOUT = 'hive';
    let out = '';
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      expect(await runVerifyCommand(['--output-dir', lake, '--json'])).toBe(1);
    } finally {
      spy.mockRestore();
      if (previous === undefined) delete process.env.LAYOUT;
      else process.env.LAYOUT = previous;
    }
    expect(JSON.parse(out)).toMatchObject({ files: 2, failed: true });
  });
});
