'use strict';
// Owner: what an Erlang process is to ETS. Closing it (close(), `using`, or the end of the
// thread that made it: a worker that exits or is terminated) deletes its tables or hands them
// to their heirs. Transfers (ETS-TRANSFER) arrive as 'transfer' events and through the async
// iterator transfers(), delivered by a watcher thread that never blocks the event loop. While
// an owner has 'transfer' listeners (an iterator is one), it keeps the event loop alive, as a
// MessagePort with 'message' listeners does: remove them, end the iterator or close the owner.
const { EventEmitter } = require('node:events');
const { native } = require('./native.js');
const { decode } = require('./terms.js');
const { Table, tableArgs, checkName } = require('./table.js');
const { hasCacheOptions, cacheArgs, file2tab } = require('./cache.js');
const { HANDLE, CONSTRUCT } = require('./handles.js');

const REASONS = { 1: 'inherited', 2: 'given_away' };

function makeTransfer([tableHandle, from, reason, gift]) {
  return {
    table: new Table(CONSTRUCT, tableHandle),
    from,
    reason: REASONS[reason],
    gift: decode(gift),
  };
}

class Owner extends EventEmitter {
  constructor() {
    super();
    const handle = native.ownerNew();
    Object.defineProperty(this, HANDLE, { value: handle });
    // Not sendable by postMessage (a DataCloneError): an owner belongs to its thread.
    Object.defineProperty(this, '_native', { value: handle, enumerable: true });
    this.on('newListener', (event) => {
      if (event === 'transfer' && this.listenerCount('transfer') === 0 && !this.closed) {
        native.ownerWatch(this[HANDLE], (t) => this.emit('transfer', makeTransfer(t)));
      }
    });
    this.on('removeListener', (event) => {
      if (event === 'transfer' && this.listenerCount('transfer') === 0) native.ownerUnwatch(this[HANDLE]);
    });
  }

  /** The owner's process-unique id (what Table#info() reports as owner and heir). */
  get id() {
    return native.ownerId(this[HANDLE]);
  }

  get closed() {
    return !native.ownerIsOpen(this[HANDLE]);
  }

  /** Creates a table owned by this owner (ETS new/2). */
  newTable(name, options) {
    const args = tableArgs(this[HANDLE], name, options);
    if (!hasCacheOptions(options)) return new Table(CONSTRUCT, native.tableNew(...args));
    return new Table(CONSTRUCT, native.tableNewCache(...args, ...cacheArgs(options)));
  }

  /** Recreates the table saved in the file at `path`, owned by this owner (ETS file2tab). */
  file2tab(path, options) {
    return file2tab(this, path, options);
  }

  /** The named table `name`, with a handle acting for this owner; undefined if none. */
  whereis(name) {
    const h = native.ownerWhereis(this[HANDLE], checkName(name));
    return h === null ? undefined : new Table(CONSTRUCT, h);
  }

  /** A transfer that has already arrived, or undefined (never waits). */
  takeTransfer() {
    const t = native.ownerTakeTransfer(this[HANDLE]);
    return t === null ? undefined : makeTransfer(t);
  }

  /** The transfers to come, as an async iterator; it ends when the owner closes. */
  transfers() {
    const queue = [];
    const waiting = [];
    let done = false;
    const onTransfer = (t) => (waiting.length ? waiting.shift()({ value: t, done: false }) : queue.push(t));
    const finish = () => {
      if (done) return;
      done = true;
      this.off('transfer', onTransfer);
      this.off('close', finish);
      for (const resolve of waiting.splice(0)) resolve({ value: undefined, done: true });
    };
    this.on('transfer', onTransfer);
    this.on('close', finish);
    return {
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiting.push(resolve));
      },
      return: () => {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Closes the owner: its tables go to their heirs or are deleted. Idempotent. */
  close() {
    if (this.closed) return;
    native.ownerClose(this[HANDLE]);
    this.emit('close');
  }

  [Symbol.dispose]() {
    this.close();
  }

  get [Symbol.toStringTag]() {
    return 'rets.Owner';
  }
}

/** The named table `name` with a handle acting for nobody (reads public and protected tables,
 * writes public ones); undefined if no table has that name. */
function whereis(name) {
  const h = native.whereis(checkName(name));
  return h === null ? undefined : new Table(CONSTRUCT, h);
}

module.exports = { Owner, whereis };
