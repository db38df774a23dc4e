import type { ConsumerPort } from '../kafka/consumer-port';
import type { PipelineEvents } from './events';
import type { OffsetHolder, OffsetLedger } from './offset-ledger';

/**
 * The serial commit chain: commits run one at a time, in order, so an older offset never lands
 * after a newer one. Its failures are commit failures (the broker), never write failures.
 */

export interface CommitterDeps {
  readonly port: Pick<ConsumerPort, 'commit'>;
  readonly ledger: OffsetLedger;
  /** What still holds unpublished records: open buffers and writes in flight. */
  readonly holders: () => Iterable<OffsetHolder>;
  readonly events: PipelineEvents;
  readonly now: () => number;
  readonly timeoutMs: number;
}

export class Committer {
  private readonly deps: CommitterDeps;
  private chain: Promise<void> = Promise.resolve();
  private queued = false;

  constructor(deps: CommitterDeps) {
    this.deps = deps;
  }

  /** Asks for a commit of everything committable; requests made while one waits are folded into it. */
  request(): void {
    if (this.queued) return;
    this.queued = true;
    void this.enqueue(async () => {
      this.queued = false;
      await this.commitProgress();
    });
  }

  /** Commits everything committable now, after any commit already under way. A failure is reported, not thrown. */
  async commitNow(): Promise<void> {
    this.request();
    await this.chain;
  }

  /**
   * Stores the recovery points a file of these partitions needs before it is published (see
   * OffsetLedger.recoveryPointsNeeded). Rejects when the broker did not store them: the file must
   * not be published yet.
   */
  async ensureRecoveryPoints(topic: string, day: number, partitions: Iterable<number>, publishedAtMs: number): Promise<void> {
    const list = [...partitions];
    if (this.deps.ledger.recoveryPointsNeeded(topic, list, publishedAtMs, day).length === 0) return;
    await this.enqueue(async () => {
      const needed = this.deps.ledger.recoveryPointsNeeded(topic, list, publishedAtMs, day);
      if (needed.length === 0) return;
      try {
        await this.deps.port.commit(needed, this.deps.timeoutMs);
      } catch (error) {
        this.deps.events.commitFailed(error, 'recovery-point');
        throw error;
      }
      this.deps.ledger.committed(needed);
      this.deps.events.offsetsCommitted(needed, 'recovery-point');
    });
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async commitProgress(): Promise<void> {
    const { ledger, port, events } = this.deps;
    const commits = ledger.nextCommit(this.deps.holders(), this.deps.now());
    if (commits.length === 0) return;
    try {
      await port.commit(commits, this.deps.timeoutMs);
    } catch (error) {
      // The next publish, or the age timer, asks again.
      events.commitFailed(error, 'progress');
      return;
    }
    ledger.committed(commits);
    events.offsetsCommitted(commits, 'progress');
  }
}
