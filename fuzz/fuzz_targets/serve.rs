//! `path NUL body` -> `POST path` with `body` through killswitch serve's
//! router (no socket): the status is one OFREP allows, every answer is
//! JSON with the right shape, and a killed or disabled flag is never
//! `true`. The check is `killswitch_server::fuzzing::Harness::check_input`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static HARNESS: OnceLock<killswitch_server::fuzzing::Harness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    HARNESS
        .get_or_init(killswitch_server::fuzzing::Harness::new)
        .check_input(data);
});
