import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readKeysCliConfig } from './config';
import { readKeyFile, writeKeyFile } from './data-access/key-ring';
import { failureExitCode, runAsProcess, usageConfig, UsageError, type CliOutput } from './operator-cli';
import {
  DEFAULT_MIN_NEXT_AGE_MS,
  generateSigningKey,
  planInit,
  promote,
  publishedKeys,
  retire,
  signingKey,
  type SigningKeyRecord,
} from './domain/key-rotation';

/**
 * Operator tool for `JWT_KEYS_FILE` (docs/decisions/004-signing-keys.md), a composition root of its
 * own: `node services/auth-service/dist/keys-cli.js <init|rotate|retire|list> --file F`.
 */

const USAGE = `usage: keys-cli <command> [--file F]
  init                            create F with one active and one next key (no-op if F exists)
  rotate [--min-next-age-ms N]    next -> active, add a fresh next key (default N: ${DEFAULT_MIN_NEXT_AGE_MS})
  retire [--max-token-age-ms N]   retire older active keys once their tokens have expired (default N:
                                  JWT_MAX_ACCESS_TTL_SECONDS + JWT_CLOCK_TOLERANCE_SECONDS, 3600 s + 60 s)
  list                            kid, status and dates (never private parts)
--file defaults to $JWT_KEYS_FILE. Run one command at a time per file.`;

export type { CliOutput } from './operator-cli';

function milliseconds(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be a non-negative integer (milliseconds)`);
  return Number(text);
}

/**
 * Default retire delay: the longest any verifier accepts a token signed just before the rotation,
 * `JWT_MAX_ACCESS_TTL_SECONDS` (verifiers refuse `exp - iat` above it) plus the clock tolerance.
 * Not `JWT_EXPIRY_MINUTES`: the lifetime actually issued can change (the live
 * `jwt_expiry_minutes` setting), the bound cannot without a restart of every verifier.
 */
function defaultMaxTokenAgeMs(env: Record<string, string | undefined>): number {
  const config = usageConfig(() => readKeysCliConfig(env));
  return (config.JWT_MAX_ACCESS_TTL_SECONDS + config.JWT_CLOCK_TOLERANCE_SECONDS) * 1000;
}

/**
 * Runs one command and returns the process exit code. Never prints a private key member.
 */
export async function runKeysCli(
  argv: string[],
  env: Record<string, string | undefined>,
  io: CliOutput,
  now: () => Date = () => new Date(),
): Promise<number> {
  try {
    const { positionals, values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        file: { type: 'string' },
        'min-next-age-ms': { type: 'string' },
        'max-token-age-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const [command, ...extra] = positionals;
    if (!command || extra.length > 0) throw new UsageError('expected exactly one command');
    const fileArg = values.file ?? env.JWT_KEYS_FILE;
    if (!fileArg) throw new UsageError('--file (or JWT_KEYS_FILE) is required');
    const file = resolve(fileArg);

    switch (command) {
      case 'init': {
        await mkdir(dirname(file), { recursive: true, mode: 0o700 });
        const created = await writeKeyFile(file, await planInit(now()), { exclusive: true });
        if (!created) {
          io.out(`${file} already exists; left unchanged`);
          return 0;
        }
        const { keys } = await readKeyFile(file);
        io.out(`created ${file} (mode 0600)`);
        list(keys, io);
        return 0;
      }
      case 'rotate': {
        const minNextAgeMs = milliseconds(
          values['min-next-age-ms'],
          'min-next-age-ms',
          DEFAULT_MIN_NEXT_AGE_MS,
        );
        const { keys } = await readKeyFile(file);
        const at = now();
        if (!keys.some((k) => k.status === 'next')) {
          // Nothing may be promoted yet: publish a next key first, so the next rotate can proceed.
          await writeKeyFile(file, { keys: [...keys, await generateSigningKey('next', at)] });
          io.out(`there was no next key: added one; run rotate again after ${minNextAgeMs} ms`);
        } else {
          const promoted = promote(keys, at, minNextAgeMs);
          await writeKeyFile(file, { keys: [...promoted, await generateSigningKey('next', at)] });
          io.out(
            `promoted ${signingKey(promoted).kid} to active; older active keys stay published until retired`,
          );
        }
        list((await readKeyFile(file)).keys, io);
        return 0;
      }
      case 'retire': {
        const maxTokenAgeMs = milliseconds(
          values['max-token-age-ms'],
          'max-token-age-ms',
          defaultMaxTokenAgeMs(env),
        );
        const { keys } = await readKeyFile(file);
        const retired = retire(keys, now(), maxTokenAgeMs);
        const changed = retired.filter((k, i) => k.status !== keys[i]?.status).map((k) => k.kid);
        if (changed.length === 0) {
          io.out('nothing to retire: only one active key');
          return 0;
        }
        await writeKeyFile(file, { keys: retired });
        io.out(`retired ${changed.join(', ')}`);
        list(retired, io);
        return 0;
      }
      case 'list':
        list((await readKeyFile(file)).keys, io);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    return failureExitCode(err, io, { name: 'keys-cli', usage: USAGE });
  }
}

function list(keys: SigningKeyRecord[], io: CliOutput): void {
  const signer = signingKey(keys).kid;
  const published = new Set(publishedKeys(keys).map((k) => k.kid));
  io.out(['kid', 'status', 'created_at', 'activated_at', 'retired_at', 'notes'].join('\t'));
  for (const key of keys) {
    const notes = [key.kid === signer ? 'signing' : '', published.has(key.kid) ? 'published' : '']
      .filter(Boolean)
      .join(',');
    io.out(
      [
        key.kid,
        key.status,
        key.created_at,
        key.activated_at ?? '-',
        key.retired_at ?? '-',
        notes || '-',
      ].join('\t'),
    );
  }
}

if (require.main === module) runAsProcess('keys-cli', (argv, env, io) => runKeysCli(argv, env, io));
