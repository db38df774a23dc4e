import { findTopicFiles, listTopics } from '../lake/files';
import type { Lake } from '../lake/lake';
import { readPartitionOffsets } from '../lake/offsets-reader';
import type { KafkaProperties } from '../config/kafka-properties';
import type { Watermarks } from '../kafka/consumer-port';
import { fetchWatermarks } from '../kafka/broker-watermarks';
import { analyzePartition, formatRanges, reportFails, type PartitionReport } from './verify-report';

/**
 * `verify`: reads the published files (their kafka_partition and kafka_offset columns, data and
 * dead letters alike) and reports per topic and partition what is present, the gaps and the
 * duplicates; with the broker's watermarks it also tells gaps the broker still holds.
 */

export interface VerifyOptions {
  readonly lake: Lake;
  /** Topics to check; all topics found in the output when empty. */
  readonly topics: readonly string[];
  readonly fromDay?: number;
  readonly toDay?: number;
  /** Connection properties when the broker's watermarks are wanted. */
  readonly broker?: { readonly properties: KafkaProperties; readonly timeoutMs: number };
}

export interface VerifyResult {
  readonly reports: PartitionReport[];
  readonly files: number;
  readonly failed: boolean;
}

export async function verifyOutput(options: VerifyOptions): Promise<VerifyResult> {
  const { lake } = options;
  const topics = options.topics.length > 0 ? [...options.topics] : await listTopics(lake);
  const watermarks = options.broker ? await fetchWatermarks(options.broker.properties, topics, options.broker.timeoutMs) : null;
  const reports: PartitionReport[] = [];
  let fileCount = 0;
  for (const topic of topics) {
    const files = await findTopicFiles(lake, { topic, fromDay: options.fromDay, toDay: options.toDay });
    fileCount += files.length;
    const offsetsByPartition = new Map<number, number[]>();
    for (const file of files) {
      const { partitions, offsets } = await readPartitionOffsets(lake.store, file.key);
      for (let row = 0; row < offsets.length; row++) {
        const list = offsetsByPartition.get(partitions[row]) ?? [];
        list.push(offsets[row]);
        offsetsByPartition.set(partitions[row], list);
      }
    }
    const topicWatermarks: Map<number, Watermarks> | undefined = watermarks?.get(topic);
    const partitions = new Set([...offsetsByPartition.keys(), ...(topicWatermarks?.keys() ?? [])]);
    for (const partition of [...partitions].sort((a, b) => a - b)) {
      reports.push(analyzePartition(topic, partition, Float64Array.from(offsetsByPartition.get(partition) ?? []), topicWatermarks?.get(partition) ?? null));
    }
  }
  return { reports, files: fileCount, failed: reports.some(reportFails) };
}

/** A human-readable table of the reports. */
export function formatVerifyResult(result: VerifyResult): string {
  const lines = [`files read: ${result.files}`, 'topic\tpartition\trows\tpresent\tgaps\tgaps on broker\tduplicates\tbehind'];
  for (const r of result.reports) {
    lines.push(
      [r.topic, r.partition, r.rows, formatRanges(r.present), formatRanges(r.gaps), r.gapsOnBroker === null ? 'n/a' : formatRanges(r.gapsOnBroker), r.duplicates, r.behind ?? 'n/a'].join('\t'),
    );
  }
  lines.push(result.failed ? 'FAILED: duplicates, or gaps the broker still holds' : 'OK: no duplicates' + (result.reports.some((r) => r.watermarks !== null) ? ', no gaps the broker still holds' : ''));
  return lines.join('\n');
}
