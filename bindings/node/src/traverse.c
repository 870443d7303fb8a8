/* Traversal: first/next/last/prev and their lookup forms, chunks of keys or objects (which
 * iteration uses), tab2list and foldl/foldr with a JavaScript callback. */
#include "rets_node.h"

/* (table) -> key bytes, or null at the end: first, last */
#define END_KEY(fn_name, c_fn)                                           \
    static napi_value fn_name(napi_env env, napi_callback_info info) {    \
        napi_value argv[1];                                              \
        rets_table *t;                                                   \
        env_state *st = state_of(env);                                   \
        if (!get_args(env, info, 1, argv) || !arg_table(env, argv[0], &t)) \
            return NULL;                                                 \
        return ret_end_or_buf(env, c_fn(t, st->key_out), st->key_out);   \
    }
END_KEY(table_first, rets_table_first)
END_KEY(table_last, rets_table_last)

/* (table, key) -> key bytes, or null at the end: next, prev */
#define STEP_KEY(fn_name, c_fn)                                                  \
    static napi_value fn_name(napi_env env, napi_callback_info info) {            \
        napi_value argv[2];                                                      \
        rets_table *t;                                                           \
        term_arg key;                                                            \
        env_state *st = state_of(env);                                           \
        if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t) ||      \
            !arg_key(env, st, argv[1], &key))                                    \
            return NULL;                                                         \
        return ret_end_or_buf(env, c_fn(t, key.data, key.len, st->key_out), st->key_out); \
    }
STEP_KEY(table_next, rets_table_next)
STEP_KEY(table_prev, rets_table_prev)

/* [key bytes, objects bytes] (both Buffers), or null at the end. */
static napi_value key_and_objects(napi_env env, rets_status s, env_state *st) {
    napi_value arr, k, objs;
    if (s == RETS_STATUS_END_OF_TABLE) {
        napi_get_null(env, &arr);
        return arr;
    }
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    k = buffer_copy(env, rets_buf_data(st->key_out), rets_buf_len(st->key_out));
    objs = buffer_copy(env, rets_buf_data(st->out), rets_buf_len(st->out));
    if (k == NULL || objs == NULL) return NULL;
    napi_create_array_with_length(env, 2, &arr);
    napi_set_element(env, arr, 0, k);
    napi_set_element(env, arr, 1, objs);
    return arr;
}

#define END_LOOKUP(fn_name, c_fn)                                        \
    static napi_value fn_name(napi_env env, napi_callback_info info) {    \
        napi_value argv[1];                                              \
        rets_table *t;                                                   \
        env_state *st = state_of(env);                                   \
        if (!get_args(env, info, 1, argv) || !arg_table(env, argv[0], &t)) \
            return NULL;                                                 \
        return key_and_objects(env, c_fn(t, st->key_out, st->out), st);  \
    }
END_LOOKUP(table_first_lookup, rets_table_first_lookup)
END_LOOKUP(table_last_lookup, rets_table_last_lookup)

#define STEP_LOOKUP(fn_name, c_fn)                                                \
    static napi_value fn_name(napi_env env, napi_callback_info info) {             \
        napi_value argv[2];                                                       \
        rets_table *t;                                                            \
        term_arg key;                                                             \
        env_state *st = state_of(env);                                            \
        if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t) ||       \
            !arg_key(env, st, argv[1], &key))                                     \
            return NULL;                                                          \
        return key_and_objects(env, c_fn(t, key.data, key.len, st->key_out, st->out), st); \
    }
STEP_LOOKUP(table_next_lookup, rets_table_next_lookup)
STEP_LOOKUP(table_prev_lookup, rets_table_prev_lookup)

/* (table, start key or null for the first key, n, flags) -> [last key, keys or objects]
 * (Buffers), or null at the end: rets_table_next_chunk. */
static napi_value table_next_chunk(napi_env env, napi_callback_info info) {
    napi_value argv[4];
    napi_valuetype kt;
    rets_table *t;
    term_arg key = {NULL, 0};
    size_t n = 0, flags = 0;
    env_state *st = state_of(env);
    if (!get_args(env, info, 4, argv) || !arg_table(env, argv[0], &t)) return NULL;
    if (napi_typeof(env, argv[1], &kt) != napi_ok) return NULL;
    if (kt != napi_null && !arg_key(env, st, argv[1], &key)) return NULL;
    if (!arg_size(env, argv[2], &n) || !arg_size(env, argv[3], &flags)) return NULL;
    if (flags > UINT32_MAX) return throw_type(env, "rets: chunk flags out of range");
    return key_and_objects(
        env, rets_table_next_chunk(t, key.data, key.len, n, (uint32_t)flags, st->out, st->key_out),
        st);
}

static napi_value table_tab2list(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    rets_table *t;
    env_state *st = state_of(env);
    if (!get_args(env, info, 1, argv) || !arg_table(env, argv[0], &t)) return NULL;
    return ret_buf(env, rets_table_tab2list(t, st->out), st->out);
}

typedef struct fold_ctx {
    napi_env env;
    napi_value fn;
} fold_ctx;

/* Runs on the JavaScript thread, inside rets, with no lock held: hands one object (a Buffer)
 * to the callback; a falsy return or an exception stops the fold. */
static bool fold_visit(void *arg, const uint8_t *object, size_t len) {
    fold_ctx *ctx = arg;
    napi_value undefined, buf, result;
    bool go_on = false;
    napi_get_undefined(ctx->env, &undefined);
    buf = buffer_copy(ctx->env, object, len);
    if (buf == NULL) return false;
    if (napi_call_function(ctx->env, undefined, ctx->fn, 1, &buf, &result) != napi_ok)
        return false;
    napi_coerce_to_bool(ctx->env, result, &result);
    napi_get_value_bool(ctx->env, result, &go_on);
    return go_on;
}

#define FOLD(fn_name, c_fn)                                                      \
    static napi_value fn_name(napi_env env, napi_callback_info info) {            \
        napi_value argv[2];                                                      \
        rets_table *t;                                                           \
        if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t)) return NULL; \
        fold_ctx ctx = {env, argv[1]};                                           \
        rets_status s = c_fn(t, fold_visit, &ctx);                               \
        bool pending = false;                                                    \
        napi_is_exception_pending(env, &pending);                                \
        if (pending) return NULL;                                                \
        return ret_undefined(env, s);                                            \
    }
FOLD(table_foldl, rets_table_foldl)
FOLD(table_foldr, rets_table_foldr)

bool register_traverse(napi_env env, napi_value exports) {
    static const export_fn fns[] = {
        {"first", table_first},
        {"next", table_next},
        {"last", table_last},
        {"prev", table_prev},
        {"firstLookup", table_first_lookup},
        {"nextLookup", table_next_lookup},
        {"lastLookup", table_last_lookup},
        {"prevLookup", table_prev_lookup},
        {"nextChunk", table_next_chunk},
        {"tab2list", table_tab2list},
        {"foldl", table_foldl},
        {"foldr", table_foldr},
        {NULL, NULL},
    };
    return export_all(env, exports, fns);
}
