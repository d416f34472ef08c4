import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * The pgbench baseline of the settings benchmark: the service's own CAS statement (its text, from
 * `casSql`) run by pgbench's C client on the same table shape, so the ratio shows what the HTTP
 * path (nginx, express, the token check, the rate limit, the JSON work) costs on top of the
 * statement itself.
 */

/** Bench keys are decimal numbers (valid `bench` keys), so pgbench's integer variables can name them. */
export function benchKeyName(i: number, keyBase: number): string {
  return String(keyBase + i);
}

/**
 * Substitutes `$n` in `sql` by `args[n - 1]` (pgbench variables or literals). Every placeholder
 * must have an argument and every argument must be used: a statement that silently lost its
 * revision check would make the baseline measure something else.
 */
export function bindPlaceholders(sql: string, args: readonly string[]): string {
  const used = new Set<number>();
  const text = sql.replace(/\$(\d+)/g, (_m, digits: string) => {
    const n = Number(digits);
    const arg = args[n - 1];
    if (arg === undefined) throw new Error(`no argument for $${n}`);
    used.add(n);
    return arg;
  });
  const unused = args.map((_, i) => i + 1).filter((n) => !used.has(n));
  if (unused.length > 0) throw new Error(`arguments never used: ${unused.map((n) => `$${n}`).join(', ')}`);
  return text;
}

/**
 * pgbench takes every `:name` as a variable, also inside string literals, so the statement's
 * `to_char(…, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` would be mangled. Literals holding a colon are
 * rewritten as escape strings with `\072` for it: the server reads the same constant.
 */
export function escapeLiteralColons(sql: string): string {
  return sql.replace(/(?<![A-Za-z0-9_])'((?:[^']|'')*)'/g, (literal, body: string) =>
    body.includes(':') ? `E'${body.replace(/\\/g, '\\\\').replace(/:/g, '\\072')}'` : literal,
  );
}

/** What the script needs to know about the table's contents. */
export interface PgbenchScriptOptions {
  /** The service's CAS statement (`casSql('outbox')`). */
  casSql: string;
  keys: number;
  /** Keys are `keyBase + 1 … keyBase + keys` (see {@link benchKeyName}). */
  keyBase: number;
  /** `updated_by` of the writes (a user id). */
  updatedBy: string;
}

/**
 * One pgbench transaction = one service read-modify-write: read a random key's value and revision
 * (the GET), then the CAS statement with `If-Match` of that revision and value + 1 (the PUT), with
 * the parameters the service binds for `If-Match: "<revision>"` (settings-cas.ts casParams). In
 * autocommit, as the service runs them. `\gset` keeps the revision as the text of a one-element
 * array, so `$7::bigint[]` receives exactly what node-postgres sends.
 */
export function pgbenchScript(o: PgbenchScriptOptions): string {
  const cas = bindPlaceholders(escapeLiteralColons(o.casSql.trim()), [
    `'bench'`, // $1 namespace
    ':k', // $2 key
    ':nv', // $3 value (jsonb)
    `'${o.updatedBy}'`, // $4 updated_by
    'false', // $5 absent: If-Match of a revision never inserts
    'false', // $6 anyRevision
    ':revs', // $7 revisions
    `'{}'`, // $8 notRevisions
    'false', // $9 tombstoneOnly
    `'set'`, // $10 op
    `'pgbench'`, // $11 request id
    ':nv', // $12 event value (jsonb)
  ]);
  return [
    `\\set k random(${o.keyBase + 1}, ${o.keyBase + o.keys})`,
    `SELECT value::text::bigint + 1 AS nv, ARRAY[revision]::text AS revs FROM settings WHERE namespace = 'bench' AND key = :k::text \\gset`,
    // pgbench sends one line per statement; the CAS is one statement over several lines.
    `${cas.replace(/\s*\n\s*/g, ' ')};`,
    '',
  ].join('\n');
}

/** What pgbench printed at the end of a run. */
export interface PgbenchSummary {
  clients: number;
  threads: number;
  durationSeconds: number;
  transactions: number;
  failed: number;
  /** Without the initial connection time. */
  tps: number;
  latencyAverageMs: number;
}

/** Parses pgbench 15's summary (stdout). */
export function parsePgbenchOutput(text: string): PgbenchSummary {
  const num = (re: RegExp, what: string): number => {
    const m = re.exec(text);
    if (!m) throw new Error(`pgbench output without ${what}:\n${text}`);
    return Number(m[1]);
  };
  return {
    clients: num(/^number of clients: (\d+)/m, 'the number of clients'),
    threads: num(/^number of threads: (\d+)/m, 'the number of threads'),
    durationSeconds: num(/^duration: (\d+) s/m, 'the duration'),
    transactions: num(/^number of transactions actually processed: (\d+)/m, 'the transaction count'),
    failed: /^number of failed transactions: (\d+)/m.test(text)
      ? num(/^number of failed transactions: (\d+)/m, 'failed transactions')
      : 0,
    tps: num(/^tps = ([\d.]+) \(without initial connection time\)/m, 'tps'),
    latencyAverageMs: num(/^latency average = ([\d.]+) ms/m, 'the average latency'),
  };
}

/**
 * Transaction latencies (ms) from pgbench's per-transaction log (`-l`): lines of
 * `client_id transaction_no time_us script_no time_epoch time_us_frac`; a skipped or failed
 * transaction has a non-numeric time and is left out.
 */
export function parsePgbenchLog(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6) continue;
    const us = Number(fields[2]);
    if (Number.isFinite(us)) out.push(us / 1000);
  }
  return out;
}

/** Options of {@link runPgbench}. */
export interface PgbenchRunOptions {
  databaseUrl: string;
  scriptPath: string;
  clients: number;
  threads: number;
  durationSeconds: number;
  /** Where the per-transaction logs go (a fresh directory per run). */
  logDir: string;
  /** pgbench's own progress lines (`-P`), every `progressSeconds`. */
  onProgress?: (line: string) => void;
  progressSeconds?: number;
}

/** `pgbench --version`, or undefined when pgbench is not installed. */
export async function pgbenchVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('pgbench', ['--version'], { timeout: 5_000 });
    return /pgbench \(PostgreSQL\) (\S+)/.exec(stdout)?.[1] ?? stdout.trim();
  } catch {
    return undefined;
  }
}

/**
 * Runs pgbench once (`-n`: no vacuum of its own tables, which do not exist here; `-M prepared`:
 * each statement parsed once per connection, then bound and executed, as the service's named
 * statements are). Killed if it overruns its duration by 30 s.
 */
export async function runPgbench(
  o: PgbenchRunOptions,
): Promise<{ summary: PgbenchSummary; latenciesMs: number[] }> {
  const args = [
    '-n',
    '-M',
    'prepared',
    '-c',
    String(o.clients),
    '-j',
    String(o.threads),
    '-T',
    String(o.durationSeconds),
    '-f',
    o.scriptPath,
    '-P',
    String(o.progressSeconds ?? 5),
    '-l',
    '--log-prefix',
    path.join(o.logDir, 'pgbench_log'),
    o.databaseUrl,
  ];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('pgbench', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      const chunk = c.toString();
      err += chunk;
      for (const line of chunk.split('\n')) if (line.startsWith('progress: ')) o.onProgress?.(line);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.durationSeconds + 30) * 1000);
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('error', (e) => {
      clearTimeout(timer);
      process.off('exit', killOnExit);
      reject(new Error(`could not run pgbench (apt-get install -y postgresql-contrib): ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', killOnExit);
      if (code !== 0) reject(new Error(`pgbench exited with ${code ?? signal}:\n${err}${text}`));
      else resolve(text);
    });
  });
  const summary = parsePgbenchOutput(out);
  const latenciesMs: number[] = [];
  for (const file of await readdir(o.logDir)) {
    if (file.startsWith('pgbench_log'))
      latenciesMs.push(...parsePgbenchLog(await readFile(path.join(o.logDir, file), 'utf8')));
  }
  return { summary, latenciesMs };
}

/** Writes the script of {@link pgbenchScript} into `dir` and returns its path. */
export async function writePgbenchScript(dir: string, o: PgbenchScriptOptions): Promise<string> {
  const file = path.join(dir, 'settings-cas.pgbench.sql');
  await writeFile(file, pgbenchScript(o));
  return file;
}
