//! Percentiles and the JSON report.

use std::time::Duration;

use serde_json::{Value, json};

/// One successful request.
pub struct Sample {
    /// Send → last body byte.
    pub total: Duration,
    /// Send → first event carrying model text (streams).
    pub first_content: Option<Duration>,
    pub last_content: Option<Duration>,
    pub content_events: u32,
}

/// Percentiles the plot draws (the report's summary picks a few of them).
const CURVE: &[f64] = &[
    0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 100.0,
];

pub fn report(
    samples: &[Sample],
    errors: u64,
    first_error: Option<String>,
    elapsed: f64,
    stream: bool,
) -> Value {
    let total: Vec<f64> = samples.iter().map(|s| micros(s.total)).collect();
    let mut out = json!({
        "requests": samples.len(),
        "errors": errors,
        "first_error": first_error,
        "elapsed_s": elapsed,
        "rps": samples.len() as f64 / elapsed.max(1e-9),
        "latency_us": summary(&total),
        "latency_curve_us": curve(&total),
    });
    if stream {
        let ttft: Vec<f64> = samples
            .iter()
            .filter_map(|s| s.first_content.map(micros))
            .collect();
        // Time between text events after the first: what each chunk costs.
        let per_chunk: Vec<f64> = samples
            .iter()
            .filter_map(|s| match (s.first_content, s.last_content) {
                (Some(a), Some(b)) if s.content_events > 1 => {
                    Some(micros(b - a) / f64::from(s.content_events - 1))
                }
                _ => None,
            })
            .collect();
        let events: f64 = samples.iter().map(|s| f64::from(s.content_events)).sum();
        out["ttft_us"] = summary(&ttft);
        out["ttft_curve_us"] = curve(&ttft);
        out["per_chunk_us"] = summary(&per_chunk);
        out["content_events_mean"] = json!(events / samples.len().max(1) as f64);
    }
    out
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn summary(values: &[f64]) -> Value {
    let sorted = sorted(values);
    let mean = sorted.iter().sum::<f64>() / sorted.len().max(1) as f64;
    json!({
        "p50": percentile(&sorted, 50.0),
        "p90": percentile(&sorted, 90.0),
        "p99": percentile(&sorted, 99.0),
        "p999": percentile(&sorted, 99.9),
        "max": percentile(&sorted, 100.0),
        "mean": mean,
    })
}

fn curve(values: &[f64]) -> Value {
    let sorted = sorted(values);
    CURVE
        .iter()
        .map(|&p| json!([p, percentile(&sorted, p)]))
        .collect()
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// Nearest-rank percentile; `None` (JSON null) without samples.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}
