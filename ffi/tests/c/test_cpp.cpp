// The header from C++: it compiles with -std=c++17 -Wall -Wextra -Werror -pedantic, and a small
// RAII wrapper (what a C++ user would write) runs a lookup, a counter and a traversal.
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "rets.h"

namespace {

void check(rets_status s) {
    if (s != RETS_STATUS_OK) {
        throw std::runtime_error(std::string(rets_status_name(s)) + ": " +
                                 rets_last_error_message());
    }
}

struct OwnerClose {
    void operator()(rets_owner *o) const { rets_owner_close(o); }
};
struct TableFree {
    void operator()(rets_table *t) const { rets_table_free(t); }
};
struct BufFree {
    void operator()(rets_buf *b) const { rets_buf_free(b); }
};
struct BuilderFree {
    void operator()(rets_builder *b) const { rets_builder_free(b); }
};

using Owner = std::unique_ptr<rets_owner, OwnerClose>;
using Table = std::unique_ptr<rets_table, TableFree>;
using Buf = std::unique_ptr<rets_buf, BufFree>;
using Builder = std::unique_ptr<rets_builder, BuilderFree>;

template <class T, class F>
T make(F f) {
    typename T::pointer p = nullptr;
    check(f(&p));
    return T(p);
}

std::vector<uint8_t> object(rets_builder *b, const std::string &key, int64_t value) {
    check(rets_builder_reset(b));
    check(rets_builder_array(b, 2));
    check(rets_builder_str(b, key.data(), key.size()));
    check(rets_builder_int(b, value));
    const uint8_t *p = nullptr;
    size_t n = 0;
    check(rets_builder_finish(b, &p, &n));
    return std::vector<uint8_t>(p, p + n);
}

std::vector<uint8_t> key(rets_builder *b, const std::string &k) {
    check(rets_builder_reset(b));
    check(rets_builder_str(b, k.data(), k.size()));
    const uint8_t *p = nullptr;
    size_t n = 0;
    check(rets_builder_finish(b, &p, &n));
    return std::vector<uint8_t>(p, p + n);
}

}  // namespace

int main() {
    try {
        Owner owner = make<Owner>(rets_owner_new);
        Builder b = make<Builder>(rets_builder_new);
        Buf out = make<Buf>(rets_buf_new);
        rets_table_options opts;
        std::memset(&opts, 0, sizeof opts);
        opts.table_type = RETS_TABLE_TYPE_ORDERED_SET;
        Table t = make<Table>([&](rets_table **p) {
            return rets_table_new(owner.get(), "cpp", &opts, p);
        });
        for (const char *k : {"b", "a", "c"}) {
            auto o = object(b.get(), k, 1);
            check(rets_table_insert(t.get(), o.data(), o.size()));
        }
        auto k = key(b.get(), "a");
        int64_t value = 0;
        check(rets_table_update_counter(t.get(), k.data(), k.size(), 41, &value));
        if (value != 42) throw std::runtime_error("update_counter gave a wrong value");

        std::string order;
        rets_status s = rets_table_first(t.get(), out.get());
        for (; s == RETS_STATUS_OK;
             s = rets_table_next(t.get(), rets_buf_data(out.get()), rets_buf_len(out.get()),
                                 out.get())) {
            rets_reader r;
            const char *str = nullptr;
            size_t len = 0;
            check(rets_reader_init(&r, rets_buf_data(out.get()), rets_buf_len(out.get())));
            check(rets_reader_str(&r, &str, &len));
            order.append(str, len);
        }
        if (s != RETS_STATUS_END_OF_TABLE) check(s);
        if (order != "abc") throw std::runtime_error("traversal order is " + order);

        // An error becomes an exception with the engine's message.
        bool threw = false;
        try {
            check(rets_table_update_counter(t.get(), nullptr, 3, 1, &value));
        } catch (const std::runtime_error &e) {
            threw = std::strstr(e.what(), "RETS_STATUS_NULL_ARGUMENT") != nullptr;
        }
        if (!threw) throw std::runtime_error("a NULL key was not reported");
        std::printf("test_cpp: all checks passed (rets %s)\n", rets_version());
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "test_cpp: %s\n", e.what());
        return 1;
    }
}
