/*
 * The C API of table files: rets_table_tab2file(), rets_file2tab(), rets_tabfile_info(), on
 * their success paths and their documented errors (a damaged file, a missing one, NULLs).
 * Built and run like test_api.c by ci/c-tests.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static void insert_kv(rets_builder *b, rets_table *t, int64_t k) {
    const uint8_t *p;
    size_t n;
    OK(rets_builder_reset(b));
    OK(rets_builder_array(b, 2));
    OK(rets_builder_int(b, k));
    OK(rets_builder_atom(b, "saved", 5));
    OK(rets_builder_finish(b, &p, &n));
    OK(rets_table_insert(t, p, n));
}

int main(void) {
    rets_owner *owner = NULL, *other = NULL;
    rets_table *t = NULL, *loaded = NULL, *sentinel = (rets_table *)&owner;
    rets_builder *b = NULL;
    rets_buf *name = NULL;
    rets_table_options opts;
    rets_fileinfo info;
    rets_info tinfo;
    char path[256], bad[300];
    int64_t k;
    FILE *f;

    snprintf(path, sizeof path, "/tmp/rets-c-test-file-%ld.rets", (long)getpid());
    snprintf(bad, sizeof bad, "%s.bad", path);
    OK(rets_owner_new(&owner));
    OK(rets_owner_new(&other));
    OK(rets_builder_new(&b));
    OK(rets_buf_new(&name));
    memset(&opts, 0, sizeof opts);
    opts.table_type = RETS_TABLE_TYPE_ORDERED_SET;
    opts.access = RETS_ACCESS_PUBLIC;
    opts.named = true;
    OK(rets_table_new(owner, "saved_table", &opts, &t));
    for (k = 0; k < 500; k++) insert_kv(b, t, k);

    OK(rets_table_tab2file(t, path));
    OK(rets_tabfile_info(path, &info, name));
    CHECK(info.version == 1 && info.object_count == 500 && info.named);
    CHECK(info.table_type == RETS_TABLE_TYPE_ORDERED_SET && info.access == RETS_ACCESS_PUBLIC);
    CHECK(info.keypos == 1 && !info.read_concurrency && !info.write_concurrency);
    CHECK(rets_buf_len(name) == 11 && memcmp(rets_buf_data(name), "saved_table", 11) == 0);

    /* The name is taken while the original exists. */
    EXPECT(rets_file2tab(other, path, true, &loaded), RETS_STATUS_NAME_TAKEN);
    OK(rets_table_delete(t));
    OK(rets_file2tab(other, path, true, &loaded));
    OK(rets_table_info(loaded, &tinfo));
    CHECK(tinfo.size == 500 && tinfo.table_type == RETS_TABLE_TYPE_ORDERED_SET && tinfo.named);
    OK(rets_table_delete(loaded));
    rets_table_free(loaded);
    loaded = sentinel;

    /* A damaged file: a clear error, no table, the output untouched. */
    f = fopen(bad, "wb");
    CHECK(f != NULL);
    CHECK(fwrite("not a table file", 1, 16, f) == 16);
    CHECK(fclose(f) == 0);
    EXPECT(rets_file2tab(other, bad, false, &loaded), RETS_STATUS_BAD_FILE);
    CHECK(strstr(rets_last_error_message(), "not a rets table file") != NULL);
    CHECK(loaded == sentinel);
    EXPECT(rets_tabfile_info(bad, &info, name), RETS_STATUS_BAD_FILE);
    EXPECT(rets_file2tab(other, "/nonexistent/dir/x.rets", false, &loaded), RETS_STATUS_IO);
    EXPECT(rets_table_tab2file(t, path), RETS_STATUS_NO_TABLE);
    EXPECT(rets_table_tab2file(NULL, path), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_file2tab(other, NULL, false, &loaded), RETS_STATUS_NULL_ARGUMENT);
    EXPECT(rets_tabfile_info(path, NULL, name), RETS_STATUS_NULL_ARGUMENT);

    remove(path);
    remove(bad);
    rets_table_free(t);
    rets_buf_free(name);
    rets_builder_free(b);
    rets_owner_close(owner);
    rets_owner_close(other);
    puts("test_file: ok");
    return 0;
}
