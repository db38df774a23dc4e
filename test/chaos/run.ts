/**
 * `npm run chaos`: the long chaos run (CHAOS_KILLS, default 20) against the harness's broker, or
 * the one KAFKA_BOOTSTRAP_SERVERS names. Prints the figures; exits non-zero on any loss or duplicate.
 */
import { startBroker, type BrokerHandle } from '../harness/broker';
import { runChaos } from '../harness/chaos';

async function main(): Promise<number> {
  const kills = Number(process.env.CHAOS_KILLS ?? '20');
  let broker: BrokerHandle | undefined;
  if (!process.env.KAFKA_BOOTSTRAP_SERVERS) {
    broker = await startBroker();
    process.env.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrapServers;
  }
  try {
    const figures = await runChaos({ kills, log: (line) => process.stdout.write(`${line}\n`) });
    process.stdout.write(
      `\nchaos figures\n  kills:        ${figures.kills} (${figures.faultKills} between publish and commit)\n  messages:     ${figures.produced}\n  written:      ${figures.written}\n  lost:         ${figures.lost}\n  duplicated:   ${figures.duplicated}\n`,
    );
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
