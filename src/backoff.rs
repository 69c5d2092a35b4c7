//! The one retry policy of the program: jittered exponential backoff from 2 s up to 80 s,
//! and a long pause after an authentication failure, so a wrong password or a revoked
//! token never turns into a tight loop against somebody's mail server.

use std::time::Duration;

use rand::Rng;

/// First retry delay.
pub const BASE: Duration = Duration::from_secs(2);
/// Delays stop growing here.
pub const MAX: Duration = Duration::from_secs(80);
/// After the server rejected our credentials: retrying sooner would only lock the account.
pub const AUTH_FAILURE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    pub fn new() -> Self {
        Self::default()
    }

    /// The delay before the next attempt, after one more failure. Full jitter on the
    /// upper half (between d/2 and d) so many daemons restarted together spread out.
    pub fn next_delay(&mut self) -> Duration {
        let exp = BASE.saturating_mul(1u32 << self.failures.min(6));
        self.failures = self.failures.saturating_add(1);
        let ceiling = exp.min(MAX);
        let half = ceiling / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }

    /// Back to the short delays once something worked.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps_with_jitter() {
        let mut backoff = Backoff::new();
        let first = backoff.next_delay();
        assert!(
            first >= Duration::from_secs(1) && first <= BASE,
            "{first:?}"
        );
        for _ in 0..20 {
            let delay = backoff.next_delay();
            assert!(delay <= MAX, "{delay:?}");
        }
        let late = backoff.next_delay();
        assert!(late >= MAX / 2, "{late:?}");
        backoff.reset();
        assert!(backoff.next_delay() <= BASE);
    }
}
