//! System calls (xv6's `syscall.c`): the numbers (`syscall.h`) are in
//! `number`.

pub mod number;
