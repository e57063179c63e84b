//! Spending caps: the running totals the hot path reads, the pre-request
//! check, and the 80% / 100% events.
//!
//! Totals are kept in memory per UTC day ([`Accounts`]), loaded from the
//! database when the ledger opens and updated by every `record`, so checking
//! a budget costs a mutex and a few additions, never a query. A row counts
//! for the UTC day (and month) its request *started* (`at_ms`), in the totals
//! and in the reports alike, so the two always agree: a stream started at
//! 23:59 UTC and finished after midnight is yesterday's spend. Nothing has to
//! happen at midnight: the new day simply has no entry yet.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::utc;
use super::{Ledger, LedgerEvent};
use crate::money::Usd;
use crate::settings::Budgets;

/// Fraction of a cap at which [`LedgerEvent::BudgetWarning`] is sent, as
/// numerator / denominator so the comparison stays in exact integers.
pub const WARNING_FRACTION: (i128, i128) = (4, 5);

/// Days of per-day totals kept in memory: this month and last, at least.
const DAYS_KEPT: i64 = 62;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    /// The current UTC day.
    Daily,
    /// The current UTC calendar month.
    Monthly,
}

/// Spend so far in the periods budgets apply to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PeriodSpend {
    pub today_usd: Usd,
    pub month_usd: Usd,
}

/// Why a request was refused before it was sent upstream.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct BudgetExceeded {
    pub period: BudgetPeriod,
    pub spent_usd: Usd,
    pub limit_usd: Usd,
}

/// Checks requests against the caps in settings.
///
/// Building a guard also gives the caps to its ledger, which announces
/// crossings on [`Ledger::subscribe`]: build a new guard when the settings
/// change (the newest guard's caps are the ones announced against).
#[derive(Debug, Clone)]
pub struct BudgetGuard {
    ledger: Ledger,
}

impl BudgetGuard {
    pub fn new(budgets: &Budgets, ledger: Ledger) -> Self {
        ledger.accounts().set_budgets(budgets);
        BudgetGuard { ledger }
    }

    /// Call before sending a request: `Err` once this month's or today's
    /// spend has reached its cap. The monthly cap is reported first when both
    /// are reached, since raising only the daily one would not help.
    pub fn check(&self, now_ms: i64) -> Result<(), BudgetExceeded> {
        self.ledger.accounts().exceeded(now_ms).map_or(Ok(()), Err)
    }
}

impl fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, so_far, field, reset) = match self.period {
            BudgetPeriod::Daily => ("daily", "today", "daily_usd", "00:00 UTC"),
            BudgetPeriod::Monthly => (
                "monthly",
                "this month",
                "monthly_usd",
                "00:00 UTC on the 1st of next month",
            ),
        };
        write!(
            f,
            "{name} budget reached: ${:.2} spent {so_far} (UTC) of the ${:.2} limit; \
             raise budgets.{field} in settings (Settings window → Budgets) or wait until {reset}",
            self.spent_usd.to_f64(),
            self.limit_usd.to_f64()
        )
    }
}

/// Per-day totals plus what has been announced, behind the ledger's mutex.
#[derive(Debug, Default)]
pub(super) struct Accounts {
    /// UTC day → USD spent by requests started that day.
    days: BTreeMap<i64, Usd>,
    budgets: Budgets,
    daily: Announced,
    monthly: Announced,
}

/// The highest level announced for one period instance (one day, one month).
#[derive(Debug, Default, Clone, Copy)]
struct Announced {
    period_key: i64,
    level: Level,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    #[default]
    Under,
    Warning,
    Exceeded,
}

impl Accounts {
    pub(super) fn from_days(days: BTreeMap<i64, Usd>) -> Self {
        Accounts {
            days,
            ..Accounts::default()
        }
    }

    /// Adds a row's cost and returns the budget events it causes: a period
    /// reaching 80% or 100% of its cap for the first time (per process).
    pub(super) fn add(&mut self, at_ms: i64, cost_usd: Usd) -> Vec<LedgerEvent> {
        let day = utc::day_of(at_ms);
        *self.days.entry(day).or_default() += cost_usd;
        if let Some(&newest) = self.days.keys().next_back()
            && self.days.len() > DAYS_KEPT as usize
        {
            self.days.retain(|d, _| *d > newest - DAYS_KEPT);
        }
        let spend = self.period_spend(at_ms);
        let mut events = Vec::new();
        let checks = [
            (
                BudgetPeriod::Daily,
                self.budgets.daily_usd,
                spend.today_usd,
                day,
            ),
            (
                BudgetPeriod::Monthly,
                self.budgets.monthly_usd,
                spend.month_usd,
                utc::month_key(day),
            ),
        ];
        for (period, limit, spent, key) in checks {
            let Some(limit_usd) = limit.map(Usd::from_dollars_f64) else {
                continue;
            };
            let announced = match period {
                BudgetPeriod::Daily => &mut self.daily,
                BudgetPeriod::Monthly => &mut self.monthly,
            };
            let level = level(spent, limit_usd);
            if announced.raise(key, level) {
                events.push(match level {
                    Level::Exceeded => LedgerEvent::BudgetExceeded {
                        period,
                        spent_usd: spent,
                        limit_usd,
                    },
                    _ => LedgerEvent::BudgetWarning {
                        period,
                        spent_usd: spent,
                        limit_usd,
                    },
                });
            }
        }
        events
    }

    pub(super) fn period_spend(&self, now_ms: i64) -> PeriodSpend {
        let today = utc::day_of(now_ms);
        PeriodSpend {
            today_usd: self.days.get(&today).copied().unwrap_or_default(),
            month_usd: self
                .days
                .range(utc::month_start(today)..=today)
                .map(|(_, usd)| *usd)
                .sum(),
        }
    }

    /// New caps; announcements start over if they changed, so raising a cap
    /// that was reached warns again at 80% of the new one.
    pub(super) fn set_budgets(&mut self, budgets: &Budgets) {
        if self.budgets != *budgets {
            self.budgets = budgets.clone();
            self.daily = Announced::default();
            self.monthly = Announced::default();
        }
    }

    pub(super) fn exceeded(&self, now_ms: i64) -> Option<BudgetExceeded> {
        let spend = self.period_spend(now_ms);
        [
            (
                BudgetPeriod::Monthly,
                self.budgets.monthly_usd,
                spend.month_usd,
            ),
            (BudgetPeriod::Daily, self.budgets.daily_usd, spend.today_usd),
        ]
        .into_iter()
        .find_map(|(period, limit, spent_usd)| {
            let limit_usd = Usd::from_dollars_f64(limit?);
            (level(spent_usd, limit_usd) == Level::Exceeded).then_some(BudgetExceeded {
                period,
                spent_usd,
                limit_usd,
            })
        })
    }
}

impl Announced {
    /// Notes that period `key` is at `level`; true when that is news: a
    /// higher level than announced so far for the period. A row for an
    /// earlier period than the tracked one (a late arrival) is never news.
    fn raise(&mut self, key: i64, level: Level) -> bool {
        if key < self.period_key {
            return false;
        }
        if key > self.period_key {
            *self = Announced {
                period_key: key,
                level: Level::Under,
            };
        }
        let news = level > self.level;
        self.level = self.level.max(level);
        news
    }
}

fn level(spent: Usd, limit: Usd) -> Level {
    let (num, den) = WARNING_FRACTION;
    if spent >= limit {
        Level::Exceeded
    } else if i128::from(spent.picodollars()) * den >= i128::from(limit.picodollars()) * num {
        Level::Warning
    } else {
        Level::Under
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(dollars: f64) -> Usd {
        Usd::from_dollars_f64(dollars)
    }

    /// 2025-01-31T12:00:00Z: the last day of a month.
    const JAN_31_NOON: i64 = 1_738_324_800_000;

    fn caps(daily: Option<f64>, monthly: Option<f64>) -> Accounts {
        let mut a = Accounts::default();
        a.set_budgets(&Budgets {
            daily_usd: daily,
            monthly_usd: monthly,
        });
        a
    }

    #[test]
    fn totals_roll_over_at_utc_midnight_and_on_the_first() {
        assert_eq!(utc::date(utc::day_of(JAN_31_NOON)), "2025-01-31");
        let mut a = Accounts::default();
        a.add(JAN_31_NOON - utc::DAY_MS, usd(1.0)); // Jan 30
        a.add(JAN_31_NOON, usd(2.0));
        let midnight = (utc::day_of(JAN_31_NOON) + 1) * utc::DAY_MS;
        a.add(midnight - 1, usd(4.0)); // 23:59:59.999 Jan 31
        assert_eq!(
            a.period_spend(midnight - 1),
            PeriodSpend {
                today_usd: usd(6.0),
                month_usd: usd(7.0)
            }
        );
        assert_eq!(
            a.period_spend(midnight),
            PeriodSpend {
                today_usd: usd(0.0),
                month_usd: usd(0.0)
            }
        );
        a.add(midnight, usd(8.0)); // Feb 1
        assert_eq!(
            a.period_spend(midnight),
            PeriodSpend {
                today_usd: usd(8.0),
                month_usd: usd(8.0)
            }
        );
    }

    #[test]
    fn events_fire_once_per_level_and_again_in_the_next_period() {
        let mut a = caps(Some(10.0), None);
        assert!(a.add(JAN_31_NOON, usd(7.9)).is_empty());
        assert_eq!(
            a.add(JAN_31_NOON, usd(0.1)),
            vec![LedgerEvent::BudgetWarning {
                period: BudgetPeriod::Daily,
                spent_usd: usd(8.0),
                limit_usd: usd(10.0)
            }]
        );
        assert!(a.add(JAN_31_NOON, usd(1.0)).is_empty());
        assert!(matches!(
            a.add(JAN_31_NOON, usd(5.0))[..],
            [LedgerEvent::BudgetExceeded {
                period: BudgetPeriod::Daily,
                ..
            }]
        ));
        assert!(a.add(JAN_31_NOON, usd(5.0)).is_empty());
        // A late row for yesterday does not re-arm today's announcements.
        assert!(a.add(JAN_31_NOON - utc::DAY_MS, usd(20.0)).is_empty());
        // Next day: a jump straight past the cap is one Exceeded, no Warning.
        let next_day = JAN_31_NOON + utc::DAY_MS;
        assert!(matches!(
            a.add(next_day, usd(12.0))[..],
            [LedgerEvent::BudgetExceeded { .. }]
        ));
    }

    #[test]
    fn raising_a_reached_cap_rearms_the_warning() {
        let mut a = caps(Some(10.0), None);
        assert_eq!(a.add(JAN_31_NOON, usd(10.0)).len(), 1);
        assert!(a.exceeded(JAN_31_NOON).is_some());
        a.set_budgets(&Budgets {
            daily_usd: Some(20.0),
            monthly_usd: None,
        });
        assert!(a.exceeded(JAN_31_NOON).is_none());
        assert!(a.add(JAN_31_NOON, usd(5.0)).is_empty()); // 75%
        assert!(matches!(
            a.add(JAN_31_NOON, usd(1.0))[..],
            [LedgerEvent::BudgetWarning { .. }]
        ));
        // Saving unchanged caps does not re-announce.
        a.set_budgets(&Budgets {
            daily_usd: Some(20.0),
            monthly_usd: None,
        });
        assert!(a.add(JAN_31_NOON, usd(0.5)).is_empty());
    }

    #[test]
    fn monthly_cap_is_reported_before_daily() {
        let mut a = caps(Some(1.0), Some(5.0));
        a.add(JAN_31_NOON - utc::DAY_MS, usd(4.5));
        let exceeded = a.exceeded(JAN_31_NOON);
        assert!(exceeded.is_none(), "{exceeded:?}");
        a.add(JAN_31_NOON, usd(0.6));
        assert_eq!(
            a.exceeded(JAN_31_NOON).map(|e| e.period),
            Some(BudgetPeriod::Monthly)
        );
        // Next month: monthly resets, the daily total is the new day's only.
        assert!(a.exceeded(JAN_31_NOON + utc::DAY_MS).is_none());
    }

    #[test]
    fn message_names_budget_spend_limit_and_remedy() {
        let daily = BudgetExceeded {
            period: BudgetPeriod::Daily,
            spent_usd: usd(10.004),
            limit_usd: usd(10.0),
        }
        .to_string();
        assert_eq!(
            daily,
            "daily budget reached: $10.00 spent today (UTC) of the $10.00 limit; raise \
             budgets.daily_usd in settings (Settings window → Budgets) or wait until 00:00 UTC"
        );
        let monthly = BudgetExceeded {
            period: BudgetPeriod::Monthly,
            spent_usd: usd(123.456),
            limit_usd: usd(100.0),
        }
        .to_string();
        assert!(monthly.starts_with("monthly budget reached: $123.46 spent this month"));
        assert!(monthly.contains("budgets.monthly_usd"));
    }
}
