//! The course's labs from one tree: the markers that cut the solution
//! tree into exercises, each lab's manifest, and the export of a lab's
//! handout (docs/labs.md).

pub mod export;
pub mod manifest;
pub mod markers;
