//! From Linux 0.01: its `mm/memory.c`, the page-table copy and teardown
//! with copy-on-write.

pub mod memory;
