/* Read-through with single-flight (the cache layer's claim/fill protocol): claimLoad answers at
 * once (cached, load it yourself, or wait for another caller's load, in this thread or any
 * other worker), and tickets are filled, failed, polled and freed from JavaScript, so that
 * Table#getOrLoad never blocks the event loop. */
#include <stdlib.h>

#include "rets_node.h"

/* A ticket as JavaScript sees it: an external pointing to this box (see table_box). */
#define TICKET_MAGIC 0x7265747374636b31ULL
typedef struct ticket_box {
    uint64_t magic;
    rets_ticket *ticket; /* NULL once freed */
} ticket_box;

/* Freeing an unfilled load ticket fails its load, so a ticket JavaScript drops never leaves
 * waiters waiting forever. */
static void finalize_ticket(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    ticket_box *box = data;
    rets_ticket_free(box->ticket);
    box->magic = 0;
    free(box);
}

static napi_value wrap_ticket(napi_env env, rets_ticket *ticket) {
    napi_value v;
    ticket_box *box = malloc(sizeof *box);
    if (box == NULL) {
        rets_ticket_free(ticket);
        return throw_type(env, "rets: out of memory");
    }
    box->magic = TICKET_MAGIC;
    box->ticket = ticket;
    if (napi_create_external(env, box, finalize_ticket, NULL, &v) != napi_ok) {
        finalize_ticket(env, box, NULL);
        return NULL;
    }
    return v;
}

static bool arg_ticket(napi_env env, napi_value v, ticket_box **out) {
    void *data = NULL;
    if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL ||
        ((ticket_box *)data)->magic != TICKET_MAGIC) {
        throw_type(env, "rets: a load ticket was expected");
        return false;
    }
    if (((ticket_box *)data)->ticket == NULL) {
        throw_type(env, "rets: this load ticket was already freed");
        return false;
    }
    *out = data;
    return true;
}

/* (table, key) -> [0, result] (cached), [1, ticket] (load it), [2, ticket] (wait) */
static napi_value table_claim_load(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    rets_table *t;
    term_arg key;
    env_state *st = state_of(env);
    if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t) ||
        !arg_key(env, st, argv[1], &key))
        return NULL;
    rets_claim claim = RETS_CLAIM_CACHED;
    rets_ticket *ticket = NULL;
    rets_status s = rets_table_claim_load(t, key.data, key.len, st->out, &claim, &ticket);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    napi_value arr, tag, second;
    second = claim == RETS_CLAIM_CACHED ? ret_buf(env, s, st->out) : wrap_ticket(env, ticket);
    if (second == NULL) return NULL;
    napi_create_array_with_length(env, 2, &arr);
    napi_create_uint32(env, (uint32_t)claim, &tag);
    napi_set_element(env, arr, 0, tag);
    napi_set_element(env, arr, 1, second);
    return arr;
}

/* (ticket, objectBytes, ttlMs): ttlMs 0 is the table's lifetime */
/* (table, key, refreshAfterMs) -> as claimLoad, or [3, result, ticket] (refresh: the cached
 * object, and a load ticket for its reload) */
static napi_value table_claim_load_refreshing(napi_env env, napi_callback_info info) {
    napi_value argv[3];
    rets_table *t;
    term_arg key;
    size_t refresh_after_ms;
    env_state *st = state_of(env);
    if (!get_args(env, info, 3, argv) || !arg_table(env, argv[0], &t) ||
        !arg_key(env, st, argv[1], &key) || !arg_size(env, argv[2], &refresh_after_ms))
        return NULL;
    rets_claim claim = RETS_CLAIM_CACHED;
    rets_ticket *ticket = NULL;
    rets_status s = rets_table_claim_load_refreshing(t, key.data, key.len,
                                                     (uint64_t)refresh_after_ms, st->out, &claim,
                                                     &ticket);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    napi_value arr, tag, v;
    napi_create_array_with_length(env, 3, &arr);
    napi_create_uint32(env, (uint32_t)claim, &tag);
    napi_set_element(env, arr, 0, tag);
    if (claim == RETS_CLAIM_CACHED || claim == RETS_CLAIM_REFRESH) {
        v = ret_buf(env, s, st->out);
        if (v == NULL) return NULL;
        napi_set_element(env, arr, 1, v);
    }
    if (ticket != NULL) {
        v = wrap_ticket(env, ticket);
        if (v == NULL) return NULL;
        napi_set_element(env, arr, claim == RETS_CLAIM_REFRESH ? 2 : 1, v);
    }
    return arr;
}

static napi_value ticket_fill(napi_env env, napi_callback_info info) {
    napi_value argv[3];
    ticket_box *box;
    term_arg obj;
    size_t ttl_ms;
    if (!get_args(env, info, 3, argv) || !arg_ticket(env, argv[0], &box) ||
        !arg_bytes(env, argv[1], &obj) || !arg_size(env, argv[2], &ttl_ms))
        return NULL;
    return ret_undefined(env, rets_ticket_fill(box->ticket, obj.data, obj.len, (uint64_t)ttl_ms));
}

static napi_value ticket_fail(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    ticket_box *box;
    if (!get_args(env, info, 2, argv) || !arg_ticket(env, argv[0], &box)) return NULL;
    char *message = arg_string(env, argv[1]);
    if (message == NULL) return NULL;
    rets_status s = rets_ticket_fail(box->ticket, message);
    free(message);
    return ret_undefined(env, s);
}

/* (ticket) -> the object's result when the load finished, null while it runs; a failed load
 * throws its status (ERR_RETS_LOAD_FAILED with the loader's message, or the store's). */
static napi_value ticket_poll(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    ticket_box *box;
    env_state *st = state_of(env);
    bool ready = false;
    if (!get_args(env, info, 1, argv) || !arg_ticket(env, argv[0], &box)) return NULL;
    rets_status s = rets_ticket_poll(box->ticket, st->out, &ready);
    if (s == RETS_STATUS_OK && !ready) {
        napi_value v;
        napi_get_null(env, &v);
        return v;
    }
    return ret_buf(env, s, st->out);
}

static napi_value ticket_free(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    ticket_box *box;
    if (!get_args(env, info, 1, argv) || !arg_ticket(env, argv[0], &box)) return NULL;
    rets_ticket_free(box->ticket);
    box->ticket = NULL;
    return ret_undefined(env, RETS_STATUS_OK);
}

bool register_flight(napi_env env, napi_value exports) {
    static const export_fn fns[] = {
        {"claimLoad", table_claim_load},
        {"claimLoadRefreshing", table_claim_load_refreshing},
        {"ticketFill", ticket_fill},
        {"ticketFail", ticket_fail},
        {"ticketPoll", ticket_poll},
        {"ticketFree", ticket_free},
        {NULL, NULL},
    };
    return export_all(env, exports, fns);
}
