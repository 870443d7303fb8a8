/*
 * The C side of the Python binding's benchmark: the same hit lookup (10k string keys
 * "user:<i>", objects ("user:<i>", {"name": "Alice", "tier": "pro", "visits": 3})) made from C
 * with rets_table_lookup, so that the binding's own cost can be told apart from the engine's.
 *
 * Prints one line: "c_lookup_ns <ns per lookup in the fastest round>".
 * Usage: lookup_c [keys] [lookups_per_round] [rounds]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rets.h"

static void check(rets_status status, const char *what) {
    if (status != RETS_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", what, rets_last_error_message());
        exit(1);
    }
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void put_str(rets_builder *b, const char *s) {
    check(rets_builder_str(b, s, strlen(s)), "builder_str");
}

int main(int argc, char **argv) {
    size_t keys = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    size_t lookups = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    size_t rounds = argc > 3 ? strtoul(argv[3], NULL, 10) : 7;

    rets_owner *owner;
    rets_table *table;
    rets_builder *b;
    rets_buf *out;
    check(rets_owner_new(&owner), "owner_new");
    check(rets_table_new(owner, "bench", NULL, &table), "table_new");
    check(rets_builder_new(&b), "builder_new");
    check(rets_buf_new(&out), "buf_new");

    /* Every key, encoded once (a Python caller encodes its key on each call: measured apart). */
    uint8_t **key_data = malloc(keys * sizeof *key_data);
    size_t *key_len = malloc(keys * sizeof *key_len);
    char text[32];
    for (size_t i = 0; i < keys; i++) {
        const uint8_t *data;
        size_t len;
        snprintf(text, sizeof text, "user:%zu", i);
        check(rets_builder_reset(b), "reset");
        check(rets_builder_array(b, 2), "array");
        put_str(b, text);
        check(rets_builder_map(b, 3), "map");
        put_str(b, "name");
        put_str(b, "Alice");
        put_str(b, "tier");
        put_str(b, "pro");
        put_str(b, "visits");
        check(rets_builder_int(b, 3), "int");
        check(rets_builder_finish(b, &data, &len), "finish");
        check(rets_table_insert(table, data, len), "insert");
        check(rets_builder_reset(b), "reset");
        put_str(b, text);
        check(rets_builder_finish(b, &data, &len), "finish");
        key_data[i] = malloc(len);
        memcpy(key_data[i], data, len);
        key_len[i] = len;
    }

    /* The same random order of hits in every round. */
    size_t *order = malloc(lookups * sizeof *order);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < lookups; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        order[i] = (size_t)(x % keys);
    }
    double *per_op = malloc(rounds * sizeof *per_op);
    size_t total = 0;
    for (size_t r = 0; r < rounds; r++) {
        double start = now_ns();
        for (size_t i = 0; i < lookups; i++) {
            size_t k = order[i];
            check(rets_table_lookup(table, key_data[k], key_len[k], out), "lookup");
            total += rets_buf_len(out);
        }
        per_op[r] = (now_ns() - start) / (double)lookups;
    }
    qsort(per_op, rounds, sizeof *per_op, compare_doubles);
    printf("c_lookup_ns %.1f\n", per_op[0]); /* the fastest round, as the Python side reports */
    if (total == 0) return 1; /* keeps the loop's result alive */

    for (size_t i = 0; i < keys; i++) free(key_data[i]);
    free(key_data);
    free(key_len);
    free(order);
    free(per_op);
    rets_buf_free(out);
    rets_builder_free(b);
    rets_table_free(table);
    rets_owner_close(owner);
    return 0;
}
