//! Rollout schedules: the rollout percentage as a function of time.
//!
//! A schedule is a list of phases in time order: a step sets a percentage
//! from its instant on, a ramp moves linearly between two percentages over
//! an interval and then holds the last one. The percentage at time `t` is
//! given by the last phase that started at or before `t`; before the first
//! phase the flag's `rollout_percentage` applies. The config loader checks
//! the order and the bounds, so lookups here need no validation.

use crate::value::datetime::Instant;
use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// One phase of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `percentage` from `at` on.
    Step { at: Instant, percentage: u8 },
    /// From `start` at `from` to `end` at `to`, linearly; `end` after `to`.
    Ramp {
        from: Instant,
        to: Instant,
        start: u8,
        end: u8,
    },
}

impl Phase {
    /// When the phase begins.
    pub(crate) fn start(self) -> Instant {
        match self {
            Phase::Step { at, .. } => at,
            Phase::Ramp { from, .. } => from,
        }
    }

    /// When the phase reaches its final percentage.
    pub(crate) fn end(self) -> Instant {
        match self {
            Phase::Step { at, .. } => at,
            Phase::Ramp { to, .. } => to,
        }
    }

    /// The percentage the phase starts with.
    pub(crate) fn first_percentage(self) -> u8 {
        match self {
            Phase::Step { percentage, .. } => percentage,
            Phase::Ramp { start, .. } => start,
        }
    }

    /// The percentage the phase ends with (and holds afterwards).
    pub(crate) fn last_percentage(self) -> u8 {
        match self {
            Phase::Step { percentage, .. } => percentage,
            Phase::Ramp { end, .. } => end,
        }
    }

    /// The percentage at `t`, for `t` at or after the phase's start. A ramp
    /// moves in whole percents, rounding toward its start percentage, so an
    /// increasing ramp never lowers the percentage as time passes.
    fn percentage_at(self, t: Instant) -> u8 {
        match self {
            Phase::Step { percentage, .. } => percentage,
            Phase::Ramp {
                from,
                to,
                start,
                end,
            } => {
                if t >= to || to <= from {
                    return end;
                }
                // |end - start| <= 100 and the times are within about
                // 10^21 ns of each other: the product fits in an i128.
                let span = to - from;
                let moved = (i128::from(end) - i128::from(start)) * (t - from) / span;
                let value = i128::from(start) + moved;
                u8::try_from(value.clamp(0, 100)).unwrap_or(end)
            }
        }
    }
}

/// One entry of a flag's `rollout_schedule`, as [`Flag::schedule`](crate::Flag::schedule)
/// lists it: a step (`start == end`, one percentage from then on) or a
/// ramp (linear from `start` to `end`, then held).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ScheduleEntry {
    /// When the entry begins.
    pub start: SystemTime,
    /// When it reaches its last percentage (the start, for a step).
    pub end: SystemTime,
    /// The percentage at its start.
    pub from_percentage: u8,
    /// The percentage it ends with and holds afterwards.
    pub to_percentage: u8,
}

impl ScheduleEntry {
    pub(crate) fn of(phase: Phase) -> ScheduleEntry {
        ScheduleEntry {
            start: system_time_of(phase.start()),
            end: system_time_of(phase.end()),
            from_percentage: phase.first_percentage(),
            to_percentage: phase.last_percentage(),
        }
    }
}

/// Nanoseconds since the Unix epoch as a `SystemTime` (saturating at the
/// ends of what the platform can represent).
pub(crate) fn system_time_of(t: Instant) -> SystemTime {
    let magnitude =
        std::time::Duration::from_nanos(u64::try_from(t.unsigned_abs()).unwrap_or(u64::MAX));
    let shifted = if t >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    shifted.unwrap_or(UNIX_EPOCH)
}

/// A validated schedule: phases sorted by time, none overlapping.
#[derive(Debug)]
pub(crate) struct Schedule {
    phases: Box<[Phase]>,
}

impl Schedule {
    /// A schedule of phases the loader has checked.
    pub(crate) fn new(phases: Vec<Phase>) -> Schedule {
        Schedule {
            phases: phases.into_boxed_slice(),
        }
    }

    /// The phases, in time order.
    pub(crate) fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// The percentage at `t` and the index of the phase that set it, or
    /// `None` before the first phase.
    pub(crate) fn at(&self, t: Instant) -> Option<(u8, usize)> {
        let started = self.phases.partition_point(|p| p.start() <= t);
        let i = started.checked_sub(1)?;
        let phase = self.phases.get(i)?;
        Some((phase.percentage_at(t), i))
    }
}

/// The time of one evaluation: given by the caller, or read from the
/// system clock the first time a scheduled flag needs it (so evaluations
/// that meet no schedule never read the clock, and one evaluation sees
/// one time however many flags it visits).
pub(crate) struct Now(Cell<Option<Instant>>);

impl Now {
    /// The system clock, read lazily.
    pub(crate) fn system() -> Now {
        Now(Cell::new(None))
    }

    /// A fixed time.
    pub(crate) fn at(t: SystemTime) -> Now {
        Now(Cell::new(Some(instant_of(t))))
    }

    /// The time.
    pub(crate) fn get(&self) -> Instant {
        if let Some(t) = self.0.get() {
            return t;
        }
        let t = instant_of(SystemTime::now());
        self.0.set(Some(t));
        t
    }
}

/// A `SystemTime` as nanoseconds since the Unix epoch.
pub(crate) fn instant_of(t: SystemTime) -> Instant {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
        Err(e) => i128::try_from(e.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Instant = 3_600_000_000_000;

    #[test]
    fn steps_apply_from_their_instant_on() {
        let s = Schedule::new(vec![
            Phase::Step {
                at: 10 * HOUR,
                percentage: 10,
            },
            Phase::Step {
                at: 20 * HOUR,
                percentage: 30,
            },
        ]);
        assert_eq!(s.at(10 * HOUR - 1), None);
        assert_eq!(s.at(10 * HOUR), Some((10, 0)));
        assert_eq!(s.at(20 * HOUR - 1), Some((10, 0)));
        assert_eq!(s.at(20 * HOUR), Some((30, 1)));
        assert_eq!(s.at(i128::MAX), Some((30, 1)));
    }

    #[test]
    fn ramps_move_linearly_and_hold_their_end() {
        let s = Schedule::new(vec![Phase::Ramp {
            from: 0,
            to: 100 * HOUR,
            start: 0,
            end: 100,
        }]);
        assert_eq!(s.at(-1), None);
        assert_eq!(s.at(0), Some((0, 0)));
        assert_eq!(s.at(HOUR - 1), Some((0, 0)));
        assert_eq!(s.at(HOUR), Some((1, 0)));
        assert_eq!(s.at(50 * HOUR + HOUR / 2), Some((50, 0)));
        assert_eq!(s.at(100 * HOUR), Some((100, 0)));
        assert_eq!(s.at(1000 * HOUR), Some((100, 0)));
        let mut last = 0;
        for h in 0..=200 {
            let (p, _) = s.at(h * HOUR / 2).unwrap();
            assert!(p >= last);
            last = p;
        }
    }

    #[test]
    fn a_falling_ramp_rounds_toward_its_start() {
        let s = Schedule::new(vec![Phase::Ramp {
            from: 0,
            to: 3 * HOUR,
            start: 90,
            end: 0,
        }]);
        assert_eq!(s.at(HOUR), Some((60, 0)));
        assert_eq!(s.at(HOUR + 1), Some((60, 0)));
        assert_eq!(s.at(3 * HOUR), Some((0, 0)));
    }

    #[test]
    fn system_times_become_instants() {
        assert_eq!(instant_of(UNIX_EPOCH), 0);
        let later = UNIX_EPOCH + std::time::Duration::from_secs(3);
        assert_eq!(instant_of(later), 3_000_000_000);
        let earlier = UNIX_EPOCH - std::time::Duration::from_secs(3);
        assert_eq!(instant_of(earlier), -3_000_000_000);
        let now = Now::at(later);
        assert_eq!(now.get(), 3_000_000_000);
    }
}
