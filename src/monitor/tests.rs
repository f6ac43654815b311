use super::args::{ArgError, Args, parse_number, script};
use super::describe::{mapping, pde_runs};
use crate::debug::sim::vm::SimTables;
use crate::memlayout::{PAddr, VAddr};
use crate::mmu::{NPDENTRIES, PD, PDEntry, PTEntry, pdx, ptx};
use crate::vm::PageTableMemory;

fn args(s: &str) -> Args<'_> {
    Args::new(s.split_ascii_whitespace())
}

#[test]
fn numbers_are_decimal_or_0x_hex() {
    assert_eq!(parse_number("42"), Some(42));
    assert_eq!(parse_number("0x80100000"), Some(0x8010_0000));
    assert_eq!(parse_number("0XfF"), Some(255));
    assert_eq!(parse_number("4294967295"), Some(u32::MAX));
    for bad in ["", "0x", "12a", "-1", "4294967296", "0x100000000", "ten"] {
        assert_eq!(parse_number(bad), None, "{bad:?}");
    }
}

#[test]
fn arguments_are_checked_and_errors_name_them() {
    let mut a = args("3");
    assert_eq!(a.count("N", 8, 1..=10), Ok(3));
    assert_eq!(a.done(), Ok(()));

    assert_eq!(args("").count("N", 8, 1..=10), Ok(8));
    assert_eq!(
        args("0").count("N", 8, 1..=10),
        Err(ArgError::TooSmall("N", 0, 1))
    );
    let e = args("11").count("N", 8, 1..=10).unwrap_err();
    assert_eq!(e, ArgError::TooLarge("N", 11, 10));
    assert_eq!(e.to_string(), "<N> 11 is above 10");
    let e = args("zz").required("va").unwrap_err();
    assert_eq!(e, ArgError::NotANumber("va", "zz"));
    assert!(e.to_string().contains("<va> \"zz\" is not a number"));
    assert_eq!(args("").required("va"), Err(ArgError::Missing("va")));

    let mut a = args("1 2");
    a.required("va").unwrap();
    assert_eq!(a.done(), Err(ArgError::Extra("2")));
}

#[test]
fn scripts_split_on_semicolons() {
    let cmds: Vec<_> = script(" meminfo;;showmappings 0x80100000 ; halt;").collect();
    assert_eq!(cmds, ["meminfo", "showmappings 0x80100000", "halt"]);
}

const P: u32 = 0x1;
const W: u32 = 0x2;
const U: u32 = 0x4;
const PS: u32 = 0x80;

/// A simulated directory whose entry for `va` is `pde_flags`, plus, when
/// `pte` is given, the address of a new page table holding `pte` at
/// `ptx(va)`: (memory, directory, table).
fn one_entry(va: VAddr, pde_flags: u32, pte: Option<u32>) -> (SimTables, PAddr, Option<PAddr>) {
    let mut mem = SimTables::new(2);
    let pgdir = mem.alloc_table().unwrap();
    let table = pte.map(|pte| {
        let table = mem.alloc_table().unwrap();
        // SAFETY: the table came from this memory's alloc_table.
        let pt = unsafe { mem.pt(table) };
        pt[ptx(va)] = PTEntry(pte);
        table
    });
    // SAFETY: as above, for the directory.
    let pd = unsafe { mem.pd(pgdir) };
    pd[pdx(va)] = PDEntry(table.map_or(0, |t| t.0) | pde_flags);
    (mem, pgdir, table)
}

#[test]
fn a_page_through_a_table_shows_both_entries() {
    let va = VAddr(0x8010_3abc);
    let (mut mem, pgdir, table) = one_entry(va, P | W, Some(0x0010_3000 | P));
    let m = mapping(&mut mem, pgdir, va);
    assert_eq!(m.pde, table.unwrap().0 | P | W);
    assert_eq!(m.pte, Some(0x0010_3000 | P));
    assert_eq!(m.pa, Some(PAddr(0x0010_3abc)));
    assert!(m.present && !m.write && !m.user && !m.large);
    let text = m.to_string();
    assert!(text.contains("pa 0x00103abc  P - - -"), "{text}");
}

#[test]
fn write_and_user_need_both_levels() {
    let va = VAddr(0x0040_0000);
    let (mut mem, pgdir, _) = one_entry(va, P | U, Some(0x9000 | P | W | U));
    let m = mapping(&mut mem, pgdir, va);
    assert!(!m.write && m.user);
}

#[test]
fn a_large_page_has_no_pte() {
    // The simulated memory panics on a read of a table it never made.
    let va = VAddr(0x8012_3456);
    let (mut mem, pgdir, _) = one_entry(va, P | W | PS, None);
    let m = mapping(&mut mem, pgdir, va);
    assert_eq!((m.pte, m.pa), (None, Some(PAddr(0x0012_3456))));
    assert!(m.to_string().contains("P W - PS"));
}

#[test]
fn unmapped_pages_say_why() {
    let va = VAddr(0x1000);
    let (mut mem, pgdir, _) = one_entry(va, 0, None);
    let no_table = mapping(&mut mem, pgdir, va);
    assert_eq!(no_table.pa, None);
    assert!(no_table.to_string().contains("not mapped (no page table)"));
    let (mut mem, pgdir, _) = one_entry(va, P | W, Some(0));
    let no_page = mapping(&mut mem, pgdir, va);
    assert_eq!(no_page.pa, None);
    assert!(no_page.to_string().ends_with("not mapped"));
}

#[test]
fn directory_runs_group_alike_entries() {
    let mut pd: PD = [PDEntry(0); NPDENTRIES];
    for (i, e) in pd.iter_mut().enumerate().skip(512).take(60) {
        // the accessed bit (0x20) differs from entry to entry
        *e = PDEntry((i as u32) << 12 | P | W | if i % 2 == 0 { 0x20 } else { 0 });
    }
    pd[600] = PDEntry(P | W | PS);
    for e in &mut pd[1016..] {
        *e = PDEntry(0x7000 | P | W);
    }
    let runs: Vec<_> = pde_runs(&pd).collect();
    let firsts: Vec<_> = runs.iter().map(|r| (r.first, r.last)).collect();
    assert_eq!(firsts, [(512, 571), (600, 600), (1016, 1023)]);
    assert_eq!(runs[0].span(), (0x8000_0000, 0x8F00_0000));
    assert_eq!(runs[2].span(), (0xFE00_0000, 1 << 32));
    assert_eq!(runs[1].bits().to_string(), "P W - PS");
    assert_eq!(pde_runs(&[PDEntry(0); NPDENTRIES]).count(), 0);
}
