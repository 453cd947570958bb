//! `killswitch serve --dashboard`: its options are checked before it
//! serves.

use super::*;

/// Open dashboard reads are for loopback only: on another address a read
/// token is required, and the refusal names the option (exit 2).
#[test]
fn an_open_dashboard_off_loopback_is_refused() {
    let out = killswitch(&[
        "serve",
        "examples/flags.json",
        "--dashboard",
        "--listen",
        "0.0.0.0:0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(text.contains("needs --dashboard-token-file"), "{text}");
    // The dashboard's token options need --dashboard.
    let out = killswitch(&["serve", "examples/flags.json", "--admin-token-file", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--dashboard"), "{}", stderr(&out));
    // An unreadable token file is a usage error, and no token is printed.
    let out = killswitch(&[
        "serve",
        "examples/flags.json",
        "--dashboard",
        "--admin-token-file",
        "/nonexistent/admin.tokens",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read the token file"),
        "{}",
        stderr(&out)
    );
}
