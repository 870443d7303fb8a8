/* The boundary between JavaScript values and the C ABI: argument readers, the RetsError
 * thrower and the result writers shared by every wrapped function. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rets_node.h"

/* A table handle as JavaScript sees it: an external pointing to this box. The magic number
 * (rather than napi_type_tag_object, which costs a property lookup on every call of the hot
 * path) tells a table external from the addon's other externals. */
#define TABLE_MAGIC 0x7265747374626c31ULL
typedef struct table_box {
    uint64_t magic;
    rets_table *table;
} table_box;

env_state *state_of(napi_env env) {
    void *data = NULL;
    napi_get_instance_data(env, &data);
    return data;
}

bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
    size_t argc = n;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
    if (argc < n) {
        throw_type(env, "rets: too few arguments to a native function");
        return false;
    }
    return true;
}

napi_value throw_type(napi_env env, const char *message) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return NULL;
}

/* `RETS_STATUS_NO_TABLE` -> `ERR_RETS_NO_TABLE`: the stable code JavaScript sees. */
static void status_code(rets_status status, char *code, size_t cap) {
    const char *name = rets_status_name((uint32_t)status);
    const char *prefix = "RETS_STATUS_";
    if (strncmp(name, prefix, strlen(prefix)) == 0) name += strlen(prefix);
    snprintf(code, cap, "ERR_RETS_%s", name);
}

napi_value throw_status(napi_env env, rets_status status) {
    /* The message is per thread and valid until the next failing rets call: used right away. */
    return throw_status_message(env, status, rets_last_error_message());
}

napi_value throw_status_message(napi_env env, rets_status status, const char *message) {
    env_state *st = state_of(env);
    char code[64];
    status_code(status, code, sizeof code);
    napi_value ctor = NULL, args[3], error;
    if (st == NULL || st->error_class == NULL ||
        napi_get_reference_value(env, st->error_class, &ctor) != napi_ok || ctor == NULL) {
        napi_throw_error(env, code, message);
        return NULL;
    }
    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &args[0]);
    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &args[1]);
    napi_create_uint32(env, (uint32_t)status, &args[2]);
    if (napi_new_instance(env, ctor, 3, args, &error) == napi_ok) napi_throw(env, error);
    return NULL;
}

static void free_table(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    table_box *box = data;
    rets_table_free(box->table);
    box->magic = 0;
    free(box);
}

napi_value wrap_table(napi_env env, rets_table *table) {
    napi_value v;
    table_box *box = malloc(sizeof *box);
    if (box == NULL) {
        rets_table_free(table);
        return throw_type(env, "rets: out of memory");
    }
    box->magic = TABLE_MAGIC;
    box->table = table;
    if (napi_create_external(env, box, free_table, NULL, &v) != napi_ok) {
        free_table(env, box, NULL);
        return NULL;
    }
    return v;
}

bool arg_table(napi_env env, napi_value v, rets_table **out) {
    void *data = NULL;
    if (napi_get_value_external(env, v, &data) != napi_ok || data == NULL ||
        ((table_box *)data)->magic != TABLE_MAGIC) {
        throw_type(env, "rets: a table handle was expected");
        return false;
    }
    *out = ((table_box *)data)->table;
    return true;
}

bool arg_bytes(napi_env env, napi_value v, term_arg *out) {
    void *data = NULL;
    size_t len = 0;
    napi_typedarray_type type;
    bool is_typed = false;
    if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
        napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok ||
        type != napi_uint8_array) {
        throw_type(env, "rets: encoded term bytes (a Uint8Array) were expected");
        return false;
    }
    out->data = data;
    out->len = len;
    return true;
}

static bool is_null_or_undefined(napi_env env, napi_value v) {
    napi_valuetype t;
    return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

bool arg_opt_bytes(napi_env env, napi_value v, term_arg *out) {
    if (is_null_or_undefined(env, v)) {
        out->data = NULL;
        out->len = 0;
        return true;
    }
    return arg_bytes(env, v, out);
}

/* Strings and numbers, the usual keys, are built here with rets_builder (canonical bytes that
 * rets uses in place); every other key arrives packed by msgpackr. */
bool arg_key(napi_env env, env_state *st, napi_value v, term_arg *out) {
    napi_valuetype t;
    if (napi_typeof(env, v, &t) != napi_ok) return false;
    rets_status s = rets_builder_reset(st->builder);
    if (t == napi_string) {
        char small[256];
        size_t len = 0;
        if (napi_get_value_string_utf8(env, v, small, sizeof small, &len) != napi_ok) return false;
        if (len + 1 < sizeof small) {
            s = rets_builder_str(st->builder, small, len);
        } else {
            napi_get_value_string_utf8(env, v, NULL, 0, &len);
            char *big = malloc(len + 1);
            if (big == NULL) return throw_type(env, "rets: out of memory"), false;
            napi_get_value_string_utf8(env, v, big, len + 1, &len);
            s = rets_builder_str(st->builder, big, len);
            free(big);
        }
    } else if (t == napi_number) {
        double d = 0;
        napi_get_value_double(env, v, &d);
        /* Integral numbers with |d| <= 2^53 are integers (as lib/terms.js encodes them, and as
         * msgpackr decodes them); others floats. */
        if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == (double)(int64_t)d)
            s = rets_builder_int(st->builder, (int64_t)d);
        else
            s = rets_builder_double(st->builder, d);
    } else {
        return arg_bytes(env, v, out);
    }
    if (s == RETS_STATUS_OK) s = rets_builder_finish(st->builder, &out->data, &out->len);
    if (s != RETS_STATUS_OK) {
        throw_status(env, s);
        return false;
    }
    return true;
}

bool arg_size(napi_env env, napi_value v, size_t *out) {
    double d = -1;
    if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d != (double)(int64_t)d ||
        d > 9007199254740991.0) {
        throw_type(env, "rets: a non-negative integer was expected");
        return false;
    }
    *out = (size_t)d;
    return true;
}

bool arg_i64(napi_env env, napi_value v, int64_t *out) {
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t == napi_bigint) {
        bool lossless = false;
        if (napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok && lossless)
            return true;
        throw_type(env, "rets: a BigInt outside the 64-bit signed range");
        return false;
    }
    double d = 0;
    if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
        d != (double)(int64_t)d || d < -9007199254740991.0 || d > 9007199254740991.0) {
        throw_type(env, "rets: an integer (a safe integer Number or a BigInt) was expected");
        return false;
    }
    *out = (int64_t)d;
    return true;
}

bool arg_bool(napi_env env, napi_value v, bool *out) {
    if (napi_get_value_bool(env, v, out) != napi_ok) {
        throw_type(env, "rets: a boolean was expected");
        return false;
    }
    return true;
}

char *arg_string(napi_env env, napi_value v) {
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
        throw_type(env, "rets: a string was expected");
        return NULL;
    }
    char *s = malloc(len + 1);
    if (s == NULL) return throw_type(env, "rets: out of memory"), NULL;
    napi_get_value_string_utf8(env, v, s, len + 1, &len);
    if (strlen(s) != len) {
        free(s);
        throw_type(env, "rets: a name must not contain NUL characters");
        return NULL;
    }
    return s;
}

napi_value ret_undefined(napi_env env, rets_status status) {
    if (status != RETS_STATUS_OK) return throw_status(env, status);
    napi_value v;
    napi_get_undefined(env, &v);
    return v;
}

napi_value ret_bool(napi_env env, rets_status status, bool value) {
    if (status != RETS_STATUS_OK) return throw_status(env, status);
    napi_value v;
    napi_get_boolean(env, value, &v);
    return v;
}

napi_value i64_value(napi_env env, int64_t value) {
    napi_value v;
    if (value >= -9007199254740991LL && value <= 9007199254740991LL)
        napi_create_int64(env, value, &v);
    else
        napi_create_bigint_int64(env, value, &v);
    return v;
}

napi_value ret_i64(napi_env env, rets_status status, int64_t value) {
    if (status != RETS_STATUS_OK) return throw_status(env, status);
    return i64_value(env, value);
}

napi_value ret_u64(napi_env env, rets_status status, uint64_t value) {
    if (status != RETS_STATUS_OK) return throw_status(env, status);
    napi_value v;
    napi_create_bigint_uint64(env, value, &v);
    return v;
}

napi_value buffer_copy(napi_env env, const uint8_t *data, size_t len) {
    napi_value v;
    void *copy;
    if (napi_create_buffer_copy(env, len, data, &copy, &v) != napi_ok) return NULL;
    return v;
}

napi_value ret_buf(napi_env env, rets_status status, const rets_buf *buf) {
    if (status != RETS_STATUS_OK) return throw_status(env, status);
    env_state *st = state_of(env);
    size_t len = rets_buf_len(buf);
    if (len <= st->area_len) {
        memcpy(st->area, rets_buf_data(buf), len);
        napi_value v;
        napi_create_uint32(env, (uint32_t)len, &v);
        return v;
    }
    return buffer_copy(env, rets_buf_data(buf), len);
}

napi_value ret_end_or_buf(napi_env env, rets_status status, const rets_buf *buf) {
    if (status == RETS_STATUS_END_OF_TABLE) {
        napi_value v;
        napi_get_null(env, &v);
        return v;
    }
    return ret_buf(env, status, buf);
}

bool export_all(napi_env env, napi_value exports, const export_fn *fns) {
    for (; fns->name != NULL; fns++) {
        napi_value f;
        if (napi_create_function(env, fns->name, NAPI_AUTO_LENGTH, fns->fn, NULL, &f) != napi_ok ||
            napi_set_named_property(env, exports, fns->name, f) != napi_ok)
            return false;
    }
    return true;
}
