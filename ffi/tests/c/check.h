/* Tiny assertion helpers shared by the C tests. */
#ifndef RETS_TEST_CHECK_H
#define RETS_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "rets.h"

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__,       \
                    __LINE__, #cond, rets_last_error_message());                          \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

/* The call must return `want`; on a mismatch, print what it returned and its message. */
#define EXPECT(call, want)                                                                \
    do {                                                                                  \
        enum rets_status got_ = (call);                                                   \
        if (got_ != (want)) {                                                             \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (message: %s)\n",         \
                    __FILE__, __LINE__, #call, rets_status_name((uint32_t)got_),          \
                    rets_status_name((uint32_t)(want)), rets_last_error_message());       \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define OK(call) EXPECT(call, RETS_STATUS_OK)

#endif
