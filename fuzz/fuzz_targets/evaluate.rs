//! `config NUL context` -> when both load, every flag evaluates the same
//! twice, buckets are below 100, and decisions follow the documented order.
//! The check is `killswitch_fuzz::check_evaluate`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: killswitch_fuzz::tolerate_known_bugs(true),
    |data: &[u8]| {
        killswitch_fuzz::check_evaluate(data);
    }
);
