'use strict';
// The ETS lesson's scenario, from Node: a table owned by a long-lived owner, lookups that return
// lists, counters, access control, ownership and heirs, and the profile cache exercise (miss path
// with write-back, TTL from {value, insertedAt}).
const test = require('node:test');
const assert = require('node:assert/strict');
const { once } = require('node:events');
const { Owner, whereis, codes } = require('..');
const { uniqueName, throwsRets, owned } = require('./support.js');

test('the lesson: tables, lookups as lists, counters, access, ownership and heirs', async () => {
  const tables = owned(new Owner()); // "create tables in a dedicated long-lived process"
  const supervisor = owned(new Owner());
  const userCache = uniqueName('user_cache');
  const requestCounts = uniqueName('request_counts');
  const users = tables.newTable(userCache, { named: true, access: 'protected', readConcurrency: true, heir: supervisor, heirData: 'restart me' });
  const counts = tables.newTable(requestCounts, { named: true, access: 'public', writeConcurrency: true });

  // :ets.insert(:user_cache, {"u_123", %{name: "Alice", tier: :pro}})
  users.insert(['u_123', { name: 'Alice', tier: 'pro' }]);
  // lookup always returns a list
  assert.deepEqual(whereis(userCache).lookup('u_123'), [['u_123', { name: 'Alice', tier: 'pro' }]]);
  assert.deepEqual(whereis(userCache).lookup('u_999'), []);
  // :ets.update_counter(:request_counts, "/api/search", 1, {"/api/search", 0}), from anyone
  const anyone = whereis(requestCounts);
  for (let i = 0; i < 3; i++) anyone.updateCounter('/api/search', 1, ['/api/search', 0]);
  assert.equal(counts.lookupElement('/api/search', 2), 3);
  // protected: another process reads but cannot write
  throwsRets(() => whereis(userCache).insert(['u_1', {}]), codes.ACCESS_DENIED);
  // :ets.delete(:user_cache, "u_123")
  users.delete('u_123');
  assert.deepEqual(users.lookup('u_123'), []);
  users.insert(['u_123', { name: 'Alice' }]);

  // "If the owner exits, the table disappears" -- unless it has an heir
  const inherited = once(supervisor, 'transfer');
  tables.close();
  assert.equal(whereis(requestCounts), undefined);
  const [transfer] = await inherited;
  assert.equal(transfer.gift, 'restart me');
  assert.deepEqual(transfer.table.lookup('u_123'), [['u_123', { name: 'Alice' }]]);
});

test('the exercise: a read-optimised profile cache with a miss path and a TTL', () => {
  const owner = owned(new Owner());
  const name = uniqueName('profiles');
  const table = owner.newTable(name, { named: true, access: 'protected', readConcurrency: true });
  const source = new Map([['u_1', { name: 'Alice' }], ['u_2', { name: 'Bob' }]]);
  let loads = 0;
  let now = 1000;
  const TTL = 60;

  const putProfile = (id, profile) => table.insert([id, profile, now]);
  const deleteProfile = (id) => table.delete(id);
  const getProfile = (id) => {
    const hit = whereis(name).lookup(id); // readers need no handle of the owner's
    if (hit.length === 1 && hit[0][2] + TTL > now) return hit[0][1];
    loads++;
    const profile = source.get(id) ?? null;
    if (profile !== null) putProfile(id, profile);
    return profile;
  };

  assert.deepEqual(getProfile('u_1'), { name: 'Alice' });
  assert.deepEqual(getProfile('u_1'), { name: 'Alice' });
  assert.equal(loads, 1, 'the second read is a hit');
  now += TTL; // expired: stored insertion time + TTL is not in the future
  assert.deepEqual(getProfile('u_1'), { name: 'Alice' });
  assert.equal(loads, 2);
  source.set('u_2', { name: 'Bob 2' });
  putProfile('u_2', { name: 'Bob 2' });
  assert.deepEqual(getProfile('u_2'), { name: 'Bob 2' });
  deleteProfile('u_2');
  assert.deepEqual(table.lookup('u_2'), []);
  assert.equal(getProfile('nobody'), null);
  assert.equal(table.size, 1); // u_1 only
});
