import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { Logger } from './logger';
import type { TopicProgress } from '../pipeline/events';

/**
 * One-shot progress: a bar per topic on a terminal (done of to-do, rate, ETA), progress log lines
 * elsewhere (cron, containers), at most one per topic every few seconds.
 */

export interface ProgressReporter {
  readonly update: (progress: readonly TopicProgress[]) => void;
  readonly stop: () => void;
}

const LOG_EVERY_MS = 5000;

export function createProgressReporter(logger: Logger, terminal: boolean): ProgressReporter {
  return terminal ? terminalBars() : progressLogs(logger);
}

function terminalBars(): ProgressReporter {
  const multibar = new MultiBar(
    {
      format: ' {topic} |{bar}| {value}/{total} msgs | {rate} msg/s | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const bars = new Map<string, { bar: SingleBar; startedMs: number }>();
  return {
    update(progress) {
      for (const { topic, done, total } of progress) {
        let entry = bars.get(topic);
        if (entry === undefined) {
          entry = { bar: multibar.create(Math.max(total, 1), 0, { topic, rate: 0 }), startedMs: Date.now() };
          bars.set(topic, entry);
        }
        const seconds = Math.max((Date.now() - entry.startedMs) / 1000, 0.001);
        entry.bar.setTotal(Math.max(total, 1));
        entry.bar.update(done, { topic, rate: Math.round(done / seconds) });
      }
    },
    stop: () => multibar.stop(),
  };
}

function progressLogs(logger: Logger): ProgressReporter {
  const lastLogged = new Map<string, number>();
  const finishedTopics = new Set<string>();
  return {
    update(progress) {
      const now = Date.now();
      for (const { topic, done, total } of progress) {
        const finished = done >= total;
        if (finishedTopics.has(topic)) continue;
        if (!finished && now - (lastLogged.get(topic) ?? -Infinity) < LOG_EVERY_MS) continue;
        lastLogged.set(topic, now);
        if (finished) finishedTopics.add(topic);
        logger.info({ event: 'progress', topic, done, total }, `${topic}: ${done}/${total} messages`);
      }
    },
    stop: () => undefined,
  };
}
