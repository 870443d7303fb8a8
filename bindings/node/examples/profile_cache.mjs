// The ETS lesson's exercise in Node: a read-optimised profile cache.
//
// - a table owned by a long-lived owner (the lesson's supervised process), protected: the owner
//   writes, every reader reads;
// - getProfile / putProfile / deleteProfile; a miss reads the data source (SQLite through
//   better-sqlite3, as this Node 20 has no node:sqlite) and writes back;
// - a TTL: objects are [id, profile, insertedAt], and one older than insertedAt + TTL is a miss;
// - lookup latency (p50, p99) from the data source alone, with a cold cache and with a warm one.
//
// Run: node examples/profile_cache.mjs   (after `npm install` in bindings/node)
import Database from 'better-sqlite3';
import { Owner, whereis } from 'rets';

const USERS = 2000;
const TTL_MS = 60_000;
// A real data source answers over a network: SQLite in memory answers in microseconds, so each
// query also waits ~200 us (simulated, as in ffi/examples/profile_cache.c).
const SOURCE_LATENCY_NS = 200_000n;

const db = new Database(':memory:');
db.exec('CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT, tier TEXT, visits INTEGER)');
const insertUser = db.prepare('INSERT INTO users VALUES (?, ?, ?, ?)');
db.transaction(() => {
  for (let i = 0; i < USERS; i++) insertUser.run(`u_${i}`, `user ${i}`, i % 10 === 0 ? 'pro' : 'free', i);
})();
const selectUser = db.prepare('SELECT name, tier, visits FROM users WHERE id = ?');

function fetchFromSource(id) {
  const until = process.hrtime.bigint() + SOURCE_LATENCY_NS;
  const row = selectUser.get(id);
  while (process.hrtime.bigint() < until); // the simulated network round trip
  return row ?? null;
}

// The cache's owner lives as long as the program (close it to delete the table).
const owner = new Owner();
const profiles = owner.newTable('profiles', { type: 'set', access: 'protected', named: true, readConcurrency: true });

export function putProfile(id, profile) {
  profiles.insert([id, profile, Date.now()]);
}

export function deleteProfile(id) {
  profiles.delete(id);
}

export function getProfile(id) {
  const hit = profiles.lookup(id);
  if (hit.length === 1 && hit[0][2] + TTL_MS > Date.now()) return hit[0][1];
  const profile = fetchFromSource(id); // miss (or expired): read through and write back
  if (profile !== null) putProfile(id, profile);
  return profile;
}

function percentiles(samples) {
  samples.sort((a, b) => a - b);
  const at = (p) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
  return `p50 ${at(0.5).toFixed(2)} us, p99 ${at(0.99).toFixed(2)} us`;
}

function measure(label, fn) {
  const samples = [];
  for (let i = 0; i < USERS; i++) {
    const id = `u_${(i * 7919) % USERS}`;
    const t0 = process.hrtime.bigint();
    const profile = fn(id);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (profile === null) throw new Error(`no profile for ${id}`);
  }
  console.log(`${label.padEnd(22)} ${percentiles(samples)}`);
}

measure('data source alone', fetchFromSource);
measure('cache, cold', getProfile);
measure('cache, warm', getProfile);

// Readers in any thread find the table by name and read it directly (protected: read-only).
const reader = whereis('profiles');
console.log('u_42 from another handle:', reader.lookup('u_42')[0][1]);
deleteProfile('u_42');
console.log('after deleteProfile:', reader.lookup('u_42'), `(${profiles.size} cached)`);
owner.close();
