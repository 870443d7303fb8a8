'use strict';
// Owners: close, dispose, heirs, give_away, transfers as events and as an async iterator.
const test = require('node:test');
const assert = require('node:assert/strict');
const { once } = require('node:events');
const { Owner, whereis, codes } = require('..');
const { uniqueName, throwsRets, owned } = require('./support.js');

test('closing an owner deletes its tables; its handles then fail with OWNER_CLOSED', () => {
  const owner = new Owner();
  const name = uniqueName('closing');
  const t = owner.newTable(name, { named: true });
  const anon = whereis(name);
  assert.equal(owner.closed, false);
  owner.close();
  assert.equal(owner.closed, true);
  owner.close(); // idempotent
  assert.equal(whereis(name), undefined);
  throwsRets(() => anon.lookup('k'), codes.NO_TABLE);
  throwsRets(() => t.lookup('k'), codes.NO_TABLE);
  throwsRets(() => owner.newTable('x'), codes.OWNER_CLOSED);
  throwsRets(() => owner.whereis(name), codes.OWNER_CLOSED);
  throwsRets(() => owner.id, codes.OWNER_CLOSED);
  throwsRets(() => owner.takeTransfer(), codes.OWNER_CLOSED);
});

test('Symbol.dispose closes the owner', () => {
  const owner = new Owner();
  const name = uniqueName('disposed');
  owner.newTable(name, { named: true });
  owner[Symbol.dispose]();
  assert.equal(owner.closed, true);
  assert.equal(whereis(name), undefined);
});

test('an heir receives the table and the gift as a transfer event', async () => {
  const heir = owned(new Owner());
  const owner = new Owner();
  const name = uniqueName('inherited');
  const t = owner.newTable(name, { named: true, heir, heirData: { why: 'owner closed' } });
  t.insert(['k', 1]);
  assert.equal(t.info().heir, heir.id);
  const arrived = once(heir, 'transfer');
  const ownerId = owner.id;
  owner.close();
  const [transfer] = await arrived;
  assert.equal(transfer.reason, 'inherited');
  assert.equal(transfer.from, ownerId);
  assert.deepEqual(transfer.gift, { why: 'owner closed' });
  assert.deepEqual(transfer.table.lookup('k'), [['k', 1]]);
  transfer.table.insert(['k', 2]); // the heir owns it now
  throwsRets(() => t.insert(['k', 3]), codes.OWNER_CLOSED); // the old owner's handle
  assert.equal(transfer.table.info().owner, heir.id);
  assert.deepEqual(whereis(name).lookup('k'), [['k', 2]]);
});

test('giveAway arrives through the async iterator; setHeir sets and clears', async () => {
  const receiver = owned(new Owner());
  const owner = owned(new Owner());
  const t = owner.newTable('given');
  const iter = receiver.transfers();
  t.giveAway(receiver, ['a', 'gift']);
  const { value, done } = await iter.next();
  assert.equal(done, false);
  assert.equal(value.reason, 'given_away');
  assert.deepEqual(value.gift, ['a', 'gift']);
  assert.equal(value.table.info().owner, receiver.id);
  throwsRets(() => t.insert(['x']), codes.ACCESS_DENIED);
  throwsRets(() => t.giveAway(receiver), codes.NOT_OWNER);
  await iter.return();
  assert.equal(receiver.listenerCount('transfer'), 0);

  const t2 = owner.newTable('heirs');
  t2.setHeir(receiver, 'data');
  assert.equal(t2.info().heir, receiver.id);
  t2.setHeir(null);
  assert.equal(t2.info().heir, null);
  throwsRets(() => t2.giveAway(owner), codes.INVALID_ARGUMENT);
  const closed = new Owner();
  closed.close();
  throwsRets(() => t2.giveAway(closed), codes.OWNER_CLOSED);
  throwsRets(() => t2.setHeir(closed), codes.OWNER_CLOSED);
  throwsRets(() => owner.newTable('h', { heir: closed }), codes.OWNER_CLOSED);
});

test('takeTransfer polls without waiting; the iterator ends when the owner closes', async () => {
  const receiver = new Owner();
  const owner = owned(new Owner());
  assert.equal(receiver.takeTransfer(), undefined);
  owner.newTable('polled').giveAway(receiver, 7);
  const got = receiver.takeTransfer();
  assert.equal(got.gift, 7);
  assert.equal(got.reason, 'given_away');
  const iter = receiver.transfers();
  const pending = iter.next();
  receiver.close();
  assert.deepEqual(await pending, { value: undefined, done: true });
});

test('an iterator waiting for a transfer keeps the process alive until it arrives', async () => {
  const receiver = owned(new Owner());
  const giver = owned(new Owner());
  const t = giver.newTable('later');
  setImmediate(() => t.giveAway(receiver, 'late'));
  for await (const transfer of receiver.transfers()) {
    assert.equal(transfer.gift, 'late');
    break;
  }
});

test('a table with an heir that closed first is deleted with its owner', () => {
  const heir = new Owner();
  const owner = new Owner();
  const name = uniqueName('orphan');
  owner.newTable(name, { named: true, heir });
  heir.close();
  owner.close();
  assert.equal(whereis(name), undefined);
});

test('tables and owners cannot be sent by postMessage (the name is what workers share)', () => {
  const owner = owned(new Owner());
  const t = owner.newTable('not sendable');
  assert.throws(() => structuredClone(t), { name: 'DataCloneError' });
  assert.throws(() => structuredClone(owner), { name: 'DataCloneError' });
});
