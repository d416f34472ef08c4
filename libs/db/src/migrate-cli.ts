#!/usr/bin/env node
// Composition root of the migrate Job (`npm run migrate`, compose and k8s): reads DATABASE_URL,
// creates the database if missing, applies pending migrations, exits non-zero on any failure.
import { ensureDatabase } from './database-admin';
import { databaseNameOf } from './database-url';
import { MigrationError } from './migration.errors';
import { migrate, type MigrationLogger } from './migrator';

/** DESIGN §2's default for DATABASE_URL. */
export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/concord';

/** Where the CLI writes: one JSON object per line, like the services' pino logs. */
export interface CliOutput {
  log(line: string): void;
  error(line: string): void;
}

type CliLogger = MigrationLogger & { error(fields: Record<string, unknown>, message: string): void };

/** The lines of a pino-like JSON logger, without the dependency. */
function jsonLogger(output: CliOutput): CliLogger {
  const write = (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string) => {
    const line = JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields });
    if (level === 'error') {
      output.error(line);
    } else {
      output.log(line);
    }
  };
  return {
    info: (fields, msg) => write('info', fields, msg),
    warn: (fields, msg) => write('warn', fields, msg),
    error: (fields, msg) => write('error', fields, msg),
  };
}

/** A one-line account of an error; connection failures can arrive as an AggregateError with no message. */
function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    return error.errors.map(describeError).join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs the migrate command against `env.DATABASE_URL` and resolves to the process exit code.
 * Only the database name is ever printed: the URL may carry a password.
 */
export async function runMigrateCli(
  env: Readonly<Record<string, string | undefined>>,
  output: CliOutput = console,
): Promise<number> {
  const logger = jsonLogger(output);
  try {
    const databaseUrl = env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
    const database = databaseNameOf(databaseUrl);
    const { created } = await ensureDatabase(databaseUrl);
    if (created) {
      logger.info({ database }, 'created database');
    }
    const { applied } = await migrate({ databaseUrl, logger });
    logger.info({ database, applied }, applied.length > 0 ? 'migrations applied' : 'no pending migrations');
    return 0;
  } catch (error) {
    const code = error instanceof MigrationError ? error.code : undefined;
    logger.error({ code, err: describeError(error) }, 'migration failed');
    return 1;
  }
}

if (require.main === module) {
  void runMigrateCli(process.env).then((exitCode) => {
    process.exitCode = exitCode;
  });
}
