/*
 * The access matrix through the C ABI: every table function x public / protected / private x
 * a handle acting for the owner (rets_table_new), for another owner (rets_table_with_owner) or
 * for nobody (rets_whereis). Each cell runs on a fresh table holding {1, 10, 20}: the owner
 * may do everything; another owner and nobody may read public and protected tables, write
 * public ones, and neither may give the table away or set its heir; anyone may ask for info
 * and the name. A refused call returns RETS_STATUS_ACCESS_DENIED (or RETS_STATUS_NOT_OWNER)
 * and changes nothing. core/tests/access.rs runs the same matrix on the Rust API.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

/* MessagePack: 1, 9, {1, 10, 20}, {2, 1, 1}, [{2, 1, 1}, {3, 1, 1}], {9, 0}, 0. */
static const uint8_t KEY1[] = {0x01};
static const uint8_t KEY9[] = {0x09};
static const uint8_t OBJ1[] = {0x93, 0x01, 0x0a, 0x14};
static const uint8_t OBJ2[] = {0x93, 0x02, 0x01, 0x01};
static const uint8_t LIST23[] = {0x92, 0x93, 0x02, 0x01, 0x01, 0x93, 0x03, 0x01, 0x01};
static const uint8_t DEFAULT9[] = {0x92, 0x09, 0x00};
static const uint8_t ZERO[] = {0x00};

enum need { READ, WRITE, OWNER, NOTHING };
enum caller { THE_OWNER, ANOTHER_OWNER, NOBODY };

/* Everything an operation may use: the handle, a third owner (the receiver of give_away and
 * the heir of set_heir), and two buffers. */
typedef struct cell {
    const rets_table *t;
    const rets_owner *third;
    rets_buf *a, *b;
} cell;

static bool stop_at_first(void *ctx, const uint8_t *object, size_t len) {
    (void)ctx;
    (void)object;
    (void)len;
    return false;
}

static int renames;

static enum rets_status op_insert(cell *c) { return rets_table_insert(c->t, OBJ2, sizeof OBJ2); }
static enum rets_status op_insert_many(cell *c) {
    return rets_table_insert_many(c->t, LIST23, sizeof LIST23);
}
static enum rets_status op_insert_new(cell *c) {
    bool inserted;
    return rets_table_insert_new(c->t, OBJ2, sizeof OBJ2, &inserted);
}
static enum rets_status op_insert_new_many(cell *c) {
    bool inserted;
    return rets_table_insert_new_many(c->t, LIST23, sizeof LIST23, &inserted);
}
static enum rets_status op_lookup(cell *c) { return rets_table_lookup(c->t, KEY1, 1, c->a); }
static enum rets_status op_member(cell *c) {
    bool found;
    return rets_table_member(c->t, KEY1, 1, &found);
}
static enum rets_status op_lookup_element(cell *c) {
    return rets_table_lookup_element(c->t, KEY1, 1, 2, NULL, 0, c->a);
}
static enum rets_status op_lookup_element_default(cell *c) {
    return rets_table_lookup_element(c->t, KEY9, 1, 2, ZERO, 1, c->a);
}
static enum rets_status op_take(cell *c) { return rets_table_take(c->t, KEY1, 1, c->a); }
static enum rets_status op_delete_key(cell *c) { return rets_table_delete_key(c->t, KEY1, 1); }
static enum rets_status op_delete_object(cell *c) {
    return rets_table_delete_object(c->t, OBJ1, sizeof OBJ1);
}
static enum rets_status op_delete_all_objects(cell *c) {
    return rets_table_delete_all_objects(c->t);
}
static enum rets_status op_update_counter(cell *c) {
    int64_t value;
    return rets_table_update_counter(c->t, KEY1, 1, 1, &value);
}
static enum rets_status op_update_counters(cell *c) {
    rets_counter_op op = {2, 1, false, 0, 0};
    int64_t value;
    return rets_table_update_counters(c->t, KEY9, 1, &op, 1, DEFAULT9, sizeof DEFAULT9, &value);
}
static enum rets_status op_update_element(cell *c) {
    rets_element e = {2, ZERO, 1};
    bool updated;
    return rets_table_update_element(c->t, KEY1, 1, &e, 1, NULL, 0, &updated);
}
static enum rets_status op_first(cell *c) { return rets_table_first(c->t, c->a); }
static enum rets_status op_next(cell *c) { return rets_table_next(c->t, KEY1, 1, c->a); }
static enum rets_status op_last(cell *c) { return rets_table_last(c->t, c->a); }
static enum rets_status op_prev(cell *c) { return rets_table_prev(c->t, KEY1, 1, c->a); }
static enum rets_status op_first_lookup(cell *c) {
    return rets_table_first_lookup(c->t, c->a, c->b);
}
static enum rets_status op_next_lookup(cell *c) {
    return rets_table_next_lookup(c->t, KEY1, 1, c->a, c->b);
}
static enum rets_status op_last_lookup(cell *c) {
    return rets_table_last_lookup(c->t, c->a, c->b);
}
static enum rets_status op_prev_lookup(cell *c) {
    return rets_table_prev_lookup(c->t, KEY1, 1, c->a, c->b);
}
static enum rets_status op_tab2list(cell *c) { return rets_table_tab2list(c->t, c->a); }
static enum rets_status op_foldl(cell *c) { return rets_table_foldl(c->t, stop_at_first, NULL); }
static enum rets_status op_foldr(cell *c) { return rets_table_foldr(c->t, stop_at_first, NULL); }
static enum rets_status op_next_chunk(cell *c) {
    return rets_table_next_chunk(c->t, NULL, 0, 4, RETS_CHUNK_FLAG_OBJECTS, c->a, c->b);
}
static enum rets_status op_info(cell *c) {
    rets_info info;
    return rets_table_info(c->t, &info);
}
static enum rets_status op_name(cell *c) { return rets_table_name(c->t, c->a); }
static enum rets_status op_rename(cell *c) {
    char name[64];
    snprintf(name, sizeof name, "access-renamed-%d", renames++);
    return rets_table_rename(c->t, name);
}
static enum rets_status op_delete(cell *c) { return rets_table_delete(c->t); }
static enum rets_status op_give_away(cell *c) {
    return rets_table_give_away(c->t, c->third, NULL, 0);
}
static enum rets_status op_set_heir(cell *c) {
    return rets_table_set_heir(c->t, c->third, NULL, 0);
}
static enum rets_status op_clear_heir(cell *c) { return rets_table_set_heir(c->t, NULL, NULL, 0); }

typedef struct operation {
    const char *name;
    enum need need;
    enum rets_status (*run)(cell *);
} operation;

static const operation OPERATIONS[] = {
    {"insert", WRITE, op_insert},
    {"insert_many", WRITE, op_insert_many},
    {"insert_new", WRITE, op_insert_new},
    {"insert_new_many", WRITE, op_insert_new_many},
    {"lookup", READ, op_lookup},
    {"member", READ, op_member},
    {"lookup_element", READ, op_lookup_element},
    {"lookup_element (default)", READ, op_lookup_element_default},
    {"take", WRITE, op_take},
    {"delete_key", WRITE, op_delete_key},
    {"delete_object", WRITE, op_delete_object},
    {"delete_all_objects", WRITE, op_delete_all_objects},
    {"update_counter", WRITE, op_update_counter},
    {"update_counters (default)", WRITE, op_update_counters},
    {"update_element", WRITE, op_update_element},
    {"first", READ, op_first},
    {"next", READ, op_next},
    {"last", READ, op_last},
    {"prev", READ, op_prev},
    {"first_lookup", READ, op_first_lookup},
    {"next_lookup", READ, op_next_lookup},
    {"last_lookup", READ, op_last_lookup},
    {"prev_lookup", READ, op_prev_lookup},
    {"tab2list", READ, op_tab2list},
    {"foldl", READ, op_foldl},
    {"foldr", READ, op_foldr},
    {"next_chunk", READ, op_next_chunk},
    {"info", NOTHING, op_info},
    {"name", NOTHING, op_name},
    {"rename", WRITE, op_rename},
    {"delete", WRITE, op_delete},
    {"give_away", OWNER, op_give_away},
    {"set_heir", OWNER, op_set_heir},
    {"set_heir (clear)", OWNER, op_clear_heir},
};

static bool allowed(enum need need, enum rets_access access, enum caller caller) {
    if (caller == THE_OWNER) return true;
    switch (need) {
        case NOTHING: return true;
        case OWNER: return false;
        case READ: return access != RETS_ACCESS_PRIVATE;
        case WRITE: return access == RETS_ACCESS_PUBLIC;
    }
    return false;
}

static const char *ACCESS_NAMES[] = {"protected", "public", "private"};
static const char *CALLER_NAMES[] = {"the owner", "another owner", "nobody"};

int main(void) {
    const size_t n_ops = sizeof OPERATIONS / sizeof OPERATIONS[0];
    const enum rets_access modes[] = {RETS_ACCESS_PUBLIC, RETS_ACCESS_PROTECTED,
                                      RETS_ACCESS_PRIVATE};
    int cells = 0, counter = 0;
    size_t i;
    int m, who;
    rets_buf *a = NULL, *b = NULL;
    OK(rets_buf_new(&a));
    OK(rets_buf_new(&b));

    for (i = 0; i < n_ops; i++) {
        for (m = 0; m < 3; m++) {
            for (who = THE_OWNER; who <= NOBODY; who++) {
                const operation *op = &OPERATIONS[i];
                rets_owner *owner = NULL, *other = NULL, *third = NULL;
                rets_table *table = NULL, *handle = NULL;
                rets_table_options options;
                rets_info info;
                uint64_t owner_id;
                char name[64];
                cell c;
                enum rets_status got;

                OK(rets_owner_new(&owner));
                OK(rets_owner_new(&other));
                OK(rets_owner_new(&third));
                OK(rets_owner_id(owner, &owner_id));
                memset(&options, 0, sizeof options);
                options.table_type = RETS_TABLE_TYPE_SET;
                options.access = (uint32_t)modes[m];
                options.named = true;
                snprintf(name, sizeof name, "access-matrix-%d", counter++);
                OK(rets_table_new(owner, name, &options, &table));
                OK(rets_table_insert(table, OBJ1, sizeof OBJ1));
                switch (who) {
                    case THE_OWNER: OK(rets_table_with_owner(table, owner, &handle)); break;
                    case ANOTHER_OWNER: OK(rets_table_with_owner(table, other, &handle)); break;
                    default: OK(rets_whereis(name, &handle)); break;
                }
                c.t = handle;
                c.third = third;
                c.a = a;
                c.b = b;
                got = op->run(&c);
                if (allowed(op->need, modes[m], (enum caller)who)) {
                    /* next/prev of the only key reach the end of the table. */
                    if (got != RETS_STATUS_OK && got != RETS_STATUS_END_OF_TABLE) {
                        fprintf(stderr, "%s on a %s table by %s: %s (%s)\n", op->name,
                                ACCESS_NAMES[modes[m]], CALLER_NAMES[who],
                                rets_status_name((uint32_t)got), rets_last_error_message());
                        return 1;
                    }
                } else {
                    enum rets_status want =
                        op->need == OWNER ? RETS_STATUS_NOT_OWNER : RETS_STATUS_ACCESS_DENIED;
                    if (got != want) {
                        fprintf(stderr, "%s on a %s table by %s: %s, expected %s\n", op->name,
                                ACCESS_NAMES[modes[m]], CALLER_NAMES[who],
                                rets_status_name((uint32_t)got), rets_status_name((uint32_t)want));
                        return 1;
                    }
                    /* Refused: nothing changed. */
                    OK(rets_table_info(table, &info));
                    CHECK(info.size == 1);
                    CHECK(info.owner == owner_id);
                    OK(rets_table_lookup(table, KEY1, 1, a));
                    CHECK(rets_buf_len(a) == 1 + sizeof OBJ1);
                    CHECK(memcmp(rets_buf_data(a) + 1, OBJ1, sizeof OBJ1) == 0);
                }
                cells++;
                rets_table_free(handle);
                rets_table_free(table);
                rets_owner_close(third);
                rets_owner_close(other);
                rets_owner_close(owner);
            }
        }
    }
    CHECK(cells == (int)n_ops * 9);
    rets_buf_free(a);
    rets_buf_free(b);
    printf("test_access: %d cells of the access matrix passed\n", cells);
    return 0;
}
