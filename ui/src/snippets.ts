// Client setup snippets (README "Using it from your tools"), filled with
// the live endpoint and key.

export interface Snippet { id: string; title: string; note: string; code: string }

export function snippets(endpoint: string, key: string): Snippet[] {
  const v1 = `${endpoint}/v1`;
  return [
    {
      id: "claude-code",
      title: "Claude Code",
      note: "Run in the shell you start claude from. No AWS variables needed. ANTHROPIC_MODEL=auto routes each request to a tier; without it Claude Code stays on its default Opus.",
      code: `export ANTHROPIC_BASE_URL=${endpoint}\nexport ANTHROPIC_AUTH_TOKEN=${key}\nexport ANTHROPIC_MODEL=auto\nclaude`,
    },
    {
      id: "continue",
      title: "Continue",
      note: "~/.continue/config.yaml. Continue reads ${{ secrets.… }} from ~/.continue/.env, not from your shell:",
      code: `models:\n  - name: ClawRouter auto\n    provider: openai\n    model: auto\n    apiBase: ${v1}\n    apiKey: \${{ secrets.CLAWROUTER_KEY }}\n\n# ~/.continue/.env:\nCLAWROUTER_KEY=${key}`,
    },
    {
      id: "codex",
      title: "Codex CLI",
      note: "~/.codex/config.toml (and export CLAWROUTER_KEY in your shell):",
      code: `model = "auto"\nmodel_provider = "clawrouter"\n\n[model_providers.clawrouter]\nname = "ClawRouter"\nbase_url = "${v1}"\nenv_key = "CLAWROUTER_KEY"\nwire_api = "chat"\n\n# shell:\nexport CLAWROUTER_KEY=${key}`,
    },
    {
      id: "aider",
      title: "aider",
      note: "Any model name the catalog knows works in place of auto.",
      code: `aider --openai-api-base ${v1} --openai-api-key ${key} --model openai/auto`,
    },
    {
      id: "openclaw",
      title: "OpenClaw",
      note: "A provider of type openai; no AWS credential mapping needed.",
      code: `{\n  "type": "openai",\n  "baseUrl": "${v1}",\n  "apiKey": "${key}",\n  "model": "auto"\n}`,
    },
    {
      id: "curl",
      title: "curl",
      note: "A quick check from any terminal.",
      code: `curl ${v1}/chat/completions \\\n  -H "Content-Type: application/json" \\\n  -H "Authorization: Bearer ${key}" \\\n  -d '{"model":"auto","messages":[{"role":"user","content":"What is 2+2?"}]}'`,
    },
  ];
}

/** `sk-clawrouter-abcd…wxyz`: enough to recognise, not to use. */
export function maskKey(key: string): string {
  if (key.length <= 12) return "•".repeat(key.length);
  return `${key.slice(0, 14)}…${key.slice(-4)}`;
}
