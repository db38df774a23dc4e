/**
 * Jest global setup: one broker for the whole run, unless KAFKA_BOOTSTRAP_SERVERS already names one.
 *
 * Runs in Jest's parent process before any worker forks, so the variables set here reach every
 * test file. The handle stays in this process's globalThis, which is where global teardown runs.
 */
import { BrokerHandle, startBroker } from './broker';

declare global {
  // `var`, not let/const: only a var declaration becomes a property of globalThis.
  var __redpandaParquetCollectorBroker: BrokerHandle | undefined;
}

export default async function globalSetup(): Promise<void> {
  const external = process.env.KAFKA_BOOTSTRAP_SERVERS;
  if (external) {
    process.stderr.write(`\n[harness] using the broker at ${external} (KAFKA_BOOTSTRAP_SERVERS); starting none\n`);
    return;
  }
  const startedAt = Date.now();
  const broker = await startBroker();
  globalThis.__redpandaParquetCollectorBroker = broker;
  process.env.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrapServers;
  process.env.KAFKA_SASL_BOOTSTRAP_SERVERS = broker.saslBootstrapServers;
  process.env.KAFKA_SASL_USERNAME = broker.saslUsername;
  process.env.KAFKA_SASL_PASSWORD = broker.saslPassword;
  process.env.KAFKA_SSL_BOOTSTRAP_SERVERS = broker.sslBootstrapServers;
  process.env.KAFKA_SSL_CA_LOCATION = broker.sslCaLocation;
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  process.stderr.write(`\n[harness] Kafka broker on ${broker.bootstrapServers} (SASL ${broker.saslBootstrapServers}, SSL ${broker.sslBootstrapServers}), ready in ${seconds} s, log ${broker.logFile}\n`);
}

/** Hands the broker started above to global teardown, once. */
export function takeSharedBroker(): BrokerHandle | undefined {
  const broker = globalThis.__redpandaParquetCollectorBroker;
  globalThis.__redpandaParquetCollectorBroker = undefined;
  return broker;
}
