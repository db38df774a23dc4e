import { parseArgs } from 'node:util';
import { connectionProperties } from '../config/kafka-properties';
import { COMMON_FLAGS, commandConfig, commandFailed, commandLake, parseDay } from './command-support';
import { formatVerifyResult, verifyOutput } from './verify';

/** `redpanda-parquet-collector verify [--topic T]… [--from DAY --to DAY] [--against-broker] [--json]`. */

export const VERIFY_USAGE = `Usage: redpanda-parquet-collector verify [options]

Reads the published files (footers and the kafka_partition/kafka_offset columns) and reports, per
topic and partition, the offset ranges present, gaps and duplicates.

Options:
  --topic T           a topic to check (repeatable); all topics in OUTPUT_DIR by default
  --from YYYY-MM-DD   first day folder to read
  --to YYYY-MM-DD     last day folder to read
  --against-broker    compare with the broker's low and high watermarks (BOOTSTRAP_SERVERS, …):
                      offsets below the low watermark, gone from the broker (its retention, or
                      TOPIC_TRIM_ENABLED), are never counted as missing
  --output-dir DIR    the output to check (else OUTPUT_DIR / the config file)
  --config FILE       config file
  --json              machine-readable output
Exit codes: 0 no duplicates and no gaps the broker still holds, 1 otherwise, 2 bad arguments.`;

const BROKER_TIMEOUT_MS = 10_000;

export async function runVerifyCommand(argv: readonly string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        topic: { type: 'string', multiple: true, default: [] },
        from: { type: 'string' },
        to: { type: 'string' },
        'against-broker': { type: 'boolean', default: false },
        ...COMMON_FLAGS,
      },
      strict: true,
    }).values;
    if (values.help) {
      process.stdout.write(`${VERIFY_USAGE}\n`);
      return 0;
    }
    const config = commandConfig(values);
    const result = await verifyOutput({
      lake: commandLake(config),
      topics: values.topic,
      fromDay: parseDay(values.from, '--from'),
      toDay: parseDay(values.to, '--to'),
      broker: values['against-broker'] ? { properties: connectionProperties(config), timeoutMs: BROKER_TIMEOUT_MS } : undefined,
    });
    process.stdout.write(`${values.json ? JSON.stringify(result, null, 2) : formatVerifyResult(result)}\n`);
    return result.failed ? 1 : 0;
  } catch (error) {
    return commandFailed(error, values !== undefined);
  }
}
