/*
 * Glue compiled into the Python extension next to rets.h. No engine logic: it only saves
 * Python-level calls on the hot path, where each cffi call costs ~100-150 ns.
 *
 * - pyrets_buf_bytes: a result buffer's bytes in one call (instead of rets_buf_data +
 *   rets_buf_len), typed `char *` so that ffi.unpack copies them into a Python bytes.
 * - pyrets_table_lookup: rets_table_lookup returning its status and the result's bytes
 *   together.
 */
#include "rets.h"

typedef struct pyrets_bytes {
    const char *data;
    size_t len;
} pyrets_bytes;

typedef struct pyrets_result {
    rets_status status;
    const char *data;
    size_t len;
} pyrets_result;

static pyrets_bytes pyrets_buf_bytes(const rets_buf *buf) {
    pyrets_bytes r = {(const char *)rets_buf_data(buf), rets_buf_len(buf)};
    return r;
}

static pyrets_result pyrets_table_lookup(const rets_table *table, const uint8_t *key,
                                         size_t key_len, rets_buf *out) {
    pyrets_result r = {rets_table_lookup(table, key, key_len, out), NULL, 0};
    if (r.status == RETS_STATUS_OK) {
        r.data = (const char *)rets_buf_data(out);
        r.len = rets_buf_len(out);
    }
    return r;
}
