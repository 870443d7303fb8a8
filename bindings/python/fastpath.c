/*
 * rets._fastpath: the hot lookup (Table.get, Table.lookup, and the same through a Pin) as one
 * CPython function.
 *
 * Through cffi a lookup costs a call plus the Python objects cffi makes around it (the result
 * struct, its pointer field, the copy): several hundred ns, more than the engine's lookup.
 * This module makes the same rets_table_lookup call with the CPython API directly and returns
 * the result's bytes. It does not link librets: the extension rets._rets_cffi (which does)
 * hands it the addresses of the functions it calls, once, through init(), so both modules
 * use the one engine. No engine logic: a call, the GIL released around it, a copy.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#include "rets.h"

typedef rets_status (*lookup_fn)(const rets_table *, const uint8_t *, size_t, rets_buf *);
typedef rets_status (*pin_lookup_fn)(const rets_pin *, const uint8_t *, size_t, rets_buf *);
typedef rets_status (*buf_new_fn)(rets_buf **);
typedef const uint8_t *(*buf_data_fn)(const rets_buf *);
typedef size_t (*buf_len_fn)(const rets_buf *);
typedef void (*buf_free_fn)(rets_buf *);

static lookup_fn table_lookup;
static pin_lookup_fn pin_lookup;
static buf_new_fn buf_new;
static buf_data_fn buf_data;
static buf_len_fn buf_len;
static buf_free_fn buf_free;

/* Result buffers, taken and given back with the GIL held (so no other lock; this module is
 * built for interpreters with a GIL): a call takes one before releasing the GIL and gives it
 * back after copying its result out. */
#define POOL_MAX 64
static rets_buf *pool[POOL_MAX];
static int pool_len;

static PyObject *init(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError,
                        "init(lookup, buf_new, buf_data, buf_len, buf_free, pin_lookup) takes 6 "
                        "addresses");
        return NULL;
    }
    void *fns[6];
    for (int i = 0; i < 6; i++) {
        fns[i] = PyLong_AsVoidPtr(args[i]);
        if (fns[i] == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a NULL function address");
            return NULL;
        }
    }
    table_lookup = (lookup_fn)fns[0];
    buf_new = (buf_new_fn)fns[1];
    buf_data = (buf_data_fn)fns[2];
    buf_len = (buf_len_fn)fns[3];
    buf_free = (buf_free_fn)fns[4];
    pin_lookup = (pin_lookup_fn)fns[5];
    Py_RETURN_NONE;
}

/* lookup(table_address, key_bytes) -> bytes (the MessagePack array of objects) on success,
 * or the rets_status (an int) on failure, whose message rets_last_error_message() gives on
 * this thread. pin_lookup(pin_address, key_bytes): the same through rets_pin_lookup. */
static PyObject *call_lookup(bool pinned, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, pinned ? "pin_lookup(pin_address, key: bytes)"
                                                : "lookup(table_address, key: bytes)");
        return NULL;
    }
    if (table_lookup == NULL || pin_lookup == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "rets._fastpath.init() was not called");
        return NULL;
    }
    void *handle = PyLong_AsVoidPtr(args[0]);
    if (handle == NULL && PyErr_Occurred()) return NULL;
    rets_buf *buf;
    if (pool_len > 0) {
        buf = pool[--pool_len];
    } else if (buf_new(&buf) != RETS_STATUS_OK) {
        return PyErr_NoMemory();
    }
    /* The key's bytes stay alive (the caller holds them) and unchanged (bytes are immutable)
     * while the GIL is released. */
    const uint8_t *key = (const uint8_t *)PyBytes_AS_STRING(args[1]);
    size_t key_len = (size_t)PyBytes_GET_SIZE(args[1]);
    rets_status status;
    Py_BEGIN_ALLOW_THREADS
    status = pinned ? pin_lookup((const rets_pin *)handle, key, key_len, buf)
                    : table_lookup((const rets_table *)handle, key, key_len, buf);
    Py_END_ALLOW_THREADS
    PyObject *result = status == RETS_STATUS_OK
        ? PyBytes_FromStringAndSize((const char *)buf_data(buf), (Py_ssize_t)buf_len(buf))
        : PyLong_FromLong((long)status);
    if (pool_len < POOL_MAX) {
        pool[pool_len++] = buf;
    } else {
        buf_free(buf); /* more calls were in flight at once than the pool keeps */
    }
    return result;
}

static PyObject *lookup(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    return call_lookup(false, args, nargs);
}

static PyObject *lookup_pinned(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    return call_lookup(true, args, nargs);
}

static PyMethodDef methods[] = {
    {"init", (PyCFunction)(void (*)(void))init, METH_FASTCALL, "Takes the librets function addresses."},
    {"lookup", (PyCFunction)(void (*)(void))lookup, METH_FASTCALL, "rets_table_lookup -> bytes or status."},
    {"pin_lookup", (PyCFunction)(void (*)(void))lookup_pinned, METH_FASTCALL, "rets_pin_lookup -> bytes or status."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "rets._fastpath", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fastpath(void) { return PyModule_Create(&module); }
