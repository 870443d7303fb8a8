/*
 * The C API test: calls every function of rets.h, on its success path and on every error path
 * it documents, and checks that failed calls leave their outputs untouched. Built with
 * -std=c99 -Wall -Wextra -Werror and run under AddressSanitizer + UBSan and under valgrind by
 * ci/c-tests.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

typedef struct bytes {
    const uint8_t *p;
    size_t n;
} bytes;

/* Builders reused by the helpers: keys, objects, other values. */
static rets_builder *kb, *ob, *vb;

static bytes finish(rets_builder *b) {
    bytes r;
    OK(rets_builder_finish(b, &r.p, &r.n));
    return r;
}

static bytes key_s(const char *s) {
    OK(rets_builder_reset(kb));
    OK(rets_builder_str(kb, s, strlen(s)));
    return finish(kb);
}

static bytes key_i(int64_t i) {
    OK(rets_builder_reset(kb));
    OK(rets_builder_int(kb, i));
    return finish(kb);
}

/* {k, v} with a str key. */
static bytes obj_si(const char *k, int64_t v) {
    OK(rets_builder_reset(ob));
    OK(rets_builder_array(ob, 2));
    OK(rets_builder_str(ob, k, strlen(k)));
    OK(rets_builder_int(ob, v));
    return finish(ob);
}

/* {k, v} with an integer key. */
static bytes obj_ii(int64_t k, int64_t v) {
    OK(rets_builder_reset(ob));
    OK(rets_builder_array(ob, 2));
    OK(rets_builder_int(ob, k));
    OK(rets_builder_int(ob, v));
    return finish(ob);
}

static bytes val_i(int64_t v) {
    OK(rets_builder_reset(vb));
    OK(rets_builder_int(vb, v));
    return finish(vb);
}

static bytes buf_bytes(const rets_buf *buf) {
    bytes r;
    r.p = rets_buf_data(buf);
    r.n = rets_buf_len(buf);
    return r;
}

/* The number of objects in a result array. */
static size_t count(const rets_buf *buf) {
    rets_reader r;
    size_t n = 0;
    OK(rets_reader_init(&r, rets_buf_data(buf), rets_buf_len(buf)));
    OK(rets_reader_array(&r, &n));
    return n;
}

/* The integer at `pos` (1-based) of the `index`-th object of a result array. */
static int64_t int_at(const rets_buf *buf, size_t index, size_t pos) {
    rets_reader r;
    size_t n = 0, arity = 0, i;
    int64_t v = 0;
    OK(rets_reader_init(&r, rets_buf_data(buf), rets_buf_len(buf)));
    OK(rets_reader_array(&r, &n));
    CHECK(index < n);
    for (i = 0; i < index; i++) OK(rets_reader_skip(&r));
    OK(rets_reader_array(&r, &arity));
    CHECK(pos >= 1 && pos <= arity);
    for (i = 1; i < pos; i++) OK(rets_reader_skip(&r));
    OK(rets_reader_int(&r, &v));
    return v;
}

static int64_t read_int(bytes b) {
    rets_reader r;
    int64_t v = 0;
    OK(rets_reader_init(&r, b.p, b.n));
    OK(rets_reader_int(&r, &v));
    CHECK(rets_reader_remaining(&r) == 0);
    return v;
}

static int bytes_eq_str(bytes b, const char *s) {
    return b.n == strlen(s) && memcmp(b.p, s, b.n) == 0;
}

/* ---- version, statuses, messages ---- */

static void test_version(void) {
    CHECK(strcmp(rets_version(), RETS_VERSION) == 0);
    CHECK(RETS_VERSION_MAJOR == 0 && RETS_VERSION_MINOR == 1 && RETS_VERSION_PATCH == 0);
    CHECK(strcmp(rets_last_error_message(), "no error") == 0);
    CHECK(strcmp(rets_status_name(RETS_STATUS_OK), "RETS_STATUS_OK") == 0);
    CHECK(strcmp(rets_status_name(RETS_STATUS_NO_TABLE), "RETS_STATUS_NO_TABLE") == 0);
    CHECK(strcmp(rets_status_name(RETS_STATUS_PANIC), "RETS_STATUS_PANIC") == 0);
    CHECK(strcmp(rets_status_name(RETS_STATUS_INTERNAL), "RETS_STATUS_INTERNAL") == 0);
    CHECK(strcmp(rets_status_name(99999), "RETS_STATUS_UNKNOWN") == 0);
}

/* ---- buffers ---- */

static void test_buffers(void) {
    rets_buf *buf = NULL;
    EXPECT(rets_buf_new(NULL), RETS_STATUS_NULL_ARGUMENT);
    CHECK(strstr(rets_last_error_message(), "`out` is NULL") != NULL);
    OK(rets_buf_new(&buf));
    CHECK(buf != NULL);
    CHECK(rets_buf_len(buf) == 0);
    CHECK(rets_buf_data(buf) != NULL && rets_buf_data(buf)[0] == 0);
    CHECK(rets_buf_data(NULL) == NULL);
    CHECK(rets_buf_len(NULL) == 0);
    rets_buf_free(buf);
    rets_buf_free(NULL);
}

/* ---- builder ---- */

static void test_builder(void) {
    rets_builder *b = NULL;
    const uint8_t *data = (const uint8_t *)"sentinel";
    size_t len = 12345;
    static const uint8_t nonutf8[] = {0xff};
    static const uint8_t truncated[] = {0x92, 0x01};
    static const uint8_t ext[] = {0xd4, 0x01, 0x02};
    static const uint8_t wide_one[] = {0xcd, 0x00, 0x01}; /* 1 as uint 16: not canonical */
    static const uint8_t blob[] = {1, 2, 3};
    int i;

    EXPECT(rets_builder_new(NULL), RETS_STATUS_NULL_ARGUMENT);
    OK(rets_builder_new(&b));
    /* Empty: finish fails and writes nothing. */
    EXPECT(rets_builder_finish(b, &data, &len), RETS_STATUS_INVALID_ARGUMENT);
    CHECK(len == 12345 && memcmp(data, "sentinel", 8) == 0);
    EXPECT(rets_builder_finish(b, NULL, &len), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_finish(b, &data, NULL), RETS_STATUS_NULL_ARGUMENT);

    /* {nil, true, -5, 2^64-1, 1.5, "hé", <<1,2,3>>, #{1 => 1}, {}} */
    OK(rets_builder_array(b, 9));
    OK(rets_builder_nil(b));
    OK(rets_builder_bool(b, true));
    OK(rets_builder_int(b, -5));
    OK(rets_builder_uint(b, UINT64_MAX));
    OK(rets_builder_double(b, 1.5));
    OK(rets_builder_str(b, "h\xc3\xa9", 3));
    OK(rets_builder_bin(b, blob, sizeof blob));
    OK(rets_builder_map(b, 1));
    OK(rets_builder_int(b, 1));
    EXPECT(rets_builder_finish(b, &data, &len), RETS_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(rets_last_error_message(), "incomplete") != NULL);
    OK(rets_builder_raw(b, wide_one, sizeof wide_one)); /* canonicalised to 0x01 */
    OK(rets_builder_array(b, 0));
    OK(rets_builder_finish(b, &data, &len));
    /* A complete value takes nothing more. */
    EXPECT(rets_builder_nil(b), RETS_STATUS_INVALID_ARGUMENT);
    OK(rets_builder_finish(b, &data, &len));

    {
        rets_reader r;
        size_t n = 0, blen = 0, slen = 0;
        bool flag = false;
        int64_t i64 = 0;
        uint64_t u64 = 0;
        double d = 0;
        const char *s = NULL;
        const uint8_t *bin = NULL;
        enum rets_type type = RETS_TYPE_EXT;
        OK(rets_reader_init(&r, data, len));
        OK(rets_reader_type(&r, &type));
        CHECK(type == RETS_TYPE_ARRAY);
        OK(rets_reader_array(&r, &n));
        CHECK(n == 9);
        OK(rets_reader_type(&r, &type));
        CHECK(type == RETS_TYPE_NIL);
        OK(rets_reader_nil(&r));
        OK(rets_reader_bool(&r, &flag));
        CHECK(flag);
        OK(rets_reader_int(&r, &i64));
        CHECK(i64 == -5);
        OK(rets_reader_uint(&r, &u64));
        CHECK(u64 == UINT64_MAX);
        OK(rets_reader_double(&r, &d));
        CHECK(d == 1.5);
        OK(rets_reader_str(&r, &s, &slen));
        CHECK(slen == 3 && memcmp(s, "h\xc3\xa9", 3) == 0);
        OK(rets_reader_bin(&r, &bin, &blen));
        CHECK(blen == 3 && memcmp(bin, blob, 3) == 0);
        OK(rets_reader_map(&r, &n));
        CHECK(n == 1);
        OK(rets_reader_int(&r, &i64));
        CHECK(i64 == 1);
        OK(rets_reader_int(&r, &i64));
        CHECK(i64 == 1);
        OK(rets_reader_array(&r, &n));
        CHECK(n == 0);
        CHECK(rets_reader_remaining(&r) == 0);
    }

    /* Errors add nothing. */
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 1));
    EXPECT(rets_builder_double(b, NAN), RETS_STATUS_UNSUPPORTED_TERM);
    EXPECT(rets_builder_str(b, (const char *)nonutf8, 1), RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_builder_str(b, NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_bin(b, NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_raw(b, truncated, sizeof truncated), RETS_STATUS_MALFORMED);
    EXPECT(rets_builder_raw(b, ext, sizeof ext), RETS_STATUS_UNSUPPORTED_TERM);
    EXPECT(rets_builder_raw(b, NULL, 2), RETS_STATUS_NULL_ARGUMENT);
    OK(rets_builder_str(b, NULL, 0)); /* the empty str */
    OK(rets_builder_finish(b, &data, &len));
    CHECK(len == 2 && data[0] == 0x91 && data[1] == 0xa0);

    /* Inputs may point into the builder's own memory: bytes from rets_builder_finish() stay
     * valid after a reset until the next value is added, and that call may take them. */
    {
        const uint8_t *again = NULL;
        size_t again_len = 0;
        uint8_t copy[64];
        const char *text = "a str long enough to matter";
        rets_reader r;
        const uint8_t *bin = NULL;
        size_t blen = 0;
        OK(rets_builder_reset(b));
        OK(rets_builder_array(b, 2));
        OK(rets_builder_str(b, text, 27));
        OK(rets_builder_int(b, 300));
        OK(rets_builder_finish(b, &data, &len));
        CHECK(len <= sizeof copy && data[1] == 0xa0 + 27);
        memcpy(copy, data, len);
        OK(rets_builder_reset(b));
        OK(rets_builder_raw(b, data, len)); /* the builder's own bytes, re-added */
        OK(rets_builder_finish(b, &again, &again_len));
        CHECK(again_len == len && memcmp(again, copy, len) == 0);
        OK(rets_builder_reset(b));
        OK(rets_builder_str(b, (const char *)again + 2, 27)); /* the str inside them */
        OK(rets_builder_finish(b, &data, &len));
        CHECK(len == 28 && data[0] == 0xa0 + 27 && memcmp(data + 1, text, 27) == 0);
        OK(rets_builder_reset(b));
        OK(rets_builder_bin(b, data + 1, 27)); /* and as a bin */
        OK(rets_builder_finish(b, &data, &len));
        OK(rets_reader_init(&r, data, len));
        OK(rets_reader_bin(&r, &bin, &blen));
        CHECK(blen == 27 && memcmp(bin, text, 27) == 0);
    }

    /* Depth limit: 128 levels of arrays are fine, the 129th is refused. */
    OK(rets_builder_reset(b));
    for (i = 0; i < 128; i++) OK(rets_builder_array(b, 1));
    EXPECT(rets_builder_array(b, 1), RETS_STATUS_LIMIT_EXCEEDED);
    EXPECT(rets_builder_map(b, 1), RETS_STATUS_LIMIT_EXCEEDED);
    OK(rets_builder_bin(b, NULL, 0));
    OK(rets_builder_finish(b, &data, &len));

    /* NULL builder everywhere. */
    EXPECT(rets_builder_reset(NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_finish(NULL, &data, &len), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_nil(NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_bool(NULL, true), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_int(NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_uint(NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_double(NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_str(NULL, "a", 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_bin(NULL, blob, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_array(NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_map(NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_builder_raw(NULL, blob, 1), RETS_STATUS_NULL_ARGUMENT);
    rets_builder_free(b);
    rets_builder_free(NULL);
}

/* ---- reader ---- */

static void test_reader(void) {
    /* -1 as int 16, 1.5 as float 32, "ok" as str 8, [1] as array 16, map 16 {}, a fixext. */
    static const uint8_t wide[] = {0xd1, 0xff, 0xff, 0xca, 0x3f, 0xc0, 0x00, 0x00, 0xd9, 0x02,
                                   'o',  'k',  0xdc, 0x00, 0x01, 0x01, 0xde, 0x00, 0x00, 0xd4,
                                   0x01, 0x02};
    static const uint8_t neg[] = {0xff};                      /* -1 */
    static const uint8_t big[] = {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}; /* 2^63 */
    static const uint8_t bad_utf8[] = {0xa1, 0xff};
    static const uint8_t cut[] = {0x93, 0x01};
    static const uint8_t invalid[] = {0xc1};
    rets_reader r;
    enum rets_type type = RETS_TYPE_NIL;
    int64_t i64 = 77;
    uint64_t u64 = 77;
    double d = 0;
    const char *s = NULL;
    const uint8_t *raw = NULL;
    size_t n = 77, len = 0;
    bool flag = false;

    EXPECT(rets_reader_init(NULL, wide, sizeof wide), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_init(&r, NULL, 3), RETS_STATUS_NULL_ARGUMENT);
    OK(rets_reader_init(&r, NULL, 0));
    CHECK(rets_reader_remaining(&r) == 0);
    EXPECT(rets_reader_type(&r, &type), RETS_STATUS_MALFORMED); /* nothing to read */

    OK(rets_reader_init(&r, wide, sizeof wide));
    CHECK(rets_reader_remaining(&r) == sizeof wide);
    OK(rets_reader_type(&r, &type));
    CHECK(type == RETS_TYPE_INT);
    /* Asking for the wrong type fails and does not move the cursor. */
    EXPECT(rets_reader_nil(&r), RETS_STATUS_WRONG_TYPE);
    EXPECT(rets_reader_bool(&r, &flag), RETS_STATUS_WRONG_TYPE);
    EXPECT(rets_reader_double(&r, &d), RETS_STATUS_WRONG_TYPE);
    EXPECT(rets_reader_str(&r, &s, &len), RETS_STATUS_WRONG_TYPE);
    EXPECT(rets_reader_bin(&r, &raw, &len), RETS_STATUS_WRONG_TYPE);
    EXPECT(rets_reader_array(&r, &n), RETS_STATUS_WRONG_TYPE);
    EXPECT(rets_reader_map(&r, &n), RETS_STATUS_WRONG_TYPE);
    EXPECT(rets_reader_uint(&r, &u64), RETS_STATUS_OVERFLOW); /* -1 */
    CHECK(r.pos == 0 && u64 == 77 && n == 77);
    OK(rets_reader_int(&r, &i64));
    CHECK(i64 == -1);
    OK(rets_reader_double(&r, &d));
    CHECK(d == 1.5);
    OK(rets_reader_raw(&r, &raw, &len));
    CHECK(len == 4 && raw == wide + 8);
    OK(rets_reader_array(&r, &n));
    CHECK(n == 1);
    OK(rets_reader_skip(&r));
    OK(rets_reader_map(&r, &n));
    CHECK(n == 0);
    OK(rets_reader_type(&r, &type));
    CHECK(type == RETS_TYPE_EXT);
    OK(rets_reader_skip(&r));
    CHECK(rets_reader_remaining(&r) == 0);

    OK(rets_reader_init(&r, neg, sizeof neg));
    EXPECT(rets_reader_uint(&r, &u64), RETS_STATUS_OVERFLOW);
    OK(rets_reader_init(&r, big, sizeof big));
    EXPECT(rets_reader_int(&r, &i64), RETS_STATUS_OVERFLOW);
    OK(rets_reader_uint(&r, &u64));
    CHECK(u64 == (uint64_t)1 << 63);
    OK(rets_reader_init(&r, bad_utf8, sizeof bad_utf8));
    EXPECT(rets_reader_str(&r, &s, &len), RETS_STATUS_MALFORMED);
    OK(rets_reader_init(&r, cut, sizeof cut));
    EXPECT(rets_reader_skip(&r), RETS_STATUS_MALFORMED);
    EXPECT(rets_reader_raw(&r, &raw, &len), RETS_STATUS_MALFORMED);
    CHECK(r.pos == 0);
    OK(rets_reader_init(&r, invalid, sizeof invalid));
    EXPECT(rets_reader_type(&r, &type), RETS_STATUS_MALFORMED);
    /* A corrupted cursor is refused, not followed. */
    OK(rets_reader_init(&r, wide, sizeof wide));
    r.pos = 1000;
    EXPECT(rets_reader_skip(&r), RETS_STATUS_INVALID_ARGUMENT);
    CHECK(rets_reader_remaining(&r) == 0);

    /* NULL everywhere. */
    OK(rets_reader_init(&r, wide, sizeof wide));
    CHECK(rets_reader_remaining(NULL) == 0);
    EXPECT(rets_reader_type(NULL, &type), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_type(&r, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_nil(NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_bool(&r, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_int(&r, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_uint(&r, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_double(&r, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_str(&r, NULL, &len), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_str(&r, &s, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_bin(&r, NULL, &len), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_array(&r, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_map(&r, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_skip(NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_reader_raw(&r, &raw, NULL), RETS_STATUS_NULL_ARGUMENT);
    CHECK(r.pos == 0);
}

/* ---- tables: creation and options ---- */

static void test_table_options(rets_owner *owner) {
    rets_table_options opts;
    rets_table *t = NULL, *sentinel = (rets_table *)&opts;
    rets_info info;
    static const uint8_t nonutf8_name[] = {'a', 0xff, 0};
    static const uint8_t truncated[] = {0x92};
    bytes gift;
    rets_owner *heir = NULL;
    uint64_t heir_id = 0, owner_id = 0;

    memset(&opts, 0, sizeof opts);
    OK(rets_table_new(owner, "defaults", NULL, &t));
    OK(rets_table_info(t, &info));
    CHECK(info.table_type == RETS_TABLE_TYPE_SET && info.access == RETS_ACCESS_PROTECTED);
    CHECK(info.keypos == 1 && !info.named && info.heir == 0 && info.size == 0);
    CHECK(!info.read_concurrency && !info.write_concurrency && info.memory > 0 && info.id > 0);
    OK(rets_owner_id(owner, &owner_id));
    CHECK(info.owner == owner_id);
    rets_table_free(t);

    /* Every option. */
    OK(rets_owner_new(&heir));
    OK(rets_owner_id(heir, &heir_id));
    gift = val_i(7);
    opts.table_type = RETS_TABLE_TYPE_DUPLICATE_BAG;
    opts.access = RETS_ACCESS_PRIVATE;
    opts.keypos = 2;
    opts.named = true;
    opts.read_concurrency = true;
    opts.write_concurrency = true;
    opts.heir = heir;
    opts.heir_data = gift.p;
    opts.heir_data_len = gift.n;
    OK(rets_table_new(owner, "all_options", &opts, &t));
    OK(rets_table_info(t, &info));
    CHECK(info.table_type == RETS_TABLE_TYPE_DUPLICATE_BAG && info.access == RETS_ACCESS_PRIVATE);
    CHECK(info.keypos == 2 && info.named && info.heir == heir_id);
    CHECK(info.read_concurrency && info.write_concurrency);
    /* The name is taken now. */
    {
        rets_table *other = sentinel;
        EXPECT(rets_table_new(owner, "all_options", &opts, &other), RETS_STATUS_NAME_TAKEN);
        CHECK(other == sentinel);
        OK(rets_whereis("all_options", &other));
        /* a private table: a handle acting for nobody may not delete it */
        EXPECT(rets_table_delete(other), RETS_STATUS_ACCESS_DENIED);
        OK(rets_table_delete(t));
        rets_table_free(other);
    }
    rets_table_free(t);
    t = sentinel;
    rets_owner_close(heir);

    memset(&opts, 0, sizeof opts);
    opts.table_type = 4;
    EXPECT(rets_table_new(owner, "x", &opts, &t), RETS_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(rets_last_error_message(), "table type") != NULL);
    opts.table_type = RETS_TABLE_TYPE_ORDERED_SET;
    opts.access = 3;
    EXPECT(rets_table_new(owner, "x", &opts, &t), RETS_STATUS_INVALID_ARGUMENT);
    opts.access = RETS_ACCESS_PUBLIC;
    opts.heir = owner;
    opts.heir_data = truncated;
    opts.heir_data_len = sizeof truncated;
    EXPECT(rets_table_new(owner, "x", &opts, &t), RETS_STATUS_MALFORMED);
    opts.heir_data = NULL;
    opts.heir_data_len = 5;
    EXPECT(rets_table_new(owner, "x", &opts, &t), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_new(owner, (const char *)nonutf8_name, NULL, &t),
           RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_table_new(NULL, "x", NULL, &t), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_new(owner, NULL, NULL, &t), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_new(owner, "x", NULL, NULL), RETS_STATUS_NULL_ARGUMENT);
    CHECK(t == sentinel);
}

/* ---- operations on a set ---- */

static void test_set_ops(rets_owner *owner, rets_buf *out) {
    rets_table *t = NULL;
    rets_table_options opts;
    bytes k, o;
    bool flag = false;
    int64_t value = -1;
    rets_info info;
    static const uint8_t not_array[] = {0x05};
    static const uint8_t trailing[] = {0x91, 0x01, 0x02};
    static const uint8_t ext_obj[] = {0x91, 0xd4, 0x01, 0x02};
    static const uint8_t wide_key[] = {0xcd, 0x00, 0x01}; /* 1, not canonical */
    static const uint8_t float_one[] = {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}; /* 1.0 */
    uint8_t *deep, *big_key;
    size_t i;

    memset(&opts, 0, sizeof opts);
    opts.table_type = RETS_TABLE_TYPE_SET;
    OK(rets_table_new(owner, "set", &opts, &t));

    /* insert, lookup, member */
    o = obj_si("a", 1);
    OK(rets_table_insert(t, o.p, o.n));
    k = key_s("a");
    OK(rets_table_lookup(t, k.p, k.n, out));
    CHECK(count(out) == 1 && int_at(out, 0, 2) == 1);
    OK(rets_table_member(t, k.p, k.n, &flag));
    CHECK(flag);
    k = key_s("absent");
    OK(rets_table_lookup(t, k.p, k.n, out));
    CHECK(count(out) == 0);
    OK(rets_table_member(t, k.p, k.n, &flag));
    CHECK(!flag);

    /* A key read from a result may point into the output buffer itself. */
    o = obj_si("a", 2);
    OK(rets_table_insert(t, o.p, o.n)); /* replaces {a, 1} */
    k = key_s("a");
    OK(rets_table_lookup(t, k.p, k.n, out));
    {
        rets_reader r;
        size_t n;
        bytes inner;
        OK(rets_reader_init(&r, rets_buf_data(out), rets_buf_len(out)));
        OK(rets_reader_array(&r, &n));
        OK(rets_reader_array(&r, &n));
        OK(rets_reader_raw(&r, &inner.p, &inner.n));
        OK(rets_table_lookup(t, inner.p, inner.n, out));
        CHECK(count(out) == 1 && int_at(out, 0, 2) == 2);
    }

    /* Any encoding of a key finds it; 1 and 1.0 are different keys on a set. */
    o = obj_ii(1, 10);
    OK(rets_table_insert(t, o.p, o.n));
    OK(rets_table_lookup(t, wide_key, sizeof wide_key, out));
    CHECK(count(out) == 1 && int_at(out, 0, 2) == 10);
    OK(rets_table_member(t, float_one, sizeof float_one, &flag));
    CHECK(!flag);

    /* insert_new */
    flag = true;
    o = obj_ii(1, 11);
    OK(rets_table_insert_new(t, o.p, o.n, &flag));
    CHECK(!flag);
    o = obj_ii(2, 20);
    OK(rets_table_insert_new(t, o.p, o.n, &flag));
    CHECK(flag);

    /* insert_many and insert_new_many: [{3, 30}, {4, 40}] */
    OK(rets_builder_reset(vb));
    OK(rets_builder_array(vb, 2));
    OK(rets_builder_raw(vb, obj_ii(3, 30).p, obj_ii(3, 30).n));
    OK(rets_builder_raw(vb, obj_ii(4, 40).p, obj_ii(4, 40).n));
    o = finish(vb);
    OK(rets_table_insert_many(t, o.p, o.n));
    OK(rets_table_insert_new_many(t, o.p, o.n, &flag));
    CHECK(!flag);
    OK(rets_table_info(t, &info));
    CHECK(info.size == 5);
    EXPECT(rets_table_insert_new_many(t, NULL, 0, &flag), RETS_STATUS_MALFORMED);
    EXPECT(rets_table_insert_many(t, not_array, sizeof not_array), RETS_STATUS_NOT_AN_ARRAY);
    {
        /* A list with one bad object inserts nothing. [{5, 50}, 7] */
        OK(rets_builder_reset(vb));
        OK(rets_builder_array(vb, 2));
        OK(rets_builder_raw(vb, obj_ii(5, 50).p, obj_ii(5, 50).n));
        OK(rets_builder_int(vb, 7));
        o = finish(vb);
        EXPECT(rets_table_insert_many(t, o.p, o.n), RETS_STATUS_NOT_AN_ARRAY);
        flag = true;
        EXPECT(rets_table_insert_new_many(t, o.p, o.n, &flag), RETS_STATUS_NOT_AN_ARRAY);
        CHECK(flag);
        k = key_i(5);
        OK(rets_table_member(t, k.p, k.n, &flag));
        CHECK(!flag);
    }

    /* Bad objects and keys: a clear status, the table unchanged. */
    EXPECT(rets_table_insert(t, not_array, sizeof not_array), RETS_STATUS_NOT_AN_ARRAY);
    EXPECT(rets_table_insert(t, trailing, sizeof trailing), RETS_STATUS_MALFORMED);
    EXPECT(rets_table_insert(t, ext_obj, sizeof ext_obj), RETS_STATUS_UNSUPPORTED_TERM);
    {
        static const uint8_t empty_obj[] = {0x90};
        EXPECT(rets_table_insert(t, empty_obj, sizeof empty_obj), RETS_STATUS_OBJECT_TOO_SHORT);
    }
    deep = (uint8_t *)malloc(300);
    CHECK(deep != NULL);
    for (i = 0; i < 299; i++) deep[i] = 0x91;
    deep[299] = 0x01;
    EXPECT(rets_table_insert(t, deep, 300), RETS_STATUS_LIMIT_EXCEEDED);
    EXPECT(rets_table_lookup(t, deep, 300, out), RETS_STATUS_LIMIT_EXCEEDED);
    free(deep);
    big_key = (uint8_t *)malloc(70000 + 5);
    CHECK(big_key != NULL);
    big_key[0] = 0xc6; /* bin 32 of 70000 bytes: over the 64 KiB key limit */
    big_key[1] = 0x00;
    big_key[2] = 0x01;
    big_key[3] = 0x11;
    big_key[4] = 0x70;
    memset(big_key + 5, 'k', 70000);
    EXPECT(rets_table_member(t, big_key, 70005, &flag), RETS_STATUS_LIMIT_EXCEEDED);
    free(big_key);
    EXPECT(rets_table_insert(t, NULL, 3), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_insert(t, NULL, 0), RETS_STATUS_MALFORMED);
    OK(rets_table_info(t, &info));
    CHECK(info.size == 5);

    /* lookup_element */
    k = key_i(3);
    OK(rets_table_lookup_element(t, k.p, k.n, 2, NULL, 0, out));
    CHECK(read_int(buf_bytes(out)) == 30);
    EXPECT(rets_table_lookup_element(t, k.p, k.n, 3, NULL, 0, out), RETS_STATUS_BAD_POSITION);
    EXPECT(rets_table_lookup_element(t, k.p, k.n, 0, NULL, 0, out), RETS_STATUS_BAD_POSITION);
    CHECK(read_int(buf_bytes(out)) == 30); /* unchanged by the failures */
    k = key_i(99);
    EXPECT(rets_table_lookup_element(t, k.p, k.n, 2, NULL, 0, out), RETS_STATUS_KEY_NOT_FOUND);
    o = val_i(-1);
    OK(rets_table_lookup_element(t, k.p, k.n, 2, o.p, o.n, out));
    CHECK(read_int(buf_bytes(out)) == -1);
    EXPECT(rets_table_lookup_element(t, k.p, k.n, 2, not_array, 0, out), RETS_STATUS_MALFORMED);

    /* update_counter */
    k = key_i(3);
    OK(rets_table_update_counter(t, k.p, k.n, 5, &value));
    CHECK(value == 35);
    OK(rets_table_update_counter(t, k.p, k.n, -40, &value));
    CHECK(value == -5);
    value = 123;
    EXPECT(rets_table_update_counter(t, k.p, k.n, INT64_MIN, &value), RETS_STATUS_OVERFLOW);
    CHECK(value == 123);
    k = key_i(99);
    EXPECT(rets_table_update_counter(t, k.p, k.n, 1, &value), RETS_STATUS_KEY_NOT_FOUND);
    o = obj_si("text", 0);
    OK(rets_builder_reset(ob));
    OK(rets_builder_array(ob, 2));
    OK(rets_builder_str(ob, "text", 4));
    OK(rets_builder_str(ob, "not a number", 12));
    o = finish(ob);
    OK(rets_table_insert(t, o.p, o.n));
    k = key_s("text");
    EXPECT(rets_table_update_counter(t, k.p, k.n, 1, &value), RETS_STATUS_NOT_AN_INTEGER);
    OK(rets_builder_reset(ob));
    OK(rets_builder_array(ob, 1));
    OK(rets_builder_str(ob, "single", 6));
    o = finish(ob);
    OK(rets_table_insert(t, o.p, o.n));
    k = key_s("single");
    EXPECT(rets_table_update_counter(t, k.p, k.n, 1, &value), RETS_STATUS_BAD_POSITION);
    EXPECT(rets_table_update_counter(t, k.p, k.n, 1, NULL), RETS_STATUS_NULL_ARGUMENT);

    /* update_counters: several ops, thresholds, default object */
    {
        rets_counter_op ops[2];
        int64_t values[2] = {0, 0};
        bytes def;
        ops[0].pos = 2;
        ops[0].incr = 10;
        ops[0].has_threshold = true;
        ops[0].threshold = 12;
        ops[0].set_value = 0;
        ops[1].pos = 3;
        ops[1].incr = -1;
        ops[1].has_threshold = false;
        ops[1].threshold = 0;
        ops[1].set_value = 0;
        /* default {x, 1, 100}: the key is replaced by the key updated */
        OK(rets_builder_reset(vb));
        OK(rets_builder_array(vb, 3));
        OK(rets_builder_str(vb, "x", 1));
        OK(rets_builder_int(vb, 1));
        OK(rets_builder_int(vb, 100));
        def = finish(vb);
        k = key_s("counters");
        EXPECT(rets_table_update_counters(t, k.p, k.n, ops, 2, NULL, 0, values),
               RETS_STATUS_KEY_NOT_FOUND);
        OK(rets_table_update_counters(t, k.p, k.n, ops, 2, def.p, def.n, values));
        CHECK(values[0] == 11 && values[1] == 99);
        OK(rets_table_update_counters(t, k.p, k.n, ops, 2, def.p, def.n, values));
        CHECK(values[0] == 0 && values[1] == 98); /* 21 > 12: set to 0 */
        ops[1].pos = 1;
        values[0] = 555;
        EXPECT(rets_table_update_counters(t, k.p, k.n, ops, 2, NULL, 0, values),
               RETS_STATUS_KEY_POSITION);
        CHECK(values[0] == 555);
        ops[1].pos = 9;
        EXPECT(rets_table_update_counters(t, k.p, k.n, ops, 2, NULL, 0, values),
               RETS_STATUS_BAD_POSITION);
        EXPECT(rets_table_update_counters(t, k.p, k.n, ops, 2, NULL, 0, NULL),
               RETS_STATUS_NULL_ARGUMENT);
        EXPECT(rets_table_update_counters(t, k.p, k.n, NULL, 2, NULL, 0, values),
               RETS_STATUS_NULL_ARGUMENT);
        EXPECT(rets_table_update_counters(t, k.p, k.n, ops, 1, not_array, 1, values),
               RETS_STATUS_NOT_AN_ARRAY);
        OK(rets_table_update_counters(t, k.p, k.n, NULL, 0, NULL, 0, NULL));
        OK(rets_table_lookup(t, k.p, k.n, out));
        CHECK(int_at(out, 0, 2) == 0 && int_at(out, 0, 3) == 98);
    }

    /* update_element */
    {
        rets_element elems[2];
        bytes v1, def;
        v1 = val_i(500);
        elems[0].pos = 2;
        elems[0].value = v1.p;
        elems[0].value_len = v1.n;
        k = key_i(4);
        OK(rets_table_update_element(t, k.p, k.n, elems, 1, NULL, 0, &flag));
        CHECK(flag);
        OK(rets_table_lookup(t, k.p, k.n, out));
        CHECK(int_at(out, 0, 2) == 500);
        k = key_i(98);
        flag = true;
        OK(rets_table_update_element(t, k.p, k.n, elems, 1, NULL, 0, &flag));
        CHECK(!flag);
        def = obj_ii(0, 0);
        OK(rets_table_update_element(t, k.p, k.n, elems, 1, def.p, def.n, &flag));
        CHECK(flag);
        OK(rets_table_lookup(t, k.p, k.n, out));
        CHECK(int_at(out, 0, 1) == 98 && int_at(out, 0, 2) == 500);
        elems[1].pos = 1;
        elems[1].value = v1.p;
        elems[1].value_len = v1.n;
        EXPECT(rets_table_update_element(t, k.p, k.n, elems, 2, NULL, 0, &flag),
               RETS_STATUS_KEY_POSITION);
        elems[1].pos = 5;
        EXPECT(rets_table_update_element(t, k.p, k.n, elems, 2, NULL, 0, &flag),
               RETS_STATUS_BAD_POSITION);
        elems[1].pos = 2;
        elems[1].value = not_array;
        elems[1].value_len = 0;
        EXPECT(rets_table_update_element(t, k.p, k.n, elems, 2, NULL, 0, &flag),
               RETS_STATUS_MALFORMED);
        elems[1].value = NULL;
        elems[1].value_len = 1;
        EXPECT(rets_table_update_element(t, k.p, k.n, elems, 2, NULL, 0, &flag),
               RETS_STATUS_NULL_ARGUMENT);
        EXPECT(rets_table_update_element(t, k.p, k.n, elems, 1, NULL, 0, NULL),
               RETS_STATUS_NULL_ARGUMENT);
        EXPECT(rets_table_update_element(t, k.p, k.n, NULL, 1, NULL, 0, &flag),
               RETS_STATUS_NULL_ARGUMENT);
        OK(rets_table_lookup(t, k.p, k.n, out));
        CHECK(int_at(out, 0, 2) == 500);
    }

    /* take, delete_key, delete_object, delete_all_objects */
    k = key_i(4);
    OK(rets_table_take(t, k.p, k.n, out));
    CHECK(count(out) == 1 && int_at(out, 0, 2) == 500);
    OK(rets_table_take(t, k.p, k.n, out));
    CHECK(count(out) == 0);
    k = key_i(3);
    OK(rets_table_delete_key(t, k.p, k.n));
    OK(rets_table_delete_key(t, k.p, k.n)); /* absent: not an error */
    OK(rets_table_member(t, k.p, k.n, &flag));
    CHECK(!flag);
    o = obj_ii(2, 21); /* not the stored {2, 20}: nothing removed */
    OK(rets_table_delete_object(t, o.p, o.n));
    k = key_i(2);
    OK(rets_table_member(t, k.p, k.n, &flag));
    CHECK(flag);
    o = obj_ii(2, 20);
    OK(rets_table_delete_object(t, o.p, o.n));
    OK(rets_table_member(t, k.p, k.n, &flag));
    CHECK(!flag);
    EXPECT(rets_table_delete_object(t, not_array, sizeof not_array), RETS_STATUS_NOT_AN_ARRAY);
    OK(rets_table_delete_all_objects(t));
    OK(rets_table_info(t, &info));
    CHECK(info.size == 0);

    rets_table_free(t);
}

/* ---- bags ---- */

static void test_bag(rets_owner *owner, rets_buf *out) {
    rets_table *t = NULL;
    rets_table_options opts;
    bytes o, k;
    int64_t value;
    bool flag;
    rets_element elem;

    memset(&opts, 0, sizeof opts);
    opts.table_type = RETS_TABLE_TYPE_BAG;
    OK(rets_table_new(owner, "bag", &opts, &t));
    o = obj_ii(1, 1);
    OK(rets_table_insert(t, o.p, o.n));
    OK(rets_table_insert(t, o.p, o.n)); /* identical: stored once */
    o = obj_ii(1, 2);
    OK(rets_table_insert(t, o.p, o.n));
    k = key_i(1);
    OK(rets_table_lookup(t, k.p, k.n, out));
    CHECK(count(out) == 2 && int_at(out, 0, 2) == 1 && int_at(out, 1, 2) == 2);
    /* lookup_element on a bag: an array of that element of every object */
    OK(rets_table_lookup_element(t, k.p, k.n, 2, NULL, 0, out));
    CHECK(count(out) == 2);
    EXPECT(rets_table_update_counter(t, k.p, k.n, 1, &value), RETS_STATUS_WRONG_TABLE_TYPE);
    elem.pos = 2;
    elem.value = o.p + 1; /* the key's encoding: 1 */
    elem.value_len = 1;
    EXPECT(rets_table_update_element(t, k.p, k.n, &elem, 1, NULL, 0, &flag),
           RETS_STATUS_WRONG_TABLE_TYPE);
    rets_table_free(t);

    memset(&opts, 0, sizeof opts);
    opts.table_type = RETS_TABLE_TYPE_DUPLICATE_BAG;
    OK(rets_table_new(owner, "dbag", &opts, &t));
    o = obj_ii(1, 1);
    OK(rets_table_insert(t, o.p, o.n));
    OK(rets_table_insert(t, o.p, o.n));
    OK(rets_table_lookup(t, k.p, k.n, out));
    CHECK(count(out) == 2);
    OK(rets_table_delete_object(t, o.p, o.n)); /* every copy */
    OK(rets_table_lookup(t, k.p, k.n, out));
    CHECK(count(out) == 0);
    rets_table_free(t);
}

/* ---- traversal ---- */

typedef struct fold_ctx {
    int64_t sum;
    int calls;
    int stop_after;
    int64_t first_key;
} fold_ctx;

static bool fold_sum(void *ctx, const uint8_t *object, size_t len) {
    fold_ctx *c = (fold_ctx *)ctx;
    rets_reader r;
    size_t n;
    int64_t key = 0, value = 0;
    OK(rets_reader_init(&r, object, len));
    OK(rets_reader_array(&r, &n));
    OK(rets_reader_int(&r, &key));
    OK(rets_reader_int(&r, &value));
    if (c->calls == 0) c->first_key = key;
    c->sum += value;
    c->calls++;
    return c->stop_after == 0 || c->calls < c->stop_after;
}

/* A fold callback that writes into the table it folds over (allowed: no lock is held): it
 * deletes each object it visits. */
typedef struct delete_ctx {
    const rets_table *table;
    int calls;
} delete_ctx;

static bool fold_delete(void *ctx, const uint8_t *object, size_t len) {
    delete_ctx *c = (delete_ctx *)ctx;
    OK(rets_table_delete_object(c->table, object, len));
    c->calls++;
    return true;
}

static void test_traversal(rets_owner *owner, rets_buf *out) {
    rets_table *t = NULL;
    rets_table_options opts;
    rets_buf *key = NULL, *objs = NULL;
    bytes o, k;
    int64_t i;
    int seen = 0;
    enum rets_status s;
    fold_ctx ctx;

    memset(&opts, 0, sizeof opts);
    opts.table_type = RETS_TABLE_TYPE_ORDERED_SET;
    OK(rets_table_new(owner, "ordered", &opts, &t));
    OK(rets_buf_new(&key));
    OK(rets_buf_new(&objs));
    EXPECT(rets_table_first(t, key), RETS_STATUS_END_OF_TABLE);
    CHECK(strcmp(rets_last_error_message(), "end of table") == 0);
    EXPECT(rets_table_last(t, key), RETS_STATUS_END_OF_TABLE);
    EXPECT(rets_table_first_lookup(t, key, objs), RETS_STATUS_END_OF_TABLE);
    EXPECT(rets_table_last_lookup(t, key, objs), RETS_STATUS_END_OF_TABLE);
    CHECK(rets_buf_len(key) == 0 && rets_buf_len(objs) == 0);
    for (i = 5; i >= 1; i--) {
        o = obj_ii(i, i * 10);
        OK(rets_table_insert(t, o.p, o.n));
    }
    /* first/next in term order, with the key read back from the output buffer itself */
    for (s = rets_table_first(t, key), i = 1; s == RETS_STATUS_OK;
         s = rets_table_next(t, rets_buf_data(key), rets_buf_len(key), key), i++) {
        CHECK(read_int(buf_bytes(key)) == i);
        seen++;
    }
    EXPECT(s, RETS_STATUS_END_OF_TABLE);
    CHECK(seen == 5);
    /* last/prev */
    OK(rets_table_last(t, key));
    CHECK(read_int(buf_bytes(key)) == 5);
    OK(rets_table_prev(t, rets_buf_data(key), rets_buf_len(key), key));
    CHECK(read_int(buf_bytes(key)) == 4);
    k = key_i(1);
    EXPECT(rets_table_prev(t, k.p, k.n, key), RETS_STATUS_END_OF_TABLE);
    CHECK(read_int(buf_bytes(key)) == 4);
    /* next of a key not in the table: the key after where it would be */
    k = key_i(0);
    OK(rets_table_next(t, k.p, k.n, key));
    CHECK(read_int(buf_bytes(key)) == 1);
    /* the _lookup forms */
    OK(rets_table_first_lookup(t, key, objs));
    CHECK(read_int(buf_bytes(key)) == 1 && count(objs) == 1 && int_at(objs, 0, 2) == 10);
    OK(rets_table_next_lookup(t, rets_buf_data(key), rets_buf_len(key), key, objs));
    CHECK(read_int(buf_bytes(key)) == 2 && int_at(objs, 0, 2) == 20);
    OK(rets_table_last_lookup(t, key, objs));
    CHECK(read_int(buf_bytes(key)) == 5 && int_at(objs, 0, 2) == 50);
    OK(rets_table_prev_lookup(t, rets_buf_data(objs) + 2, 1, key, objs)); /* key 5 from objs */
    CHECK(read_int(buf_bytes(key)) == 4 && int_at(objs, 0, 2) == 40);
    k = key_i(5);
    EXPECT(rets_table_next_lookup(t, k.p, k.n, key, objs), RETS_STATUS_END_OF_TABLE);
    EXPECT(rets_table_first_lookup(t, key, key), RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_table_next_lookup(t, k.p, k.n, objs, objs), RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_table_next(t, NULL, 1, key), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_first(t, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_last(NULL, key), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_prev(t, k.p, k.n, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_last_lookup(t, key, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_prev_lookup(t, k.p, k.n, NULL, objs), RETS_STATUS_NULL_ARGUMENT);
    CHECK(read_int(buf_bytes(key)) == 4);

    /* tab2list */
    OK(rets_table_tab2list(t, out));
    CHECK(count(out) == 5 && int_at(out, 0, 1) == 1 && int_at(out, 4, 1) == 5);
    EXPECT(rets_table_tab2list(t, NULL), RETS_STATUS_NULL_ARGUMENT);

    /* folds, whole and stopped early */
    memset(&ctx, 0, sizeof ctx);
    OK(rets_table_foldl(t, fold_sum, &ctx));
    CHECK(ctx.calls == 5 && ctx.sum == 150 && ctx.first_key == 1);
    memset(&ctx, 0, sizeof ctx);
    ctx.stop_after = 2;
    OK(rets_table_foldr(t, fold_sum, &ctx));
    CHECK(ctx.calls == 2 && ctx.sum == 90 && ctx.first_key == 5);
    EXPECT(rets_table_foldl(t, NULL, &ctx), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_foldr(NULL, fold_sum, &ctx), RETS_STATUS_NULL_ARGUMENT);

    /* ordered_set keys compare equal: 1.0 finds 1 */
    OK(rets_builder_reset(kb));
    OK(rets_builder_double(kb, 1.0));
    k = finish(kb);
    OK(rets_table_lookup(t, k.p, k.n, out));
    CHECK(count(out) == 1 && int_at(out, 0, 2) == 10);

    /* A fold that deletes as it goes visits every object once and empties the table. */
    {
        delete_ctx dctx;
        rets_info info;
        dctx.table = t;
        dctx.calls = 0;
        OK(rets_table_foldl(t, fold_delete, &dctx));
        CHECK(dctx.calls == 5);
        OK(rets_table_info(t, &info));
        CHECK(info.size == 0);
    }

    rets_buf_free(key);
    rets_buf_free(objs);
    rets_table_free(t);
}

/* ---- access, names, heirs, give_away, transfers, deletion, close ---- */

static void test_lifecycle(rets_buf *out) {
    rets_owner *alice = NULL, *bob = NULL, *carol = NULL;
    rets_table *t = NULL, *as_bob = NULL, *as_nobody = NULL, *priv = NULL, *priv_bob = NULL;
    rets_table *got = NULL, *sentinel = (rets_table *)&got;
    rets_table_options opts;
    rets_info info;
    bytes o, k, gift;
    bool flag;
    uint64_t alice_id, bob_id, carol_id, from = 0;
    enum rets_transfer_reason reason = RETS_TRANSFER_REASON_GIVEN_AWAY;
    rets_buf *gift_buf = NULL;

    OK(rets_owner_new(&alice));
    OK(rets_owner_new(&bob));
    OK(rets_owner_new(&carol));
    OK(rets_owner_id(alice, &alice_id));
    OK(rets_owner_id(bob, &bob_id));
    OK(rets_owner_id(carol, &carol_id));
    CHECK(alice_id != 0 && alice_id != bob_id && bob_id != carol_id);
    EXPECT(rets_owner_id(NULL, &alice_id), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_owner_id(alice, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_owner_new(NULL), RETS_STATUS_NULL_ARGUMENT);
    OK(rets_buf_new(&gift_buf));

    /* A named protected table of alice's. */
    memset(&opts, 0, sizeof opts);
    opts.named = true;
    OK(rets_table_new(alice, "users", &opts, &t));
    o = obj_si("u1", 1);
    OK(rets_table_insert(t, o.p, o.n));

    /* whereis: by name, acting for an owner or for nobody */
    OK(rets_owner_whereis(bob, "users", &as_bob));
    OK(rets_whereis("users", &as_nobody));
    got = sentinel;
    EXPECT(rets_whereis("nobody_has_this", &got), RETS_STATUS_NOT_FOUND);
    EXPECT(rets_owner_whereis(bob, "nobody_has_this", &got), RETS_STATUS_NOT_FOUND);
    CHECK(got == sentinel);
    EXPECT(rets_whereis(NULL, &got), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_whereis("users", NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_owner_whereis(NULL, "users", &got), RETS_STATUS_NULL_ARGUMENT);

    /* protected: others read, only the owner writes */
    k = key_s("u1");
    OK(rets_table_lookup(as_bob, k.p, k.n, out));
    CHECK(count(out) == 1);
    OK(rets_table_member(as_nobody, k.p, k.n, &flag));
    o = obj_si("u2", 2);
    EXPECT(rets_table_insert(as_bob, o.p, o.n), RETS_STATUS_ACCESS_DENIED);
    CHECK(strstr(rets_last_error_message(), "access denied") != NULL);
    EXPECT(rets_table_insert(as_nobody, o.p, o.n), RETS_STATUS_ACCESS_DENIED);
    EXPECT(rets_table_delete(as_bob), RETS_STATUS_ACCESS_DENIED);
    EXPECT(rets_table_rename(as_bob, "mine"), RETS_STATUS_ACCESS_DENIED);
    EXPECT(rets_table_delete_all_objects(as_bob), RETS_STATUS_ACCESS_DENIED);

    /* private: others may not even read */
    memset(&opts, 0, sizeof opts);
    opts.access = RETS_ACCESS_PRIVATE;
    OK(rets_table_new(alice, "secret", &opts, &priv));
    OK(rets_table_with_owner(priv, bob, &priv_bob));
    EXPECT(rets_table_lookup(priv_bob, k.p, k.n, out), RETS_STATUS_ACCESS_DENIED);
    EXPECT(rets_table_first(priv_bob, out), RETS_STATUS_ACCESS_DENIED);
    EXPECT(rets_table_with_owner(NULL, bob, &got), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_with_owner(priv, NULL, &got), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_with_owner(priv, bob, NULL), RETS_STATUS_NULL_ARGUMENT);
    OK(rets_table_info(priv_bob, &info)); /* anyone may ask for info */

    /* names and rename */
    OK(rets_table_name(t, out));
    CHECK(bytes_eq_str(buf_bytes(out), "users"));
    CHECK(strcmp((const char *)rets_buf_data(out), "users") == 0); /* NUL-terminated */
    OK(rets_table_rename(t, "people"));
    got = sentinel;
    EXPECT(rets_whereis("users", &got), RETS_STATUS_NOT_FOUND); /* a stale name */
    OK(rets_whereis("people", &got));
    rets_table_free(got);
    OK(rets_table_name(as_bob, out));
    CHECK(bytes_eq_str(buf_bytes(out), "people"));
    {
        rets_table *other = NULL;
        memset(&opts, 0, sizeof opts);
        opts.named = true;
        OK(rets_table_new(bob, "taken", &opts, &other));
        EXPECT(rets_table_rename(t, "taken"), RETS_STATUS_NAME_TAKEN);
        EXPECT(rets_table_rename(t, NULL), RETS_STATUS_NULL_ARGUMENT);
        EXPECT(rets_table_rename(NULL, "x"), RETS_STATUS_NULL_ARGUMENT);
        rets_table_free(other); /* bob's close deletes it */
    }
    EXPECT(rets_table_name(t, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_name(NULL, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_info(t, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_info(NULL, &info), RETS_STATUS_NULL_ARGUMENT);

    /* give_away: only the owner may; the receiver gets a transfer with the gift */
    gift = val_i(42);
    EXPECT(rets_table_give_away(as_bob, bob, gift.p, gift.n), RETS_STATUS_NOT_OWNER);
    EXPECT(rets_table_give_away(as_nobody, bob, gift.p, gift.n), RETS_STATUS_NOT_OWNER);
    EXPECT(rets_table_give_away(t, alice, gift.p, gift.n), RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_table_give_away(t, NULL, gift.p, gift.n), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_give_away(t, bob, NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_give_away(t, bob, gift.p, 0), RETS_STATUS_MALFORMED);
    got = sentinel;
    EXPECT(rets_owner_recv_transfer(bob, 0, &got, &from, &reason, gift_buf), RETS_STATUS_TIMEOUT);
    EXPECT(rets_owner_recv_transfer(bob, 20, &got, &from, &reason, gift_buf),
           RETS_STATUS_TIMEOUT);
    CHECK(got == sentinel && from == 0 && rets_buf_len(gift_buf) == 0);
    OK(rets_table_give_away(t, bob, gift.p, gift.n));
    EXPECT(rets_owner_recv_transfer(NULL, 0, &got, &from, &reason, gift_buf),
           RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_owner_recv_transfer(bob, 0, NULL, &from, &reason, gift_buf),
           RETS_STATUS_NULL_ARGUMENT);
    OK(rets_owner_recv_transfer(bob, 1000, &got, &from, &reason, gift_buf));
    CHECK(from == alice_id && reason == RETS_TRANSFER_REASON_GIVEN_AWAY);
    CHECK(read_int(buf_bytes(gift_buf)) == 42);
    OK(rets_table_info(got, &info));
    CHECK(info.owner == bob_id);
    /* Now bob writes through his new handle, and alice's old handle is a stranger's. */
    o = obj_si("u3", 3);
    OK(rets_table_insert(got, o.p, o.n));
    EXPECT(rets_table_insert(t, o.p, o.n), RETS_STATUS_ACCESS_DENIED);
    OK(rets_table_insert(as_bob, o.p, o.n)); /* as_bob acts for bob, the owner now */

    /* set_heir: only the owner; carol inherits when bob closes */
    EXPECT(rets_table_set_heir(t, carol, NULL, 0), RETS_STATUS_NOT_OWNER);
    EXPECT(rets_table_set_heir(NULL, carol, NULL, 0), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_set_heir(got, carol, NULL, 3), RETS_STATUS_NULL_ARGUMENT);
    OK(rets_table_set_heir(got, NULL, NULL, 0)); /* clear: no heir */
    OK(rets_table_info(got, &info));
    CHECK(info.heir == 0);
    gift = val_i(99);
    OK(rets_table_set_heir(got, carol, gift.p, gift.n));
    OK(rets_table_info(got, &info));
    CHECK(info.heir == carol_id);
    rets_table_free(got);
    got = NULL;

    /* alice's private table has no heir: closing alice deletes it. */
    rets_owner_close(alice);
    alice = NULL;
    EXPECT(rets_table_lookup(priv_bob, k.p, k.n, out), RETS_STATUS_NO_TABLE);
    CHECK(strstr(rets_last_error_message(), "secret") != NULL);
    /* handles acting for the closed owner: OWNER_CLOSED (the table "people" is bob's now) */
    o = obj_si("u4", 4);
    EXPECT(rets_table_insert(t, o.p, o.n), RETS_STATUS_OWNER_CLOSED);
    EXPECT(rets_table_lookup(t, k.p, k.n, out), RETS_STATUS_OWNER_CLOSED);
    EXPECT(rets_table_info(priv, &info), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_delete(priv), RETS_STATUS_NO_TABLE);

    /* bob closes: "people" goes to carol with the heir data; "taken" is deleted. */
    rets_owner_close(bob);
    bob = NULL;
    got = sentinel;
    EXPECT(rets_whereis("taken", &got), RETS_STATUS_NOT_FOUND);
    OK(rets_owner_recv_transfer(carol, 1000, &got, NULL, NULL, NULL));
    OK(rets_table_info(got, &info));
    CHECK(info.owner == carol_id && info.heir == 0 && info.size == 2);
    rets_table_free(got);
    EXPECT(rets_table_insert(as_bob, o.p, o.n), RETS_STATUS_OWNER_CLOSED);
    OK(rets_table_lookup(as_nobody, k.p, k.n, out));

    /* delete: every handle then fails with NO_TABLE, and the name is free */
    OK(rets_owner_whereis(carol, "people", &got));
    OK(rets_table_delete(got));
    EXPECT(rets_table_delete(got), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_lookup(as_nobody, k.p, k.n, out), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_name(as_nobody, out), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_rename(got, "again"), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_give_away(got, carol, NULL, 0), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_set_heir(got, NULL, NULL, 0), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_delete_key(got, k.p, k.n), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_tab2list(got, out), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_delete(NULL), RETS_STATUS_NULL_ARGUMENT);
    rets_table_free(got);
    got = sentinel;
    EXPECT(rets_whereis("people", &got), RETS_STATUS_NOT_FOUND);

    rets_table_free(t);
    rets_table_free(as_bob);
    rets_table_free(as_nobody);
    rets_table_free(priv);
    rets_table_free(priv_bob);
    rets_table_free(NULL);
    rets_owner_close(carol);
    rets_owner_close(NULL);
    rets_buf_free(gift_buf);
}

/* Every table operation with a NULL table or NULL required pointers. */
static void test_null_table_args(rets_buf *out) {
    static const uint8_t one[] = {0x01};
    static const uint8_t obj[] = {0x91, 0x01};
    bool flag;
    int64_t v;
    EXPECT(rets_table_insert(NULL, obj, 2), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_insert_many(NULL, obj, 2), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_insert_new(NULL, obj, 2, &flag), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_insert_new_many(NULL, obj, 2, &flag), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_lookup(NULL, one, 1, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_member(NULL, one, 1, &flag), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_lookup_element(NULL, one, 1, 1, NULL, 0, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_take(NULL, one, 1, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_delete_key(NULL, one, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_delete_object(NULL, obj, 2), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_delete_all_objects(NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_update_counter(NULL, one, 1, 1, &v), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_update_counters(NULL, one, 1, NULL, 0, NULL, 0, NULL),
           RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_update_element(NULL, one, 1, NULL, 0, NULL, 0, &flag),
           RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_first(NULL, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_next(NULL, one, 1, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_prev(NULL, one, 1, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_first_lookup(NULL, out, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_tab2list(NULL, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_give_away(NULL, NULL, NULL, 0), RETS_STATUS_NULL_ARGUMENT);
}

static void test_null_output_args(rets_owner *owner) {
    rets_table *t = NULL;
    static const uint8_t one[] = {0x01};
    static const uint8_t obj[] = {0x91, 0x01};
    OK(rets_table_new(owner, "nulls", NULL, &t));
    EXPECT(rets_table_insert_new(t, obj, 2, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_insert_new_many(t, obj, 2, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_lookup(t, one, 1, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_member(t, one, 1, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_lookup_element(t, one, 1, 1, NULL, 0, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_take(t, one, 1, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_lookup(t, NULL, 1, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_delete_key(t, NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_delete_object(t, NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_insert_many(t, NULL, 1), RETS_STATUS_NULL_ARGUMENT);
    /* Nothing was inserted by any of these. */
    {
        rets_info info;
        OK(rets_table_info(t, &info));
        CHECK(info.size == 0);
    }
    rets_table_free(t);
}

/* A map of two entries takes four items; the reader reads back whole the bins, strs and exts
 * of every header size (8, 16 and 32-bit lengths), the ints of every width, and a map 16 that
 * does not start at byte 0. */
static void test_builder_and_reader_sizes(void) {
    static uint8_t blob[70000];
    static const size_t sizes[] = {200, 300, sizeof blob};
    const uint8_t *data;
    size_t len, i;
    rets_reader r;
    size_t count = 0;
    int64_t v = 0;

    OK(rets_builder_reset(vb));
    OK(rets_builder_map(vb, 2));
    OK(rets_builder_int(vb, 1));
    OK(rets_builder_int(vb, 10));
    OK(rets_builder_int(vb, 2));
    OK(rets_builder_int(vb, 20));
    OK(rets_builder_finish(vb, &data, &len));
    OK(rets_reader_init(&r, data, len));
    OK(rets_reader_map(&r, &count));
    CHECK(count == 2);
    OK(rets_reader_int(&r, &v));
    OK(rets_reader_int(&r, &v));
    OK(rets_reader_int(&r, &v));
    OK(rets_reader_int(&r, &v));
    CHECK(v == 20 && rets_reader_remaining(&r) == 0);

    {
        static const int64_t ints[] = {-100, -1000, -100000, -((int64_t)1 << 40), 200, 70000,
                                       (int64_t)1 << 40};
        int64_t got = 0;
        for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
            OK(rets_builder_reset(vb));
            OK(rets_builder_int(vb, ints[i]));
            OK(rets_builder_finish(vb, &data, &len));
            OK(rets_reader_init(&r, data, len));
            OK(rets_reader_int(&r, &got));
            CHECK(got == ints[i]);
            CHECK(rets_reader_remaining(&r) == 0);
        }
    }
    {
        /* [<<"0123456789">>, #{0 => 100, ..., 15 => 115}]: the map 16 starts at byte 12. */
        const char *text;
        size_t tlen = 0;
        int64_t k;
        OK(rets_builder_reset(vb));
        OK(rets_builder_array(vb, 2));
        OK(rets_builder_str(vb, "0123456789", 10));
        OK(rets_builder_map(vb, 16));
        for (k = 0; k < 16; k++) {
            OK(rets_builder_int(vb, k));
            OK(rets_builder_int(vb, 100 + k));
        }
        OK(rets_builder_finish(vb, &data, &len));
        CHECK(data[12] == 0xde);
        OK(rets_reader_init(&r, data, len));
        OK(rets_reader_array(&r, &count));
        OK(rets_reader_str(&r, &text, &tlen));
        CHECK(tlen == 10);
        OK(rets_reader_map(&r, &count));
        CHECK(count == 16);
        for (k = 0; k < 32; k++) OK(rets_reader_int(&r, &v));
        CHECK(v == 115 && rets_reader_remaining(&r) == 0);
    }

    for (i = 0; i < sizeof blob; i++) blob[i] = (uint8_t)(i * 7);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *text;
        size_t tlen = 0;
        memset(blob, 'a', sizes[i]);
        OK(rets_builder_reset(vb));
        OK(rets_builder_str(vb, (const char *)blob, sizes[i]));
        OK(rets_builder_finish(vb, &data, &len));
        OK(rets_reader_init(&r, data, len));
        OK(rets_reader_str(&r, &text, &tlen));
        CHECK(tlen == sizes[i]);
        CHECK(memcmp(text, blob, tlen) == 0);
        CHECK(rets_reader_remaining(&r) == 0);
    }
    {
        /* [Ext, 7] with an ext (of a type rets does not interpret) of every length header
         * (ext 8, ext 16, ext 32): skipping the ext lands exactly on the 7. */
        static uint8_t value[1 + 5 + 1 + 70000 + 1];
        static const size_t ext_sizes[] = {200, 300, 70000};
        for (i = 0; i < 3; i++) {
            size_t n = ext_sizes[i], at = 0;
            int64_t seven = 0;
            memset(value, 0, sizeof value);
            value[at++] = 0x92;
            if (n <= 0xff) {
                value[at++] = 0xc7;
                value[at++] = (uint8_t)n;
            } else if (n <= 0xffff) {
                value[at++] = 0xc8;
                value[at++] = (uint8_t)(n >> 8);
                value[at++] = (uint8_t)n;
            } else {
                value[at++] = 0xc9;
                value[at++] = (uint8_t)(n >> 24);
                value[at++] = (uint8_t)(n >> 16);
                value[at++] = (uint8_t)(n >> 8);
                value[at++] = (uint8_t)n;
            }
            value[at++] = 5; /* the ext type */
            at += n;         /* its data: zeros */
            value[at++] = 0x07;
            OK(rets_reader_init(&r, value, at));
            OK(rets_reader_array(&r, &count));
            CHECK(count == 2);
            OK(rets_reader_skip(&r));
            OK(rets_reader_int(&r, &seven));
            CHECK(seven == 7 && rets_reader_remaining(&r) == 0);
        }
    }

    for (i = 0; i < sizeof blob; i++) blob[i] = (uint8_t)(i * 7);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const uint8_t *bin;
        size_t blen = 0;
        OK(rets_builder_reset(vb));
        OK(rets_builder_bin(vb, blob, sizes[i]));
        OK(rets_builder_finish(vb, &data, &len));
        OK(rets_reader_init(&r, data, len));
        OK(rets_reader_bin(&r, &bin, &blen));
        CHECK(blen == sizes[i]);
        CHECK(memcmp(bin, blob, blen) == 0);
        CHECK(rets_reader_remaining(&r) == 0);
    }
}

/* A key that lies in `out` itself (here the key rets_table_first wrote there) is read whole
 * even though the result overwrites `out`, and grows it past its first capacity: the lookup
 * gives what a lookup with a copy of the key gives, on every table type. */
static void test_key_inside_out(rets_owner *owner) {
    static const uint8_t filler[200] = {0};
    rets_buf *cursor = NULL, *expected = NULL;
    int type;
    OK(rets_buf_new(&cursor));
    OK(rets_buf_new(&expected));
    for (type = RETS_TABLE_TYPE_SET; type <= RETS_TABLE_TYPE_DUPLICATE_BAG; type++) {
        rets_table *t = NULL;
        rets_table_options opts;
        uint8_t key_copy[64];
        size_t key_len;
        int64_t k, i;
        memset(&opts, 0, sizeof opts);
        opts.table_type = (uint32_t)type;
        OK(rets_table_new(owner, "key_inside_out", &opts, &t));
        for (k = 0; k < 16; k++) {
            for (i = 0; i < 4; i++) {
                bytes o;
                OK(rets_builder_reset(ob));
                OK(rets_builder_array(ob, 3));
                OK(rets_builder_int(ob, k * 1000003));
                OK(rets_builder_int(ob, i));
                OK(rets_builder_bin(ob, filler, sizeof filler));
                o = finish(ob);
                OK(rets_table_insert(t, o.p, o.n));
            }
        }
        OK(rets_table_first(t, cursor));
        key_len = rets_buf_len(cursor);
        CHECK(key_len <= sizeof key_copy);
        memcpy(key_copy, rets_buf_data(cursor), key_len);
        OK(rets_table_lookup(t, key_copy, key_len, expected));
        CHECK(rets_buf_len(expected) > 200);
        OK(rets_table_lookup(t, rets_buf_data(cursor), key_len, cursor));
        CHECK(rets_buf_len(cursor) == rets_buf_len(expected));
        CHECK(memcmp(rets_buf_data(cursor), rets_buf_data(expected), rets_buf_len(expected)) == 0);
        OK(rets_table_delete(t));
        rets_table_free(t);
    }
    rets_buf_free(expected);
    rets_buf_free(cursor);
}

/* A length too large for any object in memory (over PTRDIFF_MAX bytes) is refused before
 * anything is read, for bytes and for arrays of structs, including one whose byte size
 * overflows size_t. */
static void test_oversized_lengths(rets_owner *owner, rets_buf *out) {
    static const uint8_t one[] = {0x01};
    rets_counter_op op;
    rets_table *t = NULL;
    int64_t v;
    const size_t too_many_bytes = (size_t)PTRDIFF_MAX + 1;
    const size_t too_many_ops = (size_t)PTRDIFF_MAX / sizeof op + 1;

    memset(&op, 0, sizeof op);
    OK(rets_table_new(owner, "oversized", NULL, &t));
    EXPECT(rets_table_lookup(t, one, too_many_bytes, out), RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_table_lookup(t, one, SIZE_MAX, out), RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_table_update_counters(t, one, 1, &op, too_many_ops, NULL, 0, &v),
           RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_table_update_counters(t, one, 1, &op, SIZE_MAX, NULL, 0, &v),
           RETS_STATUS_INVALID_ARGUMENT);
    rets_table_free(t);
}

int main(void) {
    rets_owner *owner = NULL;
    rets_buf *out = NULL;

    test_version();
    test_buffers();
    OK(rets_builder_new(&kb));
    OK(rets_builder_new(&ob));
    OK(rets_builder_new(&vb));
    test_builder();
    test_reader();
    test_builder_and_reader_sizes();

    OK(rets_owner_new(&owner));
    OK(rets_buf_new(&out));
    test_table_options(owner);
    test_set_ops(owner, out);
    test_bag(owner, out);
    test_traversal(owner, out);
    test_null_table_args(out);
    test_null_output_args(owner);
    test_oversized_lengths(owner, out);
    test_key_inside_out(owner);
    rets_owner_close(owner);
    test_lifecycle(out);

    rets_buf_free(out);
    rets_builder_free(kb);
    rets_builder_free(ob);
    rets_builder_free(vb);
    printf("test_api: all checks passed\n");
    return 0;
}
