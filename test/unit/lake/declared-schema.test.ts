import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigInvalidError, loadConfig } from '../../../src/config/load';
import { declaredFieldsOf, misfitReason, parseDeclaredSchemas, readDeclaredSchemas } from '../../../src/lake/declared-schema';

describe('declared schemas (SCHEMA_FILE)', () => {
  it('reads the columns and the misfit policy of each topic, null by default', () => {
    const declared = parseDeclaredSchemas({ a: { onMisfit: 'dead-letter', columns: { price: 'double', at: 'timestamp' } }, b: { columns: { flag: 'boolean' } } }, 'f.json');
    expect(declared).toEqual(
      new Map([
        ['a', new Map([['price', { type: 'double', onMisfit: 'dead-letter' }], ['at', { type: 'timestamp_ms', onMisfit: 'dead-letter' }]])],
        ['b', new Map([['flag', { type: 'boolean', onMisfit: 'null' }]])],
      ]),
    );
    expect(readDeclaredSchemas('')).toEqual(new Map());
  });

  it.each([
    ['not an object', [1], /must hold an object of topics/],
    ['no columns', { a: {} }, /topic a needs "columns"/],
    ['an unknown type', { a: { columns: { x: 'decimal' } } }, /a\.x: the type is one of boolean, int64, double, string, binary, timestamp, not "decimal"/],
    ['an unknown policy', { a: { onMisfit: 'drop', columns: {} } }, /"onMisfit" is "null" or "dead-letter", not "drop"/],
  ])('refuses %s, saying what is wrong', (_what, content, message) => {
    expect(() => parseDeclaredSchemas(content, 'f.json')).toThrow(message);
  });

  it('is a configuration error when the file is not a declaration', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'schema-file-')), 'schema.json');
    writeFileSync(file, '{"a": {"columns": {"x": "decimal"}}}');
    expect(() => loadConfig({ env: { SCHEMA_FILE: file } })).toThrow(ConfigInvalidError);
    expect(() => loadConfig({ env: { SCHEMA_FILE: path.join(path.dirname(file), 'missing.json') } })).toThrow(/cannot be read as JSON/);
  });

  it('adds TIMESTAMP_FIELDS to every topic, a topic declaring the field keeping its own type', () => {
    const declared = parseDeclaredSchemas({ a: { columns: { ts: 'string' } } }, 'f.json');
    expect(declaredFieldsOf(declared, ['ts', 'at'], 'a')).toEqual(new Map([['ts', { type: 'string', onMisfit: 'null' }], ['at', { type: 'timestamp_ms', onMisfit: 'null' }]]));
    expect(declaredFieldsOf(declared, ['at'], 'other')).toEqual(new Map([['at', { type: 'timestamp_ms', onMisfit: 'null' }]]));
    expect(misfitReason('timestamp_ms')).toBe('not-a-timestamp');
  });
});
