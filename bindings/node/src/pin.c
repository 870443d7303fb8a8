/* Pinned readers (rets_pin_*): Table#pin() returns a Pin whose lookups go through one held
 * reclamation guard. The pin is an external; close() frees it at once, the finalizer if
 * JavaScript never did. */
#include <stdlib.h>

#include "rets_node.h"

/* A pin as JavaScript sees it: an external pointing to this box (see table_box). */
#define PIN_MAGIC 0x7265747370696e31ULL
typedef struct pin_box {
    uint64_t magic;
    rets_pin *pin; /* NULL once freed */
} pin_box;

static void finalize_pin(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    pin_box *box = data;
    rets_pin_free(box->pin);
    box->magic = 0;
    free(box);
}

static bool arg_pin(napi_env env, napi_value v, rets_pin **out) {
    void *data = NULL;
    if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL ||
        ((pin_box *)data)->magic != PIN_MAGIC) {
        throw_type(env, "rets: a pin was expected");
        return false;
    }
    if (((pin_box *)data)->pin == NULL) {
        throw_type(env, "rets: this pin is closed");
        return false;
    }
    *out = ((pin_box *)data)->pin;
    return true;
}

/* (table) -> pin */
static napi_value pin_new(napi_env env, napi_callback_info info) {
    napi_value argv[1], v;
    rets_table *t;
    rets_pin *pin = NULL;
    if (!get_args(env, info, 1, argv) || !arg_table(env, argv[0], &t)) return NULL;
    rets_status s = rets_pin_new(t, &pin);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    pin_box *box = malloc(sizeof *box);
    if (box == NULL) {
        rets_pin_free(pin);
        return throw_type(env, "rets: out of memory");
    }
    box->magic = PIN_MAGIC;
    box->pin = pin;
    if (napi_create_external(env, box, finalize_pin, NULL, &v) != napi_ok) {
        finalize_pin(env, box, NULL);
        return NULL;
    }
    return v;
}

#define PIN_ARGS(n)                                                   \
    napi_value argv[n];                                               \
    rets_pin *p;                                                      \
    env_state *st = state_of(env);                                    \
    if (!get_args(env, info, n, argv) || !arg_pin(env, argv[0], &p)) \
    return NULL

/* (pin, key) -> objects */
static napi_value pin_lookup(napi_env env, napi_callback_info info) {
    PIN_ARGS(2);
    term_arg key;
    if (!arg_key(env, st, argv[1], &key)) return NULL;
    return ret_buf(env, rets_pin_lookup(p, key.data, key.len, st->out), st->out);
}

static napi_value pin_member(napi_env env, napi_callback_info info) {
    PIN_ARGS(2);
    term_arg key;
    bool found = false;
    if (!arg_key(env, st, argv[1], &key)) return NULL;
    rets_status s = rets_pin_member(p, key.data, key.len, &found);
    return ret_bool(env, s, found);
}

/* (pin, key, pos, defaultBytes | null) */
static napi_value pin_lookup_element(napi_env env, napi_callback_info info) {
    PIN_ARGS(4);
    term_arg key, dflt;
    size_t pos;
    if (!arg_key(env, st, argv[1], &key) || !arg_size(env, argv[2], &pos) ||
        !arg_opt_bytes(env, argv[3], &dflt))
        return NULL;
    rets_status s = rets_pin_lookup_element(p, key.data, key.len, pos, dflt.data, dflt.len,
                                            st->out);
    return ret_buf(env, s, st->out);
}

static napi_value pin_refresh(napi_env env, napi_callback_info info) {
    PIN_ARGS(1);
    (void)st;
    return ret_undefined(env, rets_pin_refresh(p));
}

/* Frees the pin now (closing twice is harmless). */
static napi_value pin_free(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    void *data = NULL;
    if (!get_args(env, info, 1, argv)) return NULL;
    if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL ||
        ((pin_box *)data)->magic != PIN_MAGIC)
        return throw_type(env, "rets: a pin was expected");
    pin_box *box = data;
    rets_pin_free(box->pin);
    box->pin = NULL;
    return ret_undefined(env, RETS_STATUS_OK);
}

bool register_pin(napi_env env, napi_value exports) {
    static const export_fn fns[] = {
        {"pinNew", pin_new},
        {"pinLookup", pin_lookup},
        {"pinMember", pin_member},
        {"pinLookupElement", pin_lookup_element},
        {"pinRefresh", pin_refresh},
        {"pinFree", pin_free},
        {NULL, NULL},
    };
    return export_all(env, exports, fns);
}
