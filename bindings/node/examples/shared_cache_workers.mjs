// Four worker_threads share one cache: a public named table that every worker reads and writes
// directly (no cache thread, no postMessage per request). Each worker serves requests for
// profiles with getOrLoad: a miss loads the profile (simulated slow source) and stores it, once
// however many workers miss it at the same time (single-flight), so a profile loaded by one
// worker is a hit for all the others. Load counts are counters in a second table, updated
// atomically by all workers.
//
// Run: node examples/shared_cache_workers.mjs   (after `npm install` in bindings/node)
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { Owner, whereis } from 'rets';

const WORKERS = 4;
const REQUESTS = 20_000;
const PROFILES = 1_000;

function loadProfile(id) {
  const until = process.hrtime.bigint() + 100_000n; // ~100 us: a slow data source
  while (process.hrtime.bigint() < until);
  return { id, name: `user ${id}`, tier: id % 10 === 0 ? 'pro' : 'free' };
}

if (isMainThread) {
  // The main thread owns the tables: they live as long as it does.
  const owner = new Owner();
  const cache = owner.newTable('profile_cache', { named: true, access: 'public', readConcurrency: true });
  const stats = owner.newTable('cache_stats', { named: true, access: 'public', writeConcurrency: true });
  const started = performance.now();
  const workers = Array.from({ length: WORKERS }, (_, i) =>
    new Worker(new URL(import.meta.url), { workerData: { seed: i } }));
  await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
    w.on('message', resolve);
    w.on('error', reject);
  })));
  const ms = performance.now() - started;
  const requests = stats.lookupElement('requests', 2, 0);
  const loads = stats.lookupElement('loads', 2, 0);
  console.log(`${WORKERS} workers served ${requests} requests in ${ms.toFixed(0)} ms`);
  console.log(`${loads} loads for ${PROFILES} distinct profiles (each loaded once), ${cache.size} cached`);
  owner.close();
} else {
  const cache = whereis('profile_cache');
  const stats = whereis('cache_stats');
  let x = workerData.seed + 1;
  for (let i = 0; i < REQUESTS / WORKERS; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32
    const id = (x >>> 0) % PROFILES;
    await cache.getOrLoad(id, async (key) => {
      stats.updateCounter('loads', 1, ['loads', 0]);
      return [key, loadProfile(key)];
    });
    stats.updateCounter('requests', 1, ['requests', 0]);
  }
  parentPort.postMessage('done');
}
