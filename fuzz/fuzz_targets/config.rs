//! Arbitrary bytes -> `FlagSet::from_json` (when UTF-8): never panics; every
//! failure is an `Err` whose `Display` renders. The check is
//! `killswitch_fuzz::check_config`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: killswitch_fuzz::tolerate_known_bugs(true),
    |data: &[u8]| {
        killswitch_fuzz::check_config(data);
    }
);
