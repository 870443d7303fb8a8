'use strict';
// Table: every table operation of the C ABI, the JavaScript way. A thin translation: argument
// checks and term encoding here, semantics in the engine.
const { inspect } = require('node:util');
const { native } = require('./native.js');
const { encode, encodeObject, encodeKey, decode } = require('./terms.js');
const { HANDLE, CONSTRUCT } = require('./handles.js');
const { Pin } = require('./pin.js');

const TYPES = ['set', 'ordered_set', 'bag', 'duplicate_bag'];
const ACCESS = ['protected', 'public', 'private'];
// rets_chunk_flag values (rets.h), and the keys per chunk of items() and keys().
const CHUNK_OBJECTS = 1;
const CHUNK_REVERSE = 2;
const CHUNK_INCLUSIVE = 4;
const DEFAULT_CHUNK = 64;

function ownerHandle(owner, what) {
  const h = owner != null ? owner[HANDLE] : undefined;
  if (h === undefined) throw new TypeError(`rets: ${what} must be an Owner`);
  return h;
}

function checkPos(pos, what = 'pos') {
  if (!Number.isSafeInteger(pos) || pos < 1) {
    throw new TypeError(`rets: ${what} must be a 1-based position (an integer >= 1), got ${String(pos)}`);
  }
  return pos;
}

function checkIncr(n, what) {
  if (typeof n === 'bigint' || Number.isSafeInteger(n)) return n;
  throw new TypeError(`rets: ${what} must be an integer (a safe integer Number or a BigInt), got ${String(n)}`);
}

// [pos, incr] or [pos, incr, threshold, setValue] (ETS's {Pos, Incr} and {Pos, Incr, Threshold, SetValue}).
function counterOp(op, i) {
  if (!Array.isArray(op) || (op.length !== 2 && op.length !== 4)) {
    throw new TypeError(`rets: counter update ${i} must be [pos, incr] or [pos, incr, threshold, setValue]`);
  }
  checkPos(op[0], 'a counter position');
  for (let j = 1; j < op.length; j++) checkIncr(op[j], 'a counter increment, threshold or value');
  return op;
}

function elementPair(pair, i) {
  if (!Array.isArray(pair) || pair.length !== 2) {
    throw new TypeError(`rets: element update ${i} must be [pos, value]`);
  }
  return [checkPos(pair[0], 'an element position'), encode(pair[1], `element ${i}`)];
}

class Table {
  #h;
  #keypos = 0;

  /** Tables come from Owner#newTable, whereis, Owner#whereis, Table#withOwner and transfers. */
  constructor(token, handle) {
    if (token !== CONSTRUCT) {
      throw new TypeError('rets: tables are made by owner.newTable(), whereis() or a transfer');
    }
    this.#h = handle;
    Object.defineProperty(this, HANDLE, { value: handle });
    // An enumerable native handle makes postMessage(table) fail with a DataCloneError instead of
    // sending an empty object: workers share a table by its name (whereis).
    Object.defineProperty(this, '_native', { value: handle, enumerable: true });
  }

  [inspect.custom]() {
    try {
      return `Table <${this.name}>`;
    } catch {
      return 'Table <deleted>';
    }
  }

  // ---- writes
  /** Inserts one object (an array; ETS insert/2); `ttlMs` is its own lifetime. */
  insert(object, options) {
    if (options === undefined) native.insert(this.#h, encodeObject(object));
    else native.insertTtl(this.#h, encodeObject(object), ttlNs(options));
  }

  /** Inserts a list of objects atomically (ETS insert/2 with a list). */
  insertMany(objects, options) {
    if (!Array.isArray(objects)) throw new TypeError('rets: insertMany takes an array of objects');
    objects.forEach((o, i) => encodeObject(o, `objects[${i}]`));
    if (options === undefined) native.insertMany(this.#h, encode(objects, 'objects'));
    else native.insertManyTtl(this.#h, encode(objects, 'objects'), ttlNs(options));
  }

  /** Inserts unless the key is present; returns whether it did (ETS insert_new/2). */
  insertNew(object, options) {
    if (options === undefined) return native.insertNew(this.#h, encodeObject(object));
    return native.insertNewTtl(this.#h, encodeObject(object), ttlNs(options));
  }

  /**
   * Inserts all objects unless one of their keys is present (an expired object counts as
   * absent), atomically; `ttlMs` is their lifetime.
   */
  insertNewMany(objects, options) {
    if (!Array.isArray(objects)) throw new TypeError('rets: insertNewMany takes an array of objects');
    objects.forEach((o, i) => encodeObject(o, `objects[${i}]`));
    if (options === undefined) return native.insertNewMany(this.#h, encode(objects, 'objects'));
    return native.insertNewManyTtl(this.#h, encode(objects, 'objects'), ttlNs(options));
  }

  // ---- reads
  /** The objects with `key`: [] if absent (ETS lookup/2). */
  lookup(key) {
    return decode(native.lookup(this.#h, encodeKey(key)));
  }

  /** A pinned reader of this table (rets_pin_new): lookups through it skip the per-call
   * reclamation guard. Close it after a bounded stretch of reads: while it is open, nothing
   * replaced or deleted in the table is freed. */
  pin() {
    return new Pin(this.#h);
  }

  /** Whether an object has `key` (ETS member/2). */
  member(key) {
    return native.member(this.#h, encodeKey(key));
  }

  /** The element at `pos` of the object with `key`; with `defaultValue`, that when the key is
   * absent, else ERR_RETS_KEY_NOT_FOUND (ETS lookup_element/3,4). */
  lookupElement(key, pos, defaultValue) {
    checkPos(pos);
    const dflt = arguments.length >= 3 ? encode(defaultValue, 'defaultValue') : null;
    return decode(native.lookupElement(this.#h, encodeKey(key), pos, dflt));
  }

  /** Removes and returns the objects with `key` (ETS take/2). */
  take(key) {
    return decode(native.take(this.#h, encodeKey(key)));
  }

  /** Removes the objects with `key` (ETS delete/2). Delete the table with deleteTable(). */
  delete(key) {
    if (arguments.length === 0) {
      throw new TypeError('rets: delete(key) needs a key; deleteTable() deletes the table');
    }
    native.deleteKey(this.#h, encodeKey(key));
  }

  /** Removes this exact object (ETS delete_object/2). */
  deleteObject(object) {
    native.deleteObject(this.#h, encodeObject(object));
  }

  /** Removes every object (ETS delete_all_objects/1). */
  deleteAllObjects() {
    native.deleteAllObjects(this.#h);
  }

  /**
   * ETS update_counter/3,4. `update` is an increment (the counter just after the key), one
   * [pos, incr] or [pos, incr, threshold, setValue], or an array of those (the result is then an
   * array). `defaultObject` is inserted first when the key is absent. `options.ttlMs` (with a
   * default only) is the default object's lifetime, and a new lifetime from now for an existing
   * object (without it, the object keeps its own).
   */
  updateCounter(key, update, defaultObject, options) {
    const k = encodeKey(key);
    const dflt = arguments.length >= 3 ? encodeObject(defaultObject, 'defaultObject') : null;
    const ttl = updateTtl(dflt, options, 'updateCounter');
    if (typeof update === 'number' || typeof update === 'bigint') {
      checkIncr(update, 'the increment');
      if (dflt === null) return native.updateCounter(this.#h, k, update);
      return native.updateCounters(this.#h, k, [[this.#counterPos(), update]], dflt, ttl)[0];
    }
    if (Array.isArray(update) && update.length > 0 && Array.isArray(update[0])) {
      update.forEach(counterOp);
      return native.updateCounters(this.#h, k, update, dflt, ttl);
    }
    if (Array.isArray(update)) {
      return native.updateCounters(this.#h, k, [counterOp(update, 0)], dflt, ttl)[0];
    }
    throw new TypeError('rets: updateCounter takes an increment, [pos, incr(, threshold, setValue)] or an array of those');
  }

  /**
   * ETS update_element/3,4: `update` is [pos, value] or an array of those; returns whether an
   * object was updated. `defaultObject` is inserted first when the key is absent;
   * `options.ttlMs` as for updateCounter().
   */
  updateElement(key, update, defaultObject, options) {
    const k = encodeKey(key);
    const dflt = arguments.length >= 3 ? encodeObject(defaultObject, 'defaultObject') : null;
    const ttl = updateTtl(dflt, options, 'updateElement');
    if (!Array.isArray(update)) throw new TypeError('rets: updateElement takes [pos, value] or an array of those');
    const pairs = update.length > 0 && Array.isArray(update[0])
      ? update.map(elementPair) : [elementPair(update, 0)];
    return native.updateElement(this.#h, k, pairs, dflt, ttl);
  }

  #counterPos() {
    if (this.#keypos === 0) this.#keypos = native.info(this.#h).keypos;
    return this.#keypos + 1;
  }

  // ---- read-through (the cache layer's claim/fill protocol)
  /**
   * The object with `key`; on a miss, `await loader(key)` loads it (an object whose key is `key`)
   * and it is stored. Single-flight across threads and workers: while one caller loads a key,
   * every other caller of getOrLoad for that key (in any worker) waits for that load's object or
   * failure, polling without blocking its event loop. A loader that throws fails the load:
   * the waiters get ERR_RETS_LOAD_FAILED with its message, and the next call loads again.
   * `ttlMs` is the loaded object's lifetime (0: the table's). With `refreshAfterMs` (a table
   * with a ttl), an object older than that is returned at once and reloaded in the background
   * by one caller (refresh-ahead).
   */
  async getOrLoad(key, loader, { ttlMs = 0, refreshAfterMs } = {}) {
    if (typeof loader !== 'function') throw new TypeError('rets: getOrLoad takes a loader (key) => object | Promise<object>');
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 0) throw new TypeError('rets: ttlMs is a number of milliseconds >= 0 (0: the table\'s lifetime)');
    if (refreshAfterMs !== undefined && (!Number.isSafeInteger(refreshAfterMs) || refreshAfterMs < 0)) {
      throw new TypeError('rets: refreshAfterMs is a number of milliseconds >= 0');
    }
    const k = encodeKey(key);
    const [claim, x, refreshTicket] = refreshAfterMs === undefined
      ? native.claimLoad(this.#h, k) : native.claimLoadRefreshing(this.#h, k, refreshAfterMs);
    if (claim === CLAIM_CACHED) return decode(x);
    if (claim === CLAIM_REFRESH) {
      // Refresh-ahead: answer with the cached object now, reload in the background (a failed
      // reload keeps the cached object until its lifetime ends).
      const cached = decode(x);
      load(refreshTicket, key, loader, ttlMs).catch(() => {}).finally(() => native.ticketFree(refreshTicket));
      return cached;
    }
    try {
      return claim === CLAIM_LOAD ? await load(x, key, loader, ttlMs) : await waitForLoad(x);
    } finally {
      native.ticketFree(x);
    }
  }

  // ---- traversal
  /** The first key, or undefined if the table is empty (ETS first/1). */
  first() {
    const r = native.first(this.#h);
    return r === null ? undefined : decode(r);
  }

  /** The key after `key`, or undefined at the end (ETS next/2). */
  next(key) {
    const r = native.next(this.#h, encodeKey(key));
    return r === null ? undefined : decode(r);
  }

  last() {
    const r = native.last(this.#h);
    return r === null ? undefined : decode(r);
  }

  prev(key) {
    const r = native.prev(this.#h, encodeKey(key));
    return r === null ? undefined : decode(r);
  }

  /** [key, objects] of the first key, or undefined (ETS first_lookup/1). */
  firstLookup() {
    return keyAndObjects(native.firstLookup(this.#h));
  }

  nextLookup(key) {
    return keyAndObjects(native.nextLookup(this.#h, encodeKey(key)));
  }

  lastLookup() {
    return keyAndObjects(native.lastLookup(this.#h));
  }

  prevLookup(key) {
    return keyAndObjects(native.prevLookup(this.#h, encodeKey(key)));
  }

  /** Every object (ETS tab2list/1). */
  tab2list() {
    return decode(native.tab2list(this.#h));
  }

  /** fn(object, acc) over every object in traversal order (ETS foldl/3). */
  foldl(fn, acc) {
    return this.#fold(native.foldl, fn, acc);
  }

  /** As foldl, in reverse order on an ordered_set (ETS foldr/3). */
  foldr(fn, acc) {
    return this.#fold(native.foldr, fn, acc);
  }

  #fold(nativeFold, fn, acc) {
    if (typeof fn !== 'function') throw new TypeError('rets: fold takes a function (object, acc) => acc');
    nativeFold(this.#h, (bytes) => {
      acc = fn(decode(bytes), acc);
      return true;
    });
    return acc;
  }

  /** Every object in traversal order, read in chunks: `items()` with its defaults. */
  [Symbol.iterator]() {
    return this.items();
  }

  /**
   * The objects in traversal order (key order on an ordered_set), read `chunk` keys at a time
   * (default 64) with one search of the table per chunk (rets_table_next_chunk). From the key
   * `start` on if given (its objects included when it is present, unless `after`), backward
   * on an ordered_set with `reverse`. Safe under concurrent writers as first/next are: no key
   * twice, every key present throughout seen once. No lock is held between items: the loop
   * may read and write the table. Bad options throw at once.
   */
  items(options = {}) {
    return this.#chunks(CHUNK_OBJECTS, options);
  }

  /** The keys in traversal order, with the options of items(). */
  keys(options = {}) {
    return this.#chunks(0, options);
  }

  #chunks(flags, options) {
    const { after = false, reverse = false, chunk = DEFAULT_CHUNK } = options;
    if (!Number.isSafeInteger(chunk) || chunk < 1) {
      throw new TypeError('rets: chunk must be a positive integer (keys per chunk)');
    }
    const hasStart = Object.prototype.hasOwnProperty.call(options, 'start');
    const start = hasStart ? encodeKey(options.start) : null;
    const h = this.#h;
    const base = flags | (reverse ? CHUNK_REVERSE : 0);
    const first = hasStart && !after ? base | CHUNK_INCLUSIVE : base;
    return (function* chunks() {
      let step = native.nextChunk(h, start, chunk, first);
      while (step !== null) {
        const [lastKey, items] = step;
        yield* decode(items);
        step = native.nextChunk(h, lastKey, chunk, base);
      }
    })();
  }

  // ---- facts and lifecycle
  /** ETS info/1. */
  info() {
    const i = native.info(this.#h);
    return {
      id: i.id,
      name: native.name(this.#h),
      type: TYPES[i.type],
      access: ACCESS[i.access],
      keypos: i.keypos,
      named: i.named,
      owner: i.owner,
      heir: i.heir === 0n ? null : i.heir,
      size: i.size,
      memory: i.memory,
      readConcurrency: i.readConcurrency,
      writeConcurrency: i.writeConcurrency,
    };
  }

  /** The number of objects (ETS info(T, size)). */
  get size() {
    return native.size(this.#h);
  }

  /** Bytes held by the table (ETS info(T, memory), in bytes). */
  get memory() {
    return native.info(this.#h).memory;
  }

  /** The table's current name. */
  get name() {
    return native.name(this.#h);
  }

  /** ETS rename/2. */
  rename(name) {
    native.rename(this.#h, checkName(name));
  }

  /** Deletes the table (ETS delete/1): every handle to it then fails with ERR_RETS_NO_TABLE. */
  deleteTable() {
    native.deleteTable(this.#h);
  }

  /** Gives the table to `owner` with `gift` (ETS give_away/3); it arrives as a transfer. */
  giveAway(owner, gift = null) {
    native.tableGiveAway(this.#h, ownerHandle(owner, 'the new owner'), encode(gift, 'gift'));
  }

  /** Sets (or, with null, clears) the heir and its gift (ETS setopts heir). */
  setHeir(heir, heirData = null) {
    const h = heir === null ? null : ownerHandle(heir, 'the heir');
    native.tableSetHeir(this.#h, h, encode(heirData, 'heirData'));
  }

  /** Another handle to this table, acting for `owner`. */
  withOwner(owner) {
    return new Table(CONSTRUCT, native.tableWithOwner(this.#h, ownerHandle(owner, 'owner')));
  }

  get [Symbol.toStringTag]() {
    return 'rets.Table';
  }
}

const CLAIM_CACHED = 0;
const CLAIM_LOAD = 1;
const CLAIM_REFRESH = 3;

async function load(ticket, key, loader, ttlMs) {
  let object;
  try {
    object = await loader(key);
  } catch (err) {
    native.ticketFail(ticket, `loader failed: ${err && err.message ? err.message : String(err)}`);
    throw err;
  }
  // A value that is not a valid object leaves the ticket open: freeing it fails the load.
  const bytes = encodeObject(object, 'the loaded object');
  native.ticketFill(ticket, bytes, ttlMs);
  return decode(bytes); // what every waiter gets: the object as stored
}

const POLL_MAX_MS = 20;

async function waitForLoad(ticket) {
  for (let delay = 1; ; delay = Math.min(delay * 2, POLL_MAX_MS)) {
    const r = native.ticketPoll(ticket);
    if (r !== null) return decode(r);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** { ttlMs } as nanoseconds for the addon (0: the table's lifetime). */
function ttlNs(options) {
  const ms = options === null || typeof options !== 'object' ? undefined : options.ttlMs;
  if (typeof ms !== 'number' || !(ms >= 0) || ms * 1e6 > Number.MAX_SAFE_INTEGER) {
    throw new TypeError('rets: the options of a write are { ttlMs }, a number of milliseconds >= 0 (at most about 104 days)');
  }
  return Math.round(ms * 1e6);
}

/** An update's { ttlMs } as nanoseconds (null: none); a lifetime needs a default object. */
function updateTtl(dflt, options, what) {
  if (options === undefined) return null;
  if (dflt === null) {
    throw new TypeError(`rets: ${what}: a ttlMs is the lifetime of the default object: give one`);
  }
  return ttlNs(options);
}

function keyAndObjects(step) {
  return step === null ? undefined : [decode(step[0]), decode(step[1])];
}

function checkName(name) {
  if (typeof name !== 'string') throw new TypeError(`rets: a table name is a string, got ${typeof name}`);
  return name;
}

/** Options of Owner#newTable as the addon's arguments. */
function tableArgs(ownerH, name, options = {}) {
  checkName(name);
  if (options === null || typeof options !== 'object') throw new TypeError('rets: table options must be an object');
  const known = ['type', 'access', 'keypos', 'named', 'heir', 'heirData', 'readConcurrency', 'writeConcurrency',
    'ttlMs', 'timeToIdleMs', 'maxSize', 'maxMemory', 'onFull', 'recordStats', 'clock'];
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new TypeError(`rets: unknown table option "${k}" (known: ${known.join(', ')})`);
  }
  const type = TYPES.indexOf(options.type ?? 'set');
  if (type < 0) throw new TypeError(`rets: type must be one of ${TYPES.join(', ')}, got ${String(options.type)}`);
  const access = ACCESS.indexOf(options.access ?? 'protected');
  if (access < 0) throw new TypeError(`rets: access must be one of ${ACCESS.join(', ')}, got ${String(options.access)}`);
  const keypos = options.keypos ?? 1;
  checkPos(keypos, 'keypos');
  for (const k of ['named', 'readConcurrency', 'writeConcurrency']) {
    if (options[k] !== undefined && typeof options[k] !== 'boolean') throw new TypeError(`rets: ${k} must be a boolean`);
  }
  const heir = options.heir == null ? null : ownerHandle(options.heir, 'heir');
  const heirData = heir === null ? null : encode(options.heirData ?? null, 'heirData');
  return [ownerH, name, type, access, keypos, options.named === true,
    options.readConcurrency === true, options.writeConcurrency === true, heir, heirData];
}

module.exports = { Table, tableArgs, checkName, ttlNs, TYPES, ACCESS };
