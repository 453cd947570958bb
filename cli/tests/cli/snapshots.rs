//! Data-driven snapshots of `killswitch check`: every input under
//! `tests/inputs/check/` (`.json`, `.yaml`/`.yml` or `.toml`; `err_*` must
//! fail, `lint_*` must warn, `ok_*` must pass) in each output format, with
//! its exit code.
//!
//! After an intended change, regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test -p killswitch-cli --test cli snapshots` and review the diff.
//! Snapshots are never written when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

fn inputs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/inputs/check")
}

fn run(file: &str, format: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_killswitch"))
        .args(["check", "--color", "never", "--format", format, file])
        .current_dir(inputs())
        .output()
        .expect("the binary runs");
    let code = out.status.code().expect("an exit code");
    (code, String::from_utf8(out.stdout).expect("UTF-8"))
}

#[test]
fn check_output_matches_the_snapshots() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some() && std::env::var_os("CI").is_none();
    let mut names: Vec<String> = std::fs::read_dir(inputs())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            [".json", ".yaml", ".yml", ".toml"]
                .iter()
                .any(|e| n.ends_with(e))
        })
        .collect();
    names.sort();
    assert!(names.len() >= 40, "only {} inputs", names.len());
    for format in [".yaml", ".yml", ".toml"] {
        let count = names.iter().filter(|n| n.ends_with(format)).count();
        assert!(count > 0, "no {format} inputs");
    }
    let mut stems: Vec<&str> = names.iter().map(|n| stem(n)).collect();
    stems.dedup();
    assert_eq!(
        stems.len(),
        names.len(),
        "two inputs share a name: their snapshots would too"
    );
    let mut failures = Vec::new();
    for name in &names {
        let stem = stem(name);
        for format in ["human", "json", "github"] {
            let (code, stdout) = run(name, format);
            let want_code = match stem.split('_').next() {
                Some("err") => 1,
                Some("lint" | "ok") => 0,
                _ => panic!("{name}: inputs are named err_*, lint_* or ok_*"),
            };
            if code != want_code {
                failures.push(format!(
                    "{name} ({format}): exit {code}, expected {want_code}"
                ));
            }
            if stem.starts_with("lint_") && stem != "lint_allowed" && format == "json" {
                let warned = stdout.lines().any(|l| {
                    l.contains("\"severity\":\"warning\"") || l.contains("\"severity\":\"note\"")
                });
                if !warned {
                    failures.push(format!("{name}: no warning or note"));
                }
            }
            let actual = format!("exit: {code}\n{stdout}");
            let snap = inputs().join(format!("{stem}.{format}.snap"));
            if update {
                std::fs::write(&snap, &actual).unwrap();
                continue;
            }
            match std::fs::read_to_string(&snap) {
                Ok(expected) if expected == actual => {}
                Ok(expected) => failures.push(format!(
                    "{} differs:\n--- expected\n{expected}\n--- actual\n{actual}",
                    snap.display()
                )),
                Err(_) => failures.push(format!("{} is missing", snap.display())),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The input's name without its extension.
fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(stem, _)| stem)
}
