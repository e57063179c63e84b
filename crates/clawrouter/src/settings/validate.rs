//! Settings validation: every bad field at once, so a form can mark them all.

use super::{FieldError, Settings};

impl Settings {
    /// Every problem at once, so a settings form can mark all bad fields.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: String, message: &str| {
            errors.push(FieldError {
                field,
                message: message.to_owned(),
            })
        };
        if self.port == 0 {
            fail("port".into(), "must be between 1 and 65535");
        }
        if let Some(region) = &self.region
            && !is_region(region)
        {
            fail(
                "region".into(),
                "must look like an AWS region, e.g. us-east-1 or us-gov-west-1",
            );
        }
        for (field, budget) in [
            ("budgets.daily_usd", self.budgets.daily_usd),
            ("budgets.monthly_usd", self.budgets.monthly_usd),
        ] {
            if budget.is_some_and(|usd| !(usd.is_finite() && usd > 0.0)) {
                fail(
                    field.into(),
                    "must be a positive amount of dollars, or unset for no limit",
                );
            }
        }
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            if !is_exact_origin(origin) {
                fail(
                    format!("allowed_origins[{i}]"),
                    "must be an exact origin like http://localhost:3000 (no path, no wildcard)",
                );
            }
        }
        if self.aws_profile.as_deref().is_some_and(str::is_empty) {
            fail("aws_profile".into(), "must be a profile name, or unset");
        }
        for (field, zero) in [
            ("max_body_bytes", self.max_body_bytes == 0),
            ("upstream_timeout_secs", self.upstream_timeout_secs == 0),
            ("first_byte_timeout_secs", self.first_byte_timeout_secs == 0),
            (
                "stream_idle_timeout_secs",
                self.stream_idle_timeout_secs == 0,
            ),
            ("client_timeout_secs", self.client_timeout_secs == 0),
        ] {
            if zero {
                fail(field.into(), "must be greater than 0");
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// `^[a-z]{2}(-gov)?-[a-z]+-\d$`, spelled out to avoid a fallible regex build.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let (country, middle, number) = match parts.as_slice() {
        [c, m, n] => (c, m, n),
        [c, "gov", m, n] => (c, m, n),
        _ => return false,
    };
    country.len() == 2
        && lower(country)
        && lower(middle)
        && number.len() == 1
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// `scheme://host[:port]` exactly: what browsers send in `Origin`.
fn is_exact_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let (host, port) = match authority.rsplit_once(':') {
        // `[::1]` alone has colons but no port.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    scheme_ok && host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(settings: &Settings) -> Vec<String> {
        settings
            .validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn each_field_is_validated() {
        assert_eq!(fields(&Settings::default()), Vec::<String>::new());
        let bad = |f: fn(&mut Settings)| {
            let mut s = Settings::default();
            f(&mut s);
            fields(&s)
        };
        assert_eq!(bad(|s| s.port = 0), ["port"]);
        for region in [
            "us-east",
            "US-EAST-1",
            "useast-1",
            "us-east-12",
            "us-gov-west",
            "",
        ] {
            let s = Settings {
                region: Some(region.into()),
                ..Settings::default()
            };
            assert_eq!(fields(&s), ["region"], "{region}");
        }
        for region in [
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "eu-central-1",
        ] {
            let s = Settings {
                region: Some(region.into()),
                ..Settings::default()
            };
            assert_eq!(fields(&s), Vec::<String>::new(), "{region}");
        }
        assert_eq!(
            bad(|s| s.budgets.daily_usd = Some(0.0)),
            ["budgets.daily_usd"]
        );
        assert_eq!(
            bad(|s| s.budgets.monthly_usd = Some(-1.0)),
            ["budgets.monthly_usd"]
        );
        assert_eq!(
            bad(|s| s.budgets.daily_usd = Some(f64::NAN)),
            ["budgets.daily_usd"]
        );
        assert_eq!(
            bad(|s| s.aws_profile = Some(String::new())),
            ["aws_profile"]
        );
        assert_eq!(bad(|s| s.max_body_bytes = 0), ["max_body_bytes"]);
        assert_eq!(
            bad(|s| s.upstream_timeout_secs = 0),
            ["upstream_timeout_secs"]
        );
        assert_eq!(
            bad(|s| s.stream_idle_timeout_secs = 0),
            ["stream_idle_timeout_secs"]
        );
    }

    #[test]
    fn origins_must_be_exact() {
        let good = [
            "http://localhost:3000",
            "https://example.com",
            "http://127.0.0.1:8080",
            "http://[::1]:5173",
            "vscode-webview://abc123",
        ];
        let bad = [
            "*",
            "http://*.example.com",
            "http://localhost:3000/",
            "http://localhost:3000/path",
            "localhost:3000",
            "http://",
            "http://user@host",
            "http://host:0",
            "http://host:99999",
            "http://host?q",
        ];
        let s = Settings {
            allowed_origins: good.iter().chain(&bad).map(|o| o.to_string()).collect(),
            ..Settings::default()
        };
        let expected: Vec<String> = (good.len()..good.len() + bad.len())
            .map(|i| format!("allowed_origins[{i}]"))
            .collect();
        assert_eq!(fields(&s), expected);
    }

    #[test]
    fn several_errors_are_all_reported() {
        let s = Settings {
            port: 0,
            region: Some("nowhere".into()),
            ..Settings::default()
        };
        assert_eq!(fields(&s), ["port", "region"]);
    }
}
