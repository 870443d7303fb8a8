/*
 * Threads sharing a named table: each thread finds the table by name (its own handle, acting
 * for nobody on a public table), bumps shared counters with update_counter, inserts its own
 * keys and reads everyone's, while another thread traverses. At the end every increment is
 * counted exactly once and every object is whole. Then the owner closes while readers run:
 * they see RETS_STATUS_NO_TABLE, never a crash.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define THREADS 4
#define ROUNDS 2000
#define COUNTERS 8

typedef struct worker {
    int id;
    int64_t increments[COUNTERS];
} worker;


static void build_int_key(rets_builder *b, int64_t k, const uint8_t **p, size_t *n) {
    OK(rets_builder_reset(b));
    OK(rets_builder_int(b, k));
    OK(rets_builder_finish(b, p, n));
}

static void *work(void *arg) {
    worker *w = (worker *)arg;
    rets_table *t = NULL;
    rets_builder *kb = NULL, *ob = NULL;
    rets_buf *out = NULL;
    const uint8_t *k, *o;
    size_t kn, on;
    int i;

    OK(rets_whereis("shared", &t));
    OK(rets_builder_new(&kb));
    OK(rets_builder_new(&ob));
    OK(rets_buf_new(&out));
    for (i = 0; i < ROUNDS; i++) {
        int c = (i * 7 + w->id) % COUNTERS;
        int64_t value = 0;
        int64_t own = 1000 + w->id * ROUNDS + i;
        rets_reader r;
        size_t count = 0, arity = 0;
        int64_t got_key = 0, got_val = 0;

        build_int_key(kb, c, &k, &kn);
        OK(rets_table_update_counter(t, k, kn, 1, &value));
        CHECK(value >= 1);
        w->increments[c]++;

        /* An object of this thread: {own, own * 2}. */
        OK(rets_builder_reset(ob));
        OK(rets_builder_array(ob, 2));
        OK(rets_builder_int(ob, own));
        OK(rets_builder_int(ob, own * 2));
        OK(rets_builder_finish(ob, &o, &on));
        OK(rets_table_insert(t, o, on));

        /* Read an object of another thread (maybe not written yet): whole or absent. */
        build_int_key(kb, 1000 + ((w->id + 1) % THREADS) * ROUNDS + i / 2, &k, &kn);
        OK(rets_table_lookup(t, k, kn, out));
        OK(rets_reader_init(&r, rets_buf_data(out), rets_buf_len(out)));
        OK(rets_reader_array(&r, &count));
        CHECK(count <= 1);
        if (count == 1) {
            OK(rets_reader_array(&r, &arity));
            CHECK(arity == 2);
            OK(rets_reader_int(&r, &got_key));
            OK(rets_reader_int(&r, &got_val));
            CHECK(got_val == got_key * 2);
        }
    }
    rets_buf_free(out);
    rets_builder_free(kb);
    rets_builder_free(ob);
    rets_table_free(t);
    return NULL;
}

/* Traverses the table repeatedly while the workers write: never fails, never a key twice in one
 * pass (keys are integers below 1000 + THREADS * ROUNDS). */
static void *traverse(void *arg) {
    rets_table *t = NULL;
    rets_buf *key = NULL;
    static unsigned char seen[1000 + THREADS * ROUNDS];
    int pass;
    (void)arg;
    OK(rets_whereis("shared", &t));
    OK(rets_buf_new(&key));
    for (pass = 0; pass < 5; pass++) {
        enum rets_status s;
        memset(seen, 0, sizeof seen);
        for (s = rets_table_first(t, key); s == RETS_STATUS_OK;
             s = rets_table_next(t, rets_buf_data(key), rets_buf_len(key), key)) {
            rets_reader r;
            int64_t k = -1;
            OK(rets_reader_init(&r, rets_buf_data(key), rets_buf_len(key)));
            OK(rets_reader_int(&r, &k));
            CHECK(k >= 0 && k < (int64_t)sizeof seen);
            CHECK(!seen[k]);
            seen[k] = 1;
        }
        EXPECT(s, RETS_STATUS_END_OF_TABLE);
    }
    rets_buf_free(key);
    rets_table_free(t);
    return NULL;
}

/* Reads until the table is deleted under it. */
static void *read_until_deleted(void *arg) {
    rets_table *t = (rets_table *)arg;
    rets_builder *kb = NULL;
    rets_buf *out = NULL;
    const uint8_t *k;
    size_t kn;
    enum rets_status s;
    OK(rets_builder_new(&kb));
    OK(rets_buf_new(&out));
    build_int_key(kb, 0, &k, &kn);
    do {
        s = rets_table_lookup(t, k, kn, out);
    } while (s == RETS_STATUS_OK);
    EXPECT(s, RETS_STATUS_NO_TABLE);
    rets_buf_free(out);
    rets_builder_free(kb);
    return NULL;
}

/* A waiter blocked in rets_owner_recv_transfer (with a timeout) before the transfer happens is
 * woken by it: the call must wait, not only take what is already queued. */
typedef struct waiter {
    rets_owner *owner;
    enum rets_status status;
    rets_table *got;
    enum rets_transfer_reason reason;
} waiter;

static void *wait_for_transfer(void *arg) {
    waiter *w = (waiter *)arg;
    w->status = rets_owner_recv_transfer(w->owner, 30000, &w->got, NULL, &w->reason, NULL);
    return NULL;
}

static void blocked_waiter_is_woken_by_give_away(void) {
    rets_owner *alice = NULL, *bob = NULL;
    rets_table *t = NULL;
    rets_table_options opts;
    rets_info info;
    pthread_t thread;
    waiter w;
    struct timespec pause = {0, 200 * 1000 * 1000};

    OK(rets_owner_new(&alice));
    OK(rets_owner_new(&bob));
    memset(&opts, 0, sizeof opts);
    OK(rets_table_new(alice, "gift", &opts, &t));
    memset(&w, 0, sizeof w);
    w.owner = bob;
    CHECK(pthread_create(&thread, NULL, wait_for_transfer, &w) == 0);
    nanosleep(&pause, NULL); /* the waiter is now (almost surely) blocked: nothing is queued */
    OK(rets_table_give_away(t, bob, NULL, 0));
    CHECK(pthread_join(thread, NULL) == 0);
    EXPECT(w.status, RETS_STATUS_OK);
    CHECK(w.reason == RETS_TRANSFER_REASON_GIVEN_AWAY);
    OK(rets_table_info(w.got, &info)); /* the handle received acts for bob, the new owner */
    rets_table_free(w.got);
    rets_table_free(t);
    rets_owner_close(alice);
    rets_owner_close(bob);
}

int main(void) {
    rets_owner *owner = NULL;
    rets_table *t = NULL, *reader_handle = NULL;
    rets_table_options opts;
    rets_builder *b = NULL;
    rets_buf *out = NULL;
    pthread_t threads[THREADS + 1], reader;
    worker workers[THREADS];
    const uint8_t *o;
    size_t on;
    int i, c;

    OK(rets_owner_new(&owner));
    memset(&opts, 0, sizeof opts);
    opts.access = RETS_ACCESS_PUBLIC;
    opts.named = true;
    OK(rets_table_new(owner, "shared", &opts, &t));
    OK(rets_builder_new(&b));
    OK(rets_buf_new(&out));
    for (c = 0; c < COUNTERS; c++) {
        OK(rets_builder_reset(b));
        OK(rets_builder_array(b, 2));
        OK(rets_builder_int(b, c));
        OK(rets_builder_int(b, 0));
        OK(rets_builder_finish(b, &o, &on));
        OK(rets_table_insert(t, o, on));
    }
    memset(workers, 0, sizeof workers);
    for (i = 0; i < THREADS; i++) {
        workers[i].id = i;
        CHECK(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    CHECK(pthread_create(&threads[THREADS], NULL, traverse, NULL) == 0);
    for (i = 0; i <= THREADS; i++) CHECK(pthread_join(threads[i], NULL) == 0);

    /* Every increment counted once. */
    for (c = 0; c < COUNTERS; c++) {
        int64_t expected = 0, got = -1;
        const uint8_t *k;
        size_t kn;
        for (i = 0; i < THREADS; i++) expected += workers[i].increments[c];
        OK(rets_builder_reset(b));
        OK(rets_builder_int(b, c));
        OK(rets_builder_finish(b, &k, &kn));
        OK(rets_table_update_counter(t, k, kn, 0, &got));
        CHECK(got == expected);
    }
    {
        rets_info info;
        OK(rets_table_info(t, &info));
        CHECK(info.size == COUNTERS + THREADS * ROUNDS);
    }

    /* Closing the owner while a reader runs: the reader gets NO_TABLE, not a crash. */
    OK(rets_whereis("shared", &reader_handle));
    CHECK(pthread_create(&reader, NULL, read_until_deleted, reader_handle) == 0);
    rets_owner_close(owner);
    CHECK(pthread_join(reader, NULL) == 0);
    EXPECT(rets_table_info(t, NULL), RETS_STATUS_NULL_ARGUMENT);
    {
        rets_info info;
        EXPECT(rets_table_info(t, &info), RETS_STATUS_NO_TABLE);
    }
    rets_table_free(reader_handle);
    rets_table_free(t);
    rets_buf_free(out);
    rets_builder_free(b);
    blocked_waiter_is_woken_by_give_away();
    printf("test_threads: all checks passed\n");
    return 0;
}
