//! Small helpers: a seeded generator, SES timestamps and message ids.

use std::time::{SystemTime, UNIX_EPOCH};

/// SplitMix64: one 64-bit number from a seed and a stream position. Deterministic, no state,
/// so concurrent calls need no lock: the n-th call of a run with seed s always draws the same.
pub fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform float in [0, 1) from `mix(seed, n)`.
pub fn unit(seed: u64, n: u64) -> f64 {
    (mix(seed, n) >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal draw (Box-Muller) from two stream positions.
pub fn normal(seed: u64, n: u64) -> f64 {
    let u1 = unit(seed, n.wrapping_mul(2)).max(f64::MIN_POSITIVE);
    let u2 = unit(seed, n.wrapping_mul(2).wrapping_add(1));
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the timestamp format of SES event records.
pub fn iso_ms(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms.div_euclid(1000));
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        ms.rem_euclid(1000)
    )
}

/// `(dt, hour)` partition of a timestamp: `("2026-11-27", "21")`.
pub fn partition(ms: i64) -> (String, String) {
    let (y, mo, d, h, _, _) = civil(ms.div_euclid(1000));
    (format!("{y:04}-{mo:02}-{d:02}"), format!("{h:02}"))
}

/// `YYYY-MM-DD-HH-MM-SS` for file names (Firehose's style).
pub fn file_stamp(ms: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(ms.div_euclid(1000));
    format!("{y:04}-{mo:02}-{d:02}-{h:02}-{mi:02}-{s:02}")
}

/// RFC 2822 date for MIME `Date:` headers.
pub fn rfc2822(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, mo, d, h, mi, s) = civil(secs);
    let days = secs.div_euclid(86_400);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(mo - 1) as usize];
    format!("{wd}, {d} {mon} {y} {h:02}:{mi:02}:{s:02} +0000")
}

/// Unix seconds → (year, month, day, hour, minute, second) in UTC (Howard Hinnant's algorithm).
fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, sod / 3600, (sod % 3600) / 60, sod % 60)
}

/// A message id in SES's format: `0100` + 12 hex digits of epoch ms, a UUID, `-000000`,
/// e.g. `010001923f6c1a2b-3c8e1f0a-9b7d-4c2e-8f1a-0b9c8d7e6f5a-000000`.
pub fn message_id(ms: i64) -> String {
    format!("0100{:012x}-{}-000000", ms.max(0), uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(1_764_280_800_123), "2025-11-27T22:00:00.123Z");
        assert_eq!(
            partition(1_764_280_800_123),
            ("2025-11-27".into(), "22".into())
        );
        assert_eq!(rfc2822(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(iso_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn message_id_shape() {
        let id = message_id(1_764_280_800_123);
        assert!(id.starts_with("0100019ac"), "{id}");
        assert!(id.ends_with("-000000"));
        assert_eq!(id.len(), 16 + 1 + 36 + 7);
    }

    #[test]
    fn draws_are_deterministic_and_in_range() {
        assert_eq!(mix(7, 3), mix(7, 3));
        assert_ne!(mix(7, 3), mix(8, 3));
        for n in 0..1000 {
            let u = unit(1, n);
            assert!((0.0..1.0).contains(&u));
        }
    }
}
