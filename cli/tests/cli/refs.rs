//! `killswitch refs`: every reference of every flag in a source tree of
//! five languages, unknown keys in evaluation calls with a "did you mean",
//! `.gitignore`d, binary and generated files skipped, and the exit codes.

use super::{stderr, stdout, TempDir};
use std::process::{Command, Output};

/// A tree in five languages: references in strings and comments, calls
/// with known and unknown keys, a call in a comment, a key inside a longer
/// name, and files that must not be read.
fn tree() -> TempDir {
    let dir = TempDir::new("refs");
    let files: &[(&str, &str)] = &[
        (
            "flags.json",
            r#"{"flags": [
  {"flag_key": "new_checkout", "enabled": true},
  {"flag_key": "search_v2", "enabled": true},
  {"flag_key": "dark-mode", "enabled": false},
  {"flag_key": "legacy_banner", "enabled": false}
]}"#,
        ),
        (".gitignore", "dist/\n"),
        (
            "web/src/checkout.ts",
            r#"import { OpenFeature } from "@openfeature/web-sdk";
const client = OpenFeature.getClient();
// new_checkout replaces the old flow
export const on = client.getBooleanValue("new_checkout", false);
export const search = client.getStringValue('serch_v2', "off");
// client.getBooleanValue("comment_typo", false) is only a comment
export const theme = await client.getObjectValue<Theme>(
  `dark-mode`, {});
"#,
        ),
        (
            "api/handlers.py",
            r#"# search_v2 is read here too
def handler(client, flags, ctx):
    if client.get_boolean_value("search_v2", False):
        return "search_v2 page"
    label = "the dark-mode toggle"
    return flags.evaluate("new_checkout", ctx)
"#,
        ),
        (
            "svc/main.go",
            "package main\n\n// dark-mode: read by the Go service\nfunc main() {\n\tr := '\"'\n\tv, _ := client.BooleanValue(ctx, \"dark-mode\", false, evalCtx)\n\t_, _ = client.StringValue(ctx, \"dark_mode\", \"\", evalCtx)\n}\n",
        ),
        (
            "app/src/Main.java",
            r#"class Main {
  /* uses new_checkout */
  boolean on = client.getBooleanValue("totally_unknown", false);
  String s = "not new_checkout_v2 nor search_v2.enabled";
}
"#,
        ),
        (
            "core/src/lib.rs",
            r##"/// Reads `search_v2`.
pub fn on<'a>(flags: &'a FlagSet) -> bool {
    flags.evaluate("search_v2", &ctx()).enabled && is_enabled(r#"x"#) && is_enabled("new_chekout")
}
"##,
        ),
        // Never read: ignored, generated, binary, not code.
        ("dist/bundle.js", r#"c.getBooleanValue("ignored_typo"); "legacy_banner""#),
        ("svc/api.pb.go", "// legacy_banner\n"),
        ("web/src/gen.ts", "// @generated\nconst k = \"legacy_banner\";\n"),
        ("web/src/blob.js", "\0\0\"legacy_banner\""),
        ("README.md", "legacy_banner\n"),
    ];
    for (name, text) in files {
        let path = dir.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn refs(dir: &TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_killswitch"))
        .arg("refs")
        .args(args)
        .current_dir(&dir.0)
        .output()
        .unwrap()
}

#[test]
fn lists_every_reference_and_every_unknown_key() {
    let dir = tree();
    let out = refs(&dir, &["flags.json", ".", "--call", "is_enabled"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    let expected = "\
new_checkout: 4 references
  api/handlers.py:6:28
  app/src/Main.java:2:11 (comment)
  web/src/checkout.ts:3:4 (comment)
  web/src/checkout.ts:4:43
search_v2: 5 references
  api/handlers.py:1:3 (comment)
  api/handlers.py:3:34
  api/handlers.py:4:17
  core/src/lib.rs:1:12 (comment)
  core/src/lib.rs:3:21
dark-mode: 4 references
  api/handlers.py:5:18
  svc/main.go:3:4 (comment)
  svc/main.go:6:36
  web/src/checkout.ts:8:4
legacy_banner: no reference

warning: flag \"legacy_banner\" has no reference in the code
 --> flags.json
  = help: remove it from the config if it is retired

error: unknown flag key \"totally_unknown\" in a call to getBooleanValue
 --> app/src/Main.java:3:40
  = help: flags.json has no such flag

error: unknown flag key \"new_chekout\" in a call to is_enabled
 --> core/src/lib.rs:3:86
  = help: did you mean \"new_checkout\"?

error: unknown flag key \"dark_mode\" in a call to StringValue
 --> svc/main.go:7:34
  = help: did you mean \"dark-mode\"?

error: unknown flag key \"serch_v2\" in a call to getStringValue
 --> web/src/checkout.ts:5:46
  = help: did you mean \"search_v2\"?

4 flags in 5 files scanned (3 skipped): 13 references, 1 with no reference, 4 unknown keys
";
    assert_eq!(text, expected);
}

#[test]
fn json_and_github_formats_carry_the_places() {
    let dir = tree();
    let out = refs(&dir, &["flags.json", "web", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let unknown: Vec<_> = lines
        .iter()
        .filter(|l| l["type"] == "unknown_key")
        .collect();
    assert_eq!(unknown.len(), 1, "{lines:?}");
    assert_eq!(unknown[0]["key"], "serch_v2");
    assert_eq!(unknown[0]["file"], "web/src/checkout.ts");
    assert_eq!(
        (unknown[0]["line"].as_u64(), unknown[0]["column"].as_u64()),
        (Some(5), Some(46))
    );
    assert_eq!(unknown[0]["end_column"], 54);
    assert_eq!(unknown[0]["help"], "did you mean \"search_v2\"?");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(
        (summary["files"].as_u64(), summary["unreferenced"].as_u64()),
        (Some(1), Some(2))
    );

    let out = refs(
        &dir,
        &["flags.json", "web", "--format", "github", "--deny-warnings"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "::error file=flags.json,title=unreferenced flag::flag \"search_v2\" has no reference in the code\n\
         ::error file=flags.json,title=unreferenced flag::flag \"legacy_banner\" has no reference in the code\n\
         ::error file=web/src/checkout.ts,line=5,col=46,endColumn=54,title=unknown flag key::unknown flag key \"serch_v2\" in a call to getStringValue%0Ahelp: did you mean \"search_v2\"?\n"
    );
}

#[test]
fn exit_codes() {
    let dir = tree();
    // Every call known: 0, even with a flag nothing uses...
    let out = refs(&dir, &["flags.json", "api"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("legacy_banner: no reference"));
    // ...unless warnings are denied.
    let out = refs(&dir, &["flags.json", "api", "--deny-warnings"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("error: flag \"legacy_banner\" has no reference"));
    // A path that does not exist, a missing config: usage (2).
    let out = refs(&dir, &["flags.json", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read `nowhere`"),
        "{}",
        stderr(&out)
    );
    let out = refs(&dir, &["missing.json", "."]);
    assert_eq!(out.status.code(), Some(2));
    // An invalid config: 1, with its diagnostics.
    std::fs::write(dir.path("bad.json"), r#"{"flag_key": "x"}"#).unwrap();
    let out = refs(&dir, &["bad.json", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no \"enabled\""), "{}", stderr(&out));
    // No path: usage.
    let out = refs(&dir, &["flags.json"]);
    assert_eq!(out.status.code(), Some(2));
}
