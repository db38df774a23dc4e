/**
 * A task run at start, then `intervalMs` after each run ends: never two runs at once, and the
 * timer never keeps a finished process alive. The task handles its own errors.
 */
export class RepeatingTask {
  private readonly intervalMs: number;
  private readonly task: () => Promise<void>;
  private timer: NodeJS.Timeout | null = null;
  private run: Promise<void> = Promise.resolve();
  private active = false;

  constructor(intervalMs: number, task: () => Promise<void>) {
    this.intervalMs = intervalMs;
    this.task = task;
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    this.schedule(0);
  }

  /** Stops scheduling and waits for the run under way. */
  async stop(): Promise<void> {
    this.active = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.run;
  }

  private schedule(delayMs: number): void {
    if (!this.active) return;
    this.timer = setTimeout(() => {
      this.run = this.task().finally(() => this.schedule(this.intervalMs));
    }, delayMs);
    this.timer.unref();
  }
}
