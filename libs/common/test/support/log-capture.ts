import { Writable } from 'node:stream';

/** One parsed JSON log line. */
export type LogLine = { level?: string; msg?: string } & Record<string, unknown>;

/** A pino destination that keeps every line, parsed, for a test to assert on. */
export function captureLogLines(): { lines: LogLine[]; destination: Writable } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  return { lines, destination };
}
