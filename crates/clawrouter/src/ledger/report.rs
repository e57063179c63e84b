//! Spend summaries for the dashboard and `clawrouter usage`.
//!
//! Windows are whole UTC days ending with today: "today" is the current UTC
//! day, "last 7 days" is today and the 6 days before it, "last 30 days" today
//! and the 29 before. Rows dated after today (a clock set back) are left out.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use rust_decimal::Decimal;
use serde::Serialize;

use super::clients::client_name;
use super::schema::{self, ROW_COLUMNS};
use super::{LedgerError, RequestRow, utc};
use crate::catalog::Tier;
use crate::money::Usd;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageSummary {
    /// One entry per (model, profile) used in the last 30 days, costliest first.
    pub per_model: Vec<ModelSpend>,
    /// Low, mid, top, then `tier: null` for requests that named a model.
    pub per_tier: Vec<TierSpend>,
    pub total: Spend,
    /// Spend per client tool, named from its User-Agent (see
    /// [`client_name`]), costliest first.
    pub per_client: Vec<ClientSpend>,
    /// Spend, savings and cache use today, over 7 and over 30 days.
    pub periods: Periods,
    /// This UTC month's spend so far plus the recent pace (average spend per
    /// day from the first day with requests in the last 7 days, else 30,
    /// through today) for each day left in the month after today.
    pub projected_monthly_usd: Usd,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spend {
    pub today_usd: Usd,
    pub last_7d_usd: Usd,
    pub last_30d_usd: Usd,
    pub requests_30d: u64,
    /// Uncached input tokens, as Bedrock reports `inputTokens`.
    pub input_tokens_30d: u64,
    pub output_tokens_30d: u64,
    pub cache_read_tokens_30d: u64,
    pub cache_write_tokens_30d: u64,
    /// Requests to models whose price is unknown (discovered ones): in
    /// `requests_30d` and the token counts, not in any dollar figure.
    pub unpriced_requests_30d: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSpend {
    pub model: String,
    /// The same model through a `us.` and a `global.` profile are two entries,
    /// which shows what the regional premium costs.
    pub profile_id: String,
    pub spend: Spend,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientSpend {
    /// `Claude Code`, `Codex`, `openai-python`, … or the agent's own name.
    pub client: String,
    pub spend: Spend,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Periods {
    pub today: PeriodTotals,
    pub last_7d: PeriodTotals,
    pub last_30d: PeriodTotals,
}

/// One window's money and tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PeriodTotals {
    pub spent_usd: Usd,
    /// Over routed requests (`model: auto` and tier names): what the same
    /// tokens would have cost on the top tier's model, minus what they cost.
    pub saved_by_routing_usd: Usd,
    /// Cache reads × (input rate − cache read rate), over every request.
    pub saved_by_caching_usd: Usd,
    pub requests: u64,
    /// Uncached input tokens.
    pub input_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// Share of all input tokens (uncached, cache read, cache write) served
    /// from the cache, 0 to 1; 0 without input. A ratio for display.
    pub cache_read_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierSpend {
    /// `None`: the client asked for a specific model, no tier was routed.
    pub tier: Option<Tier>,
    pub spend: Spend,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DaySpend {
    /// UTC date, `YYYY-MM-DD`.
    pub date: String,
    pub usd: Usd,
    pub requests: u64,
}

pub(super) fn summary(conn: &Connection, now_ms: i64) -> Result<UsageSummary, LedgerError> {
    let today = utc::day_of(now_ms);
    let (start, end) = window(today, 30);
    let mut stmt = conn.prepare_cached(
        "SELECT model, profile_id, tier, client,
                coalesce(sum(CASE WHEN at_ms >= ?3 THEN cost_pusd END), 0),
                coalesce(sum(CASE WHEN at_ms >= ?4 THEN cost_pusd END), 0),
                coalesce(sum(cost_pusd), 0), count(*),
                sum(input_tokens), sum(output_tokens),
                sum(cache_read_tokens), sum(cache_write_tokens),
                sum(CASE WHEN price_known THEN 0 ELSE 1 END)
         FROM requests WHERE at_ms >= ?1 AND at_ms < ?2
         GROUP BY model, profile_id, tier, client",
    )?;
    let groups = stmt.query_map(
        params![start, end, window(today, 1).0, window(today, 7).0],
        |r| {
            let spend = Spend {
                today_usd: Usd::from_picodollars(r.get(4)?),
                last_7d_usd: Usd::from_picodollars(r.get(5)?),
                last_30d_usd: Usd::from_picodollars(r.get(6)?),
                requests_30d: r.get(7)?,
                input_tokens_30d: r.get(8)?,
                output_tokens_30d: r.get(9)?,
                cache_read_tokens_30d: r.get(10)?,
                cache_write_tokens_30d: r.get(11)?,
                unpriced_requests_30d: r.get(12)?,
            };
            let tier: Option<String> = r.get(2)?;
            let tier = tier.and_then(|t| Tier::ALL.into_iter().find(|k| k.as_str() == t));
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                tier,
                client_name(&r.get::<_, String>(3)?),
                spend,
            ))
        },
    )?;

    let mut per_model: BTreeMap<(String, String), Spend> = BTreeMap::new();
    // `Option<Tier>` orders None first; the dashboard wants it last.
    let mut per_tier: BTreeMap<(bool, Option<Tier>), Spend> = BTreeMap::new();
    let mut per_client: BTreeMap<String, Spend> = BTreeMap::new();
    let mut total = Spend::default();
    for group in groups {
        let (model, tier, client, spend) = group?;
        per_model.entry(model).or_default().add(&spend);
        per_client.entry(client).or_default().add(&spend);
        per_tier
            .entry((tier.is_none(), tier))
            .or_default()
            .add(&spend);
        total.add(&spend);
    }
    let mut per_model: Vec<ModelSpend> = per_model
        .into_iter()
        .map(|((model, profile_id), spend)| ModelSpend {
            model,
            profile_id,
            spend,
        })
        .collect();
    per_model.sort_by_key(|m| std::cmp::Reverse(m.spend.last_30d_usd));
    let mut per_client: Vec<ClientSpend> = per_client
        .into_iter()
        .map(|(client, spend)| ClientSpend { client, spend })
        .collect();
    per_client.sort_by_key(|c| std::cmp::Reverse(c.spend.last_30d_usd));
    let period = |days| period_totals(conn, window(today, days));
    Ok(UsageSummary {
        per_model,
        per_tier: per_tier
            .into_iter()
            .map(|((_, tier), spend)| TierSpend { tier, spend })
            .collect(),
        total,
        per_client,
        periods: Periods {
            today: period(1)?,
            last_7d: period(7)?,
            last_30d: period(30)?,
        },
        projected_monthly_usd: projected_monthly_usd(today, &daily_spend(conn, now_ms, 31)?),
    })
}

/// Totals over `[start, end)` unix ms. Routing savings count routed rows
/// only: a request that named its model chose its own price.
fn period_totals(conn: &Connection, (start, end): (i64, i64)) -> Result<PeriodTotals, LedgerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(sum(cost_pusd), 0),
                coalesce(sum(CASE WHEN tier IS NOT NULL THEN top_tier_cost_pusd - cost_pusd END), 0),
                coalesce(sum(cache_saved_pusd), 0), count(*),
                coalesce(sum(input_tokens), 0), coalesce(sum(cache_read_tokens), 0),
                coalesce(sum(cache_write_tokens), 0)
         FROM requests WHERE at_ms >= ?1 AND at_ms < ?2",
    )?;
    let mut totals = stmt.query_row(params![start, end], |r| {
        Ok(PeriodTotals {
            spent_usd: Usd::from_picodollars(r.get(0)?),
            saved_by_routing_usd: Usd::from_picodollars(r.get(1)?),
            saved_by_caching_usd: Usd::from_picodollars(r.get(2)?),
            requests: r.get(3)?,
            input_tokens: r.get(4)?,
            cache_read_tokens: r.get(5)?,
            cache_write_tokens: r.get(6)?,
            cache_read_share: 0.0,
        })
    })?;
    let all_input = totals.input_tokens + totals.cache_read_tokens + totals.cache_write_tokens;
    if all_input > 0 {
        // Token counts stay far below 2^53, so the conversion is exact.
        totals.cache_read_share = totals.cache_read_tokens as f64 / all_input as f64;
    }
    Ok(totals)
}

/// The last `days` UTC days ending today, oldest first, days without
/// requests included as zero.
pub(super) fn daily_spend(
    conn: &Connection,
    now_ms: i64,
    days: u32,
) -> Result<Vec<DaySpend>, LedgerError> {
    let today = utc::day_of(now_ms);
    let (start, end) = window(today, days);
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms / ?3, coalesce(sum(cost_pusd), 0), count(*) FROM requests
         WHERE at_ms >= ?1 AND at_ms < ?2 GROUP BY 1",
    )?;
    let mut found: BTreeMap<i64, (Usd, u64)> = BTreeMap::new();
    for day in stmt.query_map(params![start, end, utc::DAY_MS], |r| {
        Ok((r.get(0)?, (Usd::from_picodollars(r.get(1)?), r.get(2)?)))
    })? {
        let (day, spend) = day?;
        found.insert(day, spend);
    }
    Ok((today + 1 - i64::from(days)..=today)
        .map(|day| {
            let (usd, requests) = found.get(&day).copied().unwrap_or_default();
            DaySpend {
                date: utc::date(day),
                usd,
                requests,
            }
        })
        .collect())
}

pub(super) fn recent(conn: &Connection, limit: usize) -> Result<Vec<RequestRow>, LedgerError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM requests ORDER BY at_ms DESC, id DESC LIMIT ?1"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map([limit], schema::read_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Per-day totals from `since_day` on, for the budget running totals.
pub(super) fn day_totals(
    conn: &Connection,
    since_day: i64,
) -> Result<BTreeMap<i64, Usd>, LedgerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms / ?2, coalesce(sum(cost_pusd), 0) FROM requests WHERE at_ms >= ?1 GROUP BY 1",
    )?;
    let rows = stmt.query_map(params![since_day * utc::DAY_MS, utc::DAY_MS], |r| {
        Ok((r.get(0)?, Usd::from_picodollars(r.get(1)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The month's spend if the recent pace holds: what this UTC month has
/// spent through today, plus the pace for each day left after today. The
/// pace is the spend from the first day with requests in the last 7 days
/// through today, divided by the number of those days. Days without requests
/// after the first one count (a weekend off lowers the pace); days before it
/// do not (a new install is not averaged with days it did not exist). With no
/// requests in 7 days, the same over 30 days; with none in 30, zero.
/// `last_31_days` ends with `today`, so it covers the whole month so far.
fn projected_monthly_usd(today: i64, last_31_days: &[DaySpend]) -> Usd {
    let pace = |days: &[DaySpend]| {
        let first = days.iter().position(|d| d.requests > 0)?;
        let used = &days[first..];
        let spent: Usd = used.iter().map(|d| d.usd).sum();
        Some(spent.to_decimal() / Decimal::from(used.len()))
    };
    let last = |n: usize| &last_31_days[last_31_days.len().saturating_sub(n)..];
    let pace = pace(last(7)).or_else(|| pace(last(30))).unwrap_or_default();
    let elapsed = usize::try_from(today - utc::month_start(today) + 1).unwrap_or(0);
    let month_to_date: Usd = last(elapsed).iter().map(|d| d.usd).sum();
    let days_left = utc::next_month_start(today) - today - 1;
    Usd::from_decimal(month_to_date.to_decimal() + pace * Decimal::from(days_left))
}

/// `[start, end)` in unix ms of the `days` UTC days ending with `today`.
fn window(today: i64, days: u32) -> (i64, i64) {
    (
        (today + 1 - i64::from(days)) * utc::DAY_MS,
        (today + 1) * utc::DAY_MS,
    )
}

impl Spend {
    fn add(&mut self, other: &Spend) {
        self.today_usd += other.today_usd;
        self.last_7d_usd += other.last_7d_usd;
        self.last_30d_usd += other.last_30d_usd;
        self.requests_30d += other.requests_30d;
        self.input_tokens_30d += other.input_tokens_30d;
        self.output_tokens_30d += other.output_tokens_30d;
        self.cache_read_tokens_30d += other.cache_read_tokens_30d;
        self.cache_write_tokens_30d += other.cache_write_tokens_30d;
        self.unpriced_requests_30d += other.unpriced_requests_30d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(dollars: f64) -> Usd {
        Usd::from_dollars_f64(dollars)
    }

    fn days(spend: &[(f64, u64)]) -> Vec<DaySpend> {
        let mut out = vec![
            DaySpend {
                date: String::new(),
                usd: Usd::ZERO,
                requests: 0
            };
            31 - spend.len()
        ];
        out.extend(spend.iter().map(|&(dollars, requests)| DaySpend {
            date: String::new(),
            usd: usd(dollars),
            requests,
        }));
        out
    }

    /// 2025-04-30, the last day of a 30-day month, and 2025-04-10.
    const APRIL_30: i64 = 20_208;
    const APRIL_10: i64 = APRIL_30 - 20;

    #[test]
    fn projection_is_month_to_date_plus_the_pace_for_the_days_left() {
        assert_eq!(utc::date(APRIL_30), "2025-04-30");
        assert_eq!(projected_monthly_usd(APRIL_10, &days(&[])), usd(0.0));
        // Only today: today's spend, then today's pace for the 20 days left.
        assert_eq!(
            projected_monthly_usd(APRIL_10, &days(&[(2.0, 3)])),
            usd(42.0)
        );
        // Active 3 days ago, idle since: $4 so far, $1/day pace for 20 days.
        assert_eq!(
            projected_monthly_usd(APRIL_10, &days(&[(4.0, 1), (0.0, 0), (0.0, 0), (0.0, 0)])),
            usd(24.0)
        );
        // A $0 day with (failed) requests starts the span too.
        assert_eq!(
            projected_monthly_usd(APRIL_10, &days(&[(0.0, 5), (3.0, 1)])),
            usd(3.0 + 1.5 * 20.0)
        );
        // On the last day of the month the projection is what was spent.
        let month: Vec<(f64, u64)> = (0..30).map(|_| (0.5, 1)).collect();
        assert_eq!(projected_monthly_usd(APRIL_30, &days(&month)), usd(15.0));
        // Spend in March does not count towards April.
        let mut with_march = days(&[(1.0, 1)]);
        with_march[0].usd = usd(100.0);
        with_march[0].requests = 1;
        assert_eq!(projected_monthly_usd(APRIL_30, &with_march), usd(1.0));
        // Older activity only: the 30-day rule, from its first active day.
        let mut old = days(&[]);
        old[21] = DaySpend {
            date: String::new(),
            usd: usd(10.0),
            requests: 1,
        };
        assert_eq!(projected_monthly_usd(APRIL_10, &old), usd(10.0 + 20.0));
    }
}
