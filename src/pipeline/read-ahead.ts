import type { ConsumerPort, SourceMessage } from '../kafka/consumer-port';

/**
 * The consume call running one batch ahead: the client's call spends about as long in the thread
 * pool, polling librdkafka message by message, as ingesting a batch takes here, so the next call
 * runs while this thread ingests (docs/performance.md).
 */
export class ReadAhead {
  private pending: Promise<SourceMessage[]> | null = null;

  constructor(
    private readonly port: Pick<ConsumerPort, 'consume' | 'rebalancing'>,
    private readonly batchSize: number,
  ) {}

  /** The batch read ahead, or else a new consume call. */
  next(): Promise<SourceMessage[]> {
    return this.take() ?? this.port.consume(this.batchSize);
  }

  /** Starts the next call, except while a rebalance hand-off is pending: the loop stops for it after this batch anyway. */
  start(): void {
    if (this.port.rebalancing) return;
    const next = this.port.consume(this.batchSize);
    // Awaited later (or by a revocation); marked handled now so a failure is not reported as unhandled meanwhile.
    next.catch(() => undefined);
    this.pending = next;
  }

  /**
   * What the call under way returns, [] when there is none; a failed call is reported and gives []:
   * nothing of it was ingested or committed, so the partitions' next owner reads it again.
   */
  async settle(onFailed: (error: unknown) => void): Promise<SourceMessage[]> {
    return (
      (await this.take()?.catch((error: unknown) => {
        onFailed(error);
        return [];
      })) ?? []
    );
  }

  /** Hands over the call under way, or null: the caller ingests what it returns, or drops it. */
  take(): Promise<SourceMessage[]> | null {
    const ahead = this.pending;
    this.pending = null;
    return ahead;
  }
}
