// @ts-check
'use strict';
// The local stack's one output stream: the runner's own lines, every replica's pino lines and nginx's
// stderr. On a terminal they are rendered by pino-pretty (colored, one readable line each, prefixed
// with the replica); otherwise every line is a JSON object, as the services write them, so the output
// can be piped into jq or a log shipper. Lines a child prints that are not JSON (a crash's stack
// trace, nginx's messages) are wrapped into the same shape rather than dropped.

const { prettyFactory } = require('pino-pretty');

/**
 * @typedef {'info' | 'warn' | 'error'} Level
 * @typedef {'stdout' | 'stderr'} StreamName
 *
 * @typedef {object} LogOutput
 * @property {(level: Level, msg: string, fields?: Record<string, unknown>) => void} stack a line of the runner
 * @property {(source: { service: string, replica: string }, text: string, stream: StreamName) => void} child
 *   one output line of a child process
 */

/**
 * @param {{ pretty: boolean, colorize?: boolean, write: (text: string) => void, now?: () => Date }} options
 *   `pretty` is meant to be `process.stdout.isTTY`
 * @returns {LogOutput}
 */
function createLogOutput(options) {
  const now = options.now ?? (() => new Date());
  const render = options.pretty
    ? prettyFactory({
        colorize: options.colorize ?? true,
        translateTime: 'SYS:HH:MM:ss.l',
        // service and replica are in the prefix; pid and hostname are the same for every line here.
        ignore: 'pid,hostname,service,replica',
        messageFormat: '[{replica}] {msg}',
      })
    : (/** @type {Record<string, unknown>} */ record) => `${JSON.stringify(record)}\n`;

  return {
    stack(level, msg, fields = {}) {
      options.write(
        render({ level, time: now().toISOString(), service: 'stack', replica: 'stack', msg, ...fields }),
      );
    },
    child(source, text, stream) {
      const record = jsonRecord(text);
      if (record && !options.pretty) {
        // Already a service's pino line: passed through byte for byte.
        options.write(`${text}\n`);
        return;
      }
      options.write(
        render(
          // The migrator and the key CLI log without a replica binding: the prefix still says who it was.
          (record && { replica: source.replica, ...record }) ?? {
            level: stream === 'stderr' ? 'warn' : 'info',
            time: now().toISOString(),
            service: source.service,
            replica: source.replica,
            msg: text,
          },
        ),
      );
    },
  };
}

/**
 * A pino line: a JSON object with a level. Anything else (plain text, a JSON array) is not.
 * @param {string} text
 * @returns {Record<string, unknown> | undefined}
 */
function jsonRecord(text) {
  if (!text.startsWith('{')) return undefined;
  try {
    const value = /** @type {unknown} */ (JSON.parse(text));
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'level' in value) {
      return /** @type {Record<string, unknown>} */ (value);
    }
  } catch {
    // Not JSON after all (a stack trace line starting with `{`): wrapped like any other text.
  }
  return undefined;
}

module.exports = { createLogOutput };
