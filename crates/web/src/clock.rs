//! Where handlers and the credit run get the time from: the system clock in production, a
//! clock tests move forward (a publicity period of seven days passes in a test instantly).

use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        moralbank_store::now_ms()
    }
}

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(at_ms: i64) -> ManualClock {
        ManualClock(AtomicI64::new(at_ms))
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Stand at `at_ms` (forward or back).
    pub fn set(&self, at_ms: i64) {
        self.0.store(at_ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
