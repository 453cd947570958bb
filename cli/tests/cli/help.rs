//! `killswitch --help` describes every subcommand with its own line.

use super::{killswitch, stdout};

/// The one-line description of each subcommand under "Commands:".
fn described_commands() -> Vec<(String, String)> {
    let out = killswitch(&["--help"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let commands = text
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section");
    commands
        .lines()
        .take_while(|line| line.starts_with("  "))
        .map(|line| {
            let line = line.trim_start();
            let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
            (name.to_string(), rest.trim().to_string())
        })
        .collect()
}

#[test]
fn every_subcommand_has_its_own_help_line() {
    let expected = [
        ("check", "Validate config files"),
        ("eval", "Evaluate flags for a context"),
        ("test", "Run expected outcomes kept next to the rules"),
        (
            "bucket",
            "Print the rollout bucket (0-99) of a user for a flag",
        ),
        ("watch", "Load a config file and follow its changes"),
        ("serve", "Serve the flags of a config file over HTTP"),
        ("diff", "Compare two configs"),
        (
            "refs",
            "Find where source trees use each flag (file, line, column)",
        ),
        ("publish", "Check a config file (exactly as `check`)"),
        ("kill", "Turn a flag's kill switch on"),
        ("unkill", "Turn a flag's kill switch off again"),
        ("history", "List the versions of a database"),
        ("rollback", "Publish an old version's config again"),
        ("pull", "Write a stored version's config to a file"),
        ("help", "Print this message"),
    ];
    let described = described_commands();
    let names: Vec<&str> = described.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        expected.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        "the subcommands, in order"
    );
    for ((name, line), (_, wanted)) in described.iter().zip(expected) {
        assert!(
            line.starts_with(wanted),
            "`{name}` is described as {line:?}, expected it to start with {wanted:?}"
        );
    }
}

#[test]
fn every_subcommand_help_shows_its_own_description() {
    for (name, wanted) in [
        ("check", "Validate config files"),
        ("eval", "Evaluate flags"),
        ("test", "Run expected outcomes"),
        ("bucket", "Print the rollout bucket"),
        ("watch", "Load a config file and follow its changes"),
        ("serve", "Serve the flags of a config file over HTTP"),
        ("diff", "Compare two configs"),
        ("refs", "Find where source trees use each flag"),
        ("publish", "Check a config file"),
        ("kill", "Turn a flag's kill switch on"),
        ("history", "List the versions of a database"),
        ("rollback", "Publish an old version's config again"),
        ("pull", "Write a stored version's config"),
    ] {
        let out = killswitch(&[name, "--help"]);
        assert!(out.status.success(), "`{name} --help` succeeds");
        let first = stdout(&out).lines().next().unwrap_or_default().to_string();
        assert!(
            first.starts_with(wanted),
            "`killswitch {name} --help` starts with {first:?}, expected {wanted:?}"
        );
    }
}
