/* Match specifications and the select/match family: a compiled specification is a handle
 * (compiled once, used by any number of calls), chunked forms hand out a continuation handle,
 * and everything else has the shape of the table operations. */
#include <stdlib.h>

#include "rets_node.h"

/* Handles as JavaScript sees them: externals pointing to a box with a magic number (see
 * table_box in boundary.c). */
#define SPEC_MAGIC 0x72657473737063ULL
#define CONT_MAGIC 0x72657473636e74ULL
typedef struct query_box {
    uint64_t magic;
    void *handle; /* rets_matchspec * or rets_select_cont *; NULL once freed */
} query_box;

static void finalize_box(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    query_box *box = data;
    if (box->magic == SPEC_MAGIC) rets_matchspec_free(box->handle);
    if (box->magic == CONT_MAGIC) rets_select_cont_free(box->handle);
    box->magic = 0;
    free(box);
}

static napi_value wrap_box(napi_env env, uint64_t magic, void *handle) {
    napi_value v;
    query_box *box = malloc(sizeof *box);
    if (box == NULL) {
        if (magic == SPEC_MAGIC) rets_matchspec_free(handle);
        if (magic == CONT_MAGIC) rets_select_cont_free(handle);
        return throw_type(env, "rets: out of memory");
    }
    box->magic = magic;
    box->handle = handle;
    if (napi_create_external(env, box, finalize_box, NULL, &v) != napi_ok) {
        finalize_box(env, box, NULL);
        return NULL;
    }
    return v;
}

static bool arg_box(napi_env env, napi_value v, uint64_t magic, query_box **out) {
    void *data = NULL;
    if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL ||
        ((query_box *)data)->magic != magic) {
        throw_type(env, magic == SPEC_MAGIC ? "rets: a compiled match specification was expected"
                                            : "rets: a select continuation was expected");
        return false;
    }
    *out = data;
    return true;
}

static bool arg_spec(napi_env env, napi_value v, const rets_matchspec **out) {
    query_box *box;
    if (!arg_box(env, v, SPEC_MAGIC, &box)) return false;
    *out = box->handle;
    return true;
}

static napi_value matchspec_compile(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    term_arg spec;
    rets_matchspec *out = NULL;
    if (!get_args(env, info, 1, argv) || !arg_bytes(env, argv[0], &spec)) return NULL;
    rets_status s = rets_matchspec_compile(spec.data, spec.len, &out);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    return wrap_box(env, SPEC_MAGIC, out);
}

static napi_value size_value(napi_env env, rets_status s, size_t n) {
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    napi_value v;
    napi_create_double(env, (double)n, &v);
    return v;
}

/* (table, spec) -> results: select, selectReverse */
#define SPEC_TO_BUF(fn_name, c_fn)                                          \
    static napi_value fn_name(napi_env env, napi_callback_info info) {       \
        napi_value argv[2];                                                 \
        rets_table *t;                                                      \
        const rets_matchspec *spec;                                         \
        env_state *st = state_of(env);                                      \
        if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t) || \
            !arg_spec(env, argv[1], &spec))                                 \
            return NULL;                                                    \
        return ret_buf(env, c_fn(t, spec, st->out), st->out);               \
    }
SPEC_TO_BUF(table_select, rets_table_select)
SPEC_TO_BUF(table_select_reverse, rets_table_select_reverse)

/* (table, spec) -> a count: selectCount, selectDelete, selectReplace */
#define SPEC_TO_COUNT(fn_name, c_fn)                                        \
    static napi_value fn_name(napi_env env, napi_callback_info info) {       \
        napi_value argv[2];                                                 \
        rets_table *t;                                                      \
        const rets_matchspec *spec;                                         \
        size_t n = 0;                                                       \
        if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t) || \
            !arg_spec(env, argv[1], &spec))                                 \
            return NULL;                                                    \
        rets_status s = c_fn(t, spec, &n);                                  \
        return size_value(env, s, n);                                       \
    }
SPEC_TO_COUNT(table_select_count, rets_table_select_count)
SPEC_TO_COUNT(table_select_delete, rets_table_select_delete)
SPEC_TO_COUNT(table_select_replace, rets_table_select_replace)

/* [first chunk, continuation], or null when there is no result at all. */
static napi_value chunk_and_cont(napi_env env, rets_status s, env_state *st,
                                 rets_select_cont *cont) {
    napi_value arr, chunk, c;
    if (s == RETS_STATUS_END_OF_TABLE) {
        napi_get_null(env, &arr);
        return arr;
    }
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    c = wrap_box(env, CONT_MAGIC, cont);
    if (c == NULL) return NULL;
    chunk = buffer_copy(env, rets_buf_data(st->out), rets_buf_len(st->out));
    if (chunk == NULL) return NULL;
    napi_create_array_with_length(env, 2, &arr);
    napi_set_element(env, arr, 0, chunk);
    napi_set_element(env, arr, 1, c);
    return arr;
}

/* (table, spec, limit) -> [chunk, cont] | null: selectLimit, selectReverseLimit */
#define SPEC_LIMIT(fn_name, c_fn)                                                   \
    static napi_value fn_name(napi_env env, napi_callback_info info) {               \
        napi_value argv[3];                                                         \
        rets_table *t;                                                              \
        const rets_matchspec *spec;                                                 \
        size_t limit;                                                               \
        rets_select_cont *cont = NULL;                                              \
        env_state *st = state_of(env);                                              \
        if (!get_args(env, info, 3, argv) || !arg_table(env, argv[0], &t) ||         \
            !arg_spec(env, argv[1], &spec) || !arg_size(env, argv[2], &limit))      \
            return NULL;                                                            \
        rets_status s = c_fn(t, spec, limit, st->out, &cont);                       \
        return chunk_and_cont(env, s, st, cont);                                    \
    }
SPEC_LIMIT(table_select_limit, rets_table_select_limit)
SPEC_LIMIT(table_select_reverse_limit, rets_table_select_reverse_limit)

/* (cont) -> the next chunk, or null at the end */
static napi_value cont_next(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    query_box *box;
    env_state *st = state_of(env);
    if (!get_args(env, info, 1, argv) || !arg_box(env, argv[0], CONT_MAGIC, &box)) return NULL;
    if (box->handle == NULL) return throw_type(env, "rets: this continuation was freed");
    return ret_end_or_buf(env, rets_select_cont_next(box->handle, st->out), st->out);
}

static napi_value cont_free(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    query_box *box;
    if (!get_args(env, info, 1, argv) || !arg_box(env, argv[0], CONT_MAGIC, &box)) return NULL;
    rets_select_cont_free(box->handle);
    box->handle = NULL;
    return ret_undefined(env, RETS_STATUS_OK);
}

/* (table, patternBytes) -> results: match, matchObject */
#define PATTERN_TO_BUF(fn_name, c_fn)                                              \
    static napi_value fn_name(napi_env env, napi_callback_info info) {              \
        napi_value argv[2];                                                        \
        rets_table *t;                                                             \
        term_arg pattern;                                                          \
        env_state *st = state_of(env);                                             \
        if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t) ||        \
            !arg_bytes(env, argv[1], &pattern))                                    \
            return NULL;                                                           \
        return ret_buf(env, c_fn(t, pattern.data, pattern.len, st->out), st->out); \
    }
PATTERN_TO_BUF(table_match, rets_table_match)
PATTERN_TO_BUF(table_match_object, rets_table_match_object)

/* (table, patternBytes, limit) -> [chunk, cont] | null: matchLimit, matchObjectLimit */
#define PATTERN_LIMIT(fn_name, c_fn)                                                 \
    static napi_value fn_name(napi_env env, napi_callback_info info) {                \
        napi_value argv[3];                                                          \
        rets_table *t;                                                               \
        term_arg pattern;                                                            \
        size_t limit;                                                                \
        rets_select_cont *cont = NULL;                                               \
        env_state *st = state_of(env);                                               \
        if (!get_args(env, info, 3, argv) || !arg_table(env, argv[0], &t) ||          \
            !arg_bytes(env, argv[1], &pattern) || !arg_size(env, argv[2], &limit))   \
            return NULL;                                                             \
        rets_status s = c_fn(t, pattern.data, pattern.len, limit, st->out, &cont);   \
        return chunk_and_cont(env, s, st, cont);                                     \
    }
PATTERN_LIMIT(table_match_limit, rets_table_match_limit)
PATTERN_LIMIT(table_match_object_limit, rets_table_match_object_limit)

static napi_value table_match_delete(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    rets_table *t;
    term_arg pattern;
    size_t n = 0;
    if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t) ||
        !arg_bytes(env, argv[1], &pattern))
        return NULL;
    rets_status s = rets_table_match_delete(t, pattern.data, pattern.len, &n);
    return size_value(env, s, n);
}

bool register_query(napi_env env, napi_value exports) {
    static const export_fn fns[] = {
        {"matchspecCompile", matchspec_compile},
        {"select", table_select},
        {"selectReverse", table_select_reverse},
        {"selectCount", table_select_count},
        {"selectDelete", table_select_delete},
        {"selectReplace", table_select_replace},
        {"selectLimit", table_select_limit},
        {"selectReverseLimit", table_select_reverse_limit},
        {"contNext", cont_next},
        {"contFree", cont_free},
        {"match", table_match},
        {"matchObject", table_match_object},
        {"matchLimit", table_match_limit},
        {"matchObjectLimit", table_match_object_limit},
        {"matchDelete", table_match_delete},
        {NULL, NULL},
    };
    return export_all(env, exports, fns);
}
