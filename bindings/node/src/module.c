/* The addon's entry point: per-environment state and the registration of every module. The
 * addon is context-aware (NAPI_MODULE_INIT), so each worker_thread loads it with its own state
 * while all share one engine (librets is linked in once per process). */
#include <stdlib.h>

#include "rets_node.h"

static void free_state(napi_env env, void *data, void *hint) {
    (void)hint;
    env_state *st = data;
    rets_buf_free(st->out);
    rets_buf_free(st->key_out);
    rets_builder_free(st->builder);
    if (st->error_class) napi_delete_reference(env, st->error_class);
    if (st->area_ref) napi_delete_reference(env, st->area_ref);
    free(st);
}

/* init(RetsError, area): called once per environment by lib/native.js. */
static napi_value init(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    term_arg area;
    if (!get_args(env, info, 2, argv) || !arg_bytes(env, argv[1], &area)) return NULL;
    env_state *st = state_of(env);
    if (st->error_class) napi_delete_reference(env, st->error_class);
    if (st->area_ref) napi_delete_reference(env, st->area_ref);
    napi_create_reference(env, argv[0], 1, &st->error_class);
    napi_create_reference(env, argv[1], 1, &st->area_ref);
    st->area = (uint8_t *)area.data;
    st->area_len = area.len;
    return ret_undefined(env, RETS_STATUS_OK);
}

static napi_value version(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value v;
    napi_create_string_utf8(env, rets_version(), NAPI_AUTO_LENGTH, &v);
    return v;
}

NAPI_MODULE_INIT() {
    env_state *st = calloc(1, sizeof *st);
    if (st == NULL || rets_buf_new(&st->out) != RETS_STATUS_OK ||
        rets_buf_new(&st->key_out) != RETS_STATUS_OK ||
        rets_builder_new(&st->builder) != RETS_STATUS_OK) {
        napi_throw_error(env, NULL, "rets: could not allocate the binding's state");
        return NULL;
    }
    if (napi_set_instance_data(env, st, free_state, NULL) != napi_ok) return NULL;
    static const export_fn fns[] = {{"init", init}, {"version", version}, {NULL, NULL}};
    if (!export_all(env, exports, fns) || !register_owner(env, exports) ||
        !register_table(env, exports) || !register_traverse(env, exports) || !register_query(env, exports) || !register_cache(env, exports) || !register_flight(env, exports) ||
        !register_pin(env, exports))
        return NULL;
    return exports;
}
