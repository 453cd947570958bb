//! The store's background thread: waits for file notifications (on the
//! file's parent directory) or the next poll, debounces, and reloads.

use super::Shared;
use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The name Kubernetes' atomic writer swaps (a symlink to the directory of
/// the current files) when a mounted ConfigMap changes; the config file
/// itself is a symlink through it and sees no event of its own.
const KUBERNETES_DATA_LINK: &str = "..data";

/// A message to the background thread.
enum Msg {
    /// Something happened to the watched file.
    Changed,
    /// Stop now.
    Stop,
}

/// How the background thread works.
pub(crate) struct Settings {
    pub(crate) poll_interval: Option<Duration>,
    pub(crate) debounce: Duration,
    pub(crate) watch_path: Option<PathBuf>,
    pub(crate) thread_name: String,
}

/// The running background thread, and the notification watcher feeding it.
pub(crate) struct Worker {
    stop: Sender<Msg>,
    thread: JoinHandle<()>,
    notifier: Option<RecommendedWatcher>,
}

/// What starting the worker gave.
pub(crate) struct Started {
    pub(crate) worker: Worker,
    /// Why notifications could not be set up, when they were asked for and
    /// failed (the worker then only polls).
    pub(crate) notification_error: Option<String>,
}

impl Worker {
    /// Starts the thread; notifications are set up first, so that no change
    /// made after this returns is missed.
    pub(crate) fn start(shared: Arc<Shared>, settings: Settings) -> std::io::Result<Started> {
        let (tx, rx) = mpsc::channel();
        let mut notification_error = None;
        let notifier = match &settings.watch_path {
            Some(path) => match watch(path, tx.clone()) {
                Ok(w) => Some(w),
                Err(e) => {
                    notification_error = Some(e.to_string());
                    None
                }
            },
            None => None,
        };
        if notifier.is_some() {
            // The file may have changed between the first load and the
            // start of the watch: look once more.
            let _ = tx.send(Msg::Changed);
        }
        let poll_interval = settings.poll_interval;
        let debounce = settings.debounce;
        let thread = thread::Builder::new()
            .name(settings.thread_name)
            .spawn(move || run(&shared, &rx, poll_interval, debounce))?;
        Ok(Started {
            worker: Worker {
                stop: tx,
                thread,
                notifier,
            },
            notification_error,
        })
    }

    /// Whether OS notifications are active.
    pub(crate) fn has_notifications(&self) -> bool {
        self.notifier.is_some()
    }

    /// Stops the notifications and the thread, and waits for the thread to
    /// end. From the thread itself (a listener dropping the store), it only
    /// asks it to stop.
    pub(crate) fn stop(self) {
        // The watcher's own thread ends when it is dropped.
        drop(self.notifier);
        // The thread may have ended already; then there is no one to tell.
        let _ = self.stop.send(Msg::Stop);
        if self.thread.thread().id() != thread::current().id() {
            // A listener that panicked is caught in `Shared::notify`, so
            // the thread cannot have panicked; there is nothing to report.
            let _ = self.thread.join();
        }
    }
}

/// Watches the parent directory of `path` (editors and ConfigMaps replace
/// the file, and a watch on the old file would die with it) and reports
/// events about the file's name.
fn watch(path: &Path, tx: Sender<Msg>) -> notify::Result<RecommendedWatcher> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(OsString::from).unwrap_or_default();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        let relevant = match &event {
            Ok(event) => is_relevant(event, &name),
            // The watcher lost track (for example its queue overflowed):
            // look at the file to be sure.
            Err(_) => true,
        };
        if relevant {
            // The worker has stopped when this fails: nothing to do.
            let _ = tx.send(Msg::Changed);
        }
    })?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// Whether an event in the directory may have changed the file's content.
fn is_relevant(event: &Event, name: &OsString) -> bool {
    let kind_matters = match event.kind {
        // Finished writing: yes. Opening and reading (our own reads too): no.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    };
    if !kind_matters {
        return false;
    }
    if event.need_rescan() || event.paths.is_empty() {
        return true;
    }
    event.paths.iter().any(|p| {
        p.file_name()
            .is_some_and(|n| n == name.as_os_str() || n == KUBERNETES_DATA_LINK)
    })
}

/// The thread's loop: reload on a change (after it settles) or when the
/// poll interval has passed, until told to stop.
fn run(shared: &Shared, rx: &Receiver<Msg>, poll: Option<Duration>, debounce: Duration) {
    loop {
        let next_poll = poll.and_then(|p| Instant::now().checked_add(p));
        let msg = match next_poll {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Msg::Changed) => {
                if !settle(rx, debounce) {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        // Errors are recorded in the status and sent to the listeners.
        let _ = shared.reload_from_source();
    }
}

/// Waits until no change has arrived for `debounce`, but no longer than
/// ten times that after the first (so that a file written continuously is
/// still read). Returns false when told to stop meanwhile.
fn settle(rx: &Receiver<Msg>, debounce: Duration) -> bool {
    let start = Instant::now();
    let cap = debounce.saturating_mul(10);
    loop {
        let left = cap.saturating_sub(start.elapsed());
        if left.is_zero() {
            return true;
        }
        match rx.recv_timeout(debounce.min(left)) {
            Ok(Msg::Changed) => {}
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
            Err(RecvTimeoutError::Timeout) => return true,
        }
    }
}
