//! ln OLD NEW: give the file OLD a second name, NEW (a hard link: both
//! names reach one inode; a directory cannot be linked).
#![no_std]
#![no_main]

use ulib::*;

entry!(main);

fn main(args: Args) {
    let (Some(old), Some(new), 3) = (args.get(1), args.get(2), args.len()) else {
        die!("usage: ln old new");
    };
    if link(old, new) < 0 {
        die!(
            "ln: cannot link {} to {}",
            text(new.to_bytes()),
            text(old.to_bytes())
        );
    }
}
