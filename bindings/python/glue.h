/*
 * Glue compiled into the Python extension next to rets.h. No engine logic: it only saves
 * Python-level calls on the hot path, where each cffi call costs ~100-150 ns.
 *
 * - pyrets_buf_bytes: a result buffer's bytes in one call (instead of rets_buf_data +
 *   rets_buf_len), typed `char *` so that ffi.unpack copies them into a Python bytes.
 * - pyrets_table_lookup: rets_table_lookup into this OS thread's own rets_buf (created on
 *   first use, freed when the thread ends), returning status and bytes together.
 */
#include <pthread.h>
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

static pthread_key_t pyrets_buf_key;
static pthread_once_t pyrets_buf_once = PTHREAD_ONCE_INIT;

static void pyrets_free_thread_buf(void *buf) { rets_buf_free((rets_buf *)buf); }

static void pyrets_make_buf_key(void) {
    (void)pthread_key_create(&pyrets_buf_key, pyrets_free_thread_buf);
}

/* This thread's buffer, or NULL if it cannot be made (then the call reports NULL_ARGUMENT). */
static rets_buf *pyrets_thread_buf(void) {
    (void)pthread_once(&pyrets_buf_once, pyrets_make_buf_key);
    rets_buf *buf = (rets_buf *)pthread_getspecific(pyrets_buf_key);
    if (buf == NULL && rets_buf_new(&buf) == RETS_STATUS_OK &&
        pthread_setspecific(pyrets_buf_key, buf) != 0) {
        rets_buf_free(buf);
        buf = NULL;
    }
    return buf;
}

static pyrets_result pyrets_table_lookup(const rets_table *table, const uint8_t *key,
                                         size_t key_len) {
    rets_buf *buf = pyrets_thread_buf();
    pyrets_result r = {rets_table_lookup(table, key, key_len, buf), NULL, 0};
    if (r.status == RETS_STATUS_OK) {
        r.data = (const char *)rets_buf_data(buf);
        r.len = rets_buf_len(buf);
    }
    return r;
}
