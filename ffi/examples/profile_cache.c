/*
 * The lesson's exercise in C, on rets's cache layer: a read-optimised profile cache.
 *
 * - The cache is a table owned by an owner (the "supervised process" of the lesson): a named,
 *   protected set, so the owner writes and any other part of the program reads by name. It is
 *   a cache table (rets_table_new_cache): profiles live 2 seconds (TTL) and the table holds at
 *   most 64 KiB (max_memory), evicting what is read least.
 * - get_profile reads through the cache with rets_table_get_or_load: on a miss, a loader
 *   callback fetches the profile from the data source (simulated: about 200 microseconds per
 *   query, like a round trip to a database) and fills the ticket; rets writes it back. Threads
 *   that miss the same profile at once wait for that one query (single-flight).
 * - put_profile / delete_profile change the data source, then rets_table_invalidate the cached
 *   copy (a load that read the old data meanwhile is not cached).
 * - Lookup latency (p50, p99) is measured from the data source alone, then through the cache
 *   with a cold and a warm cache; then 16 threads ask for one missing profile at once.
 *
 * Build: cc -std=c99 -O2 profile_cache.c $(pkg-config --cflags --libs rets) \
 *           -Wl,-rpath,"$(pkg-config --variable=libdir rets)" -lpthread -o profile_cache
 *        (the rpath lets the program find librets.so outside the linker's default paths)
 * Run:   ./profile_cache [users] [lookups]
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rets.h>

#define STAMPEDE_THREADS 16
#define TTL_NS 2000000000ull /* 2 s */
#define MAX_MEMORY (64u << 10) /* 64 KiB: room for a few hundred profiles */

typedef struct profile {
    int64_t user_id;
    char name[32];
    char plan[16];
} profile;

/* The data source: a query costs about 200 microseconds. `queries` counts them (atomically:
 * loaders run on several threads). */
typedef struct source {
    pthread_mutex_t lock;
    long queries;
    char deleted[1 << 16]; /* users removed by delete_profile */
} source;

/* What a thread needs for rets calls, allocated once and reused: no allocation per lookup. */
typedef struct cache {
    rets_table *table;
    rets_builder *builder;
    rets_buf *buf;
    source *src;
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

/* The slow data source. Returns 0 if the user does not exist. */
static int fetch_from_source(source *src, int64_t user_id, profile *p) {
    struct timespec delay = {0, 200000};
    int exists;
    pthread_mutex_lock(&src->lock);
    src->queries++;
    exists = user_id >= 0 && user_id < (int64_t)sizeof src->deleted && !src->deleted[user_id];
    pthread_mutex_unlock(&src->lock);
    nanosleep(&delay, NULL);
    p->user_id = user_id;
    snprintf(p->name, sizeof p->name, "user-%lld", (long long)user_id);
    snprintf(p->plan, sizeof p->plan, "%s", user_id % 10 == 0 ? "pro" : "free");
    return exists;
}

static void build_key(rets_builder *b, int64_t user_id, const uint8_t **key, size_t *len) {
    TRY(rets_builder_reset(b));
    TRY(rets_builder_int(b, user_id));
    TRY(rets_builder_finish(b, key, len));
}

/* The object {user_id, name, plan}. */
static void build_profile(rets_builder *b, const profile *p, const uint8_t **obj, size_t *len) {
    TRY(rets_builder_reset(b));
    TRY(rets_builder_array(b, 3));
    TRY(rets_builder_int(b, p->user_id));
    TRY(rets_builder_str(b, p->name, strlen(p->name)));
    TRY(rets_builder_str(b, p->plan, strlen(p->plan)));
    TRY(rets_builder_finish(b, obj, len));
}

static void copy_str(rets_reader *r, char *dst, size_t cap) {
    const char *s;
    size_t len;
    TRY(rets_reader_str(r, &s, &len));
    if (len >= cap) len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = 0;
}

/* The loader rets calls on a miss (on the thread that missed first): fetch, then fill the
 * ticket with the profile (rets stores it and hands it to every thread waiting for it), or fail
 * it. `user_data` is the calling thread's cache struct. */
static void load_profile(void *user_data, const uint8_t *key, size_t key_len,
                         rets_ticket *ticket) {
    cache *c = (cache *)user_data;
    rets_reader r;
    int64_t user_id;
    profile p;
    const uint8_t *obj;
    size_t len;
    rets_builder *b;

    TRY(rets_reader_init(&r, key, key_len));
    TRY(rets_reader_int(&r, &user_id));
    if (!fetch_from_source(c->src, user_id, &p)) {
        TRY(rets_ticket_fail(ticket, "no such user"));
        return;
    }
    /* The key bytes may point into c->builder: build the object in a builder of its own. */
    TRY(rets_builder_new(&b));
    build_profile(b, &p, &obj, &len);
    TRY(rets_ticket_fill(ticket, obj, len, 0));
    rets_builder_free(b);
}

/* get_profile: from the cache, or from the data source on a miss (written back). Returns 0 if
 * the user does not exist. */
static int get_profile(cache *c, int64_t user_id, profile *p) {
    const uint8_t *key;
    size_t key_len, arity;
    rets_reader r;
    enum rets_status s;

    build_key(c->builder, user_id, &key, &key_len);
    s = rets_table_get_or_load(c->table, key, key_len, load_profile, c, -1, c->buf);
    if (s == RETS_STATUS_LOAD_FAILED) return 0;
    if (s != RETS_STATUS_OK) die("rets_table_get_or_load", s);
    TRY(rets_reader_init(&r, rets_buf_data(c->buf), rets_buf_len(c->buf)));
    TRY(rets_reader_array(&r, &arity));
    TRY(rets_reader_int(&r, &p->user_id));
    copy_str(&r, p->name, sizeof p->name);
    copy_str(&r, p->plan, sizeof p->plan);
    return 1;
}

/* delete_profile: remove from the data source, then invalidate the cached copy. */
static void delete_profile(cache *c, int64_t user_id) {
    const uint8_t *key;
    size_t len;
    pthread_mutex_lock(&c->src->lock);
    c->src->deleted[user_id] = 1;
    pthread_mutex_unlock(&c->src->lock);
    build_key(c->builder, user_id, &key, &len);
    TRY(rets_table_invalidate(c->table, key, len));
}

static void cache_init(cache *c, rets_table *table, source *src) {
    c->table = table;
    c->src = src;
    TRY(rets_builder_new(&c->builder));
    TRY(rets_buf_new(&c->buf));
}

static void cache_free(cache *c) {
    rets_builder_free(c->builder);
    rets_buf_free(c->buf);
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

/* The stampede: threads released together ask for one profile nobody has read. */
typedef struct stampede {
    rets_table *table;
    source *src;
    pthread_barrier_t barrier;
    int64_t user_id;
} stampede;

static void *stampede_thread(void *arg) {
    stampede *st = (stampede *)arg;
    cache c;
    profile p;
    cache_init(&c, st->table, st->src);
    pthread_barrier_wait(&st->barrier);
    if (!get_profile(&c, st->user_id, &p) || p.user_id != st->user_id) {
        fprintf(stderr, "stampede: wrong profile\n");
        exit(1);
    }
    cache_free(&c);
    return NULL;
}

int main(int argc, char **argv) {
    int users = argc > 1 ? atoi(argv[1]) : 500;
    int lookups = argc > 2 ? atoi(argv[2]) : 5000;
    rets_owner *owner;
    rets_table *table;
    rets_table_options opts;
    rets_cache_options cache_opts;
    rets_cache_stats stats;
    static source src;
    cache c;
    profile p;
    int64_t *ns;
    long before;
    int i;

    if (users <= 0 || users >= (int)sizeof src.deleted || lookups <= 0) {
        fprintf(stderr, "usage: %s [users: 1..65535] [lookups > 0]\n", argv[0]);
        return 2;
    }
    ns = (int64_t *)malloc(sizeof *ns * (size_t)(lookups > users ? lookups : users));
    if (ns == NULL) return 1;
    pthread_mutex_init(&src.lock, NULL);
    printf("rets %s: profile cache, %d users, %d lookups\n", rets_version(), users, lookups);

    /* The owner and its table: a named, protected set keyed by user id. */
    TRY(rets_owner_new(&owner));
    memset(&opts, 0, sizeof opts);
    opts.table_type = RETS_TABLE_TYPE_SET;
    opts.access = RETS_ACCESS_PROTECTED;
    opts.named = true;
    opts.read_concurrency = true;
    memset(&cache_opts, 0, sizeof cache_opts);
    cache_opts.ttl_ns = TTL_NS;
    cache_opts.max_memory = MAX_MEMORY;
    TRY(rets_table_new_cache(owner, "profiles", &opts, &cache_opts, &table));
    cache_init(&c, table, &src);

    printf("lookup latency:\n");
    /* Before caching: every lookup queries the data source. */
    for (i = 0; i < users; i++) {
        int64_t t0 = now_ns();
        fetch_from_source(&src, i, &p);
        ns[i] = now_ns() - t0;
    }
    report("data source only (no cache)", ns, users);

    /* Through the cache, cold: every first lookup misses and writes back. */
    before = src.queries;
    for (i = 0; i < users; i++) {
        int64_t t0 = now_ns();
        get_profile(&c, i, &p);
        ns[i] = now_ns() - t0;
    }
    report("get_profile, cold cache (misses)", ns, users);
    printf("  cold: %ld queries for %d lookups\n", src.queries - before, users);

    /* Warm: lookups spread over the users hit the cache. */
    srand(42);
    before = src.queries;
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
    printf("  warm: %ld queries for %d lookups\n", src.queries - before, lookups);

    /* delete_profile: the next get queries the source, which no longer has the user. */
    delete_profile(&c, 7);
    before = src.queries;
    i = get_profile(&c, 7, &p);
    printf("after delete_profile(7): get_profile(7) -> %s (%ld query)\n",
           i ? "found" : "no such user", src.queries - before);

    /* The stampede: STAMPEDE_THREADS threads miss one profile at once; one query serves all. */
    {
        stampede st;
        pthread_t threads[STAMPEDE_THREADS];
        st.table = table;
        st.src = &src;
        st.user_id = users; /* never read */
        pthread_barrier_init(&st.barrier, NULL, STAMPEDE_THREADS);
        before = src.queries;
        for (i = 0; i < STAMPEDE_THREADS; i++)
            if (pthread_create(&threads[i], NULL, stampede_thread, &st) != 0) return 1;
        for (i = 0; i < STAMPEDE_THREADS; i++) pthread_join(threads[i], NULL);
        pthread_barrier_destroy(&st.barrier);
        printf("%d threads ask at once for one missing profile: %ld query (single-flight)\n",
               STAMPEDE_THREADS, src.queries - before);
    }

    /* What the cache counted: reads, loads (the queries of get_or_load), and what it dropped. */
    TRY(rets_table_cache_stats(table, &stats));
    printf("cache stats: %llu hits, %llu misses, %llu loads, %llu failed loads, %llu evictions "
           "(max_memory %u KiB), %llu expirations (TTL %llu s)\n",
           (unsigned long long)stats.hits, (unsigned long long)stats.misses,
           (unsigned long long)stats.loads, (unsigned long long)stats.load_failures,
           (unsigned long long)stats.evictions, MAX_MEMORY >> 10,
           (unsigned long long)stats.expirations, (unsigned long long)(TTL_NS / 1000000000ull));

    /* Closing the owner deletes its table (it has no heir). */
    cache_free(&c);
    rets_table_free(table);
    rets_owner_close(owner);
    {
        rets_table *gone = NULL;
        enum rets_status s = rets_whereis("profiles", &gone);
        printf("after closing the owner: whereis(\"profiles\") -> %s\n", rets_status_name(s));
    }
    pthread_mutex_destroy(&src.lock);
    free(ns);
    return 0;
}
