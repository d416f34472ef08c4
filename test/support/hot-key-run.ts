import type { ConcordClient } from '@concord/client';

/** A write whose answer says what became of it. */
export interface WriteRecord {
  /** nginx's `X-Request-Id` of the write (the service records it in `settings_history`). */
  requestId: string;
  status: number;
  etag?: string;
  /** The key's path the write went to. */
  path: string;
  /** From the start of the read this write was based on to the write's answer (ms). */
  cycleMs: number;
}

/** What a hot-key run saw. */
export interface HotKeyOutcome {
  /** 200s. */
  granted: WriteRecord[];
  /** 502/504: the gateway lost the upstream; the write may or may not have committed. */
  lost: WriteRecord[];
  /** 412s (each followed by a fresh read and another try). */
  conflicts: number;
  /** Anything else (a test fails on these). */
  unexpected: { status: number; body: unknown }[];
}

/** Options of {@link runHotKey}. */
export interface HotKeyOptions {
  /** One client per concurrent writer (e.g. from distinct loopback addresses, through nginx). */
  clients: ConcordClient[];
  token: string;
  /** `/api/v1/settings/bench/<key>`, or a chooser called for each increment (retries keep its key). */
  path: string | (() => string);
  /** Increments each client completes (200s). */
  increments: number;
  /** Checked before each read: true ends every writer early (a benchmark's time bound). */
  stop?: () => boolean;
  /** Called after every granted write (e.g. to kill a replica mid-run). */
  onGranted?: (total: number) => void;
}

/**
 * Read-modify-write increments of one integer setting (or of keys `path` chooses): GET, then PUT value + 1 with `If-Match`,
 * again from the read on 412 and after a lost answer (502/504), until each client has its
 * `increments` 200s. Every write's request id and status is recorded, so a test can hold the final
 * value against the 200s plus the lost writes that did commit.
 */
export async function runHotKey(options: HotKeyOptions): Promise<HotKeyOutcome> {
  const outcome: HotKeyOutcome = { granted: [], lost: [], conflicts: 0, unexpected: [] };
  async function writer(client: ConcordClient): Promise<void> {
    const choose = typeof options.path === 'string' ? () => options.path as string : options.path;
    let done = 0;
    let path = choose();
    while (done < options.increments && outcome.unexpected.length === 0 && !options.stop?.()) {
      const started = performance.now();
      const read = await client.request<{ value: number }>('GET', path, { token: options.token });
      if (read.status === 502 || read.status === 504) continue; // nginx retries GETs; a last one may still fail
      if (read.status !== 200) {
        outcome.unexpected.push({ status: read.status, body: read.body });
        return;
      }
      const write = await client.request('PUT', path, {
        token: options.token,
        headers: { 'if-match': String(read.headers.etag) },
        body: { value: read.body.value + 1 },
      });
      const record: WriteRecord = {
        requestId: String(write.headers['x-request-id']),
        status: write.status,
        etag: write.headers.etag === undefined ? undefined : String(write.headers.etag),
        path,
        cycleMs: performance.now() - started,
      };
      if (write.status === 200) {
        outcome.granted.push(record);
        done++;
        path = choose();
        options.onGranted?.(outcome.granted.length);
      } else if (write.status === 412) {
        outcome.conflicts++;
      } else if (write.status === 502 || write.status === 504) {
        outcome.lost.push(record);
      } else {
        outcome.unexpected.push({ status: write.status, body: write.body });
      }
    }
  }
  await Promise.all(options.clients.map((client) => writer(client)));
  return outcome;
}
