/**
 * `npm run broker`: the test broker on its own, for demos and for pointing a local collector at it.
 * Prints the connection settings, then runs until Ctrl-C or SIGTERM, and deletes its data on exit.
 */
import { startBroker } from './broker';

async function main(): Promise<void> {
  const broker = await startBroker();
  process.stdout.write(
    [
      `KAFKA_BOOTSTRAP_SERVERS=${broker.bootstrapServers}`,
      `KAFKA_SASL_BOOTSTRAP_SERVERS=${broker.saslBootstrapServers}`,
      `KAFKA_SASL_USERNAME=${broker.saslUsername}`,
      `KAFKA_SASL_PASSWORD=${broker.saslPassword}`,
      `KAFKA_SSL_BOOTSTRAP_SERVERS=${broker.sslBootstrapServers}`,
      `KAFKA_SSL_CA_LOCATION=${broker.sslCaLocation}`,
      `# broker log: ${broker.logFile}`,
      '# Ctrl-C stops the broker and deletes its data',
      '',
    ].join('\n'),
  );
  const shutdown = (): void => {
    process.stdout.write('stopping the broker...\n');
    broker.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
