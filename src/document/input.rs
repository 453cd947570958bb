//! Reading an input file within a byte limit: only a regular file (after
//! following symlinks) is read, opening never blocks, and at most
//! `limit + 1` bytes are read.
//!
//! Every config file goes through [`read_config_bytes`] (and, for the CLI,
//! every other input file through [`read_file_within`]), so that `/dev/zero`, a FIFO, a directory or
//! a file of gigabytes is refused with a clear error instead of hanging or
//! exhausting memory.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// Reads a config file whole, as bytes (to be decoded with their
/// positions), within `Limits::max_config_bytes`.
pub(crate) fn read_config_bytes(
    path: &Path,
    limits: &crate::limits::Limits,
) -> io::Result<Vec<u8>> {
    read_bytes_within(path, limits.max_config_bytes, "Limits::max_config_bytes")
}

/// Reads the regular file at `path` whole, as UTF-8, refusing it when it
/// holds more than `max_bytes` bytes (`limit_name` names the limit in the
/// message, such as `Limits::max_config_bytes`).
///
/// Errors keep their [`io::ErrorKind`] (`NotFound` for a missing file) and,
/// like the standard library's, do not repeat the path: callers say
/// ``cannot read `{path}`: {error}``. Besides I/O errors:
/// - not a regular file (a FIFO, device, socket or directory, also behind
///   a symlink): [`io::ErrorKind::InvalidInput`], "it is a FIFO (named
///   pipe), not a regular file". This is checked before opening, and the
///   file is opened without blocking (`O_NONBLOCK`) and checked again, so a
///   FIFO swapped in meanwhile cannot block `open()` either;
/// - over the limit: [`io::ErrorKind::FileTooLarge`], "it is 70000000
///   bytes, over the limit of 67108864 (Limits::max_config_bytes)"; at most
///   `max_bytes + 1` bytes are ever read;
/// - not UTF-8: [`io::ErrorKind::InvalidData`].
pub(crate) fn read_file_within(
    path: &Path,
    max_bytes: usize,
    limit_name: &str,
) -> io::Result<String> {
    String::from_utf8(read_bytes_within(path, max_bytes, limit_name)?).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// Reads the regular file at `path` whole, as bytes, within `max_bytes`,
/// with the checks and errors of [`read_file_within`] (all but UTF-8).
pub(crate) fn read_bytes_within(
    path: &Path,
    max_bytes: usize,
    limit_name: &str,
) -> io::Result<Vec<u8>> {
    // Before opening: opening a FIFO for reading blocks until a writer
    // comes, and opening a device may have effects of its own.
    check_regular(&std::fs::metadata(path)?)?;
    let file = open_nonblocking(path)?;
    // Again on what was opened: the path may have been replaced meanwhile.
    let metadata = file.metadata()?;
    check_regular(&metadata)?;
    let max = u64::try_from(max_bytes).unwrap_or(u64::MAX);
    if metadata.len() > max {
        return Err(too_large(
            &metadata.len().to_string(),
            max_bytes,
            limit_name,
        ));
    }
    // The size may still change while reading: read one byte more than the
    // limit, to tell a file at the limit from one over it.
    let expected = usize::try_from(metadata.len()).unwrap_or(max_bytes);
    let mut bytes = Vec::with_capacity(expected.min(max_bytes).saturating_add(1));
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() > max_bytes {
        return Err(too_large(
            &format!("{}+", bytes.len()),
            max_bytes,
            limit_name,
        ));
    }
    Ok(bytes)
}

/// The error for a file over the limit; `size` is its size in bytes
/// (`"N+"` when only a lower bound is known).
fn too_large(size: &str, max_bytes: usize, limit_name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("it is {size} bytes, over the limit of {max_bytes} ({limit_name})"),
    )
}

/// Refuses anything but a regular file, naming what it is.
fn check_regular(metadata: &Metadata) -> io::Result<()> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return Ok(());
    }
    let kind = if file_type.is_dir() {
        "a directory"
    } else {
        special_kind(&file_type)
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {kind}, not a regular file"),
    ))
}

#[cfg(unix)]
fn special_kind(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// Opens for reading without ever blocking in `open()` (a FIFO without a
/// writer would), and without taking a terminal as the controlling one.
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory for one test, removed at the end.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static COUNT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "killswitch-input-{}-{}-{name}",
                std::process::id(),
                COUNT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs `read` on a thread, failing the test (instead of hanging it)
    /// when it does not return within 10 seconds.
    fn bounded(path: &Path, max_bytes: usize) -> io::Result<String> {
        let path = path.to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let _ = tx.send(read_file_within(
                    &path,
                    max_bytes,
                    "Limits::max_config_bytes",
                ));
            })
            .unwrap();
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the read returned within 10 s")
    }

    #[test]
    fn reads_a_file_at_the_limit_and_refuses_one_byte_more() {
        let dir = TempDir::new("size");
        let path = dir.0.join("flags.json");
        std::fs::write(&path, "x".repeat(100)).unwrap();
        assert_eq!(bounded(&path, 100).unwrap().len(), 100);
        let err = bounded(&path, 99).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            err.to_string(),
            "it is 100 bytes, over the limit of 99 (Limits::max_config_bytes)"
        );
    }

    /// A file whose size says nothing about its content (Linux's `/proc`
    /// files say 0 bytes) is still cut at the limit plus one byte.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_larger_than_its_metadata_says_is_cut_at_the_limit() {
        let path = Path::new("/proc/self/status");
        assert_eq!(std::fs::metadata(path).unwrap().len(), 0);
        let err = bounded(path, 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            err.to_string(),
            "it is 101+ bytes, over the limit of 100 (Limits::max_config_bytes)"
        );
        assert!(bounded(path, 1 << 20).unwrap().contains("Name:"));
    }

    #[test]
    fn a_missing_file_is_not_found_and_bad_utf8_is_invalid_data() {
        let dir = TempDir::new("missing");
        let path = dir.0.join("flags.json");
        assert_eq!(
            bounded(&path, 100).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::write(&path, b"{\xff}").unwrap();
        assert_eq!(
            bounded(&path, 100).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = TempDir::new("dir");
        let err = bounded(&dir.0, 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), "it is a directory, not a regular file");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_to_dev_zero_is_refused_without_reading() {
        let dir = TempDir::new("zero");
        let path = dir.0.join("flags.json");
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let err = bounded(&path, 1 << 30).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "it is a character device, not a regular file"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_fifo_without_a_writer_is_refused_without_blocking() {
        let dir = TempDir::new("fifo");
        let path = dir.0.join("flags.json");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let err = bounded(&path, 100).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "it is a FIFO (named pipe), not a regular file"
        );
        // Opening it as the reader does (after the check) does not block
        // either, should a FIFO be swapped in between the check and open.
        let file = open_nonblocking(&path).unwrap();
        assert!(check_regular(&file.metadata().unwrap()).is_err());
    }
}
