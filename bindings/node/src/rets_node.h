/* The Node binding's shared declarations: the per-environment state, the argument readers and
 * the result writers that every wrapped C function uses. Each wrapped function has one shape:
 * read the arguments with arg_*, call rets, and return through ret_* (which turns a status
 * other than OK into a RetsError). */
#ifndef RETS_NODE_H
#define RETS_NODE_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rets.h"

/* One per Node environment (the main thread and each worker): rets buffers and builders are
 * used by one thread at a time, and an environment is one thread. */
typedef struct env_state {
    rets_buf *out;         /* results */
    rets_buf *key_out;     /* traversal keys */
    rets_builder *builder; /* keys given as JS strings and numbers */
    napi_ref error_class;  /* RetsError, given by lib/errors.js at load */
    napi_ref area_ref;     /* the shared result area (a Buffer) */
    uint8_t *area;         /* its bytes: results that fit are copied here, not allocated */
    size_t area_len;
} env_state;

/* Bytes of a term given by JavaScript: either packed by msgpackr (a Uint8Array) or built here
 * from a string or a number with the C ABI's builder. Valid until the next arg_key. */
typedef struct term_arg {
    const uint8_t *data;
    size_t len;
} term_arg;

/* Reading the call. */
env_state *state_of(napi_env env);
bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv);
bool arg_table(napi_env env, napi_value v, rets_table **out);
bool arg_owner(napi_env env, napi_value v, rets_owner **out);    /* an open owner */
bool arg_opt_owner(napi_env env, napi_value v, rets_owner **out); /* null -> NULL */
#define TABLE_ARGC 10
bool arg_table_options(napi_env env, napi_value *argv, rets_owner **owner, char **name,
                       rets_table_options *opts);
bool arg_bytes(napi_env env, napi_value v, term_arg *out);
bool arg_opt_bytes(napi_env env, napi_value v, term_arg *out);   /* null -> {NULL, 0} */
bool arg_key(napi_env env, env_state *st, napi_value v, term_arg *out);
bool arg_size(napi_env env, napi_value v, size_t *out);
bool arg_i64(napi_env env, napi_value v, int64_t *out);           /* number or BigInt */
bool arg_bool(napi_env env, napi_value v, bool *out);
char *arg_string(napi_env env, napi_value v);                     /* malloc'd, NUL-terminated */

/* Answering. Each returns NULL with a pending exception when `status` is not OK. */
napi_value throw_status(napi_env env, rets_status status);
napi_value throw_status_message(napi_env env, rets_status status, const char *message);
napi_value throw_type(napi_env env, const char *message);
napi_value ret_undefined(napi_env env, rets_status status);
napi_value ret_bool(napi_env env, rets_status status, bool value);
napi_value ret_i64(napi_env env, rets_status status, int64_t value);
napi_value ret_u64(napi_env env, rets_status status, uint64_t value);
/* A MessagePack result: its length as a number when copied into the shared area, else a new
 * Buffer holding it. lib/terms.js decodes both. */
napi_value ret_buf(napi_env env, rets_status status, const rets_buf *buf);
napi_value ret_end_or_buf(napi_env env, rets_status status, const rets_buf *buf); /* END -> null */
napi_value buffer_copy(napi_env env, const uint8_t *data, size_t len);
napi_value i64_value(napi_env env, int64_t value);  /* number if safe, else BigInt */

/* Handles as JavaScript values (type-tagged externals). */
napi_value wrap_table(napi_env env, rets_table *table);

/* Registration: each module adds its functions to the exports object. */
typedef struct export_fn {
    const char *name;
    napi_callback fn;
} export_fn;
bool export_all(napi_env env, napi_value exports, const export_fn *fns);
bool register_owner(napi_env env, napi_value exports);
bool register_table(napi_env env, napi_value exports);
bool register_traverse(napi_env env, napi_value exports);
bool register_query(napi_env env, napi_value exports);
bool register_cache(napi_env env, napi_value exports);
bool register_flight(napi_env env, napi_value exports);
bool register_pin(napi_env env, napi_value exports);

#endif
