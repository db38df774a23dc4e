import { promises as fs } from 'node:fs';
import { CollectorError } from '../../errors';

/**
 * The lock that keeps two collectors sharing OUTPUT_DIR from compacting the same (topic, day) at
 * once: a hidden file beside the day's compacted files, created with O_EXCL, holding its owner and
 * the end of its lease. The holder renews the lease (a third of it before it ends) while it works
 * and checks that the file still names it before each irreversible step. A lock whose lease has
 * ended is taken over: its holder died, or stopped renewing and will find out at its next check.
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
    readonly path: string,
    private readonly options: LockOptions,
  ) {}

  /** The lock, or null while another owner's lease runs. */
  static async acquire(lockPath: string, options: LockOptions): Promise<CompactionLock | null> {
    const lock = new CompactionLock(lockPath, options);
    if (await lock.tryCreate()) return lock.startRenewing();
    const current = await readLock(lockPath);
    if (current !== null && current.expiresAtMs > options.now()) return null;
    if (current === null && !(await isOlderThan(lockPath, options.leaseMs, options.now()))) return null;
    // Expired: the one taker whose create wins holds it; the others see a running lease again.
    await fs.rm(lockPath, { force: true });
    return (await lock.tryCreate()) ? lock.startRenewing() : null;
  }

  /** Throws COMPACTION_LOCK_LOST when the file no longer names this owner. */
  async assertHeld(): Promise<void> {
    await this.renewal;
    const current = await readLock(this.path);
    if (current?.owner !== this.options.owner) {
      throw new CollectorError('COMPACTION_LOCK_LOST', `compaction lock ${this.path} was taken over by ${current?.owner ?? 'nobody'}`, {
        context: { path: this.path, owner: this.options.owner },
      });
    }
  }

  async release(): Promise<void> {
    this.stopRenewing();
    await this.renewal.catch(() => undefined);
    const current = await readLock(this.path);
    if (current?.owner === this.options.owner) await fs.rm(this.path, { force: true });
  }

  private record(): LockRecord {
    return { owner: this.options.owner, expiresAtMs: this.options.now() + this.options.leaseMs };
  }

  private async tryCreate(): Promise<boolean> {
    let handle;
    try {
      handle = await fs.open(this.path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      await handle.writeFile(JSON.stringify(this.record()));
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
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

  /** Rewrites the lease through a rename, so a reader never sees a half-written lock. */
  private async renew(): Promise<void> {
    const current = await readLock(this.path);
    if (current?.owner !== this.options.owner) {
      this.stopRenewing();
      return;
    }
    const next = `${this.path}.${this.options.owner}.renew`;
    await fs.writeFile(next, JSON.stringify(this.record()));
    await fs.rename(next, this.path);
  }
}

/** The lock's record, or null when there is no lock or it is unreadable (being written, or torn by a crash). */
async function readLock(lockPath: string): Promise<LockRecord | null> {
  const text = await fs.readFile(lockPath, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as Partial<LockRecord>;
    return typeof parsed.owner === 'string' && typeof parsed.expiresAtMs === 'number' ? { owner: parsed.owner, expiresAtMs: parsed.expiresAtMs } : null;
  } catch {
    return null;
  }
}

async function isOlderThan(filePath: string, ageMs: number, nowMs: number): Promise<boolean> {
  const stat = await fs.stat(filePath).catch(() => null);
  return stat === null || nowMs - stat.mtimeMs >= ageMs;
}
