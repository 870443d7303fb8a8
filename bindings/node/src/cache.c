/* The cache layer (lifetimes, bounds, statistics, a manual clock for tests) and table files
 * (tab2file, tabfile_info; file2tab is with the owners). Times cross from JavaScript as
 * nanoseconds (lib/cache.js converts milliseconds). */
#include <stdlib.h>

#include "rets_node.h"

#define CLOCK_MAGIC 0x72657473636c6bULL
typedef struct clock_box {
    uint64_t magic;
    rets_manual_clock *clock;
} clock_box;

static void finalize_clock(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    clock_box *box = data;
    rets_manual_clock_free(box->clock); /* tables using the clock keep their own reference */
    box->magic = 0;
    free(box);
}

static bool arg_opt_clock(napi_env env, napi_value v, const rets_manual_clock **out) {
    napi_valuetype t;
    void *data = NULL;
    napi_typeof(env, v, &t);
    if (t == napi_null || t == napi_undefined) {
        *out = NULL;
        return true;
    }
    if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL ||
        ((clock_box *)data)->magic != CLOCK_MAGIC) {
        throw_type(env, "rets: a ManualClock was expected");
        return false;
    }
    *out = ((clock_box *)data)->clock;
    return true;
}

static napi_value manual_clock_new(napi_env env, napi_callback_info info) {
    (void)info;
    rets_manual_clock *clock = NULL;
    rets_status s = rets_manual_clock_new(&clock);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    clock_box *box = malloc(sizeof *box);
    if (box == NULL) {
        rets_manual_clock_free(clock);
        return throw_type(env, "rets: out of memory");
    }
    box->magic = CLOCK_MAGIC;
    box->clock = clock;
    napi_value v;
    if (napi_create_external(env, box, finalize_clock, NULL, &v) != napi_ok) {
        finalize_clock(env, box, NULL);
        return NULL;
    }
    return v;
}

static napi_value manual_clock_advance(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    const rets_manual_clock *clock;
    size_t nanos;
    if (!get_args(env, info, 2, argv) || !arg_opt_clock(env, argv[0], &clock) ||
        !arg_size(env, argv[1], &nanos))
        return NULL;
    if (clock == NULL) return throw_type(env, "rets: a ManualClock was expected");
    return ret_undefined(env, rets_manual_clock_advance(clock, (uint64_t)nanos));
}

/* (the TABLE_ARGC arguments of tableNew, ttlNs, timeToIdleNs, maxSize, maxMemory, onFull,
 *  recordStats, clock | null) */
static napi_value table_new_cache(napi_env env, napi_callback_info info) {
    napi_value argv[TABLE_ARGC + 7];
    rets_owner *o;
    char *name;
    rets_table_options opts;
    size_t ttl, tti, max_size, max_memory, on_full;
    bool record_stats;
    const rets_manual_clock *clock;
    napi_value *c = argv + TABLE_ARGC;
    if (!get_args(env, info, TABLE_ARGC + 7, argv) || !arg_size(env, c[0], &ttl) ||
        !arg_size(env, c[1], &tti) || !arg_size(env, c[2], &max_size) ||
        !arg_size(env, c[3], &max_memory) || !arg_size(env, c[4], &on_full) ||
        !arg_bool(env, c[5], &record_stats) || !arg_opt_clock(env, c[6], &clock) ||
        !arg_table_options(env, argv, &o, &name, &opts))
        return NULL;
    rets_cache_options cache = {
        .ttl_ns = (uint64_t)ttl,
        .time_to_idle_ns = (uint64_t)tti,
        .max_size = max_size,
        .max_memory = max_memory,
        .on_full = (uint32_t)on_full,
        .record_stats = record_stats,
        .clock = clock,
    };
    rets_table *t = NULL;
    rets_status s = rets_table_new_cache(o, name, &opts, &cache, &t);
    free(name);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    return wrap_table(env, t);
}

#define TTL_ARGS(n)                                                                 \
    napi_value argv[n];                                                             \
    rets_table *t;                                                                  \
    term_arg obj;                                                                   \
    size_t ttl;                                                                     \
    if (!get_args(env, info, n, argv) || !arg_table(env, argv[0], &t) ||             \
        !arg_bytes(env, argv[1], &obj) || !arg_size(env, argv[2], &ttl))            \
    return NULL

/* (table, objectBytes, ttlNs) */
static napi_value table_insert_ttl(napi_env env, napi_callback_info info) {
    TTL_ARGS(3);
    return ret_undefined(env, rets_table_insert_ttl(t, obj.data, obj.len, (uint64_t)ttl));
}

static napi_value table_insert_many_ttl(napi_env env, napi_callback_info info) {
    TTL_ARGS(3);
    return ret_undefined(env, rets_table_insert_many_ttl(t, obj.data, obj.len, (uint64_t)ttl));
}

static napi_value table_insert_new_ttl(napi_env env, napi_callback_info info) {
    TTL_ARGS(3);
    bool inserted = false;
    rets_status s = rets_table_insert_new_ttl(t, obj.data, obj.len, (uint64_t)ttl, &inserted);
    return ret_bool(env, s, inserted);
}

static napi_value table_insert_new_many_ttl(napi_env env, napi_callback_info info) {
    TTL_ARGS(3);
    bool inserted = false;
    rets_status s = rets_table_insert_new_many_ttl(t, obj.data, obj.len, (uint64_t)ttl, &inserted);
    return ret_bool(env, s, inserted);
}

static napi_value table_invalidate(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    rets_table *t;
    term_arg key;
    if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t) ||
        !arg_key(env, state_of(env), argv[1], &key))
        return NULL;
    return ret_undefined(env, rets_table_invalidate(t, key.data, key.len));
}

static napi_value table_purge_expired(napi_env env, napi_callback_info info) {
    napi_value argv[1], v;
    rets_table *t;
    size_t removed = 0;
    if (!get_args(env, info, 1, argv) || !arg_table(env, argv[0], &t)) return NULL;
    rets_status s = rets_table_purge_expired(t, &removed);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    napi_create_double(env, (double)removed, &v);
    return v;
}

static void set_u64(napi_env env, napi_value obj, const char *name, uint64_t value) {
    napi_value v;
    napi_create_double(env, (double)value, &v);
    napi_set_named_property(env, obj, name, v);
}

static napi_value table_cache_stats(napi_env env, napi_callback_info info) {
    napi_value argv[1], o;
    rets_table *t;
    rets_cache_stats cs;
    if (!get_args(env, info, 1, argv) || !arg_table(env, argv[0], &t)) return NULL;
    rets_status s = rets_table_cache_stats(t, &cs);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    napi_create_object(env, &o);
    set_u64(env, o, "hits", cs.hits);
    set_u64(env, o, "misses", cs.misses);
    set_u64(env, o, "loads", cs.loads);
    set_u64(env, o, "loadFailures", cs.load_failures);
    set_u64(env, o, "loadNs", cs.load_ns);
    set_u64(env, o, "evictions", cs.evictions);
    set_u64(env, o, "expirations", cs.expirations);
    set_u64(env, o, "rejectedWrites", cs.rejected_writes);
    return o;
}

static napi_value table_cache_stats_reset(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    rets_table *t;
    if (!get_args(env, info, 1, argv) || !arg_table(env, argv[0], &t)) return NULL;
    return ret_undefined(env, rets_table_cache_stats_reset(t));
}

/* (table, nanos, ok) */
static napi_value table_record_load(napi_env env, napi_callback_info info) {
    napi_value argv[3];
    rets_table *t;
    size_t nanos;
    bool ok;
    if (!get_args(env, info, 3, argv) || !arg_table(env, argv[0], &t) ||
        !arg_size(env, argv[1], &nanos) || !arg_bool(env, argv[2], &ok))
        return NULL;
    return ret_undefined(env, rets_table_record_load(t, (uint64_t)nanos, ok));
}

static napi_value table_tab2file(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    rets_table *t;
    if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t)) return NULL;
    char *path = arg_string(env, argv[1]);
    if (path == NULL) return NULL;
    rets_status s = rets_table_tab2file(t, path);
    free(path);
    return ret_undefined(env, s);
}

/* (path) -> {version, type, access, keypos, named, readConcurrency, writeConcurrency,
 *            objectCount, name} */
static napi_value tabfile_info(napi_env env, napi_callback_info info) {
    napi_value argv[1], o, v;
    rets_fileinfo fi;
    env_state *st = state_of(env);
    if (!get_args(env, info, 1, argv)) return NULL;
    char *path = arg_string(env, argv[0]);
    if (path == NULL) return NULL;
    rets_status s = rets_tabfile_info(path, &fi, st->out);
    free(path);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    napi_create_object(env, &o);
    set_u64(env, o, "version", fi.version);
    set_u64(env, o, "type", (uint64_t)fi.table_type);
    set_u64(env, o, "access", (uint64_t)fi.access);
    set_u64(env, o, "keypos", fi.keypos);
    napi_get_boolean(env, fi.named, &v), napi_set_named_property(env, o, "named", v);
    napi_get_boolean(env, fi.read_concurrency, &v);
    napi_set_named_property(env, o, "readConcurrency", v);
    napi_get_boolean(env, fi.write_concurrency, &v);
    napi_set_named_property(env, o, "writeConcurrency", v);
    set_u64(env, o, "objectCount", fi.object_count);
    napi_create_string_utf8(env, (const char *)rets_buf_data(st->out), rets_buf_len(st->out), &v);
    napi_set_named_property(env, o, "name", v);
    return o;
}

bool register_cache(napi_env env, napi_value exports) {
    static const export_fn fns[] = {
        {"manualClockNew", manual_clock_new},
        {"manualClockAdvance", manual_clock_advance},
        {"tableNewCache", table_new_cache},
        {"insertTtl", table_insert_ttl},
        {"insertManyTtl", table_insert_many_ttl},
        {"insertNewTtl", table_insert_new_ttl},
        {"insertNewManyTtl", table_insert_new_many_ttl},
        {"invalidate", table_invalidate},
        {"purgeExpired", table_purge_expired},
        {"cacheStats", table_cache_stats},
        {"cacheStatsReset", table_cache_stats_reset},
        {"recordLoad", table_record_load},
        {"tab2file", table_tab2file},
        {"tabfileInfo", tabfile_info},
        {NULL, NULL},
    };
    return export_all(env, exports, fns);
}
