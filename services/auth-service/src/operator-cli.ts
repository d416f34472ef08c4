import { ConfigError } from '@concord/common';

/**
 * What auth-service's operator tools (keys-cli, restore-fixup-cli) share: output capture, usage
 * errors (exit 2 with the usage text) and running as a process.
 */

/** Where a CLI writes; tests capture it. */
export interface CliOutput {
  out(line: string): void;
  err(line: string): void;
}

/** A mistake in the command line or the environment: exit 2 and print the usage. */
export class UsageError extends Error {}

/** Parses the environment with `read`, turning a bad key into a {@link UsageError}. */
export function usageConfig<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/**
 * Reports `err` as `name: message` and returns the exit code: 2 (with `usage`) for a usage error,
 * including node's own argument-parser errors, otherwise 1 (followed by `hint`, if any).
 */
export function failureExitCode(
  err: unknown,
  io: CliOutput,
  options: { name: string; usage: string; hint?: string },
): number {
  io.err(`${options.name}: ${err instanceof Error ? err.message : String(err)}`);
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const usage = err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
  if (usage) io.err(options.usage);
  else if (options.hint) io.err(options.hint);
  return usage ? 2 : 1;
}

/** Runs a CLI's entry with the process's argv, env and stdio, and sets the exit code. */
export function runAsProcess(
  name: string,
  run: (argv: string[], env: Record<string, string | undefined>, io: CliOutput) => Promise<number>,
): void {
  run(process.argv.slice(2), process.env, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${name}: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
