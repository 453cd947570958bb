//! The killswitch command.
fn main() {}
