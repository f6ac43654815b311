//! The stub of a lab exercise: in a handout, `lab_todo!("kalloc", "kfree")`
//! stands where the solution was. Reached, it prints the protocol's
//! [`LabTodo`] line and ends QEMU with EXIT_LAB_TODO, so that the student
//! and the grader see which exercise to write next (docs/labs.md).

use crate::protocol::LabTodo;

/// Stop here: exercise `$exercise` of lab `$lab` is not implemented yet. Typed
/// `!`, so it stands for any function body.
#[macro_export]
macro_rules! lab_todo {
    ($lab:literal, $exercise:literal) => {
        $crate::lab::todo($crate::protocol::LabTodo {
            lab: $lab,
            exercise: $exercise,
            file: file!(),
            line: line!(),
        })
    };
}

/// Say which exercise is missing, then end QEMU with EXIT_LAB_TODO (not a
/// panic: nothing is broken, the work is not done yet).
#[cfg(kernel)]
#[cold]
#[inline(never)]
pub fn todo(at: LabTodo<'static>) -> ! {
    crate::println!("{at}");
    crate::machine::fail(crate::protocol::EXIT_LAB_TODO)
}

/// On the host (the unit tests) a stub can only panic with its line.
#[cfg(not(kernel))]
pub fn todo(at: LabTodo<'static>) -> ! {
    panic!("{at}")
}
