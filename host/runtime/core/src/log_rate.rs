//! The per-actor guest log rate: a token bucket shared by all invocations of one actor.
//!
//! Why, on top of the per-call budget: an actor called thousands of times a second, each call
//! within its own budget, would still flood the host log and its event loop. The bucket holds up to
//! one second of rate (at least one call's budget, so a single call can always spend its own), and
//! lines past it are dropped and counted, with one line when dropping starts and one saying how much
//! was lost when lines flow again.

use std::time::Instant;

/// What [`LogRate::admit`] decided for one line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Send the line; `dropped_before` is how many lines (and bytes) were dropped since the last
    /// admitted one, to be reported first.
    Admitted { dropped_before: Option<(u64, u64)> },
    /// Drop the line; `first` is true for the first line of a dropping episode (say so once).
    Dropped { first: bool },
}

/// A token bucket of guest log bytes per second for one actor.
#[derive(Debug)]
pub(crate) struct LogRate {
    rate: f64,
    capacity: f64,
    tokens: f64,
    refilled: Instant,
    dropped: (u64, u64),
}

impl LogRate {
    /// A full bucket refilling at `bytes_per_sec`, holding one second of it but at least `min_burst`.
    pub(crate) fn new(bytes_per_sec: usize, min_burst: usize) -> Self {
        let capacity = if bytes_per_sec == 0 { 0.0 } else { bytes_per_sec.max(min_burst) as f64 };
        Self { rate: bytes_per_sec as f64, capacity, tokens: capacity, refilled: Instant::now(), dropped: (0, 0) }
    }

    /// The configured rate, for messages.
    pub(crate) fn bytes_per_sec(&self) -> u64 {
        self.rate as u64
    }

    /// Takes `len` bytes from the bucket when it holds them, at `now`.
    pub(crate) fn admit(&mut self, len: usize, now: Instant) -> Admission {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.refilled = now;
        if len as f64 <= self.tokens {
            self.tokens -= len as f64;
            let dropped = std::mem::take(&mut self.dropped);
            return Admission::Admitted { dropped_before: (dropped.0 > 0).then_some(dropped) };
        }
        let first = self.dropped.0 == 0;
        self.dropped.0 += 1;
        self.dropped.1 += len as u64;
        Admission::Dropped { first }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_lines_drop_until_the_bucket_refills() {
        let t0 = Instant::now();
        let mut r = LogRate::new(1000, 100);
        assert_eq!(r.admit(600, t0), Admission::Admitted { dropped_before: None });
        assert_eq!(r.admit(400, t0), Admission::Admitted { dropped_before: None });
        assert_eq!(r.admit(10, t0), Admission::Dropped { first: true });
        assert_eq!(r.admit(20, t0), Admission::Dropped { first: false });
        // Half a second refills 500 bytes: the next line goes and reports what was lost.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(r.admit(500, t1), Admission::Admitted { dropped_before: Some((2, 30)) });
        assert_eq!(r.admit(1, t1), Admission::Dropped { first: true });
    }

    #[test]
    fn the_bucket_never_holds_more_than_its_capacity() {
        let t0 = Instant::now();
        let mut r = LogRate::new(100, 300);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(r.admit(300, later), Admission::Admitted { dropped_before: None });
        assert_eq!(r.admit(1, later), Admission::Dropped { first: true });
    }

    #[test]
    fn a_zero_rate_drops_everything() {
        let mut r = LogRate::new(0, 1 << 16);
        assert_eq!(r.admit(1, Instant::now()), Admission::Dropped { first: true });
    }
}
