//! An arbitrary syntax tree, built from `arbitrary::Unstructured`, prints to
//! text that `ast::parse` turns back into the same tree.
//!
//! The generator (`killswitch_fuzz::arbitrary_expr`) reads single bytes, so
//! that `tests/fuzz_regressions.rs` can rebuild the same tree from a saved
//! input without `arbitrary`; this target checks that both readings agree.

#![no_main]

use arbitrary::Unstructured;
use killswitch_fuzz::{arbitrary_expr, check_tree, ByteCursor, Entropy};
use libfuzzer_sys::fuzz_target;

/// Bytes from `Unstructured`: a `u8` is the next byte, or 0 once used up.
struct FromUnstructured<'a, 'b>(&'b mut Unstructured<'a>);

impl Entropy for FromUnstructured<'_, '_> {
    fn byte(&mut self) -> u8 {
        self.0.arbitrary::<u8>().unwrap_or(0)
    }
}

fuzz_target!(
    init: killswitch_fuzz::tolerate_known_bugs(true),
    |data: &[u8]| {
        let mut u = Unstructured::new(data);
        let expr = arbitrary_expr(&mut FromUnstructured(&mut u));
        assert_eq!(
            expr,
            arbitrary_expr(&mut ByteCursor(data)),
            "the replay test would build a different tree from this input"
        );
        check_tree(&expr);
    }
);
