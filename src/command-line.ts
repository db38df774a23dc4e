import { parseArgs } from 'node:util';

/**
 * The collector's command line (not the `verify` command's), parsed one way for main.ts and for
 * the launcher's helper (node-options.ts), so both read the same `--config`.
 */
export interface CommandLine {
  readonly once: boolean;
  readonly config?: string;
  readonly printConfig: boolean;
  readonly version: boolean;
  readonly help: boolean;
}

/** Throws on an unknown option or a positional argument. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      once: { type: 'boolean', default: false },
      config: { type: 'string' },
      'print-config': { type: 'boolean', default: false },
      version: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  return { once: values.once, config: values.config, printConfig: values['print-config'], version: values.version, help: values.help };
}
