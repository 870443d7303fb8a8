/* Table operations: one wrapper per C function, all of the same shape (read the arguments,
 * call rets, return through ret_*). */
#include <stdlib.h>

#include "rets_node.h"

#define TABLE_ARGS(n)                                                   \
    napi_value argv[n];                                                 \
    rets_table *t;                                                      \
    env_state *st = state_of(env);                                      \
    (void)st;                                                           \
    if (!get_args(env, info, n, argv) || !arg_table(env, argv[0], &t)) \
    return NULL

/* (table, objectBytes): insert, insertMany, deleteObject */
#define OBJECT_OP(fn_name, c_fn)                                      \
    static napi_value fn_name(napi_env env, napi_callback_info info) { \
        TABLE_ARGS(2);                                                \
        term_arg obj;                                                 \
        if (!arg_bytes(env, argv[1], &obj)) return NULL;              \
        return ret_undefined(env, c_fn(t, obj.data, obj.len));        \
    }
OBJECT_OP(table_insert, rets_table_insert)
OBJECT_OP(table_insert_many, rets_table_insert_many)
OBJECT_OP(table_delete_object, rets_table_delete_object)

/* (table, objectBytes) -> inserted: insertNew, insertNewMany */
#define INSERT_NEW(fn_name, c_fn)                                     \
    static napi_value fn_name(napi_env env, napi_callback_info info) { \
        TABLE_ARGS(2);                                                \
        term_arg obj;                                                 \
        bool inserted = false;                                        \
        if (!arg_bytes(env, argv[1], &obj)) return NULL;              \
        rets_status s = c_fn(t, obj.data, obj.len, &inserted);        \
        return ret_bool(env, s, inserted);                            \
    }
INSERT_NEW(table_insert_new, rets_table_insert_new)
INSERT_NEW(table_insert_new_many, rets_table_insert_new_many)

/* (table, key) -> objects: lookup, take */
#define KEY_TO_BUF(fn_name, c_fn)                                       \
    static napi_value fn_name(napi_env env, napi_callback_info info) {   \
        TABLE_ARGS(2);                                                  \
        term_arg key;                                                   \
        if (!arg_key(env, st, argv[1], &key)) return NULL;              \
        return ret_buf(env, c_fn(t, key.data, key.len, st->out), st->out); \
    }
KEY_TO_BUF(table_lookup, rets_table_lookup)
KEY_TO_BUF(table_take, rets_table_take)

static napi_value table_member(napi_env env, napi_callback_info info) {
    TABLE_ARGS(2);
    term_arg key;
    bool found = false;
    if (!arg_key(env, st, argv[1], &key)) return NULL;
    rets_status s = rets_table_member(t, key.data, key.len, &found);
    return ret_bool(env, s, found);
}

static napi_value table_delete_key(napi_env env, napi_callback_info info) {
    TABLE_ARGS(2);
    term_arg key;
    if (!arg_key(env, st, argv[1], &key)) return NULL;
    return ret_undefined(env, rets_table_delete_key(t, key.data, key.len));
}

static napi_value table_delete_all_objects(napi_env env, napi_callback_info info) {
    TABLE_ARGS(1);
    return ret_undefined(env, rets_table_delete_all_objects(t));
}

/* (table, key, pos, defaultBytes | null) */
static napi_value table_lookup_element(napi_env env, napi_callback_info info) {
    TABLE_ARGS(4);
    term_arg key, dflt;
    size_t pos;
    if (!arg_key(env, st, argv[1], &key) || !arg_size(env, argv[2], &pos) ||
        !arg_opt_bytes(env, argv[3], &dflt))
        return NULL;
    rets_status s = rets_table_lookup_element(t, key.data, key.len, pos, dflt.data, dflt.len,
                                              st->out);
    return ret_buf(env, s, st->out);
}

/* (table, key, incr) -> the new value */
static napi_value table_update_counter(napi_env env, napi_callback_info info) {
    TABLE_ARGS(3);
    term_arg key;
    int64_t incr, value = 0;
    if (!arg_key(env, st, argv[1], &key) || !arg_i64(env, argv[2], &incr)) return NULL;
    rets_status s = rets_table_update_counter(t, key.data, key.len, incr, &value);
    return ret_i64(env, s, value);
}

/* Reads ops[i] = [pos, incr] or [pos, incr, threshold, setValue]. */
static bool arg_counter_op(napi_env env, napi_value v, rets_counter_op *op) {
    uint32_t n = 0;
    napi_value pos, incr, threshold, set_value;
    if (napi_get_array_length(env, v, &n) != napi_ok || (n != 2 && n != 4)) {
        throw_type(env, "rets: a counter update is [pos, incr] or [pos, incr, threshold, setValue]");
        return false;
    }
    napi_get_element(env, v, 0, &pos);
    napi_get_element(env, v, 1, &incr);
    op->has_threshold = n == 4;
    op->threshold = 0;
    op->set_value = 0;
    if (!arg_size(env, pos, &op->pos) || !arg_i64(env, incr, &op->incr)) return false;
    if (n == 4) {
        napi_get_element(env, v, 2, &threshold);
        napi_get_element(env, v, 3, &set_value);
        if (!arg_i64(env, threshold, &op->threshold) || !arg_i64(env, set_value, &op->set_value))
            return false;
    }
    return true;
}

/* An update's lifetime for its default object: null (none given) or nanoseconds (0: the
 * table's). Sets *given and *ns. */
static bool arg_opt_ttl(napi_env env, napi_value v, bool *given, size_t *ns) {
    napi_valuetype type;
    if (napi_typeof(env, v, &type) != napi_ok) return false;
    *given = type != napi_null && type != napi_undefined;
    *ns = 0;
    return !*given || arg_size(env, v, ns);
}

/* (table, key, [[pos, incr, threshold?, setValue?], ...], defaultBytes | null, ttlNs | null)
 * -> values[] */
static napi_value table_update_counters(napi_env env, napi_callback_info info) {
    TABLE_ARGS(5);
    term_arg key, dflt;
    uint32_t n = 0;
    bool has_ttl;
    size_t ttl;
    if (!arg_key(env, st, argv[1], &key) || !arg_opt_bytes(env, argv[3], &dflt) ||
        !arg_opt_ttl(env, argv[4], &has_ttl, &ttl))
        return NULL;
    if (napi_get_array_length(env, argv[2], &n) != napi_ok)
        return throw_type(env, "rets: an array of counter updates was expected");
    rets_counter_op *ops = calloc(n ? n : 1, sizeof *ops);
    int64_t *values = calloc(n ? n : 1, sizeof *values);
    napi_value result = NULL;
    if (ops == NULL || values == NULL) {
        throw_type(env, "rets: out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        napi_value op;
        napi_get_element(env, argv[2], i, &op);
        if (!arg_counter_op(env, op, &ops[i])) goto done;
    }
    /* arg_counter_op may have run JavaScript getters; rebuild the key if it was ours. */
    if (!arg_key(env, st, argv[1], &key)) goto done;
    rets_status s = has_ttl ? rets_table_update_counters_ttl(t, key.data, key.len, ops, n, dflt.data,
                                                             dflt.len, (uint64_t)ttl, values)
                            : rets_table_update_counters(t, key.data, key.len, ops, n, dflt.data,
                                                         dflt.len, values);
    if (s != RETS_STATUS_OK) {
        throw_status(env, s);
        goto done;
    }
    napi_create_array_with_length(env, n, &result);
    for (uint32_t i = 0; i < n; i++) napi_set_element(env, result, i, i64_value(env, values[i]));
done:
    free(ops);
    free(values);
    return result;
}

/* (table, key, [[pos, valueBytes], ...], defaultBytes | null, ttlNs | null) -> updated */
static napi_value table_update_element(napi_env env, napi_callback_info info) {
    TABLE_ARGS(5);
    term_arg key, dflt;
    uint32_t n = 0;
    bool has_ttl;
    size_t ttl;
    if (!arg_opt_bytes(env, argv[3], &dflt) || !arg_opt_ttl(env, argv[4], &has_ttl, &ttl))
        return NULL;
    if (napi_get_array_length(env, argv[2], &n) != napi_ok)
        return throw_type(env, "rets: an array of [pos, value] pairs was expected");
    rets_element *elems = calloc(n ? n : 1, sizeof *elems);
    napi_value result = NULL;
    if (elems == NULL) return throw_type(env, "rets: out of memory");
    for (uint32_t i = 0; i < n; i++) {
        napi_value pair, pos, value;
        uint32_t len = 0;
        term_arg bytes;
        napi_get_element(env, argv[2], i, &pair);
        if (napi_get_array_length(env, pair, &len) != napi_ok || len != 2) {
            throw_type(env, "rets: an element update is [pos, value]");
            goto done;
        }
        napi_get_element(env, pair, 0, &pos);
        napi_get_element(env, pair, 1, &value);
        if (!arg_size(env, pos, &elems[i].pos) || !arg_bytes(env, value, &bytes)) goto done;
        elems[i].value = bytes.data;
        elems[i].value_len = bytes.len;
    }
    bool updated = false;
    if (!arg_key(env, st, argv[1], &key)) goto done;
    rets_status s = has_ttl ? rets_table_update_element_ttl(t, key.data, key.len, elems, n, dflt.data,
                                                            dflt.len, (uint64_t)ttl, &updated)
                            : rets_table_update_element(t, key.data, key.len, elems, n, dflt.data,
                                                        dflt.len, &updated);
    result = ret_bool(env, s, updated);
done:
    free(elems);
    return result;
}

static napi_value set_prop(napi_env env, napi_value obj, const char *name, napi_value v) {
    napi_set_named_property(env, obj, name, v);
    return obj;
}

static napi_value table_info(napi_env env, napi_callback_info info) {
    TABLE_ARGS(1);
    rets_info i;
    rets_status s = rets_table_info(t, &i);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    napi_value o, v;
    napi_create_object(env, &o);
    napi_create_bigint_uint64(env, i.id, &v), set_prop(env, o, "id", v);
    napi_create_uint32(env, (uint32_t)i.table_type, &v), set_prop(env, o, "type", v);
    napi_create_uint32(env, (uint32_t)i.access, &v), set_prop(env, o, "access", v);
    napi_create_double(env, (double)i.keypos, &v), set_prop(env, o, "keypos", v);
    napi_get_boolean(env, i.named, &v), set_prop(env, o, "named", v);
    napi_create_bigint_uint64(env, i.owner, &v), set_prop(env, o, "owner", v);
    napi_create_bigint_uint64(env, i.heir, &v), set_prop(env, o, "heir", v);
    napi_create_double(env, (double)i.size, &v), set_prop(env, o, "size", v);
    napi_create_double(env, (double)i.memory, &v), set_prop(env, o, "memory", v);
    napi_get_boolean(env, i.read_concurrency, &v), set_prop(env, o, "readConcurrency", v);
    napi_get_boolean(env, i.write_concurrency, &v), set_prop(env, o, "writeConcurrency", v);
    return o;
}

/* The number of objects alone: `table.size` without building the whole info object. */
static napi_value table_size(napi_env env, napi_callback_info info) {
    TABLE_ARGS(1);
    rets_info i;
    rets_status s = rets_table_info(t, &i);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    napi_value v;
    napi_create_double(env, (double)i.size, &v);
    return v;
}

static napi_value table_name(napi_env env, napi_callback_info info) {
    TABLE_ARGS(1);
    rets_status s = rets_table_name(t, st->out);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    napi_value v;
    napi_create_string_utf8(env, (const char *)rets_buf_data(st->out), rets_buf_len(st->out), &v);
    return v;
}

static napi_value table_rename(napi_env env, napi_callback_info info) {
    TABLE_ARGS(2);
    char *name = arg_string(env, argv[1]);
    if (name == NULL) return NULL;
    rets_status s = rets_table_rename(t, name);
    free(name);
    return ret_undefined(env, s);
}

static napi_value table_delete(napi_env env, napi_callback_info info) {
    TABLE_ARGS(1);
    return ret_undefined(env, rets_table_delete(t));
}

bool register_table(napi_env env, napi_value exports) {
    static const export_fn fns[] = {
        {"insert", table_insert},
        {"insertMany", table_insert_many},
        {"insertNew", table_insert_new},
        {"insertNewMany", table_insert_new_many},
        {"lookup", table_lookup},
        {"member", table_member},
        {"lookupElement", table_lookup_element},
        {"take", table_take},
        {"deleteKey", table_delete_key},
        {"deleteObject", table_delete_object},
        {"deleteAllObjects", table_delete_all_objects},
        {"updateCounter", table_update_counter},
        {"updateCounters", table_update_counters},
        {"updateElement", table_update_element},
        {"info", table_info},
        {"size", table_size},
        {"name", table_name},
        {"rename", table_rename},
        {"deleteTable", table_delete},
        {NULL, NULL},
    };
    return export_all(env, exports, fns);
}
