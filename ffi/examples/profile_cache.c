/*
 * The lesson's exercise in C: a read-optimised profile cache.
 *
 * - The cache is a table owned by an owner (the "supervised process" of the lesson): a named,
 *   protected set, so the owner writes and any other part of the program reads by name.
 * - get_profile / put_profile / delete_profile.
 * - A miss fetches from the data source (simulated: about 200 microseconds per query, like a
 *   round trip to a database) and writes the profile back.
 * - TTL by stored insertion time: objects are {user_id, name, plan, inserted_at_ms}; an entry
 *   older than the TTL counts as a miss and is refreshed.
 * - Lookup latency (p50, p99) is measured from the data source alone, then through the cache
 *   with a cold and a warm cache.
 *
 * Build: cc -std=c99 -O2 profile_cache.c $(pkg-config --cflags --libs rets) \
 *          -Wl,-rpath,"$(pkg-config --variable=libdir rets)" -o profile_cache
 *        (the rpath lets the program find librets.so outside the linker's default paths)
 * Run:   ./profile_cache [users] [lookups]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rets.h>

#define TTL_MS 1000

typedef struct profile {
    int64_t user_id;
    char name[32];
    char plan[16];
} profile;

/* What every rets call needs, allocated once and reused: no allocation per lookup. */
typedef struct cache {
    rets_owner *owner;
    rets_table *table;
    rets_builder *builder;
    rets_buf *buf;
    long hits, misses, expired;
} cache;

static void die(const char *what, enum rets_status s) {
    fprintf(stderr, "%s failed: %s: %s\n", what, rets_status_name(s), rets_last_error_message());
    exit(1);
}

#define TRY(call)                                    \
    do {                                             \
        enum rets_status s_ = (call);                \
        if (s_ != RETS_STATUS_OK) die(#call, s_);    \
    } while (0)

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ms(void) { return now_ns() / 1000000; }

/* The slow data source: a query costs about 200 microseconds. */
static void fetch_from_source(int64_t user_id, profile *p) {
    struct timespec delay = {0, 200000};
    nanosleep(&delay, NULL);
    p->user_id = user_id;
    snprintf(p->name, sizeof p->name, "user-%lld", (long long)user_id);
    snprintf(p->plan, sizeof p->plan, "%s", user_id % 10 == 0 ? "pro" : "free");
}

static void build_key(cache *c, int64_t user_id, const uint8_t **key, size_t *len) {
    TRY(rets_builder_reset(c->builder));
    TRY(rets_builder_int(c->builder, user_id));
    TRY(rets_builder_finish(c->builder, key, len));
}

/* put_profile: {user_id, name, plan, inserted_at_ms}. */
static void put_profile(cache *c, const profile *p) {
    const uint8_t *object;
    size_t len;
    TRY(rets_builder_reset(c->builder));
    TRY(rets_builder_array(c->builder, 4));
    TRY(rets_builder_int(c->builder, p->user_id));
    TRY(rets_builder_str(c->builder, p->name, strlen(p->name)));
    TRY(rets_builder_str(c->builder, p->plan, strlen(p->plan)));
    TRY(rets_builder_int(c->builder, now_ms()));
    TRY(rets_builder_finish(c->builder, &object, &len));
    TRY(rets_table_insert(c->table, object, len));
}

static void delete_profile(cache *c, int64_t user_id) {
    const uint8_t *key;
    size_t len;
    build_key(c, user_id, &key, &len);
    TRY(rets_table_delete_key(c->table, key, len));
}

static void copy_str(rets_reader *r, char *dst, size_t cap) {
    const char *s;
    size_t len;
    TRY(rets_reader_str(r, &s, &len));
    if (len >= cap) len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = 0;
}

/* The cached profile if present and fresh (returns 1), else 0. */
static int cached_profile(cache *c, int64_t user_id, profile *p) {
    const uint8_t *key;
    size_t key_len, count, arity;
    int64_t inserted_at;
    rets_reader r;
    build_key(c, user_id, &key, &key_len);
    TRY(rets_table_lookup(c->table, key, key_len, c->buf));
    TRY(rets_reader_init(&r, rets_buf_data(c->buf), rets_buf_len(c->buf)));
    TRY(rets_reader_array(&r, &count));
    if (count == 0) return 0;
    TRY(rets_reader_array(&r, &arity));
    TRY(rets_reader_int(&r, &p->user_id));
    copy_str(&r, p->name, sizeof p->name);
    copy_str(&r, p->plan, sizeof p->plan);
    TRY(rets_reader_int(&r, &inserted_at));
    if (now_ms() - inserted_at >= TTL_MS) {
        c->expired++;
        return 0;
    }
    return 1;
}

/* get_profile: the cache, or the data source on a miss (written back). */
static void get_profile(cache *c, int64_t user_id, profile *p) {
    if (cached_profile(c, user_id, p)) {
        c->hits++;
        return;
    }
    c->misses++;
    fetch_from_source(user_id, p);
    put_profile(c, p);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *label, int64_t *ns, int n) {
    qsort(ns, (size_t)n, sizeof *ns, cmp_i64);
    printf("  %-34s p50 %9.2f us   p99 %9.2f us\n", label, ns[n / 2] / 1000.0,
           ns[(int)(n * 0.99)] / 1000.0);
}

int main(int argc, char **argv) {
    int users = argc > 1 ? atoi(argv[1]) : 500;
    int lookups = argc > 2 ? atoi(argv[2]) : 5000;
    rets_table_options opts;
    cache c;
    profile p;
    int64_t *ns;
    int i;

    if (users <= 0 || lookups <= 0) {
        fprintf(stderr, "usage: %s [users > 0] [lookups > 0]\n", argv[0]);
        return 2;
    }
    ns = (int64_t *)malloc(sizeof *ns * (size_t)(lookups > users ? lookups : users));
    if (ns == NULL) return 1;
    memset(&c, 0, sizeof c);
    printf("rets %s: profile cache, %d users, %d lookups, TTL %d ms\n", rets_version(), users,
           lookups, TTL_MS);

    /* The owner and its table: a named, protected set keyed by user id. */
    TRY(rets_owner_new(&c.owner));
    memset(&opts, 0, sizeof opts);
    opts.table_type = RETS_TABLE_TYPE_SET;
    opts.access = RETS_ACCESS_PROTECTED;
    opts.named = true;
    opts.read_concurrency = true;
    TRY(rets_table_new(c.owner, "profiles", &opts, &c.table));
    TRY(rets_builder_new(&c.builder));
    TRY(rets_buf_new(&c.buf));

    printf("lookup latency:\n");
    /* Before caching: every lookup queries the data source. */
    for (i = 0; i < users; i++) {
        int64_t t0 = now_ns();
        fetch_from_source(i, &p);
        ns[i] = now_ns() - t0;
    }
    report("data source only (no cache)", ns, users);

    /* Through the cache, cold: every first lookup misses and writes back. */
    for (i = 0; i < users; i++) {
        int64_t t0 = now_ns();
        get_profile(&c, i, &p);
        ns[i] = now_ns() - t0;
    }
    report("get_profile, cold cache (misses)", ns, users);
    c.hits = c.misses = 0;

    /* Warm: lookups spread over the users hit the cache. */
    srand(42);
    for (i = 0; i < lookups; i++) {
        int64_t id = rand() % users, t0 = now_ns();
        get_profile(&c, id, &p);
        ns[i] = now_ns() - t0;
        if (p.user_id != id) {
            fprintf(stderr, "wrong profile %lld for %lld\n", (long long)p.user_id,
                    (long long)id);
            return 1;
        }
    }
    report("get_profile, warm cache (hits)", ns, lookups);
    printf("warm phase: %ld hits, %ld misses\n", c.hits, c.misses);

    /* delete_profile: the next get is a miss again. */
    delete_profile(&c, 7);
    c.hits = c.misses = 0;
    get_profile(&c, 7, &p);
    printf("after delete_profile(7): get_profile(7) was a %s\n", c.misses ? "miss" : "hit");

    /* TTL: once entries are older than the TTL they count as misses and are refreshed. */
    {
        struct timespec wait = {TTL_MS / 1000, (TTL_MS % 1000) * 1000000L + 50000000L};
        nanosleep(&wait, NULL);
        c.hits = c.misses = c.expired = 0;
        for (i = 0; i < 10; i++) get_profile(&c, i, &p);
        printf("after the TTL: 10 lookups -> %ld expired misses, %ld hits\n", c.expired, c.hits);
        for (i = 0; i < 10; i++) get_profile(&c, i, &p);
        printf("after refreshing: 10 lookups -> %ld hits\n", c.hits);
    }

    /* Closing the owner deletes its table (it has no heir). */
    rets_table_free(c.table);
    rets_owner_close(c.owner);
    {
        rets_table *gone = NULL;
        enum rets_status s = rets_whereis("profiles", &gone);
        printf("after closing the owner: whereis(\"profiles\") -> %s\n", rets_status_name(s));
    }
    rets_buf_free(c.buf);
    rets_builder_free(c.builder);
    free(ns);
    return 0;
}
