//! loom models of the ordered storage (see ci/loom-ordered).
