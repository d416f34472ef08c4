import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseLoadArgs, type LoadOptions } from '../options';
import { runLoad, type RunOutcome } from '../run-load';

/** A run of `npm run load -- <args>` in this process, with private output and state folders. */
export async function runCli(
  args: string[],
  dirs: { out?: string; state?: string } = {},
): Promise<RunOutcome & { log: string[]; options: LoadOptions }> {
  const out = dirs.out ?? mkdtempSync(path.join(tmpdir(), 'concord-load-out-'));
  const state = dirs.state ?? mkdtempSync(path.join(tmpdir(), 'concord-load-state-'));
  const parsed = parseLoadArgs([...args, '--progress', 'never'], { outDir: out, stateDir: state });
  if (parsed.help) throw new Error('runCli: --help is not a run');
  const log: string[] = [];
  const outcome = await runLoad(parsed.options, {
    command: `npm run load -- ${args.join(' ')}`,
    log: (line) => log.push(line),
    progressStream: { write: () => true },
  });
  return { ...outcome, log, options: parsed.options };
}
