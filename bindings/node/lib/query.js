'use strict';
// Match specifications and the select/match family (ETS select/match), added to Table.
// Specifications and patterns are terms: ETS's tuples are arrays and its atoms are Atom values
// (atom('_'), atom('$1'), atom('>')...). A specification is compiled on each call, or once with
// matchSpec(spec) and reused. Chunked forms (select/3, match/3 and their continuations) are
// generators of chunks.
const { native } = require('./native.js');
const { encode, decode } = require('./terms.js');
const { Table } = require('./table.js');
const { HANDLE } = require('./handles.js');

/** A compiled match specification, usable by any number of select calls. */
class MatchSpec {
  constructor(spec) {
    if (!Array.isArray(spec)) {
      throw new TypeError('rets: a match specification is an array of clauses [head, guards, body]');
    }
    // enumerable: postMessage fails (a DataCloneError) instead of sending an empty object
    Object.defineProperty(this, '_native', {
      value: native.matchspecCompile(encode(spec, 'match specification')),
      enumerable: true,
    });
  }
}

function matchSpec(spec) {
  return new MatchSpec(spec);
}

function compiled(spec) {
  return (spec instanceof MatchSpec ? spec : new MatchSpec(spec))._native;
}

function pattern(p) {
  return encode(p, 'pattern');
}

function checkLimit(limit) {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TypeError(`rets: a chunk limit is an integer >= 1, got ${String(limit)}`);
  }
  return limit;
}

// The chunks of a chunked select or match: the first (or none), then each next one, until the
// end; the continuation is freed when the generator ends or is abandoned (return()).
function* chunks(first) {
  if (first === null) return;
  const [chunk, cont] = first;
  try {
    yield decode(chunk);
    for (let r = native.contNext(cont); r !== null; r = native.contNext(cont)) yield decode(r);
  } finally {
    native.contFree(cont);
  }
}

const methods = {
  /** The results of `spec` on every object (ETS select/2). */
  select(spec) {
    return decode(native.select(this[HANDLE], compiled(spec)));
  },
  /** select in reverse order on an ordered_set (ETS select_reverse/2). */
  selectReverse(spec) {
    return decode(native.selectReverse(this[HANDLE], compiled(spec)));
  },
  /** How many objects `spec` gives true for (ETS select_count/2). */
  selectCount(spec) {
    return native.selectCount(this[HANDLE], compiled(spec));
  },
  /** Deletes the objects `spec` gives true for; returns how many (ETS select_delete/2). */
  selectDelete(spec) {
    return native.selectDelete(this[HANDLE], compiled(spec));
  },
  /** Replaces matching objects by `spec`'s result, keeping keys; returns how many (ETS select_replace/2). */
  selectReplace(spec) {
    return native.selectReplace(this[HANDLE], compiled(spec));
  },
  /** select in chunks of `limit` results (ETS select/3 and select/1); `reverse` as select_reverse/3. */
  *selectChunks(spec, limit, { reverse = false } = {}) {
    const nativeLimit = reverse ? native.selectReverseLimit : native.selectLimit;
    yield* chunks(nativeLimit(this[HANDLE], compiled(spec), checkLimit(limit)));
  },
  /** The bindings of the pattern's '$N' variables for each matching object (ETS match/2). */
  match(p) {
    return decode(native.match(this[HANDLE], pattern(p)));
  },
  /** The objects matching the pattern (ETS match_object/2). */
  matchObject(p) {
    return decode(native.matchObject(this[HANDLE], pattern(p)));
  },
  /** Deletes the objects matching the pattern; returns how many (ETS match_delete/2). */
  matchDelete(p) {
    return native.matchDelete(this[HANDLE], pattern(p));
  },
  /** match in chunks of `limit` (ETS match/3 and match/1). */
  *matchChunks(p, limit) {
    yield* chunks(native.matchLimit(this[HANDLE], pattern(p), checkLimit(limit)));
  },
  /** matchObject in chunks of `limit` (ETS match_object/3 and match_object/1). */
  *matchObjectChunks(p, limit) {
    yield* chunks(native.matchObjectLimit(this[HANDLE], pattern(p), checkLimit(limit)));
  },
};

for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(methods))) {
  Object.defineProperty(Table.prototype, name, { ...descriptor, enumerable: false });
}

module.exports = { MatchSpec, matchSpec };
