/*
 * rets_table_next_chunk(): chunks of keys and of objects on every table type, agreeing with
 * first/next; chunk boundaries (n = 1, a chunk ending on the last key, the end of the table),
 * start keys present and absent, inclusive and reverse starts, and every documented error,
 * with outputs untouched on failure. Built and run like test_api.c by ci/c-tests
 * (-std=c99 -Wall -Wextra -Werror, AddressSanitizer + UBSan, valgrind).
 */
#include <stdint.h>
#include <string.h>

#include "check.h"

#define KEYS 100

static rets_builder *b;

static void insert_kv(rets_table *t, int64_t k, int64_t v) {
    const uint8_t *p;
    size_t n;
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 2));
    OK(rets_builder_int(b, k));
    OK(rets_builder_int(b, v));
    OK(rets_builder_finish(b, &p, &n));
    OK(rets_table_insert(t, p, n));
}

/* The encoding of the integer key `k` (valid until the next use of the builder). */
static void int_key(int64_t k, const uint8_t **p, size_t *n) {
    OK(rets_builder_reset(b));
    OK(rets_builder_int(b, k));
    OK(rets_builder_finish(b, p, n));
}

static rets_table *new_table(rets_owner *owner, uint32_t type) {
    rets_table_options opts;
    rets_table *t = NULL;
    memset(&opts, 0, sizeof opts);
    opts.table_type = type;
    opts.access = RETS_ACCESS_PUBLIC;
    OK(rets_table_new(owner, "chunks", &opts, &t));
    return t;
}

/* Reads the array of integers in `buf` into `out` (appending at `*len`); returns its size. */
static size_t read_ints(const rets_buf *buf, int64_t *out, size_t *len, size_t cap) {
    rets_reader r;
    size_t n = 0, i;
    OK(rets_reader_init(&r, rets_buf_data(buf), rets_buf_len(buf)));
    OK(rets_reader_array(&r, &n));
    for (i = 0; i < n; i++) {
        CHECK(*len < cap);
        OK(rets_reader_int(&r, &out[(*len)++]));
    }
    CHECK(rets_reader_remaining(&r) == 0);
    return n;
}

/* The keys by first/next (or last/prev). */
static size_t stepped_keys(rets_table *t, int reverse, int64_t *out) {
    rets_buf *k = NULL;
    rets_reader r;
    size_t len = 0;
    enum rets_status s;
    OK(rets_buf_new(&k));
    for (s = reverse ? rets_table_last(t, k) : rets_table_first(t, k); s == RETS_STATUS_OK;
         s = reverse ? rets_table_prev(t, rets_buf_data(k), rets_buf_len(k), k)
                     : rets_table_next(t, rets_buf_data(k), rets_buf_len(k), k)) {
        OK(rets_reader_init(&r, rets_buf_data(k), rets_buf_len(k)));
        CHECK(len < 4 * KEYS);
        OK(rets_reader_int(&r, &out[len++]));
    }
    EXPECT(s, RETS_STATUS_END_OF_TABLE);
    rets_buf_free(k);
    return len;
}

/* Every key by chunks of `n`, as the loop in rets.h does (`key` points into `last`). */
static size_t chunked_keys(rets_table *t, size_t n, uint32_t flags, int64_t *out) {
    rets_buf *keys = NULL, *last = NULL;
    const uint8_t *at = NULL;
    size_t at_len = 0, len = 0, got;
    enum rets_status s;
    OK(rets_buf_new(&keys));
    OK(rets_buf_new(&last));
    while ((s = rets_table_next_chunk(t, at, at_len, n, flags, keys, last)) == RETS_STATUS_OK) {
        got = read_ints(keys, out, &len, 4 * KEYS);
        CHECK(got >= 1 && got <= n);
        /* The last key written is the last of the chunk. */
        {
            rets_reader r;
            int64_t lk = 0;
            OK(rets_reader_init(&r, rets_buf_data(last), rets_buf_len(last)));
            OK(rets_reader_int(&r, &lk));
            CHECK(lk == out[len - 1]);
        }
        at = rets_buf_data(last);
        at_len = rets_buf_len(last);
    }
    EXPECT(s, RETS_STATUS_END_OF_TABLE);
    rets_buf_free(keys);
    rets_buf_free(last);
    return len;
}

static void test_type(rets_owner *owner, uint32_t type) {
    rets_table *t = new_table(owner, type);
    int64_t want[4 * KEYS], got[4 * KEYS];
    size_t nwant, ngot, i, n;
    static const size_t sizes[] = {1, 2, 7, 99, 100, 101, 1000};
    rets_buf *objs = NULL, *last = NULL;
    rets_reader r;
    size_t count = 0, total = 0;
    int reverse;

    for (i = 0; i < KEYS; i++) insert_kv(t, (int64_t)(i * 3), (int64_t)i);
    if (type == RETS_TABLE_TYPE_BAG || type == RETS_TABLE_TYPE_DUPLICATE_BAG)
        for (i = 0; i < KEYS; i += 2) insert_kv(t, (int64_t)(i * 3), -1);

    for (reverse = 0; reverse <= 1; reverse++) {
        nwant = stepped_keys(t, reverse, want);
        CHECK(nwant == KEYS);
        for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            ngot = chunked_keys(t, sizes[i], reverse ? RETS_CHUNK_FLAG_REVERSE : 0, got);
            CHECK(ngot == nwant);
            CHECK(memcmp(got, want, nwant * sizeof want[0]) == 0);
        }
    }

    /* Objects: every object once, in chunks of whole keys. */
    OK(rets_buf_new(&objs));
    OK(rets_buf_new(&last));
    OK(rets_table_next_chunk(t, NULL, 0, 1000, RETS_CHUNK_FLAG_OBJECTS, objs, last));
    OK(rets_reader_init(&r, rets_buf_data(objs), rets_buf_len(objs)));
    OK(rets_reader_array(&r, &total));
    CHECK(total == (type == RETS_TABLE_TYPE_BAG || type == RETS_TABLE_TYPE_DUPLICATE_BAG
                        ? KEYS + KEYS / 2
                        : KEYS));
    {
        const uint8_t *at = NULL;
        size_t at_len = 0;
        enum rets_status s;
        while ((s = rets_table_next_chunk(t, at, at_len, 3, RETS_CHUNK_FLAG_OBJECTS, objs, last)) ==
               RETS_STATUS_OK) {
            OK(rets_reader_init(&r, rets_buf_data(objs), rets_buf_len(objs)));
            OK(rets_reader_array(&r, &n));
            CHECK(n >= 1 && n <= 6); /* 3 keys, up to 2 objects each */
            count += n;
            at = rets_buf_data(last);
            at_len = rets_buf_len(last);
        }
        EXPECT(s, RETS_STATUS_END_OF_TABLE);
    }
    CHECK(count == total);
    rets_buf_free(objs);
    rets_buf_free(last);
    rets_table_delete(t);
    rets_table_free(t);
}

static void test_starts_and_errors(rets_owner *owner) {
    rets_table *t = new_table(owner, RETS_TABLE_TYPE_ORDERED_SET);
    rets_buf *out = NULL, *last = NULL;
    int64_t ks[4 * KEYS];
    size_t len = 0;
    const uint8_t *p;
    size_t n;
    static const uint8_t malformed[] = {0xc1};
    static const uint8_t truncated[] = {0x92, 0x01};
    int i;

    OK(rets_buf_new(&out));
    OK(rets_buf_new(&last));
    /* An empty table: the end at once. */
    EXPECT(rets_table_next_chunk(t, NULL, 0, 5, 0, out, last), RETS_STATUS_END_OF_TABLE);
    for (i = 0; i < 10; i++) insert_kv(t, i * 10, i);

    /* After a present key, at it (inclusive), after an absent one, backward. */
    int_key(20, &p, &n);
    OK(rets_table_next_chunk(t, p, n, 2, 0, out, last));
    len = 0;
    read_ints(out, ks, &len, 4 * KEYS);
    CHECK(len == 2 && ks[0] == 30 && ks[1] == 40);
    int_key(20, &p, &n);
    OK(rets_table_next_chunk(t, p, n, 2, RETS_CHUNK_FLAG_INCLUSIVE, out, last));
    len = 0;
    read_ints(out, ks, &len, 4 * KEYS);
    CHECK(len == 2 && ks[0] == 20 && ks[1] == 30);
    int_key(25, &p, &n);
    OK(rets_table_next_chunk(t, p, n, 1, RETS_CHUNK_FLAG_INCLUSIVE, out, last));
    len = 0;
    read_ints(out, ks, &len, 4 * KEYS);
    CHECK(len == 1 && ks[0] == 30);
    int_key(25, &p, &n);
    OK(rets_table_next_chunk(t, p, n, 5, RETS_CHUNK_FLAG_REVERSE, out, last));
    len = 0;
    read_ints(out, ks, &len, 4 * KEYS);
    CHECK(len == 3 && ks[0] == 20 && ks[2] == 0);
    /* The last chunk is short; after the last key, the end. */
    int_key(70, &p, &n);
    OK(rets_table_next_chunk(t, p, n, 5, 0, out, last));
    len = 0;
    read_ints(out, ks, &len, 4 * KEYS);
    CHECK(len == 2 && ks[1] == 90);
    int_key(90, &p, &n);
    EXPECT(rets_table_next_chunk(t, p, n, 5, 0, out, last), RETS_STATUS_END_OF_TABLE);

    /* Errors: outputs untouched (they still hold the chunk [80, 90] and the key 90). */
    int_key(10, &p, &n);
    EXPECT(rets_table_next_chunk(t, p, n, 0, 0, out, last), RETS_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(rets_last_error_message(), "at least 1") != NULL);
    EXPECT(rets_table_next_chunk(t, p, n, 3, 8, out, last), RETS_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(rets_last_error_message(), "unknown flags") != NULL);
    EXPECT(rets_table_next_chunk(t, p, n, 3, 0, out, out), RETS_STATUS_INVALID_ARGUMENT);
    EXPECT(rets_table_next_chunk(NULL, p, n, 3, 0, out, last), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_next_chunk(t, p, n, 3, 0, NULL, last), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_next_chunk(t, p, n, 3, 0, out, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_next_chunk(t, NULL, 4, 3, 0, out, last), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_next_chunk(t, malformed, sizeof malformed, 3, 0, out, last),
           RETS_STATUS_MALFORMED);
    EXPECT(rets_table_next_chunk(t, truncated, sizeof truncated, 3, 0, out, last),
           RETS_STATUS_MALFORMED);
    len = 0;
    read_ints(out, ks, &len, 4 * KEYS);
    CHECK(len == 2 && ks[0] == 80 && ks[1] == 90);
    len = 0;
    {
        rets_reader r;
        int64_t lk = 0;
        OK(rets_reader_init(&r, rets_buf_data(last), rets_buf_len(last)));
        OK(rets_reader_int(&r, &lk));
        CHECK(lk == 90);
    }

    /* `key` pointing into `out` (the chunk of keys itself: its first element). */
    OK(rets_table_next_chunk(t, NULL, 0, 3, 0, out, last));
    OK(rets_table_next_chunk(t, rets_buf_data(out) + 1, 1, 2, 0, out, last));
    len = 0;
    read_ints(out, ks, &len, 4 * KEYS);
    CHECK(len == 2 && ks[0] == 10 && ks[1] == 20);

    /* A deleted table. */
    OK(rets_table_delete(t));
    EXPECT(rets_table_next_chunk(t, NULL, 0, 3, 0, out, last), RETS_STATUS_NO_TABLE);
    rets_table_free(t);
    rets_buf_free(out);
    rets_buf_free(last);
}

int main(void) {
    rets_owner *owner = NULL;
    OK(rets_builder_new(&b));
    OK(rets_owner_new(&owner));
    test_type(owner, RETS_TABLE_TYPE_SET);
    test_type(owner, RETS_TABLE_TYPE_ORDERED_SET);
    test_type(owner, RETS_TABLE_TYPE_BAG);
    test_type(owner, RETS_TABLE_TYPE_DUPLICATE_BAG);
    test_starts_and_errors(owner);
    rets_owner_close(owner);
    rets_builder_free(b);
    puts("test_chunk: ok");
    return 0;
}
