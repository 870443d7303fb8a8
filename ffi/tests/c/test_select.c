/*
 * The C API of atoms, match specifications and the select/match family: every function on its
 * success path and its documented error paths. Built and run like test_api.c by ci/c-tests
 * (-std=c99 -Wall -Wextra -Werror, AddressSanitizer + UBSan, valgrind).
 */
#include <stdint.h>
#include <string.h>

#include "check.h"

static rets_builder *b;

static void atom(const char *name) { OK(rets_builder_atom(b, name, strlen(name))); }

/* Compiles the spec built in `b`. */
static rets_matchspec *compile_built(void) {
    const uint8_t *p;
    size_t n;
    rets_matchspec *spec = NULL;
    OK(rets_builder_finish(b, &p, &n));
    OK(rets_matchspec_compile(p, n, &spec));
    CHECK(spec != NULL);
    return spec;
}

/* [{{'$1', '$2'}, [{'>', '$2', Min}], [{{'$2', '$1'}}]}] */
static rets_matchspec *spec_swap_above(int64_t min) {
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 1));
    OK(rets_builder_array(b, 3));
    OK(rets_builder_array(b, 2));
    atom("$1");
    atom("$2");
    OK(rets_builder_array(b, 1));
    OK(rets_builder_array(b, 3));
    atom(">");
    atom("$2");
    OK(rets_builder_int(b, min));
    OK(rets_builder_array(b, 1));
    OK(rets_builder_array(b, 1));
    OK(rets_builder_array(b, 2));
    atom("$2");
    atom("$1");
    return compile_built();
}

/* [{{'$1', '$2'}, [], [{{'$1', {'+', '$2', 1}}}]}]: keeps the key. */
static rets_matchspec *spec_bump(void) {
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 1));
    OK(rets_builder_array(b, 3));
    OK(rets_builder_array(b, 2));
    atom("$1");
    atom("$2");
    OK(rets_builder_array(b, 0));
    OK(rets_builder_array(b, 1));
    OK(rets_builder_array(b, 1));
    OK(rets_builder_array(b, 2));
    atom("$1");
    OK(rets_builder_array(b, 3));
    atom("+");
    atom("$2");
    OK(rets_builder_int(b, 1));
    return compile_built();
}

/* [{'_', [], [true]}] */
static rets_matchspec *spec_all_true(void) {
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 1));
    OK(rets_builder_array(b, 3));
    atom("_");
    OK(rets_builder_array(b, 0));
    OK(rets_builder_array(b, 1));
    atom("true");
    return compile_built();
}

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

/* The number of elements of the array in `buf`. */
static size_t count_of(const rets_buf *buf) {
    rets_reader r;
    size_t n = 0;
    OK(rets_reader_init(&r, rets_buf_data(buf), rets_buf_len(buf)));
    OK(rets_reader_array(&r, &n));
    return n;
}

static rets_table *new_table(rets_owner *owner, uint32_t type) {
    rets_table_options opts;
    rets_table *t = NULL;
    memset(&opts, 0, sizeof opts);
    opts.table_type = type;
    opts.access = RETS_ACCESS_PUBLIC;
    OK(rets_table_new(owner, "sel", &opts, &t));
    return t;
}

static void test_atoms(void) {
    const uint8_t *p;
    size_t n, len = 0;
    const char *name = NULL;
    rets_reader r;
    enum rets_type type;

    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 2));
    atom("ok");
    atom("true");
    OK(rets_builder_finish(b, &p, &n));
    OK(rets_reader_init(&r, p, n));
    OK(rets_reader_array(&r, &len));
    CHECK(len == 2);
    OK(rets_reader_type(&r, &type));
    CHECK(type == RETS_TYPE_ATOM);
    OK(rets_reader_atom(&r, &name, &len));
    CHECK(len == 2 && memcmp(name, "ok", 2) == 0);
    OK(rets_reader_type(&r, &type));
    CHECK(type == RETS_TYPE_BOOL); /* the atom true is MessagePack true */
    OK(rets_reader_atom(&r, &name, &len));
    CHECK(len == 4 && memcmp(name, "true", 4) == 0);
    EXPECT(rets_reader_atom(&r, &name, &len), RETS_STATUS_MALFORMED); /* nothing left */

    OK(rets_builder_reset(b));
    EXPECT(rets_builder_atom(b, "\xff", 1), RETS_STATUS_INVALID_ARGUMENT);
    {
        char longname[300];
        memset(longname, 'a', sizeof longname);
        EXPECT(rets_builder_atom(b, longname, 256), RETS_STATUS_LIMIT_EXCEEDED);
    }
    EXPECT(rets_builder_atom(b, NULL, 3), RETS_STATUS_NULL_ARGUMENT);
    OK(rets_builder_int(b, 5));
    OK(rets_builder_finish(b, &p, &n));
    OK(rets_reader_init(&r, p, n));
    EXPECT(rets_reader_atom(&r, &name, &len), RETS_STATUS_WRONG_TYPE);
    EXPECT(rets_reader_atom(&r, NULL, &len), RETS_STATUS_NULL_ARGUMENT);
}

static void test_compile_errors(void) {
    const uint8_t *p;
    size_t n;
    rets_matchspec *spec = (rets_matchspec *)&n;
    static const uint8_t garbage[] = {0x91, 0xc1};

    /* [{'_', [], []}]: an empty body. */
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 1));
    OK(rets_builder_array(b, 3));
    atom("_");
    OK(rets_builder_array(b, 0));
    OK(rets_builder_array(b, 0));
    OK(rets_builder_finish(b, &p, &n));
    EXPECT(rets_matchspec_compile(p, n, &spec), RETS_STATUS_BAD_MATCH_SPEC);
    CHECK(strstr(rets_last_error_message(), "body is empty") != NULL);
    CHECK(spec == (rets_matchspec *)&n); /* untouched */
    EXPECT(rets_matchspec_compile(garbage, sizeof garbage, &spec), RETS_STATUS_MALFORMED);
    EXPECT(rets_matchspec_compile(NULL, 4, &spec), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_matchspec_compile(garbage, sizeof garbage, NULL), RETS_STATUS_NULL_ARGUMENT);
    rets_matchspec_free(NULL);
}

static void test_select_family(rets_owner *owner, uint32_t type) {
    rets_table *t = new_table(owner, type);
    rets_matchspec *swap = spec_swap_above(4), *all = spec_all_true(), *bump = spec_bump();
    rets_buf *out = NULL;
    rets_select_cont *cont = NULL;
    size_t n = 0, total = 0, chunks = 0;
    int64_t k;
    const uint8_t *p;
    size_t plen;

    OK(rets_buf_new(&out));
    for (k = 0; k < 10; k++) insert_kv(t, k, k);

    OK(rets_table_select(t, swap, out));
    CHECK(count_of(out) == 5);
    {
        /* select_reverse into a fresh buffer: the same five results {V, K}, in the opposite
         * order on an ordered_set and in the same order on the hash types (which traverse
         * forward only, as in ETS). Each result is 3 bytes (fixarray 2 of two fixints). */
        rets_buf *rev = NULL;
        const uint8_t *fwd;
        size_t i;
        OK(rets_buf_new(&rev));
        OK(rets_table_select_reverse(t, swap, rev));
        CHECK(count_of(rev) == 5);
        CHECK(rets_buf_len(rev) == 1 + 5 * 3 && rets_buf_len(out) == 1 + 5 * 3);
        fwd = rets_buf_data(out);
        for (i = 0; i < 5; i++) {
            size_t from = type == RETS_TABLE_TYPE_ORDERED_SET ? 4 - i : i;
            CHECK(memcmp(rets_buf_data(rev) + 1 + 3 * i, fwd + 1 + 3 * from, 3) == 0);
        }
        rets_buf_free(rev);
    }
    OK(rets_table_select_count(t, all, &n));
    CHECK(n == 10);

    OK(rets_table_select_limit(t, swap, 2, out, &cont));
    total = count_of(out);
    chunks = 1;
    for (;;) {
        enum rets_status s = rets_select_cont_next(cont, out);
        if (s == RETS_STATUS_END_OF_TABLE) break;
        OK(s);
        total += count_of(out);
        chunks++;
    }
    CHECK(total == 5 && chunks == 3);
    EXPECT(rets_select_cont_next(cont, out), RETS_STATUS_END_OF_TABLE);
    rets_select_cont_free(cont);
    cont = NULL;
    OK(rets_table_select_reverse_limit(t, swap, 10, out, &cont));
    CHECK(count_of(out) == 5);
    rets_select_cont_free(cont);
    cont = NULL;
    EXPECT(rets_table_select_limit(t, swap, 0, out, &cont), RETS_STATUS_INVALID_ARGUMENT);
    CHECK(cont == NULL);

    /* match family: pattern {'$1', 3} */
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 2));
    atom("$1");
    OK(rets_builder_int(b, 3));
    OK(rets_builder_finish(b, &p, &plen));
    OK(rets_table_match(t, p, plen, out));
    CHECK(count_of(out) == 1);
    {
        /* match_object gives the whole object {3, 3}, in a fresh buffer (so that a call that
         * wrote nothing cannot pass on what the previous call left in `out`). */
        static const uint8_t object_3_3[] = {0x91, 0x92, 0x03, 0x03};
        rets_buf *objs = NULL;
        OK(rets_buf_new(&objs));
        OK(rets_table_match_object(t, p, plen, objs));
        CHECK(rets_buf_len(objs) == sizeof object_3_3);
        CHECK(memcmp(rets_buf_data(objs), object_3_3, sizeof object_3_3) == 0);
        rets_buf_free(objs);
        OK(rets_buf_new(&objs));
        OK(rets_table_match_object_limit(t, p, plen, 5, objs, &cont));
        CHECK(rets_buf_len(objs) == sizeof object_3_3);
        CHECK(memcmp(rets_buf_data(objs), object_3_3, sizeof object_3_3) == 0);
        rets_select_cont_free(cont);
        cont = NULL;
        rets_buf_free(objs);
    }
    OK(rets_table_match_limit(t, p, plen, 5, out, &cont));
    CHECK(count_of(out) == 1);
    EXPECT(rets_select_cont_next(cont, out), RETS_STATUS_END_OF_TABLE);
    rets_select_cont_free(cont);
    cont = NULL;
    OK(rets_table_match_object_limit(t, p, plen, 5, out, &cont));
    CHECK(count_of(out) == 1);
    rets_select_cont_free(cont);
    cont = NULL;

    if (type != RETS_TABLE_TYPE_BAG) {
        OK(rets_table_select_replace(t, bump, &n));
        CHECK(n == 10);
        EXPECT(rets_table_select_replace(t, swap, &n), RETS_STATUS_BAD_MATCH_SPEC);
    } else {
        EXPECT(rets_table_select_replace(t, bump, &n), RETS_STATUS_WRONG_TABLE_TYPE);
    }
    CHECK(n == 10);

    OK(rets_table_match_delete(t, p, plen, &n));
    CHECK(n == 1);
    /* select_delete deletes only where the body gives true: this body gives tuples. */
    OK(rets_table_select_delete(t, swap, &n));
    CHECK(n == 0);
    OK(rets_table_select_count(t, all, &n));
    CHECK(n == 9);

    /* An empty table: a chunked select ends at once, with no continuation. */
    OK(rets_table_select_delete(t, all, &n));
    CHECK(n == 9);
    EXPECT(rets_table_select_limit(t, all, 3, out, &cont), RETS_STATUS_END_OF_TABLE);
    CHECK(cont == NULL);
    EXPECT(rets_table_match(t, p, 1, out), RETS_STATUS_MALFORMED);
    EXPECT(rets_table_select(NULL, all, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_table_select(t, NULL, out), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_select_cont_next(NULL, out), RETS_STATUS_NULL_ARGUMENT);
    rets_select_cont_free(NULL);

    OK(rets_table_delete(t));
    rets_table_free(t);
    rets_matchspec_free(swap);
    rets_matchspec_free(all);
    rets_matchspec_free(bump);
    rets_buf_free(out);
}

static void test_continuation_after_delete(rets_owner *owner) {
    rets_table *t = new_table(owner, RETS_TABLE_TYPE_ORDERED_SET);
    rets_matchspec *all = spec_all_true();
    rets_buf *out = NULL;
    rets_select_cont *cont = NULL;
    int64_t k;
    OK(rets_buf_new(&out));
    for (k = 0; k < 10; k++) insert_kv(t, k, k);
    OK(rets_table_select_limit(t, all, 3, out, &cont));
    OK(rets_table_delete(t));
    EXPECT(rets_select_cont_next(cont, out), RETS_STATUS_NO_TABLE);
    rets_select_cont_free(cont);
    rets_table_free(t);
    rets_matchspec_free(all);
    rets_buf_free(out);
}

int main(void) {
    rets_owner *owner = NULL;
    OK(rets_builder_new(&b));
    OK(rets_owner_new(&owner));
    test_atoms();
    test_compile_errors();
    test_select_family(owner, RETS_TABLE_TYPE_SET);
    test_select_family(owner, RETS_TABLE_TYPE_ORDERED_SET);
    test_select_family(owner, RETS_TABLE_TYPE_BAG);
    test_select_family(owner, RETS_TABLE_TYPE_DUPLICATE_BAG);
    test_continuation_after_delete(owner);
    rets_owner_close(owner);
    rets_builder_free(b);
    puts("test_select: ok");
    return 0;
}
