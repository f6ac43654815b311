//! Processes on the peer's file system image: its init starts its sh,
//! which runs pipes, ls, wc, grep and forktest; Ctrl-P's process table
//! ends with the free page count, which comes back after each workload,
//! in both fork modes.

mod common;

use common::{Session, peer_fs_img};

/// Boot the peer's image (with `extra` command-line words) and wait for
/// its shell's first prompt.
fn shell(cmdline: &str) -> Session {
    let img = peer_fs_img();
    let img = img.to_str().expect("a UTF-8 path");
    let mut args = vec!["--module", img];
    if !cmdline.is_empty() {
        args.extend(["--cmdline", cmdline]);
    }
    let mut s = Session::launch(&args, &[]);
    s.expect(xv6::protocol::PROCESSES_READY);
    s.expect("$ ");
    s
}

/// Run `line` in the shell; the output up to the next prompt.
fn run(s: &mut Session, line: &str) -> String {
    s.send(line);
    s.expect("$ ")
}

/// The free page count Ctrl-P prints after the process table.
fn free_pages(s: &mut Session) -> u32 {
    s.send_bytes(b"\x10");
    let out = s.expect("$ ");
    let line = out
        .lines()
        .find(|l| l.starts_with("free pages "))
        .unwrap_or_else(|| panic!("no free count in Ctrl-P's report:\n{out}"));
    line["free pages ".len()..].trim().parse().expect("a count")
}

#[test]
fn the_peers_shell_runs_a_pipe_ls_wc_and_grep() {
    let mut s = shell("");
    assert!(run(&mut s, "echo hello | cat").contains("\nhello\n"));
    let ls = run(&mut s, "ls");
    for name in ["README", "cat", "sh", "forktest"] {
        assert!(
            ls.lines().any(|l| l.starts_with(name)),
            "ls lacks {name}:\n{ls}"
        );
    }
    let wc = run(&mut s, "wc README");
    assert!(wc.lines().any(|l| l.ends_with(" README")), "wc: {wc}");
    let grep = run(&mut s, "grep xv6 README");
    assert!(
        grep.lines().filter(|l| l.contains("xv6")).count() >= 2,
        "grep: {grep}"
    );
}

#[test]
fn ctrl_p_lists_the_processes() {
    let mut s = shell("");
    s.send_bytes(b"\x10");
    let out = s.expect("$ ");
    assert!(out.contains(" init "), "no init in:\n{out}");
    assert!(out.contains(" sh "), "no sh in:\n{out}");
}

/// forktest, then a pipeline: every page comes back.
fn forktest_leaks_nothing(cmdline: &str) {
    let mut s = shell(cmdline);
    let before = free_pages(&mut s);
    assert!(run(&mut s, "forktest").contains("fork test OK"));
    run(&mut s, "echo a b c | wc");
    let after = free_pages(&mut s);
    assert_eq!(before, after, "pages lost with {cmdline:?}");
}

#[test]
fn forktest_passes_and_leaks_nothing_with_cow_fork() {
    forktest_leaks_nothing("fork=cow");
}

#[test]
fn forktest_passes_and_leaks_nothing_with_copying_fork() {
    forktest_leaks_nothing("fork=copy");
}

#[test]
fn a_wild_command_fails_only_itself() {
    let mut s = shell("");
    let out = run(&mut s, "nosuchprogram");
    assert!(out.contains("exec nosuchprogram failed"), "{out}");
    assert!(run(&mut s, "echo still").contains("still"));
}
