'use strict';
// Pin: a pinned reader of one table (rets_pin_*), from Table#pin(). Its lookups go through one
// reclamation guard held until close(). What it holds up is memory: nothing replaced or deleted
// in the table is freed while the pin is open, so close it after a bounded stretch of reads
// (or refresh() it). After the table is deleted, its reads throw ERR_RETS_NO_TABLE.
const { native } = require('./native.js');
const { encode, encodeKey, decode } = require('./terms.js');

function checkPos(pos) {
  if (!Number.isSafeInteger(pos) || pos < 1) {
    throw new TypeError(`rets: pos must be a 1-based position (an integer >= 1), got ${String(pos)}`);
  }
  return pos;
}

class Pin {
  #h;

  /** Pins come from Table#pin(). */
  constructor(tableHandle) {
    this.#h = native.pinNew(tableHandle);
  }

  /** The objects with `key`: [] if absent, as Table#lookup. */
  lookup(key) {
    return decode(native.pinLookup(this.#h, encodeKey(key)));
  }

  /** Whether an object has `key`, as Table#member. */
  member(key) {
    return native.pinMember(this.#h, encodeKey(key));
  }

  /** The element at `pos` of the object with `key` (or `defaultValue`), as Table#lookupElement. */
  lookupElement(key, pos, defaultValue) {
    checkPos(pos);
    const dflt = arguments.length >= 3 ? encode(defaultValue, 'defaultValue') : null;
    return decode(native.pinLookupElement(this.#h, encodeKey(key), pos, dflt));
  }

  /** Lets what was replaced or deleted since the pin was taken be freed, keeping the pin. */
  refresh() {
    native.pinRefresh(this.#h);
  }

  /** Ends the pin: what it held up may be freed. Idempotent. */
  close() {
    native.pinFree(this.#h);
  }

  [Symbol.dispose]() {
    this.close();
  }

  get [Symbol.toStringTag]() {
    return 'rets.Pin';
  }
}

module.exports = { Pin };
