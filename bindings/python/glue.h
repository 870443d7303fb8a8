/*
 * Glue compiled into the Python extension next to rets.h. No engine logic: it only saves
 * Python-level calls on the hot path, where each cffi call costs ~100-150 ns.
 *
 * pyrets_buf_bytes: a result buffer's bytes in one call (instead of rets_buf_data +
 * rets_buf_len), typed `char *` so that ffi.unpack copies them into a Python bytes. (The
 * hottest call, the lookup of get and lookup, goes through fastpath.c instead.)
 */
#include "rets.h"

typedef struct pyrets_bytes {
    const char *data;
    size_t len;
} pyrets_bytes;

static pyrets_bytes pyrets_buf_bytes(const rets_buf *buf) {
    pyrets_bytes r = {(const char *)rets_buf_data(buf), rets_buf_len(buf)};
    return r;
}
