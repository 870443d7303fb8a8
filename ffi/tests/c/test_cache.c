/*
 * The cache API from C: lifetimes with a manual clock (no sleeping), per-object lifetimes,
 * bounds with eviction and rejection, statistics, and every documented error path. Built with
 * -std=c99 -Wall -Wextra -Werror and run under AddressSanitizer + UBSan and under valgrind by
 * ci/c-tests.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"

#define SEC 1000000000ull

static rets_builder *b;

typedef struct bytes {
    const uint8_t *p;
    size_t n;
} bytes;

static bytes key_i(int64_t k) {
    bytes r;
    OK(rets_builder_reset(b));
    OK(rets_builder_int(b, k));
    OK(rets_builder_finish(b, &r.p, &r.n));
    return r;
}

/* {k, v} */
static bytes obj(int64_t k, int64_t v) {
    bytes r;
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 2));
    OK(rets_builder_int(b, k));
    OK(rets_builder_int(b, v));
    OK(rets_builder_finish(b, &r.p, &r.n));
    return r;
}

/* [{k, v} for k in from..to] */
static bytes objs(int64_t from, int64_t to) {
    bytes r;
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, (uint32_t)(to - from)));
    for (int64_t k = from; k < to; k++) {
        OK(rets_builder_array(b, 2));
        OK(rets_builder_int(b, k));
        OK(rets_builder_int(b, k));
    }
    OK(rets_builder_finish(b, &r.p, &r.n));
    return r;
}

static bool member(const rets_table *t, int64_t k) {
    bool found = false;
    bytes key = key_i(k);
    OK(rets_table_member(t, key.p, key.n, &found));
    return found;
}

static size_t size_of(const rets_table *t) {
    rets_info info;
    OK(rets_table_info(t, &info));
    return info.size;
}

static void lifetimes(rets_owner *owner) {
    rets_manual_clock *clock = NULL;
    OK(rets_manual_clock_new(&clock));
    rets_table_options opts = {0};
    opts.access = RETS_ACCESS_PUBLIC;
    for (uint32_t type = 0; type < 4; type++) {
        opts.table_type = type;
        rets_cache_options cache = {0};
        cache.ttl_ns = 10 * SEC;
        cache.clock = clock;
        rets_table *t = NULL;
        OK(rets_table_new_cache(owner, "ttl", &opts, &cache, &t));
        bytes o = obj(1, 1);
        OK(rets_table_insert(t, o.p, o.n));
        o = obj(2, 2);
        OK(rets_table_insert_ttl(t, o.p, o.n, 1 * SEC));
        bytes list = objs(10, 13);
        OK(rets_table_insert_many_ttl(t, list.p, list.n, 20 * SEC));
        bool inserted = false;
        o = obj(3, 3);
        OK(rets_table_insert_new_ttl(t, o.p, o.n, 0, &inserted));
        CHECK(inserted);
        CHECK(size_of(t) == 6);

        OK(rets_manual_clock_advance(clock, 1 * SEC));
        CHECK(!member(t, 2));
        CHECK(size_of(t) == 5);
        OK(rets_manual_clock_advance(clock, 9 * SEC));
        CHECK(!member(t, 1) && !member(t, 3));
        CHECK(member(t, 10));
        /* An expired key counts as absent for insert_new. */
        o = obj(1, 7);
        inserted = false;
        OK(rets_table_insert_new_ttl(t, o.p, o.n, 5 * SEC, &inserted));
        CHECK(inserted);

        /* Purging frees what expired (1, 2, 3 are gone; 2 may already count). */
        size_t removed = 99;
        OK(rets_table_purge_expired(t, &removed));
        CHECK(removed == 2);
        rets_cache_stats stats;
        OK(rets_table_cache_stats(t, &stats));
        CHECK(stats.expirations == 3);
        CHECK(stats.misses == 3 && stats.hits == 1);
        OK(rets_table_cache_stats_reset(t));
        OK(rets_table_cache_stats(t, &stats));
        CHECK(stats.expirations == 0 && stats.misses == 0);

        OK(rets_table_delete(t));
        rets_table_free(t);
    }
    /* Tables keep the clock after its handle is freed. */
    rets_cache_options idle = {0};
    idle.time_to_idle_ns = 10 * SEC;
    idle.clock = clock;
    rets_table *t = NULL;
    OK(rets_table_new_cache(owner, "idle", NULL, &idle, &t));
    bytes o = obj(1, 1);
    OK(rets_table_insert(t, o.p, o.n));
    for (int i = 0; i < 4; i++) {
        OK(rets_manual_clock_advance(clock, 6 * SEC));
        CHECK(member(t, 1));
    }
    OK(rets_manual_clock_advance(clock, 10 * SEC));
    CHECK(!member(t, 1));

    /* Both lifetimes: an object expires at the earlier of its lifetime's end and its idle
     * deadline. Object 1 is read every 6 s and still ends 25 s after its write; object 2,
     * with a lifetime of its own, outlives the table's ttl while it is read. */
    rets_cache_options both = {0};
    both.ttl_ns = 25 * SEC;
    both.time_to_idle_ns = 10 * SEC;
    both.clock = clock;
    rets_table *b = NULL;
    OK(rets_table_new_cache(owner, "both", NULL, &both, &b));
    o = obj(1, 1); /* the builder's buffer is reused: encode each object just before use */
    OK(rets_table_insert(b, o.p, o.n));
    o = obj(2, 2);
    OK(rets_table_insert_ttl(b, o.p, o.n, 100 * SEC));
    o = obj(3, 3);
    OK(rets_table_insert(b, o.p, o.n));
    for (int i = 0; i < 4; i++) { /* 6, 12, 18, 24 s */
        OK(rets_manual_clock_advance(clock, 6 * SEC));
        CHECK(member(b, 1) && member(b, 2));
        /* Never read: gone once idle for 10 s (not read before: a read restarts it). */
        CHECK(i == 0 || !member(b, 3));
    }
    OK(rets_manual_clock_advance(clock, SEC)); /* 25 s */
    CHECK(!member(b, 1));
    CHECK(member(b, 2));
    OK(rets_manual_clock_advance(clock, 10 * SEC)); /* 35 s: idle for 10 s */
    CHECK(!member(b, 2));
    rets_table_free(b);
    rets_manual_clock_free(clock);
    rets_manual_clock_free(NULL);
    rets_table_free(t);
}

static void bounds(rets_owner *owner) {
    for (uint32_t type = 0; type < 2; type++) {
        rets_table_options opts = {0};
        opts.table_type = type;
        rets_cache_options evict = {0};
        evict.max_size = 10;
        rets_table *t = NULL;
        OK(rets_table_new_cache(owner, "evict", &opts, &evict, &t));
        for (int64_t k = 0; k < 100; k++) {
            bytes o = obj(k, k);
            OK(rets_table_insert(t, o.p, o.n));
            CHECK(size_of(t) <= 10);
        }
        rets_cache_stats stats;
        OK(rets_table_cache_stats(t, &stats));
        CHECK(stats.evictions == 90);

        rets_cache_options reject = {0};
        reject.max_size = 2;
        reject.on_full = RETS_ON_FULL_REJECT;
        rets_table *r = NULL;
        OK(rets_table_new_cache(owner, "reject", &opts, &reject, &r));
        bytes two = objs(0, 2);
        OK(rets_table_insert_many_ttl(r, two.p, two.n, 0));
        bytes o = obj(5, 5);
        EXPECT(rets_table_insert(r, o.p, o.n), RETS_STATUS_TABLE_FULL);
        CHECK(strstr(rets_last_error_message(), "max_size 2") != NULL);
        bool inserted = true;
        EXPECT(rets_table_insert_new_ttl(r, o.p, o.n, SEC, &inserted), RETS_STATUS_TABLE_FULL);
        CHECK(inserted); /* outputs are written only on success */
        bytes three = objs(10, 13);
        EXPECT(rets_table_insert_many_ttl(r, three.p, three.n, 0), RETS_STATUS_TABLE_FULL);
        CHECK(size_of(r) == 2 && member(r, 0) && member(r, 1));
        o = obj(1, 9); /* a present key may be rewritten */
        OK(rets_table_insert_ttl(r, o.p, o.n, 0));
        OK(rets_table_cache_stats(r, &stats));
        CHECK(stats.rejected_writes == 3);
        CHECK(strcmp(rets_status_name(RETS_STATUS_TABLE_FULL), "RETS_STATUS_TABLE_FULL") == 0);
        rets_table_free(t);
        rets_table_free(r);
    }
    rets_cache_options memory = {0};
    memory.max_memory = 64 * 1024;
    rets_table *m = NULL;
    OK(rets_table_new_cache(owner, "memory", NULL, &memory, &m));
    for (int64_t k = 0; k < 10000; k++) {
        bytes o = obj(k, k);
        OK(rets_table_insert(m, o.p, o.n));
    }
    rets_info info;
    OK(rets_table_info(m, &info));
    CHECK(info.memory <= 64 * 1024 + 64 * 1024 / 8);
    CHECK(info.size > 100);
    rets_table_free(m);
}

static void stats_and_loads(rets_owner *owner) {
    rets_cache_options cache = {0};
    cache.record_stats = true;
    rets_table *t = NULL;
    OK(rets_table_new_cache(owner, "stats", NULL, &cache, &t));
    OK(rets_table_record_load(t, 2000, true));
    OK(rets_table_record_load(t, 3000, false));
    rets_cache_stats s;
    OK(rets_table_cache_stats(t, &s));
    CHECK(s.loads == 1 && s.load_failures == 1 && s.load_ns == 5000);
    /* A table without cache options reports zeros. */
    rets_table *plain = NULL;
    OK(rets_table_new_cache(owner, "plain", NULL, NULL, &plain));
    OK(rets_table_record_load(plain, 1, true));
    OK(rets_table_cache_stats(plain, &s));
    CHECK(s.loads == 0);
    rets_table_free(plain);
    rets_table_free(t);
}

static void errors(rets_owner *owner) {
    rets_table *t = (rets_table *)0x1;
    rets_cache_options bad = {0};
    bad.on_full = 7;
    EXPECT(rets_table_new_cache(owner, "bad", NULL, &bad, &t), RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_table_new_cache(NULL, "bad", NULL, NULL, &t), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_new_cache(owner, "bad", NULL, NULL, NULL), RETS_STATUS_NULL_ARGUMENT);
    CHECK(t == (rets_table *)0x1);
    EXPECT(rets_manual_clock_new(NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_manual_clock_advance(NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_cache_stats(NULL, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_cache_stats_reset(NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_record_load(NULL, 1, true), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_purge_expired(NULL, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_insert_ttl(NULL, NULL, 0, 0), RETS_STATUS_NULL_ARGUMENT);

    rets_table *d = NULL;
    OK(rets_table_new_cache(owner, "deleted", NULL, NULL, &d));
    OK(rets_table_delete(d));
    rets_cache_stats s;
    EXPECT(rets_table_cache_stats(d, &s), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_cache_stats_reset(d), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_record_load(d, 1, true), RETS_STATUS_NO_TABLE);
    size_t removed = 42;
    EXPECT(rets_table_purge_expired(d, &removed), RETS_STATUS_NO_TABLE);
    CHECK(removed == 42);
    bytes o = obj(1, 1);
    EXPECT(rets_table_insert_ttl(d, o.p, o.n, SEC), RETS_STATUS_NO_TABLE);
    bytes list = objs(0, 2);
    EXPECT(rets_table_insert_many_ttl(d, list.p, list.n, SEC), RETS_STATUS_NO_TABLE);
    bool inserted = false;
    EXPECT(rets_table_insert_new_ttl(d, o.p, o.n, SEC, &inserted), RETS_STATUS_NO_TABLE);
    rets_table_free(d);
}

/* A copy of `b` in `buf` (the builder's bytes change with its next term). */
static bytes keep(bytes b, uint8_t *buf, size_t cap) {
    CHECK(b.n <= cap);
    memcpy(buf, b.p, b.n);
    bytes r = {buf, b.n};
    return r;
}

/* Lifetimes given by the update forms' default objects and by insert_new_many_ttl. */
static void update_lifetimes(rets_owner *owner) {
    uint8_t dbuf[32], kbuf[32], vbuf[32];
    rets_manual_clock *clock = NULL;
    OK(rets_manual_clock_new(&clock));
    rets_cache_options cache = {0};
    cache.clock = clock;
    rets_table *t = NULL;
    OK(rets_table_new_cache(owner, "updates", NULL, &cache, &t));

    /* update_counters_ttl: the default object gets the lifetime. */
    rets_counter_op op = {0};
    op.pos = 2;
    op.incr = 1;
    bytes d = keep(obj(0, 0), dbuf, sizeof dbuf);
    bytes k = keep(key_i(1), kbuf, sizeof kbuf);
    int64_t value = 0;
    EXPECT(rets_table_update_counters_ttl(t, k.p, k.n, &op, 1, d.p, d.n, 2 * SEC, NULL),
           RETS_STATUS_NULL_ARGUMENT);
    CHECK(!member(t, 1)); /* refused: nothing stored */
    OK(rets_table_update_counters_ttl(t, k.p, k.n, &op, 0, d.p, d.n, 2 * SEC, NULL));
    CHECK(member(t, 1)); /* no ops: the default object was stored as is */
    OK(rets_table_delete_key(t, k.p, k.n));
    OK(rets_table_update_counters_ttl(t, k.p, k.n, &op, 1, d.p, d.n, 2 * SEC, &value));
    CHECK(value == 1);
    /* ttl 0 on a present object keeps its deadline. */
    OK(rets_table_update_counters_ttl(t, k.p, k.n, &op, 1, d.p, d.n, 0, &value));
    CHECK(value == 2);
    OK(rets_manual_clock_advance(clock, 2 * SEC - 1));
    CHECK(member(t, 1));
    OK(rets_manual_clock_advance(clock, 1));
    CHECK(!member(t, 1));
    /* A new lifetime on a present object restarts it. */
    OK(rets_table_update_counters_ttl(t, k.p, k.n, &op, 1, d.p, d.n, SEC, &value));
    CHECK(value == 1);
    OK(rets_manual_clock_advance(clock, SEC / 2));
    OK(rets_table_update_counters_ttl(t, k.p, k.n, &op, 1, d.p, d.n, SEC, &value));
    CHECK(value == 2);
    OK(rets_manual_clock_advance(clock, SEC / 2));
    CHECK(member(t, 1));
    OK(rets_manual_clock_advance(clock, SEC / 2));
    CHECK(!member(t, 1));

    /* update_element_ttl: the same for an element update. */
    bytes v = keep(key_i(9), vbuf, sizeof vbuf);
    rets_element el = {2, v.p, v.n};
    bytes k2 = keep(key_i(2), kbuf, sizeof kbuf);
    bool updated = false;
    OK(rets_table_update_element_ttl(t, k2.p, k2.n, &el, 1, d.p, d.n, 3 * SEC, &updated));
    CHECK(updated);
    OK(rets_manual_clock_advance(clock, 3 * SEC - 1));
    CHECK(member(t, 2));
    OK(rets_manual_clock_advance(clock, 1));
    CHECK(!member(t, 2));

    /* insert_new_many_ttl: all or nothing, then gone with the lifetime. */
    bytes list = objs(20, 23);
    bool inserted = false;
    OK(rets_table_insert_new_many_ttl(t, list.p, list.n, SEC, &inserted));
    CHECK(inserted && member(t, 20) && member(t, 22));
    list = objs(22, 24);
    OK(rets_table_insert_new_many_ttl(t, list.p, list.n, SEC, &inserted));
    CHECK(!inserted && !member(t, 23));
    OK(rets_manual_clock_advance(clock, SEC));
    CHECK(!member(t, 20) && !member(t, 21) && !member(t, 22));
    list = objs(22, 24);
    OK(rets_table_insert_new_many_ttl(t, list.p, list.n, 0, &inserted));
    CHECK(inserted && member(t, 23));

    /* A lifetime needs a default object; bad input changes nothing. */
    k = keep(key_i(5), kbuf, sizeof kbuf);
    value = 77;
    EXPECT(rets_table_update_counters_ttl(t, k.p, k.n, &op, 1, NULL, 0, SEC, &value),
           RETS_STATUS_NULL_ARGUMENT);
    CHECK(value == 77);
    updated = false;
    EXPECT(rets_table_update_element_ttl(t, k.p, k.n, &el, 1, NULL, 0, SEC, &updated),
           RETS_STATUS_NULL_ARGUMENT);
    CHECK(!member(t, 5));
    EXPECT(rets_table_insert_new_many_ttl(t, NULL, 3, SEC, &inserted), RETS_STATUS_NULL_ARGUMENT);

    OK(rets_table_delete(t));
    list = objs(30, 32);
    EXPECT(rets_table_insert_new_many_ttl(t, list.p, list.n, SEC, &inserted),
           RETS_STATUS_NO_TABLE);
    rets_table_free(t);
    rets_manual_clock_free(clock);
}

int main(void) {
    OK(rets_builder_new(&b));
    rets_owner *owner = NULL;
    OK(rets_owner_new(&owner));
    lifetimes(owner);
    update_lifetimes(owner);
    bounds(owner);
    stats_and_loads(owner);
    errors(owner);
    rets_owner_close(owner);
    rets_builder_free(b);
    printf("test_cache: ok\n");
    return 0;
}
