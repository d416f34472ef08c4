/**
 * Keys whose values never reach a log line, at any depth (DESIGN.md section 8: tokens, passwords,
 * cookies). Compared ignoring case, `-` and `_`, so `refresh_token`, `refreshToken` and
 * `Refresh-Token` are one key, as are `Set-Cookie` and `set_cookie`.
 */
export const REDACTED_KEYS: readonly string[] = [
  'password',
  'current_password',
  'new_password',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
];

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/** What a reference back to an enclosing object is replaced with (as pino prints it). */
const CIRCULAR = '[Circular]';

const normalize = (key: string): string => key.toLowerCase().replace(/[-_]/g, '');
const SECRET = new Set(REDACTED_KEYS.map(normalize));

/**
 * Deeper than pino prints (its `depthLimit` is 5, and an `err` serializer adds one level): values
 * below this are never written, so the walk stops there.
 */
const MAX_DEPTH = 8;

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

type Walk = (value: unknown, depth: number) => unknown;

/** The redacted value of `key`, or `value` itself when nothing under it changed. */
function member(key: string, value: unknown, depth: number, walk: Walk): unknown {
  if (SECRET.has(normalize(key))) return value === undefined ? undefined : REDACTED;
  return walk(value, depth + 1);
}

function redactArray(array: unknown[], depth: number, walk: Walk): unknown[] {
  let copy: unknown[] | undefined;
  array.forEach((item, i) => {
    const next = walk(item, depth + 1);
    if (next !== item) (copy ??= array.slice())[i] = next;
  });
  return copy ?? array;
}

function redactObject(object: Record<string, unknown>, depth: number, walk: Walk): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const next = member(key, object[key], depth, walk);
    if (next !== object[key]) (copy ??= { ...object })[key] = next;
  }
  return copy ?? object;
}

/**
 * Errors keep their prototype (pino's `err` serializer, `instanceof` checks) and their own
 * non-enumerable members (`message`, `stack`, `cause`), which are walked too: a `cause` may carry
 * the token its parent does not.
 */
function redactError(error: Error, depth: number, walk: Walk): Error {
  let copy: Error | undefined;
  for (const key of Object.getOwnPropertyNames(error)) {
    if (key === 'stack' || key === 'message') continue;
    const descriptor = Object.getOwnPropertyDescriptor(error, key);
    if (!descriptor || !('value' in descriptor)) continue;
    const next = member(key, descriptor.value, depth, walk);
    if (next === descriptor.value) continue;
    copy ??= Object.create(
      Object.getPrototypeOf(error) as object,
      Object.getOwnPropertyDescriptors(error),
    ) as Error;
    Object.defineProperty(copy, key, { ...descriptor, value: next });
  }
  return copy ?? error;
}

/**
 * Returns `value` with every {@link REDACTED_KEYS} member replaced by {@link REDACTED}, at any
 * depth: in plain objects, arrays and errors. Copy-on-write: the caller's objects are never
 * changed, and an object without secrets is returned as it is (the common case costs no copy).
 * Other class instances (Dates, Buffers, Maps) are left alone; pino prints none of their members.
 */
export function redactSecrets<T>(value: T): T {
  const ancestors = new Set<object>();
  const walk: Walk = (node, depth) => {
    if (typeof node !== 'object' || node === null || depth > MAX_DEPTH) return node;
    // A back-reference would print the original, unredacted object under the redacted copy.
    if (ancestors.has(node)) return CIRCULAR;
    ancestors.add(node);
    try {
      if (Array.isArray(node)) return redactArray(node, depth, walk);
      if (node instanceof Error) return redactError(node, depth, walk);
      return isPlainObject(node) ? redactObject(node, depth, walk) : node;
    } finally {
      ancestors.delete(node);
    }
  };
  return walk(value, 0) as T;
}
