//! Jittered exponential backoff, capped at 2 s, for reconnecting.

use crate::error::FleetError;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The first delay after a failure.
const FIRST: Duration = Duration::from_millis(50);
/// The longest delay between attempts.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// When to try again after failures: 50 ms, doubling up to 2 s, each
/// delay drawn between half of it and all of it (so that a fleet does
/// not reconnect in step).
pub(crate) struct Backoff {
    next: Duration,
    retry_at: Option<Instant>,
    last_error: Option<String>,
    seed: u64,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Backoff {
            next: FIRST,
            retry_at: None,
            last_error: None,
            seed: u64::from(nanos) ^ (u64::from(std::process::id()) << 32) | 1,
        }
    }

    /// Records a failure: the next attempt waits.
    pub(crate) fn failed(&mut self, e: &FleetError) {
        let delay = self.delay();
        self.retry_at = Instant::now().checked_add(delay);
        self.next = (self.next * 2).min(MAX_BACKOFF);
        self.last_error = Some(e.to_string());
    }

    /// Records a success: the next failure starts from the first delay.
    pub(crate) fn succeeded(&mut self) {
        self.next = FIRST;
        self.retry_at = None;
        self.last_error = None;
    }

    /// The current delay, jittered.
    pub(crate) fn delay(&mut self) -> Duration {
        // xorshift64: enough to spread a fleet's retries.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let half = self.next / 2;
        let spread = u64::try_from(half.as_micros()).unwrap_or(u64::MAX).max(1);
        half + Duration::from_micros(self.seed % spread)
    }

    /// The last error, while it is too early to try again.
    pub(crate) fn waiting(&self) -> Option<FleetError> {
        let at = self.retry_at?;
        (Instant::now() < at).then(|| {
            FleetError::new(
                crate::error::FleetErrorKind::Database,
                self.last_error.clone().unwrap_or_default(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_up_to_the_cap() {
        let mut b = Backoff::new();
        let e = FleetError::new(crate::error::FleetErrorKind::Database, "down");
        for _ in 0..20 {
            b.failed(&e);
            let d = b.delay();
            assert!(d <= MAX_BACKOFF, "{d:?}");
        }
        assert!(b.delay() >= MAX_BACKOFF / 2);
        assert_eq!(b.waiting().map(|e| e.to_string()), Some("down".into()));
        b.succeeded();
        assert!(b.waiting().is_none());
        assert!(b.delay() <= FIRST);
    }
}
