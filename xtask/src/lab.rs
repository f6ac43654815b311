//! The course's labs from one tree: the markers that cut the solution
//! tree into exercises (docs/labs.md).

pub mod markers;
