//! Which link of the standard AWS credential chain would answer, decided from
//! environment variable *names* and the shared config files' section keys,
//! without loading (or ever printing) a credential. `clawrouter check` and
//! the tray show it, so "which keys am I using?" has an answer.
//!
//! The chain's order (aws-config `DefaultCredentialsChain`): environment,
//! profile (static keys, role, process, SSO), web identity, container, EC2
//! instance metadata. Instance metadata cannot be detected without a network
//! call, so when nothing else is configured the answer is
//! [`CredentialSource::None`] even though the chain will still try it.

use std::path::{Path, PathBuf};

use super::aws::CredentialSource;

/// Profile keys that make the profile link answer rather than pass.
const PROFILE_CREDENTIAL_KEYS: &[&str] = &[
    "aws_access_key_id",
    "role_arn",
    "credential_process",
    "web_identity_token_file",
];

/// `env` looks a variable up; `read` reads a file (None if absent).
/// `profile` is the profile named in settings, which wins over `AWS_PROFILE`.
pub(super) fn detect(
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> Option<String>,
    profile: Option<&str>,
) -> CredentialSource {
    let var = |name: &str| env(name).filter(|v| !v.is_empty());
    if var("AWS_ACCESS_KEY_ID").is_some() && var("AWS_SECRET_ACCESS_KEY").is_some() {
        return CredentialSource::Environment;
    }

    let named = profile.map(str::to_owned).or_else(|| var("AWS_PROFILE"));
    let name = named.clone().unwrap_or_else(|| "default".to_owned());
    let home = var("HOME")
        .or_else(|| var("USERPROFILE"))
        .map(PathBuf::from);
    let file = |override_var: &str, default: &str| {
        var(override_var)
            .map(|p| expand_tilde(&p, home.as_deref()))
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let mut keys = Vec::new();
    if let Some(text) = file("AWS_CONFIG_FILE", "config").and_then(|p| read(&p)) {
        keys.extend(section_keys(&text, |header| {
            is_config_profile(header, &name)
        }));
    }
    if let Some(text) = file("AWS_SHARED_CREDENTIALS_FILE", "credentials").and_then(|p| read(&p)) {
        keys.extend(section_keys(&text, |header| header == name));
    }
    if keys.iter().any(|k| k.starts_with("sso_")) {
        return CredentialSource::Sso(name);
    }
    // A profile someone named must answer or fail: the chain stops there.
    if named.is_some()
        || keys
            .iter()
            .any(|k| PROFILE_CREDENTIAL_KEYS.contains(&k.as_str()))
    {
        return CredentialSource::Profile(name);
    }

    if var("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        CredentialSource::WebIdentity
    } else if var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || var("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    {
        CredentialSource::ContainerOrInstance
    } else {
        CredentialSource::None
    }
}

/// Whether EC2 instance metadata (IMDS) can answer here, so the chain should
/// ask it: off EC2 every probe waits for timeouts and logs warnings, before
/// every `serve` and on every failed credential lookup. Decided from files
/// the hypervisor fills in, no network call
/// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/identify_ec2_instances.html):
/// Xen instances have `/sys/hypervisor/uuid` starting with `ec2`, Nitro
/// instances the DMI vendor "Amazon EC2" and the instance id (`i-…`) as board
/// asset tag. `AWS_EC2_METADATA_SERVICE_ENDPOINT` set by the user counts as
/// a yes; off Linux the SDK's own behaviour is kept.
pub(super) fn imds_available(
    env: &dyn Fn(&str) -> Option<String>,
    read: &dyn Fn(&Path) -> Option<String>,
) -> bool {
    if !cfg!(target_os = "linux") || env("AWS_EC2_METADATA_SERVICE_ENDPOINT").is_some() {
        return true;
    }
    let starts = |path: &str, prefix: &str| {
        read(Path::new(path)).is_some_and(|text| {
            text.trim()
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase())
        })
    };
    starts("/sys/hypervisor/uuid", "ec2")
        || starts("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2")
        || starts("/sys/devices/virtual/dmi/id/board_asset_tag", "i-")
}

/// In `~/.aws/config` profiles are `[profile NAME]`, except `[default]`.
fn is_config_profile(header: &str, name: &str) -> bool {
    let words: Vec<&str> = header.split_whitespace().collect();
    match words.as_slice() {
        ["profile", n] => *n == name,
        [n] => *n == "default" && name == "default",
        _ => false,
    }
}

/// Lower-cased keys of the INI sections whose header satisfies `wanted`.
fn section_keys(text: &str, wanted: impl Fn(&str) -> bool) -> Vec<String> {
    let mut inside = false;
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = wanted(header.trim());
        } else if inside
            && !line.starts_with(['#', ';'])
            && let Some((key, _value)) = line.split_once('=')
        {
            keys.push(key.trim().to_ascii_lowercase());
        }
    }
    keys
}

fn expand_tilde(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct World {
        env: HashMap<&'static str, &'static str>,
        files: HashMap<PathBuf, &'static str>,
    }

    impl World {
        fn new(env: &[(&'static str, &'static str)]) -> Self {
            let mut env: HashMap<_, _> = env.iter().copied().collect();
            env.entry("HOME").or_insert("/home/u");
            World {
                env,
                files: HashMap::new(),
            }
        }

        fn file(mut self, path: &str, text: &'static str) -> Self {
            self.files.insert(PathBuf::from(path), text);
            self
        }

        fn detect(&self, profile: Option<&str>) -> CredentialSource {
            detect(
                &|name| self.env.get(name).map(|v| v.to_string()),
                &|path| self.files.get(path).map(|t| t.to_string()),
                profile,
            )
        }
    }

    const CONFIG: &str = "/home/u/.aws/config";
    const CREDENTIALS: &str = "/home/u/.aws/credentials";

    #[test]
    fn nothing_configured_is_none() {
        assert_eq!(World::new(&[]).detect(None), CredentialSource::None);
        let region_only = World::new(&[]).file(CONFIG, "[default]\nregion = us-east-1\n");
        assert_eq!(region_only.detect(None), CredentialSource::None);
    }

    #[test]
    fn environment_keys_come_first() {
        let world = World::new(&[("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "y")])
            .file(CREDENTIALS, "[default]\naws_access_key_id = a\n");
        assert_eq!(world.detect(Some("work")), CredentialSource::Environment);
        // The environment link needs both halves.
        let half = World::new(&[("AWS_ACCESS_KEY_ID", "x")]);
        assert_eq!(half.detect(None), CredentialSource::None);
    }

    #[test]
    fn default_profile_with_static_keys() {
        let world = World::new(&[]).file(CREDENTIALS, "[default]\naws_access_key_id=a\n");
        assert_eq!(
            world.detect(None),
            CredentialSource::Profile("default".into())
        );
    }

    #[test]
    fn sso_profile_named_in_settings_wins_over_aws_profile() {
        let world = World::new(&[("AWS_PROFILE", "other")]).file(
            CONFIG,
            "[profile other]\naws_access_key_id = a\n\n[profile  work]\n# comment\nsso_session = corp\nsso_account_id = 1\n[sso-session corp]\nsso_start_url = https://x\n",
        );
        assert_eq!(
            world.detect(Some("work")),
            CredentialSource::Sso("work".into())
        );
        assert_eq!(
            world.detect(None),
            CredentialSource::Profile("other".into())
        );
    }

    #[test]
    fn named_profile_that_is_missing_is_still_the_answer() {
        assert_eq!(
            World::new(&[]).detect(Some("typo")),
            CredentialSource::Profile("typo".into())
        );
    }

    #[test]
    fn config_file_location_can_be_overridden() {
        let world = World::new(&[("AWS_CONFIG_FILE", "~/elsewhere/cfg")]).file(
            "/home/u/elsewhere/cfg",
            "[default]\nsso_start_url = https://x\n",
        );
        assert_eq!(world.detect(None), CredentialSource::Sso("default".into()));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn instance_metadata_only_on_ec2() {
        let no_env = |_: &str| None;
        let files = |found: &'static [(&'static str, &'static str)]| {
            move |path: &Path| {
                found
                    .iter()
                    .find(|(p, _)| Path::new(p) == path)
                    .map(|(_, text)| text.to_string())
            }
        };
        assert!(!imds_available(&no_env, &files(&[])));
        const LAPTOP: &[(&str, &str)] = &[("/sys/devices/virtual/dmi/id/sys_vendor", "LENOVO\n")];
        assert!(!imds_available(&no_env, &files(LAPTOP)));
        const NITRO: &[(&str, &str)] = &[
            ("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2\n"),
            (
                "/sys/devices/virtual/dmi/id/board_asset_tag",
                "i-0123456789abcdef0\n",
            ),
        ];
        assert!(imds_available(&no_env, &files(NITRO)));
        const XEN: &[(&str, &str)] = &[(
            "/sys/hypervisor/uuid",
            "EC2E1916-9099-7CAF-FD21-012345ABCDEF\n",
        )];
        assert!(imds_available(&no_env, &files(XEN)));
        let endpoint = |name: &str| {
            (name == "AWS_EC2_METADATA_SERVICE_ENDPOINT").then(|| "http://169.254.169.254".into())
        };
        assert!(imds_available(&endpoint, &files(&[])));
    }

    #[test]
    fn web_identity_then_container() {
        let both = World::new(&[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/token"),
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds"),
        ]);
        assert_eq!(both.detect(None), CredentialSource::WebIdentity);
        let ecs = World::new(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/c")]);
        assert_eq!(ecs.detect(None), CredentialSource::ContainerOrInstance);
    }
}
