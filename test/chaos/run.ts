/**
 * `npm run chaos`: the long chaos run (CHAOS_KILLS, default 20; CHAOS_COMPACTION=1 with the daemon
 * compacting closed days meanwhile) against the harness's broker, or
 * the one KAFKA_BOOTSTRAP_SERVERS names. Prints the figures; exits non-zero on any loss or duplicate.
 */
import { startBroker, type BrokerHandle } from '../harness/broker';
import { runChaos } from '../harness/chaos';

async function main(): Promise<number> {
  const kills = Number(process.env.CHAOS_KILLS ?? '20');
  const compaction = process.env.CHAOS_COMPACTION === '1';
  const workers = process.env.CHAOS_WORKERS === undefined ? undefined : Number(process.env.CHAOS_WORKERS);
  let broker: BrokerHandle | undefined;
  if (!process.env.KAFKA_BOOTSTRAP_SERVERS) {
    broker = await startBroker();
    process.env.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrapServers;
  }
  try {
    const figures = await runChaos({ kills, compaction, workers, log: (line) => process.stdout.write(`${line}\n`) });
    process.stdout.write(
      `\nchaos figures\n  kills:        ${figures.kills} (${figures.faultKills} between publish and commit)${figures.workerKills === undefined ? '' : `, and ${figures.workerKills} single consumer processes`}\n  messages:     ${figures.produced}\n  written:      ${figures.written}\n  lost:         ${figures.lost}\n  duplicated:   ${figures.duplicated}\n`,
    );
    if (figures.afterCompaction !== undefined) {
      const after = figures.afterCompaction;
      process.stdout.write(
        `  compactions:  ${figures.compactions} by the killed daemons\n  after compact: written ${after.written}, lost ${after.lost}, duplicated ${after.duplicated}, parts left ${after.partsLeft}\n`,
      );
      if (after.lost !== 0 || after.duplicated !== 0 || after.written !== figures.produced || after.partsLeft !== 0) return 1;
    }
    return figures.lost === 0 && figures.duplicated === 0 && figures.written === figures.produced ? 0 : 1;
  } finally {
    await broker?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
