import { AppError } from '@concord/common';

/** An entity-tag (RFC 9110 section 8.8.3); `opaque` without its quotes. */
export interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** An If-Match or If-None-Match field value: `*` or a list of entity-tags. */
export type TagCondition = { any: true } | { any: false; tags: readonly EntityTag[] };

/** The conditional request headers a request carried (RFC 9110 section 13.1). */
export interface Preconditions {
  ifMatch?: TagCondition;
  ifNoneMatch?: TagCondition;
}

/** What a precondition is judged against: revision 0 means no row; a tombstone is at its default. */
export interface VersionState {
  revision: number;
  atDefault: boolean;
}

/** The strong validator of a setting: its revision, quoted. */
export function etagOf(revision: number): string {
  return `"${revision}"`;
}

// etagc = %x21 / %x23-7E / obs-text (RFC 9110 section 8.8.3).
const ETAGC = /^[\x21\x23-\x7e\x80-\xff]*$/;

function malformed(name: string, why: string): AppError {
  return new AppError('REQUEST_VALIDATION_ERROR', `Malformed ${name}: ${why}`, {
    errors: [{ path: name, message: why }],
  });
}

/**
 * Parses `"*" / #entity-tag` strictly; anything else is 400 (2001), never a silent "no
 * precondition", which would turn a conditional write into an unconditional one. Empty list elements
 * are skipped (RFC 9110 section 5.6.1.2); an empty field and `*` inside a list are malformed.
 */
export function parseTagCondition(name: string, field: string): TagCondition {
  const text = field.trim();
  if (text === '*') return { any: true };
  const tags: EntityTag[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ',' || c === ' ' || c === '\t') {
      i++;
      continue;
    }
    let weak = false;
    if (text.startsWith('W/', i)) {
      weak = true;
      i += 2;
    }
    if (text[i] !== '"') throw malformed(name, 'expected "*" or a list of quoted entity-tags');
    const close = text.indexOf('"', i + 1);
    if (close < 0) throw malformed(name, 'unterminated entity-tag');
    const opaque = text.slice(i + 1, close);
    if (!ETAGC.test(opaque)) throw malformed(name, 'invalid character in an entity-tag');
    tags.push({ weak, opaque });
    i = close + 1;
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i < text.length && text[i] !== ',') throw malformed(name, 'entity-tags must be separated by commas');
  }
  if (tags.length === 0) throw malformed(name, 'no entity-tag');
  return { any: false, tags };
}

/** Reads the two headers (undefined when absent). */
export function readPreconditions(headers: { ifMatch?: string; ifNoneMatch?: string }): Preconditions {
  const preconditions: Preconditions = {};
  if (headers.ifMatch !== undefined) preconditions.ifMatch = parseTagCondition('If-Match', headers.ifMatch);
  if (headers.ifNoneMatch !== undefined) {
    preconditions.ifNoneMatch = parseTagCondition('If-None-Match', headers.ifNoneMatch);
  }
  return preconditions;
}

/** True when the request carries any precondition (what SETTINGS_REQUIRE_IF_MATCH asks for). */
export function isConditional(p: Preconditions): boolean {
  return p.ifMatch !== undefined || p.ifNoneMatch !== undefined;
}

/** The revision an entity-tag names, if it is one of ours ("0", "17"); others never match. */
function revisionOf(tag: EntityTag): number | undefined {
  return /^(0|[1-9][0-9]{0,14})$/.test(tag.opaque) ? Number(tag.opaque) : undefined;
}

/** If-Match uses the strong comparison: a weak tag never matches (RFC 9110 section 13.1.1). */
function strongRevisions(c: TagCondition & { any: false }): number[] {
  return c.tags.flatMap((tag) => {
    const revision = tag.weak ? undefined : revisionOf(tag);
    return revision === undefined ? [] : [revision];
  });
}

/** If-None-Match uses the weak comparison (RFC 9110 section 13.1.2). */
function anyRevisions(c: TagCondition & { any: false }): number[] {
  return c.tags.flatMap((tag) => {
    const revision = revisionOf(tag);
    return revision === undefined ? [] : [revision];
  });
}

function ifMatchHolds(c: TagCondition, state: VersionState): boolean {
  return c.any || strongRevisions(c).includes(state.revision);
}

// Concord's reading of "*": a key at its default has no current representation of its own, so
// `If-None-Match: *` ("create only") succeeds only while nobody has set it (DESIGN.md section 5).
function ifNoneMatchHolds(c: TagCondition, state: VersionState): boolean {
  return c.any ? state.atDefault : !anyRevisions(c).includes(state.revision);
}

/** Whether a write's preconditions hold for `state` (both headers must hold). */
export function writeHolds(p: Preconditions, state: VersionState): boolean {
  return (
    (p.ifMatch === undefined || ifMatchHolds(p.ifMatch, state)) &&
    (p.ifNoneMatch === undefined || ifNoneMatchHolds(p.ifNoneMatch, state))
  );
}

/** How a GET/HEAD answers (RFC 9110 section 13.2.2: If-Match first, then If-None-Match → 304). */
export function evaluateRead(p: Preconditions, state: VersionState): 'ok' | 'not-modified' | 'failed' {
  if (p.ifMatch !== undefined && !ifMatchHolds(p.ifMatch, state)) return 'failed';
  if (p.ifNoneMatch !== undefined && !ifNoneMatchHolds(p.ifNoneMatch, state)) return 'not-modified';
  return 'ok';
}

/**
 * A write's preconditions in the form one SQL statement checks them in (data-access turns this into
 * `WHERE` clauses). `absent` is whether they hold for a key without a row; the rest applies to an
 * existing row, whose revision is never 0.
 */
export interface WriteCondition {
  absent: boolean;
  anyRevision: boolean;
  revisions: number[];
  notRevisions: number[];
  /** The row must be a tombstone (`If-None-Match: *`). */
  tombstoneOnly: boolean;
}

/** Translates {@link Preconditions}; {@link conditionHolds} agrees with {@link writeHolds}. */
export function toWriteCondition(p: Preconditions): WriteCondition {
  const positive = (revisions: number[]) => [...new Set(revisions.filter((r) => r > 0))];
  return {
    absent: writeHolds(p, { revision: 0, atDefault: true }),
    anyRevision: p.ifMatch === undefined || p.ifMatch.any,
    revisions: p.ifMatch && !p.ifMatch.any ? positive(strongRevisions(p.ifMatch)) : [],
    notRevisions: p.ifNoneMatch && !p.ifNoneMatch.any ? positive(anyRevisions(p.ifNoneMatch)) : [],
    tombstoneOnly: p.ifNoneMatch?.any === true,
  };
}

/** Evaluates a {@link WriteCondition} the way its SQL does. */
export function conditionHolds(c: WriteCondition, state: VersionState): boolean {
  if (state.revision === 0) return c.absent;
  return (
    (c.anyRevision || c.revisions.includes(state.revision)) &&
    !c.notRevisions.includes(state.revision) &&
    (!c.tombstoneOnly || state.atDefault)
  );
}
