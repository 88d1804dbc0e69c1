//! Core benchmarks (filled in with the state machines).
fn main() {}
