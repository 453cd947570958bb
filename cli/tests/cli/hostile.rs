//! Hostile inputs and outputs: special files, endless input, a reader that
//! goes away. Every child runs under a deadline: a hang kills it and fails
//! the test instead of hanging the run.

use super::{root, stderr, TempDir, DEADLINE};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Kills the child if the test fails before it exits.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `killswitch` with `args` from the repository root, stdin closed.
fn spawn(args: &[&str], stdout: Stdio, stderr: Stdio) -> KillOnDrop {
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_killswitch"))
            .args(args)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap(),
    )
}

/// Waits for the child to exit within [`DEADLINE`]; kills it and fails
/// the test otherwise.
fn wait_within_deadline(child: &mut KillOnDrop, what: &str) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.0.kill();
            panic!("`{what}` did not finish within {DEADLINE:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `killswitch` with `args` to the end within [`DEADLINE`], output
/// captured (read on threads, so that a full pipe cannot stall it).
fn run_within_deadline(args: &[&str]) -> Output {
    let mut child = spawn(args, Stdio::piped(), Stdio::piped());
    let collect = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = r.read_to_end(&mut bytes);
            bytes
        })
    };
    let out = collect(Box::new(child.0.stdout.take().unwrap()));
    let err = collect(Box::new(child.0.stderr.take().unwrap()));
    let status = wait_within_deadline(&mut child, &args.join(" "));
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// A FIFO (named pipe) at `path`: opening it for reading blocks until a
/// writer comes, which never happens here.
#[cfg(unix)]
fn mkfifo(path: &std::path::Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// Defect 6: `eval ... | head -1` is a normal end: the reader going away
/// stops the output with the status so far, without an error message.
#[test]
fn eval_stops_quietly_when_the_reader_goes_away() {
    let dir = TempDir::new("broken-pipe");
    let contexts = dir.path("users.jsonl");
    // 20,000 contexts x 4 flags, about 8 MB of output: far more than a
    // pipe buffer holds, so the writer is still writing when the pipe closes.
    let lines: String = (0..20_000)
        .map(|i| format!("{{\"user_id\": \"user-{i}\"}}\n"))
        .collect();
    std::fs::write(&contexts, lines).unwrap();
    let path = contexts.display().to_string();
    let args = ["eval", "examples/flags.json", "--contexts", &path];
    let mut child = spawn(&args, Stdio::piped(), Stdio::piped());
    let stdout = child.0.stdout.take().unwrap();
    // Read one line on a thread, under the deadline; the thread ends and
    // closes the pipe, as `head -1` does.
    let (tx, first) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let first = first.recv_timeout(DEADLINE).expect("a first line");
    assert!(
        first.starts_with(r#"{"flag":"new_search_ui","user_id":"user-0""#),
        "{first}"
    );
    let mut err = child.0.stderr.take().unwrap();
    let status = wait_within_deadline(&mut child, "eval | head -1");
    let mut message = String::new();
    err.read_to_string(&mut message).unwrap();
    assert_eq!(status.code(), Some(0), "{message}");
    assert_eq!(message, "");
}

/// Defect 6, with `--sample`: a reader gone before the first line. A
/// thousand flags make more output than the writer's buffer holds, so the
/// JSON writes themselves meet the closed pipe.
#[test]
fn eval_sample_stops_quietly_when_the_reader_is_gone() {
    let dir = TempDir::new("broken-pipe-sample");
    let config = dir.path("flags.json");
    let flags: Vec<String> = (0..1_000)
        .map(|i| format!("{{\"flag_key\": \"flag_{i}\", \"enabled\": true}}"))
        .collect();
    std::fs::write(&config, format!("{{\"flags\": [{}]}}", flags.join(","))).unwrap();
    let config = config.display().to_string();
    let args = ["eval", &config, "--sample", "1"];
    let mut child = spawn(&args, Stdio::piped(), Stdio::piped());
    drop(child.0.stdout.take());
    let mut err = child.0.stderr.take().unwrap();
    let status = wait_within_deadline(&mut child, "eval --sample >&-");
    let mut message = String::new();
    err.read_to_string(&mut message).unwrap();
    assert_eq!(status.code(), Some(0), "{message}");
    assert_eq!(message, "");
}

/// Defect 2: `check /dev/zero` is refused at once, not read until memory
/// runs out.
#[cfg(unix)]
#[test]
fn check_refuses_a_device_at_once() {
    let out = run_within_deadline(&["check", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cannot read `/dev/zero`: it is a character device, not a regular file"),
        "{text}"
    );
}

/// Defect 2: a FIFO given to `check`, as `--cases` or as `--schema` is
/// refused without blocking on `open`.
#[cfg(unix)]
#[test]
fn fifos_are_refused_without_blocking() {
    let dir = TempDir::new("fifo");
    let fifo = dir.path("pipe.json");
    mkfifo(&fifo);
    let fifo = fifo.display().to_string();
    let refused = format!("cannot read `{fifo}`: it is a FIFO (named pipe), not a regular file");

    let out = run_within_deadline(&["test", "examples/flags.json", "--cases", &fifo]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&refused), "{}", stderr(&out));

    let out = run_within_deadline(&["check", "examples/flags.json", "--schema", &fifo]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&refused), "{}", stderr(&out));

    let out = run_within_deadline(&["check", &fifo]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&refused), "{text}");

    let context = format!("@{fifo}");
    let out = run_within_deadline(&["eval", "examples/flags.json", "--context", &context]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&refused), "{}", stderr(&out));
}

/// Defect 2: `--context @/dev/zero` is refused (not a regular file), and a
/// context file over the limit too, without reading it whole.
#[cfg(unix)]
#[test]
fn context_files_are_bounded() {
    let out = run_within_deadline(&["eval", "examples/flags.json", "--context", "@/dev/zero"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: cannot read `/dev/zero`: it is a character device, not a regular file\n"
    );

    let dir = TempDir::new("big-context");
    let big = dir.path("big.json");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(2 * 1024 * 1024).unwrap(); // sparse: 2 MiB of NUL
    let arg = format!("@{}", big.display());
    let out = run_within_deadline(&["eval", "examples/flags.json", "--context", &arg]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("it is 2097152 bytes, over the limit of 1048576"),
        "{}",
        stderr(&out)
    );
}

/// The resident memory of a running process, in KiB (Linux).
#[cfg(target_os = "linux")]
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Defect 2: `eval --contexts /dev/zero`, one endless line, is reported
/// as soon as the line passes the limit, and the rest of it is skipped
/// without being kept: memory stays bounded however long it runs.
#[cfg(target_os = "linux")]
#[test]
fn an_endless_context_line_is_skipped_in_bounded_memory() {
    let args = ["eval", "examples/flags.json", "--contexts", "/dev/zero"];
    let mut child = spawn(&args, Stdio::null(), Stdio::piped());
    let err = child.0.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let line = lines.recv_timeout(DEADLINE).expect("a warning on stderr");
    assert_eq!(line, "/dev/zero:1: line longer than 1048576 bytes; skipped");
    // Skipping goes on (the line never ends); sample memory meanwhile.
    let mut peak = 0;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(25));
        peak = peak.max(resident_kib(child.0.id()));
    }
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "still skipping the endless line"
    );
    assert!(peak < 64 * 1024, "{peak} KiB resident");
}

/// Defect 2: a context line over the limit, among good ones, is reported
/// with its place and skipped; the lines after it are evaluated.
#[test]
fn a_context_line_over_the_limit_is_skipped() {
    let dir = TempDir::new("long-line");
    let contexts = dir.path("users.jsonl");
    let long = format!("{{\"user_id\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    std::fs::write(
        &contexts,
        format!("{{\"user_id\": \"a\"}}\n{long}\n{{\"user_id\": \"b\"}}"),
    )
    .unwrap();
    let path = contexts.display().to_string();
    let out = run_within_deadline(&[
        "eval",
        "examples/flags.json",
        "--contexts",
        &path,
        "--flag",
        "dark_mode",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("{path}:2: line longer than 1048576 bytes; skipped\n")
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let users: Vec<&str> = text
        .lines()
        .map(|l| if l.contains("\"a\"") { "a" } else { "b" })
        .collect();
    assert_eq!(users, ["a", "b"], "{text}");
}

/// Whether `text` holds a character that a terminal acts on or that
/// reorders text: control characters and bidirectional overrides.
fn has_raw_control_or_bidi(text: &str) -> bool {
    text.chars().any(|c| {
        c.is_control() && c != '\n'
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// Defect 7: text from a file is escaped in every human-readable output:
/// a flag key that would clear the screen, a rule with a bidi override
/// (in a message and in the source line shown), a raw control character
/// in the source line, with the marker still under the right place.
#[test]
fn human_output_escapes_control_and_bidi_characters() {
    let dir = TempDir::new("escapes");
    let config = dir.path("flags.json");
    std::fs::write(
        &config,
        "{\"flags\": [\n\
         {\"flag_key\": \"esc\\u001b[2J\", \"enabled\": true},\n\
         {\"flag_key\": \"esc\\u001b[2J\", \"enabled\": true,\n\
          \"targeting_rules\": {\"allow_list\": [\"email endsWith \u{202e}\\\"moc.x@\\\"\"]}}]}\n",
    )
    .unwrap();
    let raw = dir.path("raw.json");
    std::fs::write(&raw, "{\"flag_key\": \"a\u{1b}[2Jb\", \"enabled\": true}\n").unwrap();
    let config = config.display().to_string();
    let raw = raw.display().to_string();

    let out = run_within_deadline(&["check", "--color", "never", &config, &raw]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!has_raw_control_or_bidi(&text), "{text:?}");
    assert!(
        text.contains("error[E0106]: flag \"esc\\u{1b}[2J\" is defined twice"),
        "{text}"
    );
    assert!(text.contains("found `\\u{202e}`"), "{text}");
    // The marker stays under the character it marks, escaped or not.
    assert!(
        text.contains(
            "1 | {\"flag_key\": \"a\\u{1b}[2Jb\", \"enabled\": true}\n  |                ^^^^^^"
        ),
        "{text}"
    );

    let out = run_within_deadline(&["check", "--format", "github", &config, &raw]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!has_raw_control_or_bidi(&text), "{text:?}");

    // `test` prints case names, flag keys and contexts from the files.
    let cases = dir.path("cases.json");
    std::fs::write(
        &cases,
        r#"[{"name": "clear\u001b[2J", "flag": "new_search_ui\u202e", "context": {"user_id": "\u001b]0;x\u0007"}, "expect": true},
            {"name": "wrong", "flag": "dark_mode", "context": {"user_id": "\u001b[31m"}, "expect": true}]"#,
    )
    .unwrap();
    let cases = cases.display().to_string();
    let out = run_within_deadline(&["test", "examples/flags.json", "--cases", &cases]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!has_raw_control_or_bidi(&text), "{text:?}");
    assert!(text.contains("FAILED  clear\\u{1b}[2J\n"), "{text}");
    assert!(text.contains("no flag `new_search_ui\\u{202e}`"), "{text}");

    // Warnings on standard error too.
    let out = run_within_deadline(&[
        "eval",
        "examples/flags.json",
        "--context",
        "{}",
        "--flag",
        "x\u{1b}[2J",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(!has_raw_control_or_bidi(&text), "{text:?}");
    assert!(text.contains("no flag `x\\u{1b}[2J`"), "{text}");
}
