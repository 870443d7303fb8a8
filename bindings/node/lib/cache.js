'use strict';
// The cache layer (lifetimes, bounds, statistics, a manual clock for tests) and table files,
// added to Owner and Table. Times are milliseconds in JavaScript, nanoseconds in the C ABI.
const { native } = require('./native.js');
const { encodeKey } = require('./terms.js');
const { Table, TYPES, ACCESS } = require('./table.js');
const { HANDLE, CONSTRUCT } = require('./handles.js');

const ON_FULL = ['evict', 'reject'];
const CACHE_OPTIONS = ['ttlMs', 'timeToIdleMs', 'maxSize', 'maxMemory', 'onFull', 'recordStats', 'clock'];

/** A clock that moves only when told to, for tests of lifetimes (give it as the `clock` option). */
class ManualClock {
  constructor() {
    Object.defineProperty(this, '_native', { value: native.manualClockNew(), enumerable: true });
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms) {
    native.manualClockAdvance(this._native, nanos(ms, 'ms'));
  }
}

function nanos(ms, what) {
  if (typeof ms !== 'number' || !(ms >= 0) || ms * 1e6 > Number.MAX_SAFE_INTEGER) {
    throw new TypeError(`rets: ${what} is a number of milliseconds >= 0 (at most about 104 days)`);
  }
  return Math.round(ms * 1e6);
}

function count(n, what) {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`rets: ${what} is an integer >= 0`);
  return n;
}

function hasCacheOptions(options) {
  return options != null && typeof options === 'object' && CACHE_OPTIONS.some((k) => options[k] !== undefined);
}

/** The cache arguments of the addon's tableNewCache, after the table's own. */
function cacheArgs(options) {
  const onFull = ON_FULL.indexOf(options.onFull ?? 'evict');
  if (onFull < 0) throw new TypeError(`rets: onFull must be one of ${ON_FULL.join(', ')}, got ${String(options.onFull)}`);
  if (options.recordStats !== undefined && typeof options.recordStats !== 'boolean') {
    throw new TypeError('rets: recordStats must be a boolean');
  }
  if (options.clock != null && !(options.clock instanceof ManualClock)) {
    throw new TypeError('rets: clock must be a ManualClock');
  }
  return [
    nanos(options.ttlMs ?? 0, 'ttlMs'),
    nanos(options.timeToIdleMs ?? 0, 'timeToIdleMs'),
    count(options.maxSize ?? 0, 'maxSize'),
    count(options.maxMemory ?? 0, 'maxMemory'),
    onFull,
    options.recordStats === true,
    options.clock == null ? null : options.clock._native,
  ];
}

const tableMethods = {
  /** Removes the object with `key` and counts it as invalidated (the cache's delete). */
  invalidate(key) {
    native.invalidate(this[HANDLE], encodeKey(key));
  },
  /** Removes expired objects now; returns how many. */
  purgeExpired() {
    return native.purgeExpired(this[HANDLE]);
  },
  /** The cache statistics: hits, misses, loads, loadFailures, loadNs, evictions, expirations, rejectedWrites. */
  cacheStats() {
    return native.cacheStats(this[HANDLE]);
  },
  resetCacheStats() {
    native.cacheStatsReset(this[HANDLE]);
  },
  /** Records a load from the data source behind the cache: its duration in ms and success. */
  recordLoad(ms, ok = true) {
    if (typeof ok !== 'boolean') throw new TypeError('rets: ok must be a boolean');
    native.recordLoad(this[HANDLE], nanos(ms, 'the load duration'), ok);
  },
  /** Saves the table to a file (ETS tab2file/2; written crash-safe). */
  tab2file(path) {
    if (typeof path !== 'string') throw new TypeError('rets: a path is a string');
    native.tab2file(this[HANDLE], path);
  },
};
for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(tableMethods))) {
  Object.defineProperty(Table.prototype, name, { ...d, enumerable: false });
}

/** Facts about a table file without loading it (ETS tabfile_info/1). */
function tabfileInfo(path) {
  if (typeof path !== 'string') throw new TypeError('rets: a path is a string');
  const i = native.tabfileInfo(path);
  return { ...i, type: TYPES[i.type], access: ACCESS[i.access] };
}

/** Owner#file2tab: recreates a saved table owned by `owner` (ETS file2tab/2). */
function file2tab(owner, path, { verify = false } = {}) {
  if (typeof path !== 'string') throw new TypeError('rets: a path is a string');
  if (typeof verify !== 'boolean') throw new TypeError('rets: verify must be a boolean');
  return new Table(CONSTRUCT, native.file2tab(owner[HANDLE], path, verify));
}

module.exports = { ManualClock, hasCacheOptions, cacheArgs, tabfileInfo, file2tab };
