/** Jest global teardown: Jest runs it after failed suites too, so the broker never outlives the run. */
import { takeSharedBroker } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  await takeSharedBroker()?.stop();
}
