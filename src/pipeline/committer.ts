import { CollectorError } from '../errors';
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
  /** How long after it was sent a stored commit fences the group (config/kafka-properties.ts fenceHoldsMs). */
  readonly fenceHoldsMs: number;
  /** After the broker stored a commit (the topic trim follows it). */
  readonly onStored?: () => void;
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
   * Commits, just before a file of these partitions is published, the recovery points it needs (see
   * OffsetLedger.recoveryPointsNeeded), and for the other partitions the group's commit once more:
   * the broker refuses either from a member the group has moved on from (a process paused past its
   * session), whose records are the next owner's by now. Rejects when the broker did not store
   * them, or stored them too long ago to fence the group still (the process was paused while it
   * waited): the file must not be published (yet). Resolves with the instant (`now`) until which
   * the group cannot have given the partitions to another member; a file that reaches the store
   * later may not be seen by the next owner's recovery.
   */
  async beforePublish(topic: string, day: number, partitions: Iterable<number>, publishedAtMs: number): Promise<number> {
    const list = [...partitions];
    const { now, fenceHoldsMs } = this.deps;
    let holdsUntilMs = 0;
    await this.enqueue(async () => {
      holdsUntilMs = now() + fenceHoldsMs;
      const needed = this.deps.ledger.recoveryPointsNeeded(topic, list, publishedAtMs, day);
      const fencing = this.deps.ledger.commitsAgain(topic, list.filter((partition) => !needed.some((entry) => entry.partition === partition)));
      const commits = [...needed, ...fencing];
      if (commits.length === 0) return;
      const purpose = needed.length > 0 ? 'recovery-point' : 'fence';
      try {
        await this.deps.port.commit(commits, this.deps.timeoutMs);
      } catch (error) {
        this.deps.events.commitFailed(error, purpose);
        throw error;
      }
      this.deps.ledger.committed(commits);
      this.deps.events.offsetsCommitted(commits, purpose);
      this.deps.onStored?.();
      if (now() > holdsUntilMs) {
        const error = new CollectorError('PUBLISH_FENCE_EXPIRED', `the ${purpose} commit was stored more than ${fenceHoldsMs} ms after it was sent (a paused process?): too late to fence the group, the file waits for another`, {
          context: { topic, partitions: list.join(','), fenceHoldsMs },
        });
        this.deps.events.commitFailed(error, purpose);
        throw error;
      }
    });
    return holdsUntilMs;
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
    this.deps.onStored?.();
  }
}
