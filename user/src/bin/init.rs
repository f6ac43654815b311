//! init: the first process. Makes sure descriptors 0, 1 and 2 are the
//! console, starts `sh`, reaps the orphans given to it, and starts a new
//! `sh` whenever the last one ends.
#![no_std]
#![no_main]

use ulib::param::CONSOLE;
use ulib::*;

entry!(main);

fn main(_: Args) {
    // dup succeeds only on an open descriptor (fstat would also need
    // the kernel's console to be an inode).
    let probe = dup(0);
    if probe >= 0 {
        close(probe);
    } else {
        // No console descriptors yet (xv6's kernel gives none): open it,
        // making its device file first if the image has none.
        if open(c"console", fcntl::O_RDWR) < 0 {
            mknod(c"console", CONSOLE as i16, 1);
            if open(c"console", fcntl::O_RDWR) < 0 {
                exit();
            }
        }
        dup(0);
        dup(0);
    }
    loop {
        println!("init: starting sh");
        let pid = fork();
        if pid < 0 {
            die!("init: fork failed");
        }
        if pid == 0 {
            exec(c"sh", &[c"sh"]);
            die!("init: exec sh failed");
        }
        // Reap orphans until the shell itself ends.
        loop {
            let w = wait();
            if w == pid || w < 0 {
                break;
            }
        }
    }
}
