import { CollectorError } from '../../errors';
import type { LakeStore } from '../store/lake-store';

/**
 * The lock that keeps two collectors sharing the lake from compacting the same (topic, day) at
 * once: a hidden object beside the day's compacted files, created only if absent, holding its owner
 * and the end of its lease. The holder renews the lease (a third of it before it ends) while it
 * works and checks that the object still names it before each irreversible step. A lock whose lease
 * has ended is taken over: its holder died, or stopped renewing and will find out at its next check.
 */

export interface LockRecord {
  readonly owner: string;
  readonly expiresAtMs: number;
}

export interface LockOptions {
  readonly owner: string;
  readonly leaseMs: number;
  readonly now: () => number;
}

export class CompactionLock {
  private renewTimer: NodeJS.Timeout | null = null;
  private renewal: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: LakeStore,
    readonly key: string,
    private readonly options: LockOptions,
  ) {}

  /** The lock, or null while another owner's lease runs. */
  static async acquire(store: LakeStore, key: string, options: LockOptions): Promise<CompactionLock | null> {
    const lock = new CompactionLock(store, key, options);
    if (await lock.tryCreate()) return lock.startRenewing();
    const current = await readLock(store, key);
    if (current !== null && current.expiresAtMs > options.now()) return null;
    if (current === null && !(await isOlderThan(store, key, options.leaseMs))) return null;
    // Expired: the one taker whose create wins holds it; the others see a running lease again.
    await store.remove([key]);
    return (await lock.tryCreate()) ? lock.startRenewing() : null;
  }

  /** Throws COMPACTION_LOCK_LOST when the object no longer names this owner. */
  async assertHeld(): Promise<void> {
    await this.renewal;
    const current = await readLock(this.store, this.key);
    if (current?.owner !== this.options.owner) {
      throw new CollectorError('COMPACTION_LOCK_LOST', `compaction lock ${this.key} was taken over by ${current?.owner ?? 'nobody'}`, {
        context: { key: this.key, owner: this.options.owner },
      });
    }
  }

  async release(): Promise<void> {
    this.stopRenewing();
    await this.renewal.catch(() => undefined);
    const current = await readLock(this.store, this.key);
    if (current?.owner === this.options.owner) await this.store.remove([this.key]);
  }

  private record(): Uint8Array {
    const record: LockRecord = { owner: this.options.owner, expiresAtMs: this.options.now() + this.options.leaseMs };
    return Buffer.from(JSON.stringify(record));
  }

  private tryCreate(): Promise<boolean> {
    return this.store.create(this.key, this.record());
  }

  private startRenewing(): this {
    const every = Math.max(1, Math.floor(this.options.leaseMs / 3));
    this.renewTimer = setInterval(() => {
      this.renewal = this.renewal.then(() => this.renew()).catch(() => undefined);
    }, every);
    this.renewTimer.unref();
    return this;
  }

  private stopRenewing(): void {
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    this.renewTimer = null;
  }

  /** Rewrites the lease whole, so a reader never sees a half-written lock. */
  private async renew(): Promise<void> {
    const current = await readLock(this.store, this.key);
    if (current?.owner !== this.options.owner) {
      this.stopRenewing();
      return;
    }
    await this.store.replace(this.key, this.record());
  }
}

/** The lock's record, or null when there is no lock or it is unreadable (torn by a crash). */
async function readLock(store: LakeStore, key: string): Promise<LockRecord | null> {
  const bytes = await store.read(key).catch(() => null);
  if (bytes === null) return null;
  try {
    const parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<LockRecord>;
    return typeof parsed.owner === 'string' && typeof parsed.expiresAtMs === 'number' ? { owner: parsed.owner, expiresAtMs: parsed.expiresAtMs } : null;
  } catch {
    return null;
  }
}

/** By the store's clock: the object's modification time is the store's too. */
async function isOlderThan(store: LakeStore, key: string, ageMs: number): Promise<boolean> {
  const stat = await store.stat(key).catch(() => null);
  return stat === null || (await store.now()) - stat.modifiedMs >= ageMs;
}
