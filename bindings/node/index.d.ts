// Type declarations of the `rets` package: ETS (Erlang Term Storage) for Node.
/// <reference types="node" />
import { EventEmitter } from 'node:events';

/**
 * A term: what a table stores. Objects are arrays (ETS's tuples) whose element at the table's
 * keypos is the key.
 *
 * - numbers: an integral Number with |n| <= 2^53 is an integer, any other a float (NaN is refused);
 * - bigint: a 64-bit integer (int64, or uint64 above the int64 range); read back as a Number
 *   when |n| <= 2^53;
 * - Uint8Array (Buffer): binary, read back as a Buffer;
 * - plain objects and Maps: maps, read back as plain objects.
 */
export type Term =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Atom
  | readonly Term[]
  | { readonly [key: string]: Term }
  | ReadonlyMap<Term, Term>;

/** An object stored in a table: an array whose element at keypos is the key. */
export type TableObject = readonly Term[];

/** A term as read back from a table (Buffers for binaries, plain objects for maps). */
export type Value = null | boolean | number | bigint | string | Buffer | Atom | Value[] | { [key: string]: Value };

/** An atom (ETS's atoms: '_', '$1', '>' in match specifications); atom(name) interns. */
export class Atom {
  private constructor();
  readonly name: string;
}
export function atom(name: string): Atom;

/** A match specification: clauses [head, guards, body] (ETS's [{Head, [Guard], [Body]}]). */
export type MatchSpecTerm = readonly (readonly [head: Term, guards: readonly Term[], body: readonly Term[]])[];

/** A compiled match specification, reusable by any number of select calls. */
export class MatchSpec {
  private constructor();
}
export function matchSpec(spec: MatchSpecTerm): MatchSpec;

export type TableType = 'set' | 'ordered_set' | 'bag' | 'duplicate_bag';
export type Access = 'protected' | 'public' | 'private';

export interface TableOptions {
  /** Default 'set'. */
  type?: TableType;
  /** Default 'protected': the owner writes, everyone reads. */
  access?: Access;
  /** The 1-based position of the key in every object. Default 1. */
  keypos?: number;
  /** Register the name so that whereis() finds the table (ETS named_table). */
  named?: boolean;
  /** The owner that inherits the table when its owner closes. */
  heir?: Owner | null;
  /** The heir's gift, delivered with the transfer. */
  heirData?: Term;
  /** Accepted for ETS parity and reported by info(). */
  readConcurrency?: boolean;
  writeConcurrency?: boolean;
  // The cache layer (any of these makes a cache table):
  /** The default lifetime of an object, from when it is written. */
  ttlMs?: number;
  /** An object expires this long after it was last written or read (with ttlMs too: at the earlier end). */
  timeToIdleMs?: number;
  /** The most objects the table holds. */
  maxSize?: number;
  /** The most bytes the table holds (as info().memory counts them). */
  maxMemory?: number;
  /** When a bound is reached: evict (the default) or reject the write (ERR_RETS_TABLE_FULL). */
  onFull?: 'evict' | 'reject';
  /** Keep statistics even without the other options. */
  recordStats?: boolean;
  /** A clock for tests; the monotonic clock by default. */
  clock?: ManualClock | null;
}

/** The options of a write: the object's own lifetime (0: the table's). */
export interface WriteOptions {
  ttlMs: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  loads: number;
  loadFailures: number;
  loadNs: number;
  evictions: number;
  expirations: number;
  rejectedWrites: number;
}

export interface TableFileInfo {
  version: number;
  type: TableType;
  access: Access;
  keypos: number;
  named: boolean;
  readConcurrency: boolean;
  writeConcurrency: boolean;
  objectCount: number;
  name: string;
}

/** A clock that moves only when told to, for tests of lifetimes. */
export class ManualClock {
  constructor();
  advance(ms: number): void;
}

/** Facts about a table file without loading it (ETS tabfile_info/1). */
export function tabfileInfo(path: string): TableFileInfo;

export interface TableInfo {
  id: bigint;
  name: string;
  type: TableType;
  access: Access;
  keypos: number;
  named: boolean;
  /** The owner's id (Owner#id). */
  owner: bigint;
  /** The heir's id, or null. */
  heir: bigint | null;
  size: number;
  /** Bytes held by the table. */
  memory: number;
  readConcurrency: boolean;
  writeConcurrency: boolean;
}

/** A counter update: [pos, incr] or [pos, incr, threshold, setValue] (ETS's tuples). */
export type CounterOp =
  | readonly [pos: number, incr: number | bigint]
  | readonly [pos: number, incr: number | bigint, threshold: number | bigint, setValue: number | bigint];

/** An element update: [pos, value]. */
export type ElementUpdate = readonly [pos: number, value: Term];

/** A table arriving at an owner (ETS's 'ETS-TRANSFER' message). */
export interface Transfer {
  /** A handle acting for the receiving owner, which now owns the table. */
  table: Table;
  /** The id of the previous owner. */
  from: bigint;
  reason: 'inherited' | 'given_away';
  /** The heir data or the give_away gift. */
  gift: Value;
}

/**
 * A handle to a table, acting for one owner (or, from whereis(), for nobody). Tables are made by
 * Owner#newTable, found by whereis / Owner#whereis, or received as transfers; a handle cannot be
 * sent by postMessage: workers share a table by its name. Every failure is a RetsError.
 */
/** Where items() and keys() start and how they read. */
export interface ChunkOptions {
  /** The first key (included if present unless `after`); the first key of the table if absent. */
  start?: Term;
  /** Start strictly after `start`. */
  after?: boolean;
  /** Backward (descending key order) on an ordered_set; forward on other types. */
  reverse?: boolean;
  /** Keys read per engine call (default 64). */
  chunk?: number;
}

export class Table implements Iterable<Value[]> {
  private constructor();
  insert(object: TableObject, options?: WriteOptions): void;
  insertMany(objects: readonly TableObject[], options?: WriteOptions): void;
  insertNew(object: TableObject, options?: WriteOptions): boolean;
  insertNewMany(objects: readonly TableObject[], options?: WriteOptions): boolean;
  /** The objects with `key`: [] when absent. */
  lookup(key: Term): Value[][];
  member(key: Term): boolean;
  /** ERR_RETS_KEY_NOT_FOUND when the key is absent and no default is given. */
  lookupElement(key: Term, pos: number, defaultValue?: Term): Value;
  /** A pinned reader: lookups through it skip the per-call reclamation guard; close it after a
   * bounded stretch of reads (nothing replaced or deleted is freed while it is open). */
  pin(): Pin;
  take(key: Term): Value[][];
  /** Removes the objects with `key` (ETS delete/2). */
  delete(key: Term): void;
  deleteObject(object: TableObject): void;
  deleteAllObjects(): void;
  /** `options.ttlMs` (with a default object only): the default's lifetime, and a new one for an existing object. */
  updateCounter(key: Term, incr: number | bigint, defaultObject?: TableObject, options?: WriteOptions): number | bigint;
  updateCounter(key: Term, op: CounterOp, defaultObject?: TableObject, options?: WriteOptions): number | bigint;
  updateCounter(key: Term, ops: readonly CounterOp[], defaultObject?: TableObject, options?: WriteOptions): (number | bigint)[];
  updateElement(key: Term, update: ElementUpdate | readonly ElementUpdate[], defaultObject?: TableObject, options?: WriteOptions): boolean;
  /**
   * The object with `key`; on a miss `loader(key)` loads it (an object whose key is `key`) and it
   * is stored. Single-flight across threads and workers: while one caller loads a key, the
   * others wait for that load (polling, never blocking the event loop); a loader that throws
   * fails the load for them with ERR_RETS_LOAD_FAILED and its message.
   */
  getOrLoad(key: Term, loader: (key: Term) => TableObject | Promise<TableObject>, options?: { ttlMs?: number; refreshAfterMs?: number }): Promise<Value[]>;
  /** ETS select/2: for each matching object, the body of the first clause that matches it. */
  select(spec: MatchSpecTerm | MatchSpec): Value[];
  selectReverse(spec: MatchSpecTerm | MatchSpec): Value[];
  selectCount(spec: MatchSpecTerm | MatchSpec): number;
  selectDelete(spec: MatchSpecTerm | MatchSpec): number;
  selectReplace(spec: MatchSpecTerm | MatchSpec): number;
  /** ETS select/3 and select/1: chunks of `limit` results. */
  selectChunks(spec: MatchSpecTerm | MatchSpec, limit: number, options?: { reverse?: boolean }): Generator<Value[], void, undefined>;
  /** ETS match/2: the bindings of '$N' for each matching object. */
  match(pattern: Term): Value[][];
  matchObject(pattern: Term): Value[][];
  matchDelete(pattern: Term): number;
  matchChunks(pattern: Term, limit: number): Generator<Value[][], void, undefined>;
  matchObjectChunks(pattern: Term, limit: number): Generator<Value[][], void, undefined>;
  /** Removes the object with `key` from a cache. */
  invalidate(key: Term): void;
  /** Removes expired objects now; returns how many. */
  purgeExpired(): number;
  cacheStats(): CacheStats;
  resetCacheStats(): void;
  /** Records a load from the data source behind the cache (its duration in ms). */
  recordLoad(ms: number, ok?: boolean): void;
  /** Saves the table to a file (ETS tab2file/2). */
  tab2file(path: string): void;
  /** Keys in traversal order; undefined at the end. */
  first(): Value | undefined;
  next(key: Term): Value | undefined;
  last(): Value | undefined;
  prev(key: Term): Value | undefined;
  firstLookup(): [key: Value, objects: Value[][]] | undefined;
  nextLookup(key: Term): [key: Value, objects: Value[][]] | undefined;
  lastLookup(): [key: Value, objects: Value[][]] | undefined;
  prevLookup(key: Term): [key: Value, objects: Value[][]] | undefined;
  tab2list(): Value[][];
  foldl<A>(fn: (object: Value[], acc: A) => A, acc: A): A;
  foldr<A>(fn: (object: Value[], acc: A) => A, acc: A): A;
  /** Every object, read in chunks; safe under concurrent writers (not a snapshot). */
  [Symbol.iterator](): Iterator<Value[]>;
  /** The objects from `start` on (inclusive unless `after`), `chunk` keys per engine call. */
  items(options?: ChunkOptions): IterableIterator<Value[]>;
  /** The keys, as items() gives the objects. */
  keys(options?: ChunkOptions): IterableIterator<Value>;
  info(): TableInfo;
  readonly size: number;
  readonly memory: number;
  readonly name: string;
  rename(name: string): void;
  /** Deletes the table (ETS delete/1). */
  deleteTable(): void;
  giveAway(owner: Owner, gift?: Term): void;
  setHeir(heir: Owner | null, heirData?: Term): void;
  /** Another handle to this table, acting for `owner`. */
  withOwner(owner: Owner): Table;
}

/**
 * An owner of tables (ETS: a process). Closing it (close(), `using`, or the end of the thread
 * that made it, a worker that exits or is terminated) deletes its tables or hands them to their
 * heirs. Transfers arrive as 'transfer' events and through transfers().
 */
/**
 * A pinned reader of one table (Table#pin): the table's lookups through one held reclamation
 * guard. After the table is deleted its reads throw ERR_RETS_NO_TABLE; after close() they throw
 * a TypeError.
 */
export class Pin implements Disposable {
  private constructor();
  lookup(key: Term): Value[][];
  member(key: Term): boolean;
  lookupElement(key: Term, pos: number, defaultValue?: Term): Value;
  /** Lets what was replaced or deleted since the pin was taken be freed, keeping the pin. */
  refresh(): void;
  /** Ends the pin (idempotent). */
  close(): void;
  [Symbol.dispose](): void;
}

export class Owner extends EventEmitter implements Disposable {
  constructor();
  readonly id: bigint;
  readonly closed: boolean;
  newTable(name: string, options?: TableOptions): Table;
  /** Recreates the table saved at `path`, owned by this owner (ETS file2tab/2). */
  file2tab(path: string, options?: { verify?: boolean }): Table;
  /** The named table, with a handle acting for this owner; undefined if none. */
  whereis(name: string): Table | undefined;
  /** A transfer that has already arrived, or undefined; never waits. */
  takeTransfer(): Transfer | undefined;
  /** The transfers to come; ends when the owner closes. */
  transfers(): AsyncIterableIterator<Transfer>;
  close(): void;
  [Symbol.dispose](): void;
  on(event: 'transfer', listener: (transfer: Transfer) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'transfer', listener: (transfer: Transfer) => void): this;
  once(event: 'close', listener: () => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** The named table, with a handle acting for nobody (reads public and protected tables, writes
 * public ones); undefined if no table has that name. */
export function whereis(name: string): Table | undefined;

/** The version of librets the addon is linked with. */
export function version(): string;

export type RetsErrorCode =
  | 'ERR_RETS_NULL_ARGUMENT' | 'ERR_RETS_INVALID_ARGUMENT' | 'ERR_RETS_NO_TABLE'
  | 'ERR_RETS_OWNER_CLOSED' | 'ERR_RETS_ACCESS_DENIED' | 'ERR_RETS_NOT_OWNER'
  | 'ERR_RETS_MALFORMED' | 'ERR_RETS_UNSUPPORTED_TERM' | 'ERR_RETS_LIMIT_EXCEEDED'
  | 'ERR_RETS_NOT_AN_ARRAY' | 'ERR_RETS_OBJECT_TOO_SHORT' | 'ERR_RETS_KEY_NOT_FOUND'
  | 'ERR_RETS_BAD_POSITION' | 'ERR_RETS_KEY_POSITION' | 'ERR_RETS_WRONG_TABLE_TYPE'
  | 'ERR_RETS_NOT_AN_INTEGER' | 'ERR_RETS_OVERFLOW' | 'ERR_RETS_NAME_TAKEN' | 'ERR_RETS_BAD_MATCH_SPEC'
  | 'ERR_RETS_LOAD_FAILED' | 'ERR_RETS_TABLE_FULL' | 'ERR_RETS_BAD_FILE' | 'ERR_RETS_IO'
  | 'ERR_RETS_PANIC' | 'ERR_RETS_INTERNAL';

/** An error reported by the engine, with its message and a stable code. */
export class RetsError extends Error {
  readonly code: RetsErrorCode;
  /** The C ABI's rets_status value. */
  readonly status: number;
}

export const codes: Readonly<{
  NULL_ARGUMENT: 'ERR_RETS_NULL_ARGUMENT';
  INVALID_ARGUMENT: 'ERR_RETS_INVALID_ARGUMENT';
  NO_TABLE: 'ERR_RETS_NO_TABLE';
  OWNER_CLOSED: 'ERR_RETS_OWNER_CLOSED';
  ACCESS_DENIED: 'ERR_RETS_ACCESS_DENIED';
  NOT_OWNER: 'ERR_RETS_NOT_OWNER';
  MALFORMED: 'ERR_RETS_MALFORMED';
  UNSUPPORTED_TERM: 'ERR_RETS_UNSUPPORTED_TERM';
  LIMIT_EXCEEDED: 'ERR_RETS_LIMIT_EXCEEDED';
  NOT_AN_ARRAY: 'ERR_RETS_NOT_AN_ARRAY';
  OBJECT_TOO_SHORT: 'ERR_RETS_OBJECT_TOO_SHORT';
  KEY_NOT_FOUND: 'ERR_RETS_KEY_NOT_FOUND';
  BAD_POSITION: 'ERR_RETS_BAD_POSITION';
  KEY_POSITION: 'ERR_RETS_KEY_POSITION';
  WRONG_TABLE_TYPE: 'ERR_RETS_WRONG_TABLE_TYPE';
  NOT_AN_INTEGER: 'ERR_RETS_NOT_AN_INTEGER';
  OVERFLOW: 'ERR_RETS_OVERFLOW';
  NAME_TAKEN: 'ERR_RETS_NAME_TAKEN';
  TABLE_FULL: 'ERR_RETS_TABLE_FULL';
  BAD_FILE: 'ERR_RETS_BAD_FILE';
  IO: 'ERR_RETS_IO';
  BAD_MATCH_SPEC: 'ERR_RETS_BAD_MATCH_SPEC';
  LOAD_FAILED: 'ERR_RETS_LOAD_FAILED';
  PANIC: 'ERR_RETS_PANIC';
  INTERNAL: 'ERR_RETS_INTERNAL';
}>;
