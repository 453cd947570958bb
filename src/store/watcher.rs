//! The store's background thread: waits for file notifications (on the
//! file's parent directory) or the next poll, debounces, and reloads. When
//! the watched directory is removed or replaced, it falls back to polling
//! and watches again as soon as the directory is back.

use super::{Shared, Waker};
use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The name Kubernetes' atomic writer swaps (a symlink to the directory of
/// the current files) when a mounted ConfigMap changes; the config file
/// itself is a symlink through it and sees no event of its own.
const KUBERNETES_DATA_LINK: &str = "..data";

/// How often the thread looks for the watched directory while it is gone,
/// to watch it again as soon as it is back.
const REWATCH_INTERVAL: Duration = Duration::from_millis(100);

/// How long [`Worker::stop`] waits for the thread to end. The thread only
/// waits on its channel, so it ends at once unless a reload is under way
/// (a slow custom source, a listener, a large config being compiled);
/// then it ends on its own when that reload is done.
const STOP_WAIT: Duration = Duration::from_secs(1);

/// A message to the background thread.
pub(crate) enum Msg {
    /// Something happened to the watched file.
    Changed,
    /// The source says it changed ([`Waker`]): fetch now, no debounce.
    Wake,
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

/// The running background thread (which owns the notification watcher
/// feeding it).
pub(crate) struct Worker {
    stop: Sender<Msg>,
    thread: JoinHandle<()>,
    /// Disconnected when the thread ends (it holds the sender).
    ended: Receiver<()>,
}

/// What starting the worker gave.
pub(crate) struct Started {
    pub(crate) worker: Worker,
    /// Why notifications could not be set up, when they were asked for and
    /// failed (the worker then only polls).
    pub(crate) notification_error: Option<String>,
    /// Wakes the thread for a fetch, for the source (see
    /// `Source::subscribe`).
    pub(crate) waker: Waker,
}

impl Worker {
    /// Starts the thread; notifications are set up first, so that no change
    /// made after this returns is missed.
    pub(crate) fn start(shared: Arc<Shared>, settings: Settings) -> std::io::Result<Started> {
        let (tx, rx) = mpsc::channel();
        let (ended_tx, ended) = mpsc::channel::<()>();
        let mut notification_error = None;
        let notifier = match &settings.watch_path {
            Some(path) => match Notifier::start(path, tx.clone()) {
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
        // Recorded before the thread starts, which updates it from then on.
        if let Some(notifier) = &notifier {
            shared.set_notifications(notifier.lost_reason());
        }
        let waker = Waker::new(tx.clone());
        let poll_interval = settings.poll_interval;
        let debounce = settings.debounce;
        let thread = thread::Builder::new()
            .name(settings.thread_name)
            .spawn(move || {
                let _ended = ended_tx;
                run(&shared, &rx, poll_interval, debounce, notifier);
            })?;
        Ok(Started {
            worker: Worker {
                stop: tx,
                thread,
                ended,
            },
            notification_error,
            waker,
        })
    }

    /// Stops the thread (and with it the notifications), and waits for it
    /// to end, for at most [`STOP_WAIT`]: a thread still busy with a reload
    /// then ends on its own when that reload is done. From the thread
    /// itself (a listener dropping the store), it only asks it to stop.
    pub(crate) fn stop(self) {
        // The thread may have ended already; then there is no one to tell.
        let _ = self.stop.send(Msg::Stop);
        if self.thread.thread().id() == thread::current().id() {
            return;
        }
        match self.ended.recv_timeout(STOP_WAIT) {
            // Ended: joining returns at once. A listener that panicked is
            // caught in `Shared::notify`, so the thread cannot have
            // panicked; there is nothing to report.
            Err(RecvTimeoutError::Disconnected) | Ok(()) => {
                let _ = self.thread.join();
            }
            // Still busy: let it finish detached rather than hang the caller.
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// The OS notifications on the file's directory (editors and ConfigMaps
/// replace the file, and a watch on the old file would die with it),
/// registered again when the directory is removed and comes back, or is
/// replaced.
struct Notifier {
    watcher: RecommendedWatcher,
    dir: PathBuf,
    /// The directory being watched; `None` while it is gone (then the
    /// store only polls).
    watched: Option<DirId>,
    /// Set by the notification callback when the watched directory itself
    /// was removed or moved away: the watch is dead, even if a new
    /// directory of the same identity is there already.
    dead: Arc<AtomicBool>,
}

/// What [`Notifier::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WatchCheck {
    /// Watching, as before.
    Watching,
    /// The directory is gone; not watching.
    Lost,
    /// Watching again, after the directory came back or was replaced: the
    /// file may have changed meanwhile.
    Rewatched,
}

impl Notifier {
    /// Watches the parent directory of `path` and reports events about the
    /// file's name (and about the directory itself) to `tx`.
    fn start(path: &Path, tx: Sender<Msg>) -> notify::Result<Notifier> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().map(OsString::from).unwrap_or_default();
        let dead = Arc::new(AtomicBool::new(false));
        let watched_dir = dir.clone();
        let dir_dead = Arc::clone(&dead);
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
            let relevant = match &event {
                Ok(event) => {
                    // The directory itself removed or moved away: the watch
                    // is dead; the worker looks for the directory again.
                    let dir_gone = is_removal(event) && event.paths.contains(&watched_dir);
                    if dir_gone {
                        dir_dead.store(true, Ordering::SeqCst);
                    }
                    dir_gone || is_relevant(event, &name)
                }
                // The watcher lost track (for example its queue overflowed):
                // look at the file to be sure.
                Err(_) => true,
            };
            if relevant {
                // The worker has stopped when this fails: nothing to do.
                let _ = tx.send(Msg::Changed);
            }
        })?;
        // The identity first: if the directory is replaced between the two
        // steps, the next check sees a different one and watches again.
        let watched = dir_id(&dir);
        if watched.is_some() {
            watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        }
        // Otherwise the directory does not exist (yet): the worker watches
        // it when it appears, as when it is removed later.
        Ok(Notifier {
            watcher,
            dir,
            watched,
            dead,
        })
    }

    /// Whether the watch is lost (the directory is gone).
    fn is_lost(&self) -> bool {
        self.watched.is_none()
    }

    /// Why notifications are not active, while the watch is lost.
    fn lost_reason(&self) -> Option<String> {
        let dir = self.dir.display();
        self.is_lost().then(|| {
            format!(
                "the watched directory `{dir}` is gone (removed, replaced, or not \
                 created yet); polling until it is there"
            )
        })
    }

    /// Checks that the directory watched is still the one at its path, and
    /// watches again when it was removed or replaced and is there now.
    fn check(&mut self) -> WatchCheck {
        let now = dir_id(&self.dir);
        let dead = self.dead.swap(false, Ordering::SeqCst);
        if !dead && now.is_some() && now == self.watched {
            return WatchCheck::Watching;
        }
        if self.watched.take().is_some() || dead {
            // The old watch is dead, or on a directory moved elsewhere:
            // drop it (an error only says that it is gone already).
            let _ = self.watcher.unwatch(&self.dir);
        }
        if now.is_none() {
            return WatchCheck::Lost;
        }
        match self.watcher.watch(&self.dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watched = now;
                WatchCheck::Rewatched
            }
            // Tried again at the next check.
            Err(_) => WatchCheck::Lost,
        }
    }
}

/// Identifies a directory, to notice one replaced under the same path.
#[cfg(unix)]
type DirId = (u64, u64);
/// Identifies a directory (here: only that there is one).
#[cfg(not(unix))]
type DirId = ();

/// The identity of the directory at `dir` (following symlinks, as the
/// watch does), or `None` when there is no directory there.
fn dir_id(dir: &Path) -> Option<DirId> {
    let metadata = std::fs::metadata(dir).ok().filter(|m| m.is_dir())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        Some(())
    }
}

/// Whether an event says that its path was removed or moved away.
fn is_removal(event: &Event) -> bool {
    matches!(
        event.kind,
        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
    )
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

/// The thread's loop: reload on a change (after it settles), when the poll
/// interval has passed, or when the directory is watched again after it
/// was gone, until told to stop. Waiting on the channel is the only
/// blocking call; a reload reads the file without blocking (see
/// `crate::document::input`).
fn run(
    shared: &Shared,
    rx: &Receiver<Msg>,
    poll: Option<Duration>,
    debounce: Duration,
    mut notifier: Option<Notifier>,
) {
    let mut next_poll = poll.and_then(|p| Instant::now().checked_add(p));
    loop {
        // While the directory is gone, look for it again soon.
        let recheck = notifier
            .as_ref()
            .filter(|n| n.is_lost())
            .and_then(|_| Instant::now().checked_add(REWATCH_INTERVAL));
        let wake = [next_poll, recheck].into_iter().flatten().min();
        let msg = match wake {
            Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let mut reload = match msg {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Msg::Changed) => {
                if !settle(rx, debounce) {
                    return;
                }
                true
            }
            Ok(Msg::Wake) => true,
            Err(RecvTimeoutError::Timeout) => false,
        };
        if let Some(notifier) = notifier.as_mut() {
            let was_lost = notifier.is_lost();
            match notifier.check() {
                WatchCheck::Watching => {}
                WatchCheck::Lost => {
                    if !was_lost {
                        shared.set_notifications(notifier.lost_reason());
                    }
                }
                WatchCheck::Rewatched => {
                    shared.set_notifications(None);
                    reload = true;
                }
            }
        }
        if next_poll.is_some_and(|at| Instant::now() >= at) {
            reload = true;
        }
        if reload {
            // Errors are recorded in the status and sent to the listeners.
            let _ = shared.reload_from_source();
            next_poll = poll.and_then(|p| Instant::now().checked_add(p));
        }
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
            Ok(Msg::Changed | Msg::Wake) => {}
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
            Err(RecvTimeoutError::Timeout) => return true,
        }
    }
}
