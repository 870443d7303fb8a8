// A typed program over the whole API, checked by `tsc --noEmit --strict` (ci/node). It is
// type-checked, not run.
import { Owner, Table, Pin, RetsError, codes, whereis, version, atom, matchSpec, ManualClock, tabfileInfo, type Transfer, type TableInfo, type Value, type CacheStats, type TableFileInfo } from 'rets';

const v: string = version();
const owner = new Owner();
const users: Table = owner.newTable('users', { type: 'set', access: 'protected', named: true, readConcurrency: true });
users.insert(['u_123', { name: 'Alice', tier: 'pro' }, Date.now()]);
users.insertMany([['u_1', 1], ['u_2', 2n, Buffer.from('x'), null, [true, 1.5]]]);
const added: boolean = users.insertNew(['u_3', new Map([['k', 1]])]);
const addedAll: boolean = users.insertNewMany([['u_4'], ['u_5']]);
const found: Value[][] = users.lookup('u_123');
const isThere: boolean = users.member(42);
const name: Value = users.lookupElement('u_123', 2);
const orDefault: Value = users.lookupElement('nobody', 2, null);
const pin: Pin = users.pin();
const pinned: Value[][] = pin.lookup('u_123');
const pinnedThere: boolean = pin.member('u_123');
const pinnedName: Value = pin.lookupElement('u_123', 2, null);
pin.refresh();
pin.close();
const taken: Value[][] = users.take('u_1');
users.delete('u_2');
users.deleteObject(['u_3', 1]);
const counter: number | bigint = users.updateCounter('hits', 1, ['hits', 0]);
const one: number | bigint = users.updateCounter('hits', [2, 1, 10, 0]);
const many: (number | bigint)[] = users.updateCounter('hits', [[2, 1], [2, -1n]]);
const updated: boolean = users.updateElement('u_123', [[2, 'x'], [3, 0]], ['', '', 0]);
const firstKey: Value | undefined = users.first();
const nextKey: Value | undefined = firstKey === undefined ? undefined : users.next(firstKey as string);
users.last();
users.prev('u_123');
const fl: [Value, Value[][]] | undefined = users.firstLookup();
users.nextLookup('u_123');
users.lastLookup();
users.prevLookup('u_123');
const all: Value[][] = users.tab2list();
for (const obj of users.items({ start: 'u1', after: true, chunk: 32 })) void (obj satisfies Value[]);
const someKeys: Value[] = [...users.keys({ reverse: true })];
void someKeys;
const count: number = users.foldl((_obj, acc: number) => acc + 1, 0);
const keys: Value[] = users.foldr((obj, acc: Value[]) => [...acc, obj[0]], [] as Value[]);
for (const obj of users) {
  const key: Value = obj[0];
  void key;
}
const spec = matchSpec([[[atom('$1'), atom('_')], [[atom('>'), atom('$1'), 1]], [atom('$1')]]]);
const selected: Value[] = users.select(spec);
const n: number = users.selectCount([[atom('_'), [], [true]]]) + users.selectDelete(spec) + users.selectReplace(spec);
for (const chunk of users.selectChunks(spec, 10, { reverse: true })) void chunk;
const matched: Value[][] = users.match([atom('$1'), atom('_')]).concat(users.matchObject([atom('_'), 1]));
for (const chunk of users.matchChunks([atom('_')], 5)) void chunk;
for (const chunk of users.matchObjectChunks([atom('_')], 5)) void chunk;
const deletedByMatch: number = users.matchDelete(['x', atom('_')]);
users.selectReverse(spec);
void [selected, n, matched, deletedByMatch];
const clock = new ManualClock();
const cache: Table = owner.newTable('cache', { ttlMs: 60_000, maxSize: 10_000, onFull: 'evict', recordStats: true, clock });
cache.insert(['k', 1], { ttlMs: 10 });
cache.insertMany([['a'], ['b']], { ttlMs: 10 });
const fresh: boolean = cache.insertNew(['n'], { ttlMs: 5 });
clock.advance(20);
cache.invalidate('k');
const purged: number = cache.purgeExpired();
const stats: CacheStats = cache.cacheStats();
cache.resetCacheStats();
cache.recordLoad(1.5, true);
cache.tab2file('/tmp/cache.tab');
const fileInfo: TableFileInfo = tabfileInfo('/tmp/cache.tab');
const restored: Table = owner.file2tab('/tmp/cache.tab', { verify: true });
void [fresh, purged, stats, fileInfo, restored];
const info: TableInfo = users.info();
const size: number = users.size + users.memory;
const tableName: string = users.name;
users.rename('people');
const heir = new Owner();
users.setHeir(heir, { reason: 'backup' });
users.setHeir(null);
heir.on('transfer', (t: Transfer) => {
  const from: bigint = t.from;
  const reason: 'inherited' | 'given_away' = t.reason;
  t.table.insert(['got', t.gift]);
  void from;
  void reason;
});
users.giveAway(heir, 'gift');
const mine: Table = users.withOwner(owner);
const anon: Table | undefined = whereis('people');
const viaOwner: Table | undefined = heir.whereis('people');
const polled: Transfer | undefined = heir.takeTransfer();

async function readThrough(t: Table): Promise<Value[]> {
  return t.getOrLoad('u_9', async (key) => [key, { name: 'loaded' }]);
}

async function drain(o: Owner): Promise<number> {
  let n = 0;
  for await (const t of o.transfers()) {
    n += t.table.size;
    break;
  }
  return n;
}

try {
  anon?.insert(['x']);
} catch (e) {
  if (e instanceof RetsError && e.code === codes.ACCESS_DENIED) {
    const status: number = e.status;
    void status;
  }
}
const id: bigint = owner.id;
const closed: boolean = owner.closed;
owner[Symbol.dispose]();
heir.close();
mine.deleteTable();

void [v, added, addedAll, found, isThere, name, orDefault, pinned, pinnedThere, pinnedName, taken, counter, one, many, updated, nextKey, fl,
  all, count, keys, info, size, tableName, viaOwner, polled, drain, readThrough, id, closed];
