//! Arbitrary UTF-8 -> `Rule::parse` and `ast::parse`: never panics, errors
//! render, and what parses prints to canonical text that parses back to the
//! same tree. The check is `killswitch_fuzz::check_parse`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: killswitch_fuzz::tolerate_known_bugs(true),
    |data: &[u8]| {
        killswitch_fuzz::check_parse(data);
    }
);
