//! Pipes (xv6's `pipe.c`): a PIPESIZE-byte ring between a writing and a
//! reading file. Each pipe lives in one kalloc page (the allocator's
//! fourth client, after page tables, kernel stacks and user memory): its
//! lock, counters and buffer. The ring arithmetic ([`Ring`]) is pure logic
//! with host tests.

use crate::param::PIPESIZE;

/// The ring's two counters (xv6's `nread`, `nwrite`): bytes read and
/// written since the pipe was made. They only grow (wrapping), and
/// `nwrite - nread` is what the buffer holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ring {
    pub nread: u32,
    pub nwrite: u32,
}

impl Ring {
    /// Bytes waiting to be read.
    pub fn len(self) -> usize {
        self.nwrite.wrapping_sub(self.nread) as usize
    }
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
    pub fn is_full(self) -> bool {
        self.len() == PIPESIZE
    }
    /// The buffer index of the next byte written.
    pub fn write_at(self) -> usize {
        self.nwrite as usize % PIPESIZE
    }
    /// The buffer index of the next byte read.
    pub fn read_at(self) -> usize {
        self.nread as usize % PIPESIZE
    }
}

#[cfg(kernel)]
pub use kernel::*;

#[cfg(kernel)]
mod kernel {
    use super::Ring;
    use crate::file::{Kind, filealloc, fileclose};
    use crate::kalloc::{kalloc, kfree_addr};
    use crate::memlayout::VAddr;
    use crate::param::PIPESIZE;
    use crate::spinlock::Spinlock;

    /// A pipe's state, in its page.
    pub struct Pipe {
        ring: Ring,
        data: [u8; PIPESIZE],
        readopen: bool,
        writeopen: bool,
    }

    const _: () = assert!(
        core::mem::size_of::<Spinlock<Pipe>>() <= crate::mmu::PGSIZE,
        "a pipe fits in its page"
    );

    /// A pipe: the lock in its page. Copied into both files.
    #[derive(Clone, Copy)]
    pub struct PipeRef(&'static Spinlock<Pipe>);

    impl PipeRef {
        /// What readers sleep on.
        fn read_chan(self) -> usize {
            self.0 as *const _ as usize + 1
        }
        /// What writers sleep on.
        fn write_chan(self) -> usize {
            self.0 as *const _ as usize + 2
        }
    }

    /// Make a pipe and its two files (xv6's `pipealloc`): (read end, write
    /// end), or `None` (nothing kept) without a page or file entries.
    pub fn pipealloc() -> Option<(usize, usize)> {
        let page = kalloc()?;
        let at = crate::memlayout::p2v(page.into_pa()).0 as *mut Spinlock<Pipe>;
        // SAFETY: a whole page from kalloc, ours alone, big and aligned
        // enough for the lock and the pipe (checked above).
        unsafe {
            at.write(Spinlock::new(
                crate::lockorder::PIPE,
                Pipe {
                    ring: Ring::default(),
                    data: [0; PIPESIZE],
                    readopen: true,
                    writeopen: true,
                },
            ))
        };
        // SAFETY: written just above; it lives until pipeclose frees it.
        let p = PipeRef(unsafe { &*at });
        let Some(r) = filealloc(Kind::Pipe(p), true, false) else {
            free(p);
            return None;
        };
        let Some(w) = filealloc(Kind::Pipe(p), false, true) else {
            // Closing the read end with the write end still marked open
            // would keep the page: mark it closed first.
            p.0.lock().writeopen = false;
            fileclose(r);
            return None;
        };
        Some((r, w))
    }

    fn free(p: PipeRef) {
        // SAFETY: both ends are closed: nothing refers to the page.
        unsafe { kfree_addr(VAddr(p.0 as *const _ as u32)) };
    }

    /// Close one end (xv6's `pipeclose`); the page goes back once both are.
    pub fn pipeclose(p: PipeRef, writable: bool) {
        let both = {
            let mut pipe = p.0.lock();
            if writable {
                pipe.writeopen = false;
            } else {
                pipe.readopen = false;
            }
            !pipe.readopen && !pipe.writeopen
        };
        if writable {
            crate::proc::wakeup(p.read_chan());
        } else {
            crate::proc::wakeup(p.write_chan());
        }
        if both {
            free(p);
        }
    }

    /// Write all of `src` (xv6's `pipewrite`), sleeping while the ring is
    /// full; `None` if the read end closes or the writer is killed.
    pub fn pipewrite(p: PipeRef, src: &[u8]) -> Option<usize> {
        let mut pipe = p.0.lock();
        for &b in src {
            while pipe.ring.is_full() {
                if !pipe.readopen || crate::proc::killed() {
                    return None;
                }
                crate::proc::wakeup(p.read_chan());
                pipe = crate::proc::sleep(p.write_chan(), p.0, pipe);
            }
            if !pipe.readopen {
                return None;
            }
            let at = pipe.ring.write_at();
            pipe.data[at] = b;
            pipe.ring.nwrite = pipe.ring.nwrite.wrapping_add(1);
        }
        drop(pipe);
        crate::proc::wakeup(p.read_chan());
        Some(src.len())
    }

    /// Read what is there, up to `dst.len()` bytes, sleeping while the ring
    /// is empty and a writer remains (xv6's `piperead`); 0 at the end,
    /// `None` if the reader is killed.
    pub fn piperead(p: PipeRef, dst: &mut [u8]) -> Option<usize> {
        let mut pipe = p.0.lock();
        while pipe.ring.is_empty() && pipe.writeopen {
            if crate::proc::killed() {
                return None;
            }
            pipe = crate::proc::sleep(p.read_chan(), p.0, pipe);
        }
        let mut n = 0;
        while n < dst.len() && !pipe.ring.is_empty() {
            dst[n] = pipe.data[pipe.ring.read_at()];
            pipe.ring.nread = pipe.ring.nread.wrapping_add(1);
            n += 1;
        }
        drop(pipe);
        crate::proc::wakeup(p.write_chan());
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_wraps_and_fills_at_pipesize() {
        let mut r = Ring::default();
        assert!(r.is_empty() && !r.is_full());
        r.nwrite = PIPESIZE as u32;
        assert!(r.is_full());
        assert_eq!(r.write_at(), 0, "the next write wraps to the start");
        r.nread = 3;
        assert_eq!((r.len(), r.read_at()), (PIPESIZE - 3, 3));
    }

    #[test]
    fn counters_may_wrap_past_u32() {
        let r = Ring {
            nread: u32::MAX - 1,
            nwrite: 2,
        };
        assert_eq!(r.len(), 4);
        assert_eq!(r.read_at(), (u32::MAX - 1) as usize % PIPESIZE);
    }
}
