//! Exact money: prices are decimals (`rust_decimal`), amounts are whole
//! picodollars (10⁻¹² USD) in an `i64`, and sums are integer additions.
//!
//! Why picodollars: a price of $0.1375 per million tokens (Haiku 5.5's 5-minute
//! cache write with the 10% regional premium) is 137,500 picodollars per token,
//! so every per-token cost of a price with up to six decimals is a whole number
//! and a request's cost is exact. An `i64` holds about 9.2 million dollars, far
//! above any ledger a person runs. SQLite stores it as an INTEGER and sums it
//! exactly, which a REAL column (an f64) does not.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize, Serializer};

/// Picodollars in one US dollar.
const PICO_PER_USD: i64 = 1_000_000_000_000;

/// An exact amount of US dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(from = "f64")]
pub struct Usd {
    picodollars: i64,
}

impl Usd {
    pub const ZERO: Usd = Usd { picodollars: 0 };

    pub const fn from_picodollars(picodollars: i64) -> Usd {
        Usd { picodollars }
    }

    pub const fn picodollars(self) -> i64 {
        self.picodollars
    }

    /// `dollars` rounded half-to-even to the picodollar, saturating at the
    /// `i64` range.
    pub fn from_decimal(dollars: Decimal) -> Usd {
        let pico = (dollars * Decimal::from(PICO_PER_USD)).round();
        Usd {
            picodollars: pico.to_i64().unwrap_or(if pico.is_sign_negative() {
                i64::MIN
            } else {
                i64::MAX
            }),
        }
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::from_i128_with_scale(i128::from(self.picodollars), 12).normalize()
    }

    /// A dollar amount a person typed (a budget in settings), to the nearest
    /// picodollar; not finite amounts are zero.
    pub fn from_dollars_f64(dollars: f64) -> Usd {
        Decimal::from_f64_retain(dollars)
            .map(|d| Usd::from_decimal(d.round_dp(12)))
            .unwrap_or_default()
    }

    /// For display and ratios only; never summed.
    pub fn to_f64(self) -> f64 {
        decimal_to_f64(self.to_decimal())
    }

    pub fn saturating_sub(self, other: Usd) -> Usd {
        Usd::from_picodollars(self.picodollars.saturating_sub(other.picodollars))
    }
}

impl From<f64> for Usd {
    fn from(dollars: f64) -> Usd {
        Usd::from_dollars_f64(dollars)
    }
}

impl Add for Usd {
    type Output = Usd;
    fn add(self, other: Usd) -> Usd {
        Usd::from_picodollars(self.picodollars.saturating_add(other.picodollars))
    }
}

impl Sub for Usd {
    type Output = Usd;
    fn sub(self, other: Usd) -> Usd {
        self.saturating_sub(other)
    }
}

impl AddAssign for Usd {
    fn add_assign(&mut self, other: Usd) {
        *self = *self + other;
    }
}

impl Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(iter: I) -> Usd {
        iter.fold(Usd::ZERO, Add::add)
    }
}

/// The amount in dollars without a sign, honouring width and precision
/// (`{:>10.4}` rounds half-to-even to 4 decimals).
impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_decimal(), f)
    }
}

/// A JSON number with the amount's exact decimal digits (`27.5`, not
/// `27.500000000000004`).
impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_decimal(&self.to_decimal(), s)
    }
}

/// Serializes a decimal as a JSON number that prints its own digits.
///
/// The decimal's text is parsed to the nearest f64, and serde_json prints the
/// shortest text that reads back as that f64 — which is the decimal's own
/// text whenever it has at most 15 significant digits (every price and any
/// cost below $1000). A string would be exact at any length, but clients of
/// `models --json` and the dashboard expect numbers.
pub fn serialize_decimal<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let d = d.normalize();
    match d.to_i64() {
        // Whole amounts print as integers (`22`, not `22.0`).
        Some(whole) if d.scale() == 0 => s.serialize_i64(whole),
        _ => s.serialize_f64(decimal_to_f64(d)),
    }
}

fn decimal_to_f64(d: Decimal) -> f64 {
    d.normalize().to_string().parse().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn decimals_print_their_own_digits_in_json() {
        // 25 × 1.1 in f64 is 27.500000000000004.
        let price = dec("25") * dec("1.1");
        assert_eq!(price, dec("27.5"));
        #[derive(Serialize)]
        struct P {
            #[serde(serialize_with = "serialize_decimal")]
            p: Decimal,
        }
        assert_eq!(
            serde_json::to_string(&P { p: price }).unwrap(),
            r#"{"p":27.5}"#
        );
        let amount = Usd::from_decimal(dec("0.1375"));
        assert_eq!(serde_json::to_string(&amount).unwrap(), "0.1375");
    }

    #[test]
    fn sums_are_exact() {
        // 0.1 + 0.2 != 0.3 in f64; ten thousand cents make exactly $100.
        let cent = Usd::from_decimal(dec("0.01"));
        let total: Usd = std::iter::repeat_n(cent, 10_000).sum();
        assert_eq!(total, Usd::from_decimal(dec("100")));
        assert_eq!(total.picodollars(), 100 * PICO_PER_USD);
        assert_eq!(
            Usd::from_decimal(dec("0.1")) + Usd::from_decimal(dec("0.2")),
            Usd::from_decimal(dec("0.3"))
        );
    }

    #[test]
    fn typed_dollars_and_display() {
        assert_eq!(Usd::from_dollars_f64(0.3), Usd::from_decimal(dec("0.3")));
        assert_eq!(Usd::from_dollars_f64(f64::NAN), Usd::ZERO);
        assert_eq!(Usd::from_decimal(dec("1.25")).to_string(), "1.25");
        assert_eq!(
            format!("{:>7.1}", Usd::from_decimal(dec("1.25"))),
            "    1.2"
        );
    }
}
