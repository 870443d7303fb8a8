{
  "targets": [
    {
      "target_name": "rets",
      "sources": [
        "src/module.c",
        "src/boundary.c",
        "src/owner.c",
        "src/table.c",
        "src/traverse.c",
        "src/cache.c",
        "src/query.c",
        "src/flight.c",
        "src/pin.c"
      ],
      "include_dirs": ["<!(node scripts/paths.js include)"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": [
        "<!(node scripts/paths.js lib)",
        "-Wl,--exclude-libs,ALL",
        "-lpthread", "-ldl", "-lm", "-lrt", "-lutil"
      ]
    }
  ]
}
