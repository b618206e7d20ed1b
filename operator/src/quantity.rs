//! Kubernetes resource quantities (`1Gi`, `500m`, `1.5e3`), compared exactly.
//!
//! The value is kept the way the API server keeps it: rounded up (away from zero) to a
//! multiple of 10^-9 and capped at ±(2^63-1), so `1Gi == 1024Mi`, `0.1n == 1n` and
//! `1e100 == 9223372036854775807`. Integer arithmetic only, never f64.

use std::fmt;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Nano-units per unit.
const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// The API server caps every quantity at 2^63-1 units in magnitude.
const MAX_NANOS: i128 = (i64::MAX as i128) * NANOS_PER_UNIT;
/// Decimal digits of `MAX_NANOS` (28); longer results are capped without computing them.
const MAX_NANOS_DIGITS: usize = 28;

/// The exact value of a quantity, in units of 10^-9.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuantityValue {
    nanos: i128,
}

impl QuantityValue {
    pub const ZERO: QuantityValue = QuantityValue { nanos: 0 };

    /// The value of a k8s-openapi `Quantity`, or None when its text is not a quantity.
    pub fn of(quantity: &Quantity) -> Option<Self> {
        parse_quantity(&quantity.0)
    }

    /// The value in units of 10^-9 (`1` is 1_000_000_000).
    pub fn nanos(self) -> i128 {
        self.nanos
    }

    /// The value in whole units, rounded up (e.g. bytes of a storage size; `1500m` is 2).
    pub fn ceil_units(self) -> i128 {
        let units = self.nanos.div_euclid(NANOS_PER_UNIT);
        if self.nanos.rem_euclid(NANOS_PER_UNIT) == 0 {
            units
        } else {
            units + 1
        }
    }

    pub fn is_positive(self) -> bool {
        self.nanos > 0
    }

    pub fn is_negative(self) -> bool {
        self.nanos < 0
    }

    pub fn is_zero(self) -> bool {
        self.nanos == 0
    }
}

/// Plain decimal text of the value (`1073741824`, `0.5`), for messages.
impl fmt::Display for QuantityValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let magnitude = self.nanos.unsigned_abs();
        let units = magnitude / NANOS_PER_UNIT as u128;
        let fraction = magnitude % NANOS_PER_UNIT as u128;
        if fraction == 0 {
            write!(f, "{sign}{units}")
        } else {
            let digits = format!("{fraction:09}");
            write!(f, "{sign}{units}.{}", digits.trim_end_matches('0'))
        }
    }
}

/// Whether two quantities mean the same amount (`1Gi` and `1024Mi`); quantities that do not
/// parse are equal only when their text is.
pub fn same_quantity(a: &Quantity, b: &Quantity) -> bool {
    match (QuantityValue::of(a), QuantityValue::of(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.0 == b.0,
    }
}

/// Parses the Kubernetes quantity format: `<sign><digits>[.<digits>]<suffix>` where the suffix
/// is one of `Ki Mi Gi Ti Pi Ei`, `n u m k M G T P E`, `e<int>`/`E<int>`, or empty.
/// Surrounding whitespace is ignored (the API server trims it too).
pub fn parse_quantity(text: &str) -> Option<QuantityValue> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let integer_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (integer, rest) = rest.split_at(integer_len);
    let (fraction, suffix) = match rest.strip_prefix('.') {
        Some(after_dot) => {
            let fraction_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            after_dot.split_at(fraction_len)
        }
        None => ("", rest),
    };
    if integer.is_empty() && fraction.is_empty() {
        return None;
    }
    let (power_of_ten, power_of_two) = parse_suffix(suffix)?;

    // value = digits × 10^(power_of_ten − len(fraction)) × 2^power_of_two, counted in nanos.
    let mut digits: Vec<u8> = integer
        .bytes()
        .chain(fraction.bytes())
        .map(|b| b - b'0')
        .collect();
    let fraction_len = i64::try_from(fraction.len()).ok()?;
    let decimal_shift = power_of_ten.saturating_sub(fraction_len).saturating_add(9);
    multiply_by_power_of_two(&mut digits, power_of_two);
    let magnitude = scale_and_round_up(digits, decimal_shift);
    Some(QuantityValue {
        nanos: if negative { -magnitude } else { magnitude },
    })
}

/// (power of ten, power of two) of a suffix; None when the suffix is not one.
fn parse_suffix(suffix: &str) -> Option<(i64, u32)> {
    let powers = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Exponents beyond i64 saturate: the value is capped or rounded to 1n anyway.
            let magnitude: i64 = digits.parse().unwrap_or(i64::MAX);
            (
                if exponent.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                },
                0,
            )
        }
    };
    Some(powers)
}

/// `digits` (big-endian decimal) ×= 2^power, in place.
fn multiply_by_power_of_two(digits: &mut Vec<u8>, power: u32) {
    let mut remaining = power;
    while remaining > 0 {
        let step = remaining.min(20);
        remaining -= step;
        let factor = 1u64 << step;
        let mut carry = 0u64;
        for digit in digits.iter_mut().rev() {
            let product = u64::from(*digit) * factor + carry;
            *digit = (product % 10) as u8;
            carry = product / 10;
        }
        while carry > 0 {
            digits.insert(0, (carry % 10) as u8);
            carry /= 10;
        }
    }
}

/// `digits × 10^shift`, rounded up to an integer and capped at `MAX_NANOS`.
fn scale_and_round_up(mut digits: Vec<u8>, shift: i64) -> i128 {
    let first_nonzero = digits.iter().position(|&d| d != 0);
    let Some(first_nonzero) = first_nonzero else {
        return 0;
    };
    digits.drain(..first_nonzero);
    if shift < 0 {
        let drop = usize::try_from(shift.unsigned_abs()).unwrap_or(usize::MAX);
        if drop >= digits.len() {
            return 1; // a nonzero amount below 1n rounds up to 1n
        }
        let dropped_nonzero = digits[digits.len() - drop..].iter().any(|&d| d != 0);
        digits.truncate(digits.len() - drop);
        return digits_to_capped(&digits, 0)
            .saturating_add(i128::from(dropped_nonzero))
            .min(MAX_NANOS);
    }
    let zeros = usize::try_from(shift).unwrap_or(usize::MAX);
    digits_to_capped(&digits, zeros)
}

/// The integer `digits` followed by `zeros` zeros, capped at `MAX_NANOS`.
fn digits_to_capped(digits: &[u8], zeros: usize) -> i128 {
    let significant = digits.iter().skip_while(|&&d| d == 0).count();
    if significant == 0 {
        return 0;
    }
    if significant.saturating_add(zeros) > MAX_NANOS_DIGITS {
        return MAX_NANOS;
    }
    let mut value: i128 = 0;
    for &digit in digits.iter().chain(std::iter::repeat_n(&0, zeros)) {
        value = value * 10 + i128::from(digit);
    }
    value.min(MAX_NANOS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanos(text: &str) -> Option<i128> {
        parse_quantity(text).map(QuantityValue::nanos)
    }

    const GI: i128 = 1 << 30;

    #[test]
    fn plain_and_decimal_numbers() {
        assert_eq!(nanos("0"), Some(0));
        assert_eq!(nanos("3"), Some(3 * NANOS_PER_UNIT));
        assert_eq!(nanos("+3"), Some(3 * NANOS_PER_UNIT));
        assert_eq!(nanos("-3"), Some(-3 * NANOS_PER_UNIT));
        assert_eq!(nanos("1.5"), Some(1_500_000_000));
        assert_eq!(nanos(".5"), Some(500_000_000));
        assert_eq!(nanos("5."), Some(5 * NANOS_PER_UNIT));
        assert_eq!(nanos("007"), Some(7 * NANOS_PER_UNIT));
        assert_eq!(nanos(" 2 "), Some(2 * NANOS_PER_UNIT));
    }

    #[test]
    fn decimal_suffixes() {
        assert_eq!(nanos("1n"), Some(1));
        assert_eq!(nanos("1u"), Some(1_000));
        assert_eq!(nanos("100m"), Some(100_000_000));
        assert_eq!(nanos("1k"), Some(1_000 * NANOS_PER_UNIT));
        assert_eq!(nanos("1M"), Some(1_000_000 * NANOS_PER_UNIT));
        assert_eq!(nanos("1G"), Some(1_000_000_000 * NANOS_PER_UNIT));
        assert_eq!(nanos("1T"), Some(10i128.pow(12) * NANOS_PER_UNIT));
        assert_eq!(nanos("1P"), Some(10i128.pow(15) * NANOS_PER_UNIT));
        assert_eq!(nanos("1E"), Some(10i128.pow(18) * NANOS_PER_UNIT));
    }

    #[test]
    fn binary_suffixes() {
        assert_eq!(nanos("1Ki"), Some(1024 * NANOS_PER_UNIT));
        assert_eq!(nanos("1Mi"), Some((1 << 20) * NANOS_PER_UNIT));
        assert_eq!(nanos("1Gi"), Some(GI * NANOS_PER_UNIT));
        assert_eq!(nanos("1Ti"), Some((1 << 40) * NANOS_PER_UNIT));
        assert_eq!(nanos("1Pi"), Some((1 << 50) * NANOS_PER_UNIT));
        assert_eq!(nanos("1.5Gi"), Some(3 * (GI / 2) * NANOS_PER_UNIT));
        assert_eq!(nanos("7Ei"), Some(7 * (1 << 60) * NANOS_PER_UNIT));
    }

    #[test]
    fn exponents() {
        assert_eq!(nanos("1e3"), Some(1_000 * NANOS_PER_UNIT));
        assert_eq!(nanos("1E3"), Some(1_000 * NANOS_PER_UNIT));
        assert_eq!(nanos("1e+3"), Some(1_000 * NANOS_PER_UNIT));
        assert_eq!(nanos("15e-1"), Some(1_500_000_000));
        assert_eq!(nanos("1.5e2"), Some(150 * NANOS_PER_UNIT));
    }

    #[test]
    fn rounds_up_below_a_nano_and_caps_at_the_int64_maximum() {
        assert_eq!(nanos("0.1n"), Some(1));
        assert_eq!(nanos("1.0000000001"), Some(NANOS_PER_UNIT + 1));
        assert_eq!(nanos("-0.1n"), Some(-1));
        assert_eq!(nanos("1e-999999999999999999999"), Some(1));
        assert_eq!(nanos("0e-5"), Some(0));
        assert_eq!(nanos("8Ei"), Some(MAX_NANOS));
        assert_eq!(nanos("1e100"), Some(MAX_NANOS));
        assert_eq!(
            nanos("99999999999999999999999999999999999999999999"),
            Some(MAX_NANOS)
        );
        assert_eq!(nanos("-1e99999999999999999999999"), Some(-MAX_NANOS));
        assert_eq!(nanos("9223372036854775807"), Some(MAX_NANOS));
    }

    #[test]
    fn rejects_what_is_not_a_quantity() {
        for text in [
            "", " ", "-", "+", ".", "Gi", "1 Gi", "1gi", "1KB", "1e", "1e+", "1e1.5", "1.2.3",
            "--1", "1Gii", "abc", "1i", "0x10",
        ] {
            assert_eq!(nanos(text), None, "{text:?}");
        }
    }

    #[test]
    fn compares_semantically() {
        let q = |s: &str| Quantity(s.to_string());
        assert!(same_quantity(&q("1Gi"), &q("1024Mi")));
        assert!(same_quantity(&q("1000m"), &q("1")));
        assert!(same_quantity(&q("1e3"), &q("1k")));
        assert!(!same_quantity(&q("1G"), &q("1Gi")));
        assert!(same_quantity(&q("junk"), &q("junk")));
        assert!(!same_quantity(&q("junk"), &q("1")));
        let (small, large) = (parse_quantity("10Gi"), parse_quantity("20Gi"));
        assert!(small < large);
        assert_eq!(
            parse_quantity("1Gi").map(|v| v.cmp(&QuantityValue::ZERO)),
            Some(std::cmp::Ordering::Greater)
        );
    }

    #[test]
    fn sign_helpers_and_units() {
        let value = |s: &str| parse_quantity(s).unwrap_or_default();
        assert!(value("1m").is_positive());
        assert!(value("-1m").is_negative());
        assert!(value("0Gi").is_zero());
        assert_eq!(value("1500m").ceil_units(), 2);
        assert_eq!(value("-1500m").ceil_units(), -1);
        assert_eq!(value("1Ki").ceil_units(), 1024);
        assert_eq!(value("1Ki").to_string(), "1024");
        assert_eq!(value("-250m").to_string(), "-0.25");
    }
}
