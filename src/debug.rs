//! The kernel's own test and measuring tools, apart from the kernel they
//! test: the in-kernel tests (`ktest`) and `kalloctest`, the bench and the
//! lock statistics, backtraces with the symbol table, the copy-on-write
//! demonstration, and the host tests' simulated memory.

pub mod backtrace;
#[cfg(kernel)]
pub mod bench;
#[cfg(kernel)]
pub mod cow_demo;
#[cfg(kernel)]
pub mod hoard;
#[cfg(kernel)]
pub mod kalloctest;
pub mod kalloctest_failure;
pub mod ksyms;
#[cfg(kernel)]
pub mod ktest;
#[cfg(kernel)]
pub mod lockstat;
#[cfg(test)]
pub(crate) mod sim;
