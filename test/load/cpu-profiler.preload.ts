/**
 * Preloaded into the replicas with `NODE_OPTIONS=--require <this file>` when the bench runs with
 * `--cpu-prof` (Node 20 refuses `--cpu-prof` itself in NODE_OPTIONS, and the e2e harness decides
 * the replicas' command line). Profiles the whole process and writes
 * `$CONCORD_CPU_PROFILE_DIR/<pid>.cpuprofile` on exit.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env.CONCORD_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.once('exit', () => {
    // A same-thread inspector session answers synchronously, which is what lets this run in 'exit'.
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
