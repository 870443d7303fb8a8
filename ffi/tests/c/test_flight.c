/*
 * Read-through with single-flight through the C ABI: the claim/fill protocol (one loader per
 * key, waiters get its object or its failure, nothing cached on failure, bad input refused
 * with the ticket still open), rets_table_get_or_load with a callback and user_data, and the
 * stampede: 32 threads on one missing key, again and again, load it exactly once each round,
 * both through the blocking call and through non-blocking claims with polling waiters.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define THREADS 32
#define ROUNDS 50

static rets_table *table;

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* A key {int} and an object {key, value} built into their own builders. */
static void key_of(rets_builder *b, int64_t k, const uint8_t **p, size_t *n) {
    OK(rets_builder_reset(b));
    OK(rets_builder_int(b, k));
    OK(rets_builder_finish(b, p, n));
}

static void object_of(rets_builder *b, int64_t k, int64_t v, const uint8_t **p, size_t *n) {
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 2));
    OK(rets_builder_int(b, k));
    OK(rets_builder_int(b, v));
    OK(rets_builder_finish(b, p, n));
}

/* The value of the object {k, v} in `buf`, checking its key. */
static int64_t value_in(rets_buf *buf, int64_t want_key) {
    rets_reader r;
    size_t arity = 0;
    int64_t k = 0, v = 0;
    OK(rets_reader_init(&r, rets_buf_data(buf), rets_buf_len(buf)));
    OK(rets_reader_array(&r, &arity));
    CHECK(arity == 2);
    OK(rets_reader_int(&r, &k));
    OK(rets_reader_int(&r, &v));
    CHECK(k == want_key);
    return v;
}

static void test_claim_fill_wait(void) {
    rets_builder *kb, *ob;
    rets_buf *out;
    rets_ticket *loader = NULL, *waiter = NULL, *none = NULL;
    rets_claim claim;
    const uint8_t *k, *o;
    size_t kn, on;
    bool ready = true;

    OK(rets_builder_new(&kb));
    OK(rets_builder_new(&ob));
    OK(rets_buf_new(&out));
    key_of(kb, 1, &k, &kn);

    OK(rets_table_claim_load(table, k, kn, out, &claim, &loader));
    CHECK(claim == RETS_CLAIM_LOAD && loader != NULL);
    OK(rets_table_claim_load(table, k, kn, out, &claim, &waiter));
    CHECK(claim == RETS_CLAIM_WAIT && waiter != NULL);

    /* Nothing yet: poll says not ready, a short wait times out, the loader cannot wait. */
    OK(rets_ticket_poll(waiter, out, &ready));
    CHECK(!ready);
    EXPECT(rets_ticket_wait(waiter, 10, out), RETS_STATUS_TIMEOUT);
    EXPECT(rets_ticket_wait(loader, 0, out), RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_ticket_poll(loader, out, &ready), RETS_STATUS_INVALID_ARGUMENT);

    /* Bad fills are refused and the load stays open: another key, malformed bytes, NULL. */
    object_of(ob, 2, 20, &o, &on);
    EXPECT(rets_ticket_fill(loader, o, on, 0), RETS_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(rets_last_error_message(), "not the key being loaded") != NULL);
    EXPECT(rets_ticket_fill(loader, (const uint8_t *)"\x92\x01", 2, 0), RETS_STATUS_MALFORMED);
    EXPECT(rets_ticket_fill(loader, NULL, 3, 0), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_ticket_fill(waiter, o, on, 0), RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_ticket_fail(waiter, "no"), RETS_STATUS_INVALID_ARGUMENT);
    OK(rets_ticket_poll(waiter, out, &ready));
    CHECK(!ready);

    object_of(ob, 1, 10, &o, &on);
    OK(rets_ticket_fill(loader, o, on, 0));
    EXPECT(rets_ticket_fill(loader, o, on, 0), RETS_STATUS_INVALID_ARGUMENT); /* filled once */
    OK(rets_ticket_poll(waiter, out, &ready));
    CHECK(ready && value_in(out, 1) == 10);
    OK(rets_ticket_wait(waiter, -1, out));
    CHECK(value_in(out, 1) == 10);
    OK(rets_ticket_wait(loader, -1, out)); /* a filled load can be waited on */
    CHECK(value_in(out, 1) == 10);
    rets_ticket_free(loader);
    rets_ticket_free(waiter);

    /* Now cached: no ticket, the object in `out`. */
    OK(rets_table_claim_load(table, k, kn, out, &claim, &none));
    CHECK(claim == RETS_CLAIM_CACHED && none == NULL && value_in(out, 1) == 10);

    /* Invalidated during a load: the load's waiters get its object, the table does not keep it. */
    OK(rets_table_invalidate(table, k, kn));
    OK(rets_table_claim_load(table, k, kn, out, &claim, &loader));
    CHECK(claim == RETS_CLAIM_LOAD);
    OK(rets_table_claim_load(table, k, kn, out, &claim, &waiter));
    CHECK(claim == RETS_CLAIM_WAIT);
    OK(rets_table_invalidate(table, k, kn));
    object_of(ob, 1, 11, &o, &on);
    OK(rets_ticket_fill(loader, o, on, 0));
    OK(rets_ticket_wait(waiter, -1, out));
    CHECK(value_in(out, 1) == 11);
    OK(rets_table_lookup(table, k, kn, out));
    CHECK(rets_buf_len(out) == 1); /* an empty array: not cached */
    rets_ticket_free(loader);
    rets_ticket_free(waiter);
    EXPECT(rets_table_invalidate(table, NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    /* Refresh-ahead measures age against the table's ttl: this table has none (see
     * test_lifetimes_and_refresh for one that has). */
    EXPECT(rets_table_claim_load_refreshing(table, k, kn, 100, out, &claim, &none),
           RETS_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(rets_last_error_message(), "ttl") != NULL);

    rets_buf_free(out);
    rets_builder_free(kb);
    rets_builder_free(ob);
}

static void test_fail_and_abandon(void) {
    rets_builder *kb;
    rets_buf *out;
    rets_ticket *loader = NULL, *waiter = NULL;
    rets_claim claim;
    const uint8_t *k;
    size_t kn;

    OK(rets_builder_new(&kb));
    OK(rets_buf_new(&out));
    key_of(kb, 3, &k, &kn);

    OK(rets_table_claim_load(table, k, kn, out, &claim, &loader));
    CHECK(claim == RETS_CLAIM_LOAD);
    OK(rets_table_claim_load(table, k, kn, out, &claim, &waiter));
    CHECK(claim == RETS_CLAIM_WAIT);
    EXPECT(rets_ticket_fail(loader, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_ticket_fail(loader, "\xff"), RETS_STATUS_INVALID_ARGUMENT); /* not UTF-8 */
    OK(rets_ticket_fail(loader, "database is down"));
    EXPECT(rets_ticket_wait(waiter, -1, out), RETS_STATUS_LOAD_FAILED);
    CHECK(strcmp(rets_last_error_message(), "load failed: database is down") == 0);
    CHECK(strcmp(rets_status_name(RETS_STATUS_LOAD_FAILED), "RETS_STATUS_LOAD_FAILED") == 0);
    EXPECT(rets_ticket_wait(loader, -1, out), RETS_STATUS_LOAD_FAILED);
    rets_ticket_free(loader);
    rets_ticket_free(waiter);

    /* Nothing cached: the next claim loads again. Freed unfilled, it fails its waiter. */
    OK(rets_table_claim_load(table, k, kn, out, &claim, &loader));
    CHECK(claim == RETS_CLAIM_LOAD);
    OK(rets_table_claim_load(table, k, kn, out, &claim, &waiter));
    CHECK(claim == RETS_CLAIM_WAIT);
    rets_ticket_free(loader);
    EXPECT(rets_ticket_wait(waiter, -1, out), RETS_STATUS_LOAD_FAILED);
    CHECK(strstr(rets_last_error_message(), "without a result") != NULL);
    rets_ticket_free(waiter);
    OK(rets_table_claim_load(table, k, kn, out, &claim, &loader));
    CHECK(claim == RETS_CLAIM_LOAD);
    rets_ticket_free(loader);

    rets_buf_free(out);
    rets_builder_free(kb);
}

#define SEC 1000000000ull

/* On a cache table with a ttl of 10 s and a manual clock: a loader's own lifetime, and
 * refresh-ahead past 6 s (one caller refreshes, the others keep the cached object; a failed
 * refresh keeps it until its ttl). */
static void test_lifetimes_and_refresh(rets_owner *owner) {
    rets_manual_clock *clock;
    rets_table *t;
    rets_table_options opts;
    rets_cache_options cache;
    rets_builder *kb, *ob;
    rets_buf *out;
    rets_ticket *ticket = NULL, *none = NULL;
    rets_claim claim;
    const uint8_t *k, *o;
    size_t kn, on;

    OK(rets_manual_clock_new(&clock));
    memset(&opts, 0, sizeof opts);
    memset(&cache, 0, sizeof cache);
    cache.ttl_ns = 10 * SEC;
    cache.clock = clock;
    OK(rets_table_new_cache(owner, "refreshing", &opts, &cache, &t));
    OK(rets_builder_new(&kb));
    OK(rets_builder_new(&ob));
    OK(rets_buf_new(&out));

    /* Key 1 filled with its own 2 s; key 2 with the table's 10 s. */
    key_of(kb, 1, &k, &kn);
    OK(rets_table_claim_load(t, k, kn, out, &claim, &ticket));
    CHECK(claim == RETS_CLAIM_LOAD);
    object_of(ob, 1, 10, &o, &on);
    OK(rets_ticket_fill(ticket, o, on, 2 * SEC));
    rets_ticket_free(ticket);
    key_of(kb, 2, &k, &kn);
    OK(rets_table_claim_load(t, k, kn, out, &claim, &ticket));
    CHECK(claim == RETS_CLAIM_LOAD);
    object_of(ob, 2, 20, &o, &on);
    OK(rets_ticket_fill(ticket, o, on, 0));
    rets_ticket_free(ticket);

    OK(rets_manual_clock_advance(clock, 3 * SEC));
    key_of(kb, 1, &k, &kn);
    OK(rets_table_claim_load(t, k, kn, out, &claim, &ticket));
    CHECK(claim == RETS_CLAIM_LOAD); /* its own 2 s are over */
    rets_ticket_free(ticket);
    key_of(kb, 2, &k, &kn);
    OK(rets_table_claim_load_refreshing(t, k, kn, 6 * SEC, out, &claim, &none));
    CHECK(claim == RETS_CLAIM_CACHED && none == NULL && value_in(out, 2) == 20); /* 3 s old */

    /* 7 s old: one refresh, the others get the cached object. */
    OK(rets_manual_clock_advance(clock, 4 * SEC));
    OK(rets_table_claim_load_refreshing(t, k, kn, 6 * SEC, out, &claim, &ticket));
    CHECK(claim == RETS_CLAIM_REFRESH && value_in(out, 2) == 20);
    OK(rets_table_claim_load_refreshing(t, k, kn, 6 * SEC, out, &claim, &none));
    CHECK(claim == RETS_CLAIM_CACHED && none == NULL && value_in(out, 2) == 20);
    OK(rets_ticket_fail(ticket, "database down")); /* a failed refresh keeps the object */
    rets_ticket_free(ticket);
    OK(rets_table_claim_load(t, k, kn, out, &claim, &none));
    CHECK(claim == RETS_CLAIM_CACHED && value_in(out, 2) == 20);
    OK(rets_table_claim_load_refreshing(t, k, kn, 6 * SEC, out, &claim, &ticket));
    CHECK(claim == RETS_CLAIM_REFRESH); /* tried again */
    object_of(ob, 2, 21, &o, &on);
    OK(rets_ticket_fill(ticket, o, on, 0));
    rets_ticket_free(ticket);
    OK(rets_table_claim_load_refreshing(t, k, kn, 6 * SEC, out, &claim, &none));
    CHECK(claim == RETS_CLAIM_CACHED && value_in(out, 2) == 21);

    /* The refreshed object lives 10 s from its refresh: 9 s later it is still cached. */
    OK(rets_manual_clock_advance(clock, 9 * SEC));
    OK(rets_table_claim_load(t, k, kn, out, &claim, &none));
    CHECK(claim == RETS_CLAIM_CACHED && value_in(out, 2) == 21);

    rets_buf_free(out);
    rets_builder_free(kb);
    rets_builder_free(ob);
    rets_table_free(t);
    rets_manual_clock_free(clock);
}

/* A loader for rets_table_get_or_load: counts its calls in user_data, loads {k, k * 100}
 * after a short "query", or fails for negative keys. */
typedef struct source {
    pthread_mutex_t lock;
    int queries;
    long delay_us;
} source;

static void load_from_source(void *user_data, const uint8_t *key, size_t key_len,
                             rets_ticket *ticket) {
    source *src = (source *)user_data;
    rets_reader r;
    rets_builder *b;
    int64_t k = 0;
    const uint8_t *o;
    size_t on;

    pthread_mutex_lock(&src->lock);
    src->queries++;
    pthread_mutex_unlock(&src->lock);
    if (src->delay_us > 0) sleep_us(src->delay_us);
    OK(rets_reader_init(&r, key, key_len));
    OK(rets_reader_int(&r, &k));
    if (k < 0) {
        OK(rets_ticket_fail(ticket, "no such user"));
        return;
    }
    OK(rets_builder_new(&b));
    object_of(b, k, k * 100, &o, &on);
    OK(rets_ticket_fill(ticket, o, on, 0));
    rets_builder_free(b);
}

static void load_nothing(void *user_data, const uint8_t *key, size_t key_len,
                         rets_ticket *ticket) {
    (void)user_data, (void)key, (void)key_len, (void)ticket;
}

static void test_get_or_load(void) {
    rets_builder *kb;
    rets_buf *out;
    const uint8_t *k;
    size_t kn;
    source src = {PTHREAD_MUTEX_INITIALIZER, 0, 0};

    OK(rets_builder_new(&kb));
    OK(rets_buf_new(&out));
    key_of(kb, 7, &k, &kn);
    OK(rets_table_get_or_load(table, k, kn, load_from_source, &src, -1, out));
    CHECK(value_in(out, 7) == 700 && src.queries == 1);
    OK(rets_table_get_or_load(table, k, kn, load_from_source, &src, -1, out));
    CHECK(value_in(out, 7) == 700 && src.queries == 1); /* a hit */

    key_of(kb, -7, &k, &kn);
    EXPECT(rets_table_get_or_load(table, k, kn, load_from_source, &src, -1, out),
           RETS_STATUS_LOAD_FAILED);
    CHECK(strcmp(rets_last_error_message(), "load failed: no such user") == 0);
    EXPECT(rets_table_get_or_load(table, k, kn, load_from_source, &src, -1, out),
           RETS_STATUS_LOAD_FAILED);
    CHECK(src.queries == 3); /* a failure is not cached */

    key_of(kb, 8, &k, &kn);
    EXPECT(rets_table_get_or_load(table, k, kn, load_nothing, NULL, -1, out),
           RETS_STATUS_LOAD_FAILED);
    CHECK(strstr(rets_last_error_message(), "without filling or failing") != NULL);
    EXPECT(rets_table_get_or_load(table, k, kn, NULL, NULL, -1, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_get_or_load(table, k, kn, load_from_source, &src, -1, NULL),
           RETS_STATUS_NULL_ARGUMENT);

    rets_buf_free(out);
    rets_builder_free(kb);
}

/* The stampede, blocking: THREADS threads call get_or_load on one missing key per round. */
typedef struct stampede {
    pthread_barrier_t barrier;
    source src;
    int use_claims; /* 0: rets_table_get_or_load; 1: claim + fill / poll */
    int wrong;
} stampede;

static void *stampede_worker(void *arg) {
    stampede *s = (stampede *)arg;
    rets_builder *kb, *ob;
    rets_buf *out;
    const uint8_t *k, *o;
    size_t kn, on;
    int round;

    OK(rets_builder_new(&kb));
    OK(rets_builder_new(&ob));
    OK(rets_buf_new(&out));
    for (round = 0; round < ROUNDS; round++) {
        int64_t key = 1000 + round + (s->use_claims ? ROUNDS : 0);
        pthread_barrier_wait(&s->barrier);
        key_of(kb, key, &k, &kn);
        if (!s->use_claims) {
            OK(rets_table_get_or_load(table, k, kn, load_from_source, &s->src, -1, out));
        } else {
            rets_claim claim;
            rets_ticket *ticket = NULL;
            bool ready = false;
            OK(rets_table_claim_load(table, k, kn, out, &claim, &ticket));
            if (claim == RETS_CLAIM_LOAD) {
                /* An asynchronous loader would resolve later; this one queries, then fills. */
                pthread_mutex_lock(&s->src.lock);
                s->src.queries++;
                pthread_mutex_unlock(&s->src.lock);
                sleep_us(s->src.delay_us);
                object_of(ob, key, key * 100, &o, &on);
                OK(rets_ticket_fill(ticket, o, on, 0));
                OK(rets_ticket_wait(ticket, -1, out));
            } else if (claim == RETS_CLAIM_WAIT) {
                while (!ready) { /* an event loop's poll */
                    OK(rets_ticket_poll(ticket, out, &ready));
                    if (!ready) sleep_us(50);
                }
            }
            rets_ticket_free(ticket);
        }
        if (value_in(out, key) != key * 100) s->wrong = 1;
    }
    rets_buf_free(out);
    rets_builder_free(kb);
    rets_builder_free(ob);
    return NULL;
}

static void run_stampede(int use_claims) {
    stampede s;
    pthread_t threads[THREADS];
    int i;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.src.lock, NULL);
    s.src.delay_us = 1000;
    s.use_claims = use_claims;
    pthread_barrier_init(&s.barrier, NULL, THREADS);
    for (i = 0; i < THREADS; i++) CHECK(pthread_create(&threads[i], NULL, stampede_worker, &s) == 0);
    for (i = 0; i < THREADS; i++) CHECK(pthread_join(threads[i], NULL) == 0);
    pthread_barrier_destroy(&s.barrier);
    pthread_mutex_destroy(&s.src.lock);
    if (s.src.queries != ROUNDS) {
        fprintf(stderr, "stampede (%s): %d queries for %d rounds, expected exactly one each\n",
                use_claims ? "claims" : "get_or_load", s.src.queries, ROUNDS);
        exit(1);
    }
    CHECK(!s.wrong);
}

int main(void) {
    rets_owner *owner;
    rets_table_options opts;
    memset(&opts, 0, sizeof opts);
    opts.access = RETS_ACCESS_PUBLIC;
    OK(rets_owner_new(&owner));
    OK(rets_table_new(owner, "flight", &opts, &table));

    test_claim_fill_wait();
    test_fail_and_abandon();
    test_get_or_load();
    test_lifetimes_and_refresh(owner);
    run_stampede(0);
    run_stampede(1);

    rets_owner_close(owner);
    rets_table_free(table);
    printf("test_flight: ok (%d threads x %d rounds, one load per round, twice)\n", THREADS,
           ROUNDS);
    return 0;
}
