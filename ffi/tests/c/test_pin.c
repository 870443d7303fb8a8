/*
 * Pinned readers (rets_pin_*): lookups through a pin answer as the table's own lookups on a
 * set and a bag; bad arguments get a clear status and change nothing; access is checked when
 * the pin is taken; a pin outlives the table handle it was taken from; two threads read
 * through one pin while a third rewrites every object; a pin is freed on another thread than
 * the one that took it; deleting the table ends a pin's reads with RETS_STATUS_NO_TABLE.
 * Run under ASan/UBSan and valgrind by ci/c-tests: a pin that read freed memory or leaked
 * what it held up fails there.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <string.h>

#include "check.h"

#define KEYS 500
#define ROUNDS 20

static void int_key(rets_builder *b, int64_t k, const uint8_t **p, size_t *n) {
    OK(rets_builder_reset(b));
    OK(rets_builder_int(b, k));
    OK(rets_builder_finish(b, p, n));
}

/* Inserts {k, v, k + v}. */
static void put(rets_table *t, rets_builder *b, int64_t k, int64_t v) {
    const uint8_t *o;
    size_t n;
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 3));
    OK(rets_builder_int(b, k));
    OK(rets_builder_int(b, v));
    OK(rets_builder_int(b, k + v));
    OK(rets_builder_finish(b, &o, &n));
    OK(rets_table_insert(t, o, n));
}

static rets_table *new_table(rets_owner *owner, uint32_t type, uint32_t access) {
    rets_table_options opts;
    rets_table *t = NULL;
    memset(&opts, 0, sizeof opts);
    opts.table_type = type;
    opts.access = access;
    OK(rets_table_new(owner, "pinned", &opts, &t));
    return t;
}

/* The same lookups through the table and through a pin give the same bytes. */
static void same_answers(uint32_t type) {
    rets_owner *owner = NULL;
    rets_builder *b = NULL;
    rets_buf *plain = NULL, *pinned = NULL;
    rets_pin *pin = NULL;
    const uint8_t *k;
    size_t kn;
    int64_t i;
    OK(rets_owner_new(&owner));
    OK(rets_builder_new(&b));
    OK(rets_buf_new(&plain));
    OK(rets_buf_new(&pinned));
    rets_table *t = new_table(owner, type, RETS_ACCESS_PROTECTED);
    for (i = 0; i < 100; i++) {
        put(t, b, i, i * 10);
        if (type == RETS_TABLE_TYPE_BAG && i % 2 == 0) put(t, b, i, i * 10 + 1);
    }
    OK(rets_pin_new(t, &pin));
    for (i = -3; i < 103; i++) {
        bool in_table = false, in_pin = true;
        size_t pos;
        int_key(b, i, &k, &kn);
        OK(rets_table_lookup(t, k, kn, plain));
        OK(rets_pin_lookup(pin, k, kn, pinned));
        CHECK(rets_buf_len(plain) == rets_buf_len(pinned));
        CHECK(memcmp(rets_buf_data(plain), rets_buf_data(pinned), rets_buf_len(plain)) == 0);
        OK(rets_table_member(t, k, kn, &in_table));
        OK(rets_pin_member(pin, k, kn, &in_pin));
        CHECK(in_table == in_pin);
        for (pos = 0; pos <= 4; pos++) {
            enum rets_status a = rets_table_lookup_element(t, k, kn, pos, NULL, 0, plain);
            enum rets_status p = rets_pin_lookup_element(pin, k, kn, pos, NULL, 0, pinned);
            CHECK(a == p);
            if (a == RETS_STATUS_OK) {
                CHECK(rets_buf_len(plain) == rets_buf_len(pinned));
                CHECK(memcmp(rets_buf_data(plain), rets_buf_data(pinned),
                             rets_buf_len(plain)) == 0);
            }
        }
    }
    /* A default for an absent key (here the key's own bytes, a valid term). */
    int_key(b, 1000, &k, &kn);
    OK(rets_pin_lookup_element(pin, k, kn, 2, k, kn, pinned));
    CHECK(rets_buf_len(pinned) == kn && memcmp(rets_buf_data(pinned), k, kn) == 0);
    /* A key that points into the output buffer (a key read from a previous result; on a bag
     * the element is an array of every object's, so only on the other types). */
    if (type != RETS_TABLE_TYPE_BAG) {
        int_key(b, 7, &k, &kn);
        OK(rets_pin_lookup_element(pin, k, kn, 1, NULL, 0, pinned));
        OK(rets_pin_lookup(pin, rets_buf_data(pinned), rets_buf_len(pinned), pinned));
        OK(rets_table_lookup(t, k, kn, plain));
        CHECK(rets_buf_len(plain) == rets_buf_len(pinned));
        CHECK(memcmp(rets_buf_data(plain), rets_buf_data(pinned), rets_buf_len(plain)) == 0);
    }
    rets_pin_free(pin);
    rets_table_free(t);
    rets_buf_free(plain);
    rets_buf_free(pinned);
    rets_builder_free(b);
    rets_owner_close(owner);
}

static void bad_arguments(void) {
    rets_owner *owner = NULL, *other = NULL;
    rets_builder *b = NULL;
    rets_buf *out = NULL;
    rets_pin *pin = NULL, *denied = (rets_pin *)0x1;
    rets_table *foreign = NULL;
    const uint8_t bad_key[] = {0xc1}; /* never used in MessagePack */
    const uint8_t *k;
    size_t kn;
    bool found = true;
    OK(rets_owner_new(&owner));
    OK(rets_owner_new(&other));
    OK(rets_builder_new(&b));
    OK(rets_buf_new(&out));
    rets_table *t = new_table(owner, RETS_TABLE_TYPE_SET, RETS_ACCESS_PRIVATE);
    put(t, b, 1, 2);

    EXPECT(rets_pin_new(NULL, &pin), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_pin_new(t, NULL), RETS_STATUS_NULL_ARGUMENT);
    /* A private table, through a handle acting for another owner: denied, `*out` untouched. */
    OK(rets_table_with_owner(t, other, &foreign));
    EXPECT(rets_pin_new(foreign, &denied), RETS_STATUS_ACCESS_DENIED);
    CHECK(denied == (rets_pin *)0x1);
    CHECK(strstr(rets_last_error_message(), "private") != NULL);

    OK(rets_pin_new(t, &pin));
    int_key(b, 1, &k, &kn);
    EXPECT(rets_pin_lookup(NULL, k, kn, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_pin_lookup(pin, NULL, 1, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_pin_lookup(pin, k, kn, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_pin_lookup(pin, bad_key, 1, out), RETS_STATUS_MALFORMED);
    EXPECT(rets_pin_member(pin, k, kn, NULL), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_pin_member(NULL, k, kn, &found), RETS_STATUS_NULL_ARGUMENT);
    CHECK(found);
    EXPECT(rets_pin_lookup_element(pin, k, kn, 0, NULL, 0, out), RETS_STATUS_BAD_POSITION);
    EXPECT(rets_pin_lookup_element(pin, k, kn, 9, NULL, 0, out), RETS_STATUS_BAD_POSITION);
    EXPECT(rets_pin_lookup_element(pin, k, kn, 2, bad_key, 1, out), RETS_STATUS_MALFORMED);
    int_key(b, 2, &k, &kn);
    EXPECT(rets_pin_lookup_element(pin, k, kn, 2, NULL, 0, out), RETS_STATUS_KEY_NOT_FOUND);
    EXPECT(rets_pin_refresh(NULL), RETS_STATUS_NULL_ARGUMENT);
    OK(rets_pin_refresh(pin));
    /* The pin still reads after all that. */
    int_key(b, 1, &k, &kn);
    OK(rets_pin_member(pin, k, kn, &found));
    CHECK(found);
    rets_pin_free(NULL);
    rets_pin_free(pin);
    rets_table_free(foreign);
    rets_table_free(t);
    rets_buf_free(out);
    rets_builder_free(b);
    rets_owner_close(other);
    rets_owner_close(owner);
}

typedef struct reader {
    rets_pin *pin;
    int parity;
} reader;

/* Reads every key of its parity ROUNDS times: each object whole ({k, v, k + v}). */
static void *read_through_pin(void *arg) {
    reader *r = (reader *)arg;
    rets_builder *b = NULL;
    rets_buf *out = NULL;
    const uint8_t *k;
    size_t kn;
    int round;
    int64_t i;
    OK(rets_builder_new(&b));
    OK(rets_buf_new(&out));
    for (round = 0; round < ROUNDS; round++) {
        for (i = r->parity; i < KEYS; i += 2) {
            rets_reader rd;
            size_t count = 0, arity = 0;
            int64_t key = -1, v = -1, sum = -1;
            int_key(b, i, &k, &kn);
            OK(rets_pin_lookup(r->pin, k, kn, out));
            OK(rets_reader_init(&rd, rets_buf_data(out), rets_buf_len(out)));
            OK(rets_reader_array(&rd, &count));
            CHECK(count == 1);
            OK(rets_reader_array(&rd, &arity));
            CHECK(arity == 3);
            OK(rets_reader_int(&rd, &key));
            OK(rets_reader_int(&rd, &v));
            OK(rets_reader_int(&rd, &sum));
            CHECK(key == i && sum == key + v);
        }
    }
    rets_buf_free(out);
    rets_builder_free(b);
    return NULL;
}

static void *free_pin(void *arg) {
    rets_pin_free((rets_pin *)arg);
    return NULL;
}

static void threads_and_deletion(void) {
    rets_owner *owner = NULL;
    rets_builder *b = NULL;
    rets_buf *out = NULL;
    rets_pin *pin = NULL, *second = NULL;
    pthread_t readers[2], freer;
    reader args[2];
    const uint8_t *k;
    size_t kn;
    bool found = false;
    int64_t i;
    int round, n;
    OK(rets_owner_new(&owner));
    OK(rets_builder_new(&b));
    OK(rets_buf_new(&out));
    rets_table *t = new_table(owner, RETS_TABLE_TYPE_SET, RETS_ACCESS_PUBLIC);
    for (i = 0; i < KEYS; i++) put(t, b, i, 0);
    OK(rets_pin_new(t, &pin));
    OK(rets_pin_new(t, &second));

    /* Two threads read through one pin while this one rewrites every object, retiring the
     * old ones (held up by the pin, then freed once it is: valgrind and ASan see both). */
    for (n = 0; n < 2; n++) {
        args[n].pin = pin;
        args[n].parity = n;
        CHECK(pthread_create(&readers[n], NULL, read_through_pin, &args[n]) == 0);
    }
    for (round = 1; round <= ROUNDS; round++) {
        for (i = 0; i < KEYS; i++) put(t, b, i, round);
    }
    for (n = 0; n < 2; n++) CHECK(pthread_join(readers[n], NULL) == 0);

    /* The pin outlives the handle it was taken from; the table outlives the handle too. */
    rets_table *again = NULL;
    OK(rets_table_with_owner(t, owner, &again));
    rets_table_free(t);
    int_key(b, KEYS - 1, &k, &kn);
    OK(rets_pin_member(pin, k, kn, &found));
    CHECK(found);

    /* Freed on another thread than the one that took it. */
    CHECK(pthread_create(&freer, NULL, free_pin, second) == 0);
    CHECK(pthread_join(freer, NULL) == 0);

    /* Deleting the table ends the pin's reads; the pin stays valid until freed. */
    OK(rets_table_delete(again));
    EXPECT(rets_pin_member(pin, k, kn, &found), RETS_STATUS_NO_TABLE);
    EXPECT(rets_pin_lookup(pin, k, kn, out), RETS_STATUS_NO_TABLE);
    EXPECT(rets_pin_lookup_element(pin, k, kn, 2, NULL, 0, out), RETS_STATUS_NO_TABLE);
    EXPECT(rets_pin_new(again, &second), RETS_STATUS_NO_TABLE);
    rets_pin_free(pin);
    rets_table_free(again);
    rets_buf_free(out);
    rets_builder_free(b);
    rets_owner_close(owner);
}

int main(void) {
    same_answers(RETS_TABLE_TYPE_SET);
    same_answers(RETS_TABLE_TYPE_BAG);
    same_answers(RETS_TABLE_TYPE_ORDERED_SET);
    bad_arguments();
    threads_and_deletion();
    printf("test_pin: ok\n");
    return 0;
}
