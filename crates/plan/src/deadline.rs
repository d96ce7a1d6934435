//! The batch / function-timeout fit the poller's deadline rule imposes.
//!
//! The fleet shares one send schedule at `R_f = max_send_rate × target_utilisation`, so in steady
//! state each of the `maximum_concurrency` instances sends at `r_i = R_f / maximum_concurrency`
//! and a batch drains in `batch_size / r_i` seconds. An invocation starts no send it cannot finish
//! [`DEADLINE_RESERVE_SECONDS`] before its deadline and parks what is left (park reason
//! `deadline`), so a configuration *fits* when a whole batch drains inside the timeout:
//!
//! ```text
//! batch_size / r_i + 3 ≤ function_timeout_seconds
//! largest batch   = floor((function_timeout_seconds − 3) × r_i)
//! smallest timeout = ceil(batch_size / r_i + 3)
//! ```
//!
//! A configuration that does not fit still loses nothing, but every invocation parks the tail of
//! its batch and the fleet sends below the quota. The Terraform stack checks the same formula.
//!
//! Exact boundaries (a product such as `(103 − 3) × 0.49 = 49` that is a whole number in decimal
//! but not in binary floating point) are decided as in decimal arithmetic: values within 1e-9 of a
//! whole number count as that number.

use crate::limits::MAX_FUNCTION_TIMEOUT_S;

/// Seconds before the invocation deadline after which the poller starts no send (the
/// processor's `DEADLINE_RESERVE`).
pub const DEADLINE_RESERVE_SECONDS: u32 = sesload_core::DEADLINE_RESERVE.as_secs() as u32;

/// Rounding slack so that decimal-exact boundaries are not lost to binary floating point.
const SLACK: f64 = 1e-9;

/// The fleet's send rate `R_f = max_send_rate × target_utilisation` (emails/s).
pub fn fleet_rate(max_send_rate: f64, target_utilisation: f64) -> f64 {
    max_send_rate * target_utilisation
}

/// An instance's steady rate `r_i = R_f / maximum_concurrency` (emails/s).
pub fn steady_instance_rate(
    max_send_rate: f64,
    target_utilisation: f64,
    maximum_concurrency: u32,
) -> f64 {
    fleet_rate(max_send_rate, target_utilisation) / f64::from(maximum_concurrency.max(1))
}

/// Seconds a batch takes to drain at `instance_rate`: `batch_size / r_i`.
pub fn drain_seconds(batch_size: u32, instance_rate: f64) -> f64 {
    f64::from(batch_size) / instance_rate
}

/// `batch_size / r_i + 3 ≤ function_timeout_seconds`.
pub fn batch_fits(batch_size: u32, function_timeout_seconds: u32, instance_rate: f64) -> bool {
    drain_seconds(batch_size, instance_rate) + f64::from(DEADLINE_RESERVE_SECONDS)
        <= f64::from(function_timeout_seconds) + SLACK
}

/// The largest batch that drains within the timeout: `floor((timeout − 3) × r_i)`; 0 when not
/// even one email does (a timeout of 3 s or less, or a very low rate).
pub fn max_batch_for_timeout(function_timeout_seconds: u32, instance_rate: f64) -> u32 {
    let sending_s = f64::from(function_timeout_seconds.saturating_sub(DEADLINE_RESERVE_SECONDS));
    let n = (sending_s * instance_rate + SLACK).floor();
    if n >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        n.max(0.0) as u32
    }
}

/// The smallest timeout a batch drains within: `ceil(batch_size / r_i + 3)`. It may exceed
/// Lambda's 900 s ([`fits_lambda`] tells).
pub fn min_timeout_for_batch(batch_size: u32, instance_rate: f64) -> u32 {
    let t = (drain_seconds(batch_size, instance_rate) + f64::from(DEADLINE_RESERVE_SECONDS)
        - SLACK)
        .ceil();
    if t >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        t.max(0.0) as u32
    }
}

/// Whether a function timeout is one Lambda allows (1–900 s).
pub fn fits_lambda(function_timeout_seconds: u32) -> bool {
    (1..=MAX_FUNCTION_TIMEOUT_S).contains(&function_timeout_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SES sandbox: 1 email/s × 0.98 over the ESM minimum of 2 instances.
    const SANDBOX_RATE: f64 = 0.49;

    #[test]
    fn sandbox_at_timeout_30_takes_13() {
        let r = steady_instance_rate(1.0, 0.98, 2);
        assert!((r - SANDBOX_RATE).abs() < 1e-12);
        // floor(27 × 0.49) = floor(13.23).
        assert_eq!(max_batch_for_timeout(30, r), 13);
        assert!(batch_fits(13, 30, r));
        assert!(!batch_fits(14, 30, r));
        // 20 / 0.49 = 40.8 s of sending: the Terraform default batch needs 44 s.
        assert!(!batch_fits(20, 30, r));
        assert_eq!(min_timeout_for_batch(20, r), 44);
        assert!(batch_fits(20, 44, r));
        assert!(!batch_fits(20, 43, r));
    }

    #[test]
    fn the_two_directions_agree() {
        for rate in [0.49, 1.0, 6.86, 98.0, 326.7, 2_450.0] {
            for timeout in [4, 10, 13, 30, 100, 900] {
                let b = max_batch_for_timeout(timeout, rate);
                if b > 0 {
                    assert!(batch_fits(b, timeout, rate), "{rate} {timeout} {b}");
                    assert!(
                        min_timeout_for_batch(b, rate) <= timeout,
                        "{rate} {timeout}"
                    );
                }
                assert!(!batch_fits(b + 1, timeout, rate), "{rate} {timeout} {b}");
            }
            for batch in [1, 2, 13, 294, 5_000] {
                let t = min_timeout_for_batch(batch, rate);
                assert!(batch_fits(batch, t, rate), "{rate} {batch} {t}");
                assert!(!batch_fits(batch, t - 1, rate), "{rate} {batch} {t}");
                assert!(max_batch_for_timeout(t, rate) >= batch, "{rate} {batch}");
            }
        }
    }

    #[test]
    fn decimal_boundaries_are_exact() {
        // 100 × 0.49 is 49 in decimal; in binary it may land a hair either side.
        assert_eq!(max_batch_for_timeout(103, SANDBOX_RATE), 49);
        assert_eq!(min_timeout_for_batch(49, SANDBOX_RATE), 103);
        assert!(batch_fits(49, 103, SANDBOX_RATE));
        // 0.1 × 30 = 3.
        assert_eq!(max_batch_for_timeout(33, 0.1), 3);
        assert_eq!(min_timeout_for_batch(3, 0.1), 33);
    }

    #[test]
    fn the_reserve_leaves_nothing_at_three_seconds() {
        assert_eq!(max_batch_for_timeout(3, 1_000.0), 0);
        assert_eq!(max_batch_for_timeout(1, 1_000.0), 0);
        assert_eq!(max_batch_for_timeout(4, 1_000.0), 1_000);
        assert_eq!(min_timeout_for_batch(1, 1_000.0), 4);
        // At 1/900 emails/s not even one email fits Lambda's 900 s.
        assert_eq!(max_batch_for_timeout(900, 1.0 / 900.0), 0);
        assert!(!fits_lambda(min_timeout_for_batch(1, 1.0 / 900.0)));
        assert!(fits_lambda(900) && !fits_lambda(901) && !fits_lambda(0));
    }
}
