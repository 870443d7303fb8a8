'use strict';
// JavaScript values <-> rets terms, through msgpackr.
//
// Numbers: an integral Number with |n| <= 2^53 (the safe integers and +-2^53, exact in a double)
// is an integer term, any other number a float (msgpackr alone writes integers beyond 32 bits
// as float64, so those are handed to it as BigInt). BigInt: a 64-bit integer (int64, or uint64
// above the int64 range). Reading back (msgpackr's int64AsType 'auto'), integers with
// |n| <= 2^53 are Numbers and larger ones BigInts, so every integer read writes back as the same
// integer. A float with an integral value (2.0) reads back as the Number 2, which JavaScript
// cannot tell from the integer 2 (written back, it is the integer 2).
// Strings, booleans, null, Uint8Array/Buffer (binary; read back as Buffer), arrays, plain
// objects and Maps (maps; read back as plain objects) are stored; anything else (undefined,
// functions, symbols, Dates, class instances, ...) is a TypeError naming it and where it is.
const { Packr, Unpackr, addExtension } = require('msgpackr');

/** An atom (Erlang's atoms; the engine's MessagePack ext type 97 with the UTF-8 name). atom(name)
 * interns: one Atom per name. The atoms true, false and nil are the booleans and null. */
class Atom {
  constructor(name) {
    this.name = name;
    Object.freeze(this);
  }

  toString() {
    return this.name;
  }
}
const atoms = new Map();
function atom(name) {
  if (typeof name !== 'string') throw new TypeError(`rets: an atom's name is a string, got ${typeof name}`);
  if (Buffer.byteLength(name) > 255) throw new TypeError('rets: an atom name has at most 255 bytes');
  let a = atoms.get(name);
  if (a === undefined) atoms.set(name, (a = new Atom(name)));
  return a;
}
addExtension({
  Class: Atom,
  type: 97,
  pack: (a) => Buffer.from(a.name, 'utf8'),
  unpack: (bytes) => atom(Buffer.from(bytes).toString('utf8')),
});
const { area } = require('./native.js');

const packr = new Packr({
  useRecords: false, // plain MessagePack maps, not msgpackr's record extension
  variableMapSize: true, // shortest map headers
  moreTypes: false,
  structuredClone: false,
});
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  int64AsType: 'auto', // safe integers as Numbers, others as BigInt
  copyBuffers: true, // binaries must not point into the reused result area
});

const TWO_53 = 2 ** 53;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function describe(value) {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'bigint') return `BigInt ${value}`;
  const ctor = value && value.constructor && value.constructor.name;
  return ctor ? `a ${ctor}` : 'an object with a null prototype';
}

function unencodable(value, where) {
  return new TypeError(`rets: cannot store ${describe(value)}${where ? ` (at ${where})` : ''}: ` +
    'terms are null, booleans, numbers, BigInts, strings, Uint8Arrays, arrays, plain objects and Maps');
}

// Checks that `value` can be a term and returns what msgpackr should pack (the same value
// unless it holds integers beyond 32 bits, which become BigInts in a copy).
function prepare(value, where) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isNaN(value)) {
        throw new TypeError(`rets: cannot store NaN${where ? ` (at ${where})` : ''}: rets has no NaN term`);
      }
      if (Number.isInteger(value) && Math.abs(value) <= TWO_53 && (value > 0xffffffff || value < -0x80000000)) {
        return BigInt(value);
      }
      return value;
    case 'bigint':
      if (value < INT64_MIN || value > UINT64_MAX) {
        throw new TypeError(`rets: BigInt ${value}${where ? ` (at ${where})` : ''} is outside the 64-bit range`);
      }
      return value;
    case 'object': {
      if (value === null || value instanceof Uint8Array || value instanceof Atom) return value;
      if (Array.isArray(value)) {
        let out = value;
        for (let i = 0; i < value.length; i++) {
          const item = prepare(value[i], `${where}[${i}]`);
          if (item !== value[i]) {
            if (out === value) out = value.slice();
            out[i] = item;
          }
        }
        return out;
      }
      if (value instanceof Map) {
        const out = new Map();
        for (const [k, v] of value) out.set(prepare(k, `${where} map key`), prepare(v, `${where}.get(${String(k)})`));
        return out;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        let out = value;
        for (const k of Object.keys(value)) {
          const item = prepare(value[k], `${where}.${k}`);
          if (item !== value[k]) {
            if (out === value) out = { ...value };
            out[k] = item;
          }
        }
        return out;
      }
      throw unencodable(value, where);
    }
    default:
      throw unencodable(value, where);
  }
}

/** Encodes any term (an object, a gift, a default, an element). */
function encode(value, what = 'value') {
  return packr.pack(prepare(value, what));
}

/** An object must be an array (ETS's tuple). */
function encodeObject(object, what = 'object') {
  if (!Array.isArray(object)) {
    throw new TypeError(`rets: an object is an array (a tuple), got ${describe(object)} as ${what}`);
  }
  return encode(object, what);
}

/** Keys that are strings or numbers go to the addon as they are (it builds them with the C
 * ABI's rets_builder); all others are packed here. */
function encodeKey(key) {
  const t = typeof key;
  if (t === 'string' || (t === 'number' && key === key)) return key;
  return encode(key, 'key');
}

/** Decodes a result: a length in the shared area, or a Buffer of its own. */
function decode(result) {
  return typeof result === 'number' ? unpackr.unpack(area, result) : unpackr.unpack(result);
}

module.exports = { encode, encodeObject, encodeKey, decode, prepare, Atom, atom };
