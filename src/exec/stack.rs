//! The user stack `exec` builds (as xv6's): the argument strings at the
//! top, each 4-byte aligned, then below them the fake return address
//! 0xffffffff, argc, argv (a pointer to the array just above), and the
//! array argv[0..argc] with its terminating 0. `main(argc, argv)` then
//! finds its arguments where a call would have put them.

use crate::param::MAXARG;

/// The return address `main` gets: nowhere (programs call exit).
pub const FAKE_RETURN_PC: u32 = 0xffff_ffff;
/// Words below the strings: return PC, argc, argv, argv[..], 0.
pub const MAX_WORDS: usize = 3 + MAXARG + 1;

/// Where everything goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgStack {
    /// The user stack pointer `main` starts with (the fake PC's address).
    pub sp: u32,
    /// Where each argument string (with its NUL) is copied.
    pub strings: [u32; MAXARG],
    /// The words copied at `sp`: `nwords` of them.
    pub words: [u32; MAX_WORDS],
    pub nwords: usize,
}

/// Lay out `args` on a stack whose top is `top`, which must not go below
/// `bottom`; `None` if there are more than MAXARG or they do not fit.
pub fn arg_stack(top: u32, bottom: u32, args: &[&[u8]]) -> Option<ArgStack> {
    if args.len() > MAXARG {
        return None;
    }
    let mut sp = top;
    let mut strings = [0u32; MAXARG];
    for (i, a) in args.iter().enumerate() {
        let len = u32::try_from(a.len()).ok()?.checked_add(1)?;
        sp = sp.checked_sub(len)? & !3;
        if sp < bottom {
            return None;
        }
        strings[i] = sp;
    }
    let argc = args.len();
    let nwords = 3 + argc + 1;
    sp = sp.checked_sub(4 * nwords as u32)?;
    if sp < bottom {
        return None;
    }
    let mut words = [0u32; MAX_WORDS];
    words[0] = FAKE_RETURN_PC;
    words[1] = argc as u32;
    words[2] = sp + 12; // argv: the array right after these three words
    words[3..3 + argc].copy_from_slice(&strings[..argc]);
    words[3 + argc] = 0;
    Some(ArgStack {
        sp,
        strings,
        words,
        nwords,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_on_top_then_pc_argc_argv_and_the_array() {
        let s = arg_stack(0x3000, 0x2000, &[b"echo", b"hello"]).unwrap();
        assert_eq!(
            s.strings[0], 0x2ff8,
            "\"echo\\0\" is 5 bytes, aligned down to 4"
        );
        assert_eq!(s.strings[1], 0x2ff0, "\"hello\\0\" is 6 bytes");
        assert_eq!(s.nwords, 6);
        assert_eq!(s.sp, 0x2ff0 - 24);
        assert_eq!(
            &s.words[..6],
            &[FAKE_RETURN_PC, 2, s.sp + 12, 0x2ff8, 0x2ff0, 0]
        );
    }

    #[test]
    fn too_many_or_too_long_arguments_do_not_fit() {
        let many = [&b"x"[..]; MAXARG + 1];
        assert_eq!(arg_stack(0x3000, 0x2000, &many), None);
        let long = [0u8; 0x1000];
        assert_eq!(arg_stack(0x3000, 0x2000, &[&long]), None);
        assert!(arg_stack(0x3000, 0x2000, &[&b"x"[..]; MAXARG]).is_some());
    }
}
