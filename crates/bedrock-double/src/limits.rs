//! Request limits shared by the Converse and invoke front ends: images and
//! `anthropic_beta` flags.

use crate::errors::ApiError;

/// Bedrock's per-image limit: 3.75 MB decoded.
pub const MAX_IMAGE_BYTES: usize = 3_932_160;
pub const MAX_IMAGES: usize = 20;

/// Beta flags Bedrock's Claude models accept; any other is rejected.
/// `thinking-display-updates-2026-08-18`: Claude Code 2.1.332 sends it in
/// its own Bedrock requests' `anthropic_beta`.
const KNOWN_BETAS: [&str; 14] = [
    crate::rules::DISPLAY_UPDATES_BETA,
    "computer-use-2024-10-22",
    "computer-use-2025-01-24",
    "token-efficient-tools-2025-02-19",
    "interleaved-thinking-2025-05-14",
    "output-128k-2025-02-19",
    "dev-full-thinking-2025-05-14",
    "context-1m-2025-08-07",
    "context-management-2025-06-27",
    "effort-2025-11-24",
    "tool-search-tool-2025-10-19",
    "tool-examples-2025-10-29",
    "fine-grained-tool-streaming-2025-05-14",
    "prompt-caching-2024-07-31",
];

/// One image of a request: where it is (for the message) and its base64 data.
pub struct ImageRef<'a> {
    pub path: String,
    pub base64: &'a str,
}

/// At most [`MAX_IMAGES`] images of at most [`MAX_IMAGE_BYTES`] each.
pub fn check_images(images: &[ImageRef<'_>]) -> Result<(), ApiError> {
    if images.len() > MAX_IMAGES {
        return Err(ApiError::validation(format!(
            "The model returned the following errors: too many images: {} images were provided, the maximum is {MAX_IMAGES}.",
            images.len()
        )));
    }
    for image in images {
        let bytes = decoded_len(image.base64);
        if bytes > MAX_IMAGE_BYTES {
            return Err(ApiError::validation(format!(
                "The model returned the following errors: {}: image exceeds 3.75 MB maximum: {bytes} bytes > {MAX_IMAGE_BYTES} bytes",
                image.path
            )));
        }
    }
    Ok(())
}

pub fn check_betas<'a>(betas: impl IntoIterator<Item = &'a str>) -> Result<(), ApiError> {
    match betas.into_iter().find(|b| !KNOWN_BETAS.contains(b)) {
        Some(_) => Err(ApiError::validation("invalid beta flag")),
        None => Ok(()),
    }
}

/// Decoded size of base64 text, without decoding it.
fn decoded_len(base64: &str) -> usize {
    let text = base64.trim_end();
    let padding = text.bytes().rev().take_while(|b| *b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn decoded_len_matches_real_decoding() {
        for n in [0, 1, 2, 3, 10, 11] {
            assert_eq!(decoded_len(&STANDARD.encode(vec![7u8; n])), n);
        }
    }

    #[test]
    fn image_limits() {
        let small = STANDARD.encode([1u8; 10]);
        let big = STANDARD.encode(vec![0u8; MAX_IMAGE_BYTES + 1]);
        let image = |b64| ImageRef {
            path: "messages.0.content.0.image".into(),
            base64: b64,
        };
        assert!(check_images(&[image(&small)]).is_ok());
        assert!(
            check_images(&[image(&big)])
                .unwrap_err()
                .message
                .contains("3.75 MB")
        );
        let many: Vec<_> = (0..21).map(|_| image(&small)).collect();
        assert!(
            check_images(&many)
                .unwrap_err()
                .message
                .contains("too many images")
        );
    }

    #[test]
    fn unknown_beta_is_rejected() {
        assert!(check_betas(["interleaved-thinking-2025-05-14"]).is_ok());
        assert_eq!(
            check_betas(["made-up-beta"]).unwrap_err().message,
            "invalid beta flag"
        );
    }
}
