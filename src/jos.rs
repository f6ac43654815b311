//! From MIT's JOS (lab 2): the page counts that `boot_alloc` makes before
//! the free list exists, and the page-table API over counted pages with its
//! self-checks (`pmap.c`).

pub mod pageinfo;
pub mod pmap;
