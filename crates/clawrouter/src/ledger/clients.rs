//! Which tool made a request, named from its User-Agent for the per-client
//! spend. The ledger keeps the raw user agent; names are given when a report
//! is made, so a line added here names old rows too.

/// User-Agent prefixes (compared without case) and the name shown, first
/// match wins. Sources: Claude Code sends `claude-cli/VERSION (external,
/// cli)`; Codex `ORIGINATOR/VERSION (OS; arch) terminal`, where the
/// originator is `codex_cli_rs` unless a host sets another, such as
/// `codex_vscode` (openai/codex `codex-rs/core/src/default_client.rs`,
/// `get_codex_user_agent`); the OpenAI and Anthropic SDKs
/// `{ClientClassName}/Python VERSION` or `/JS VERSION` (their
/// `_base_client.py` `user_agent`); opencode `opencode/VERSION`
/// (sst/opencode); aider `aider/VERSION` when it sets its own agent, else it
/// shows as the SDK it runs on; Continue `Continue/VERSION` from the
/// providers that set an agent (continuedev/continue `core/llm/llms/`, e.g.
/// `RodiumAi.ts`; its other providers were not checked).
const CLIENT_PREFIXES: &[(&str, &str)] = &[
    ("claude-cli/", "Claude Code"),
    ("claude-code/", "Claude Code"),
    ("codex_", "Codex"),
    ("aider", "aider"),
    ("opencode/", "opencode"),
    ("continue", "Continue"),
    ("openai/python", "openai-python"),
    ("asyncopenai/python", "openai-python"),
    ("openai/js", "openai-node"),
    ("anthropic/python", "anthropic-python"),
    ("asyncanthropic/python", "anthropic-python"),
    ("anthropic/js", "anthropic-node"),
    ("curl/", "curl"),
];

/// The name a user agent is shown under: a known tool's name, else the
/// agent's product token (the text before its first `/` or space), else
/// `unknown`.
pub fn client_name(user_agent: &str) -> String {
    let agent = user_agent.trim();
    let lower = agent.to_ascii_lowercase();
    if let Some((_, name)) = CLIENT_PREFIXES
        .iter()
        .find(|(prefix, _)| lower.starts_with(prefix))
    {
        return (*name).to_owned();
    }
    match agent.split(['/', ' ']).next() {
        Some(product) if !product.is_empty() && product != "unknown" => product.to_owned(),
        _ => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_tools_are_named_from_their_user_agents() {
        for (agent, name) in [
            ("claude-cli/2.1.332 (external, cli)", "Claude Code"),
            (
                "codex_cli_rs/0.171.0 (Ubuntu 24.4.0; x86_64) xterm",
                "Codex",
            ),
            ("codex_vscode/0.171.0", "Codex"),
            ("OpenAI/Python 3.57.0", "openai-python"),
            ("AsyncOpenAI/Python 3.57.0", "openai-python"),
            ("Anthropic/Python 2.14.0", "anthropic-python"),
            ("AsyncAnthropic/Python 2.14.0", "anthropic-python"),
            ("curl/8.5.0", "curl"),
            ("aider/0.86.2", "aider"),
            ("opencode/1.2.0", "opencode"),
            ("Continue/1.2.8", "Continue"),
        ] {
            assert_eq!(client_name(agent), name, "{agent}");
        }
    }

    #[test]
    fn others_show_their_product_token() {
        assert_eq!(client_name("python-requests/2.32"), "python-requests");
        assert_eq!(client_name("Mozilla/5.0 (X11)"), "Mozilla");
        assert_eq!(client_name("unknown"), "unknown");
        assert_eq!(client_name("  "), "unknown");
    }
}
