/**
 * `node dist/node-options.js [collector arguments]`: prints the Node.js options the launcher
 * (bin/redpanda-parquet-collector) starts the collector with. The V8 heap limits have to be given
 * when Node starts, yet it follows MEMORY_BUDGET_BYTES, which may come from the environment or a
 * config file; this reads the same configuration the collector will load (`--config FILE`,
 * CONFIG_FILE, config/collector.json) without loading the collector itself.
 *
 * Prints nothing for the `verify` command, and nothing when the command line or the configuration
 * does not load: the collector then reports what is wrong itself.
 */
import { parseCommandLine } from './command-line';
import { loadConfig } from './config/load';
import { heapOptions, memoryPlan } from './config/memory-plan';

export function collectorNodeOptions(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  if (argv[0] === 'verify') return [];
  try {
    const { config } = loadConfig({ env, file: parseCommandLine(argv).config });
    return heapOptions(memoryPlan(config.flush.memoryBudgetBytes));
  } catch {
    return [];
  }
}

if (require.main === module) {
  const options = collectorNodeOptions(process.argv.slice(2), process.env);
  if (options.length > 0) process.stdout.write(`${options.join(' ')}\n`);
}
