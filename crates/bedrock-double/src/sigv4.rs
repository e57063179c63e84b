//! SigV4 verification as Bedrock does it, so a client that signs wrongly (or
//! with the wrong keys) fails here as it would against AWS. Canonicalisation
//! follows the rules verified against the real SDKs: the canonical URI
//! percent-encodes every byte of the raw received path except
//! `A-Za-z0-9-_.~/` (which double-encodes an already-encoded model id and
//! encodes a raw `:`), headers come from `SignedHeaders`, the payload hash is
//! sha256 of the body, and the scope is `date/region/bedrock/aws4_request`
//! with any region.

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::dates;
use crate::errors::{ApiError, ErrorKind};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const SERVICE: &str = "bedrock";

/// The request parts a signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// As received, before any percent-decoding.
    pub raw_path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The fields of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, PartialEq, Eq)]
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

/// Checks the request's signature against `credentials` (id, secret) and
/// returns the region it was signed for (the region the caller is in).
pub fn verify(
    request: &SignedRequest<'_>,
    credentials: &[(String, String)],
) -> Result<String, ApiError> {
    let header = request
        .headers
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::of(ErrorKind::MissingAuthenticationToken))?;
    let auth = header
        .to_str()
        .ok()
        .and_then(parse_authorization)
        .ok_or_else(|| ApiError::of(ErrorKind::UnrecognizedClient))?;
    let secret = credentials
        .iter()
        .find(|(id, _)| id == auth.access_key_id)
        .map(|(_, secret)| secret)
        .ok_or_else(|| ApiError::of(ErrorKind::UnrecognizedClient))?;
    if auth.service != SERVICE {
        return Err(ApiError::new(
            ErrorKind::InvalidSignature,
            format!("Credential should be scoped to correct service: '{SERVICE}'. "),
        ));
    }
    let amz_date = header_value(request.headers, "x-amz-date");
    let day = dates::compact_date_to_time(auth.date).filter(|_| amz_date.starts_with(auth.date));
    let Some(day) = day else {
        return Err(ApiError::of(ErrorKind::InvalidSignature));
    };

    let canonical = canonical_request(request, &auth.signed_headers);
    let scope = format!("{}/{}/{SERVICE}/aws4_request", auth.date, auth.region);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let key = generate_signing_key(secret, day, auth.region, SERVICE);
    let expected = calculate_signature(key, string_to_sign.as_bytes());
    if expected != auth.signature {
        return Err(ApiError::of(ErrorKind::InvalidSignature));
    }
    Ok(auth.region.to_owned())
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let fields = value.strip_prefix(ALGORITHM)?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for field in fields.split(',') {
        match field.trim().split_once('=')? {
            ("Credential", v) => credential = Some(v),
            ("SignedHeaders", v) => signed_headers = Some(v.split(';').collect()),
            ("Signature", v) => signature = Some(v),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let auth = Authorization {
        access_key_id: scope.next()?,
        date: scope.next()?,
        region: scope.next()?,
        service: scope.next()?,
        signed_headers: signed_headers?,
        signature: signature?,
    };
    (scope.next()? == "aws4_request").then_some(auth)
}

fn canonical_request(request: &SignedRequest<'_>, signed_headers: &[&str]) -> String {
    let headers: String = signed_headers
        .iter()
        .map(|name| format!("{name}:{}\n", header_value(request.headers, name)))
        .collect();
    format!(
        "{}\n{}\n{}\n{headers}\n{}\n{}",
        request.method,
        encode_path(request.raw_path),
        canonical_query(request.query.unwrap_or("")),
        signed_headers.join(";"),
        sha256_hex(request.body),
    )
}

/// All values of a header, trimmed, inner whitespace collapsed, comma-joined.
fn header_value(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn encode_path(raw_path: &str) -> String {
    let mut out = String::with_capacity(raw_path.len() * 2);
    for byte in raw_path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Query pairs sorted; the SDKs send them already encoded.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_encoding_double_encodes_and_encodes_raw_colons() {
        assert_eq!(
            encode_path("/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"),
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%253A0/converse-stream"
        );
        assert_eq!(encode_path("/model/a:b/invoke"), "/model/a%3Ab/invoke");
    }

    #[test]
    fn parses_the_authorization_header() {
        let auth = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=abc123",
        )
        .unwrap();
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        assert_eq!(auth.region, "us-east-1");
        assert_eq!(
            auth.signed_headers,
            vec!["content-type", "host", "x-amz-date"]
        );
        assert_eq!(auth.signature, "abc123");
        assert!(parse_authorization("Bearer token").is_none());
    }

    #[test]
    fn missing_and_unknown_credentials_are_told_apart() {
        let headers = HeaderMap::new();
        let request = SignedRequest {
            method: "POST",
            raw_path: "/",
            query: None,
            headers: &headers,
            body: b"",
        };
        let creds = vec![("AKIDEXAMPLE".to_owned(), "secret".to_owned())];
        assert_eq!(
            verify(&request, &creds).unwrap_err().kind,
            ErrorKind::MissingAuthenticationToken
        );

        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=OTHER/20261125/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00"
                .parse()
                .unwrap(),
        );
        let request = SignedRequest {
            headers: &headers,
            ..request
        };
        assert_eq!(
            verify(&request, &creds).unwrap_err().kind,
            ErrorKind::UnrecognizedClient
        );
    }
}
