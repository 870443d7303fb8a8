/* Owners: creation, close (explicit, or when the owning environment ends: a worker that exits
 * or is terminated closes the owners it made), lookup by name, and transfers (ETS-TRANSFER),
 * delivered to JavaScript by a watcher thread through a thread-safe function. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rets_node.h"

static const napi_type_tag OWNER_TAG = {0x726574736f776e31ULL, 0x51b0e7c2a9d34f68ULL};

/* How long the watcher waits in rets per round: the bound on how long close() waits for it. */
#define WATCH_SLICE_MS 20

typedef struct owner_box {
    rets_owner *owner;
    napi_env env;
    bool open;       /* false once closed (explicitly or by the cleanup hook) */
    bool finalized;  /* the JavaScript external is gone */
    /* the transfer watcher, when JavaScript listens */
    bool watching;
    atomic_bool stop;
    pthread_t thread;
    napi_threadsafe_function tsfn;
} owner_box;

/* One transfer on its way from the watcher thread to JavaScript. */
typedef struct transfer_msg {
    rets_table *table;
    uint64_t from;
    rets_transfer_reason reason;
    uint8_t *gift;
    size_t gift_len;
} transfer_msg;

static void env_cleanup(void *arg);

static void stop_watcher(owner_box *box) {
    if (!box->watching) return;
    atomic_store(&box->stop, true);
    pthread_join(box->thread, NULL);
    napi_release_threadsafe_function(box->tsfn, napi_tsfn_release);
    box->watching = false;
}

/* Closes the owner: its tables go to their heirs or are deleted (rets_owner_close). */
static void close_box(owner_box *box) {
    if (!box->open) return;
    stop_watcher(box);
    rets_owner_close(box->owner);
    box->owner = NULL;
    box->open = false;
}

/* The environment is ending (process exit, worker exit or termination). */
static void env_cleanup(void *arg) {
    owner_box *box = arg;
    close_box(box);
    if (box->finalized) free(box);
}

static void finalize_owner(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    owner_box *box = data;
    box->finalized = true;
    /* An owner whose object is collected stays open, like a process that is still running, until
     * close() or the end of its environment; the cleanup hook then frees the box. */
    if (!box->open) free(box);
}

static owner_box *owner_box_of(napi_env env, napi_value v) {
    bool tagged = false;
    void *data = NULL;
    if (napi_check_object_type_tag(env, v, &OWNER_TAG, &tagged) != napi_ok || !tagged ||
        napi_get_value_external(env, v, &data) != napi_ok) {
        throw_type(env, "rets: an owner handle was expected");
        return NULL;
    }
    return data;
}

/* The handle of an open owner; a closed one is the engine's OWNER_CLOSED (its handle is freed
 * by rets_owner_close, so it must never reach rets again). */
bool arg_owner(napi_env env, napi_value v, rets_owner **out) {
    owner_box *box = owner_box_of(env, v);
    if (box == NULL) return false;
    if (!box->open) {
        throw_status_message(env, RETS_STATUS_OWNER_CLOSED, "owner closed: this owner was closed");
        return false;
    }
    *out = box->owner;
    return true;
}

bool arg_opt_owner(napi_env env, napi_value v, rets_owner **out) {
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t == napi_null || t == napi_undefined) {
        *out = NULL;
        return true;
    }
    return arg_owner(env, v, out);
}

static napi_value owner_new(napi_env env, napi_callback_info info) {
    (void)info;
    owner_box *box = calloc(1, sizeof *box);
    if (box == NULL) return throw_type(env, "rets: out of memory");
    rets_status s = rets_owner_new(&box->owner);
    if (s != RETS_STATUS_OK) {
        free(box);
        return throw_status(env, s);
    }
    box->env = env;
    box->open = true;
    napi_value v;
    if (napi_create_external(env, box, finalize_owner, NULL, &v) != napi_ok) {
        rets_owner_close(box->owner);
        free(box);
        return NULL;
    }
    napi_type_tag_object(env, v, &OWNER_TAG);
    napi_add_env_cleanup_hook(env, env_cleanup, box);
    return v;
}

static napi_value owner_close(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    if (!get_args(env, info, 1, argv)) return NULL;
    owner_box *box = owner_box_of(env, argv[0]);
    if (box == NULL) return NULL;
    if (box->open) {
        napi_remove_env_cleanup_hook(env, env_cleanup, box);
        close_box(box);
    }
    return ret_undefined(env, RETS_STATUS_OK);
}

static napi_value owner_is_open(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    if (!get_args(env, info, 1, argv)) return NULL;
    owner_box *box = owner_box_of(env, argv[0]);
    if (box == NULL) return NULL;
    return ret_bool(env, RETS_STATUS_OK, box->open);
}

static napi_value owner_id(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    rets_owner *o;
    uint64_t id = 0;
    if (!get_args(env, info, 1, argv) || !arg_owner(env, argv[0], &o)) return NULL;
    rets_status s = rets_owner_id(o, &id);
    return ret_u64(env, s, id);
}

/* NOT_FOUND (no table by that name) is an ordinary outcome: null. */
static napi_value found_table(napi_env env, rets_status s, rets_table *t) {
    if (s == RETS_STATUS_NOT_FOUND) {
        napi_value v;
        napi_get_null(env, &v);
        return v;
    }
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    return wrap_table(env, t);
}

static napi_value owner_whereis(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    rets_owner *o;
    rets_table *t = NULL;
    if (!get_args(env, info, 2, argv) || !arg_owner(env, argv[0], &o)) return NULL;
    char *name = arg_string(env, argv[1]);
    if (name == NULL) return NULL;
    rets_status s = rets_owner_whereis(o, name, &t);
    free(name);
    return found_table(env, s, t);
}

static napi_value whereis(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    rets_table *t = NULL;
    if (!get_args(env, info, 1, argv)) return NULL;
    char *name = arg_string(env, argv[0]);
    if (name == NULL) return NULL;
    rets_status s = rets_whereis(name, &t);
    free(name);
    return found_table(env, s, t);
}

static napi_value table_with_owner(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    rets_table *t, *out = NULL;
    rets_owner *o;
    if (!get_args(env, info, 2, argv) || !arg_table(env, argv[0], &t) ||
        !arg_owner(env, argv[1], &o))
        return NULL;
    rets_status s = rets_table_with_owner(t, o, &out);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    return wrap_table(env, out);
}

/* [table, from, reason, gift] as JavaScript values, for both delivery routes. */
static napi_value transfer_value(napi_env env, rets_table *t, uint64_t from,
                                 rets_transfer_reason reason, const uint8_t *gift,
                                 size_t gift_len) {
    napi_value arr, v;
    napi_create_array_with_length(env, 4, &arr);
    v = wrap_table(env, t);
    if (v == NULL) return NULL;
    napi_set_element(env, arr, 0, v);
    napi_create_bigint_uint64(env, from, &v);
    napi_set_element(env, arr, 1, v);
    napi_create_uint32(env, (uint32_t)reason, &v);
    napi_set_element(env, arr, 2, v);
    v = buffer_copy(env, gift, gift_len);
    if (v == NULL) return NULL;
    napi_set_element(env, arr, 3, v);
    return arr;
}

/* Takes a transfer that has already arrived, without waiting (null if none). */
static napi_value owner_take_transfer(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    rets_owner *o;
    if (!get_args(env, info, 1, argv) || !arg_owner(env, argv[0], &o)) return NULL;
    env_state *st = state_of(env);
    rets_table *t = NULL;
    uint64_t from = 0;
    rets_transfer_reason reason = RETS_TRANSFER_REASON_INHERITED;
    rets_status s = rets_owner_recv_transfer(o, 0, &t, &from, &reason, st->out);
    if (s == RETS_STATUS_TIMEOUT) {
        napi_value v;
        napi_get_null(env, &v);
        return v;
    }
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    return transfer_value(env, t, from, reason, rets_buf_data(st->out), rets_buf_len(st->out));
}

/* Runs on the JavaScript thread: hands one transfer to the callback given to ownerWatch. */
static void deliver(napi_env env, napi_value callback, void *context, void *data) {
    (void)context;
    transfer_msg *m = data;
    if (env != NULL && callback != NULL) {
        napi_value arr = transfer_value(env, m->table, m->from, m->reason, m->gift, m->gift_len);
        m->table = NULL; /* now owned by the external (or freed by wrap_table on failure) */
        if (arr != NULL) {
            napi_value undefined;
            napi_get_undefined(env, &undefined);
            napi_call_function(env, undefined, callback, 1, &arr, NULL);
        }
    }
    if (m->table != NULL) rets_table_free(m->table);
    free(m->gift);
    free(m);
}

/* The watcher thread: waits for transfers in short slices (so that close() can stop it
 * quickly; rets_owner_close must not run while another thread is inside the owner) and queues
 * each to the JavaScript thread without ever blocking it. */
static void *watch(void *arg) {
    owner_box *box = arg;
    rets_buf *gift = NULL;
    if (rets_buf_new(&gift) != RETS_STATUS_OK) return NULL;
    while (!atomic_load(&box->stop)) {
        rets_table *t = NULL;
        uint64_t from = 0;
        rets_transfer_reason reason = RETS_TRANSFER_REASON_INHERITED;
        rets_status s = rets_owner_recv_transfer(box->owner, WATCH_SLICE_MS, &t, &from, &reason,
                                                 gift);
        if (s == RETS_STATUS_TIMEOUT) continue;
        if (s != RETS_STATUS_OK) break;
        transfer_msg *m = calloc(1, sizeof *m);
        uint8_t *bytes = malloc(rets_buf_len(gift) + 1);
        if (m == NULL || bytes == NULL) {
            free(m);
            free(bytes);
            rets_table_free(t);
            continue;
        }
        memcpy(bytes, rets_buf_data(gift), rets_buf_len(gift));
        *m = (transfer_msg){t, from, reason, bytes, rets_buf_len(gift)};
        if (napi_call_threadsafe_function(box->tsfn, m, napi_tsfn_nonblocking) != napi_ok)
            deliver(NULL, NULL, NULL, m);
    }
    rets_buf_free(gift);
    return NULL;
}

/* Starts delivering transfers to `callback(transfer)`. Like a MessagePort with a 'message'
 * listener, a watching owner keeps the event loop alive (until unwatched or closed). */
static napi_value owner_watch(napi_env env, napi_callback_info info) {
    napi_value argv[2], name;
    if (!get_args(env, info, 2, argv)) return NULL;
    owner_box *box = owner_box_of(env, argv[0]);
    if (box == NULL) return NULL;
    if (!box->open)
        return throw_status_message(env, RETS_STATUS_OWNER_CLOSED,
                                    "owner closed: this owner was closed");
    if (box->watching) return ret_undefined(env, RETS_STATUS_OK);
    napi_create_string_utf8(env, "rets transfer", NAPI_AUTO_LENGTH, &name);
    if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, deliver,
                                        &box->tsfn) != napi_ok)
        return NULL;
    atomic_store(&box->stop, false);
    if (pthread_create(&box->thread, NULL, watch, box) != 0) {
        napi_release_threadsafe_function(box->tsfn, napi_tsfn_abort);
        return throw_type(env, "rets: could not start the transfer watcher thread");
    }
    box->watching = true;
    /* Cleanup hooks run newest first: re-register ours after the thread-safe function's own, so
     * that at the end of the environment the watcher stops before Node tears the function down. */
    napi_remove_env_cleanup_hook(env, env_cleanup, box);
    napi_add_env_cleanup_hook(env, env_cleanup, box);
    return ret_undefined(env, RETS_STATUS_OK);
}

/* Stops delivering transfers (those arriving later wait in the engine for takeTransfer or the
 * next watch). Waits at most one slice for the watcher thread. */
static napi_value owner_unwatch(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    if (!get_args(env, info, 1, argv)) return NULL;
    owner_box *box = owner_box_of(env, argv[0]);
    if (box == NULL) return NULL;
    stop_watcher(box);
    return ret_undefined(env, RETS_STATUS_OK);
}

/* The first TABLE_ARGC arguments of tableNew and tableNewCache: (owner, name, type, access,
 * keypos, named, readConcurrency, writeConcurrency, heir, heirData). On success the caller
 * frees *name. */
bool arg_table_options(napi_env env, napi_value *argv, rets_owner **owner, char **name,
                       rets_table_options *opts) {
    rets_owner *heir;
    term_arg heir_data;
    size_t type, access, keypos;
    bool named, rc, wc;
    if (!arg_owner(env, argv[0], owner) || !arg_size(env, argv[2], &type) ||
        !arg_size(env, argv[3], &access) || !arg_size(env, argv[4], &keypos) ||
        !arg_bool(env, argv[5], &named) || !arg_bool(env, argv[6], &rc) ||
        !arg_bool(env, argv[7], &wc) || !arg_opt_owner(env, argv[8], &heir) ||
        !arg_opt_bytes(env, argv[9], &heir_data))
        return false;
    *name = arg_string(env, argv[1]);
    if (*name == NULL) return false;
    *opts = (rets_table_options){
        .table_type = (uint32_t)type,
        .access = (uint32_t)access,
        .keypos = keypos,
        .named = named,
        .read_concurrency = rc,
        .write_concurrency = wc,
        .heir = heir,
        .heir_data = heir_data.data,
        .heir_data_len = heir_data.len,
    };
    return true;
}

static napi_value table_new(napi_env env, napi_callback_info info) {
    napi_value argv[TABLE_ARGC];
    rets_owner *o;
    char *name;
    rets_table_options opts;
    if (!get_args(env, info, TABLE_ARGC, argv) || !arg_table_options(env, argv, &o, &name, &opts))
        return NULL;
    rets_table *t = NULL;
    rets_status s = rets_table_new(o, name, &opts, &t);
    free(name);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    return wrap_table(env, t);
}

/* (owner, path, verify) -> a table handle (ETS file2tab) */
static napi_value file2tab(napi_env env, napi_callback_info info) {
    napi_value argv[3];
    rets_owner *o;
    bool verify;
    if (!get_args(env, info, 3, argv) || !arg_owner(env, argv[0], &o) ||
        !arg_bool(env, argv[2], &verify))
        return NULL;
    char *path = arg_string(env, argv[1]);
    if (path == NULL) return NULL;
    rets_table *t = NULL;
    rets_status s = rets_file2tab(o, path, verify, &t);
    free(path);
    if (s != RETS_STATUS_OK) return throw_status(env, s);
    return wrap_table(env, t);
}

static napi_value table_give_away(napi_env env, napi_callback_info info) {
    napi_value argv[3];
    rets_table *t;
    rets_owner *to;
    term_arg gift;
    if (!get_args(env, info, 3, argv) || !arg_table(env, argv[0], &t) ||
        !arg_owner(env, argv[1], &to) || !arg_opt_bytes(env, argv[2], &gift))
        return NULL;
    return ret_undefined(env, rets_table_give_away(t, to, gift.data, gift.len));
}

static napi_value table_set_heir(napi_env env, napi_callback_info info) {
    napi_value argv[3];
    rets_table *t;
    rets_owner *heir;
    term_arg data;
    if (!get_args(env, info, 3, argv) || !arg_table(env, argv[0], &t) ||
        !arg_opt_owner(env, argv[1], &heir) || !arg_opt_bytes(env, argv[2], &data))
        return NULL;
    return ret_undefined(env, rets_table_set_heir(t, heir, data.data, data.len));
}

bool register_owner(napi_env env, napi_value exports) {
    static const export_fn fns[] = {
        {"ownerNew", owner_new},
        {"ownerClose", owner_close},
        {"ownerIsOpen", owner_is_open},
        {"ownerId", owner_id},
        {"ownerWhereis", owner_whereis},
        {"ownerTakeTransfer", owner_take_transfer},
        {"ownerWatch", owner_watch},
        {"ownerUnwatch", owner_unwatch},
        {"whereis", whereis},
        {"tableNew", table_new},
        {"file2tab", file2tab},
        {"tableWithOwner", table_with_owner},
        {"tableGiveAway", table_give_away},
        {"tableSetHeir", table_set_heir},
        {NULL, NULL},
    };
    return export_all(env, exports, fns);
}
