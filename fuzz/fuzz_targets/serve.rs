//! `path NUL body` -> `POST path` with `body` through killswitch serve's
//! router (no socket): the status is one OFREP allows, every answer is
//! JSON with the right shape, and a killed or disabled flag is never
//! `true`. The check is `killswitch_server::fuzzing::Harness::check`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static HARNESS: OnceLock<killswitch_server::fuzzing::Harness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let harness = HARNESS.get_or_init(killswitch_server::fuzzing::Harness::new);
    let (path, body) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (&b"/ofrep/v1/evaluate/flags/killed"[..], data),
    };
    harness.check(path, body);
});
