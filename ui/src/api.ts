// Typed calls into the desktop shell (src-tauri/src/commands). The shapes
// mirror the Rust serde types; nothing here decides anything.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

export type Tier = "low" | "mid" | "top";
export type Category =
  | "heartbeat" | "simple-chat" | "lookup" | "translation" | "summarization"
  | "coding" | "creative" | "reasoning" | "analysis";
export type Geography = "us" | "eu" | "apac" | "jp" | "global";
export type HealthStatus = "healthy" | "unhealthy" | "unknown";

export type ProxyStatus =
  | { state: "stopped" }
  | { state: "starting"; requested_port: number }
  | { state: "running"; port: number; requested_port: number }
  | { state: "error"; message: string };

export interface FieldError { field: string; message: string }
export interface CommandError { message: string; fields: FieldError[] }

export interface Budgets { daily_usd: number | null; monthly_usd: number | null }
export interface Settings {
  port: number;
  region: string | null;
  geography: Geography | null;
  aws_profile: string | null;
  start_proxy_on_launch: boolean;
  start_on_login: boolean;
  show_tier_prefix: boolean;
  /** Add prompt cache points for Chat Completions and Responses clients. */
  auto_cache: boolean;
  budgets: Budgets;
  allowed_origins: string[];
  max_body_bytes: number;
  upstream_timeout_secs: number;
  stream_idle_timeout_secs: number;
}

export interface StoredKeys {
  saved: boolean;
  masked_access_key_id: string | null;
  has_session_token: boolean;
  error: string | null;
}
export interface SettingsView { settings: Settings; keys: StoredKeys }
export interface KeysInput { access_key_id: string; secret_access_key: string; session_token: string | null }
export interface Saved { status: ProxyStatus; restarted: boolean; keys: StoredKeys }

export interface Price { input: number; output: number; cache_read: number; cache_write: number; cache_write_1h: number }
/** The engine's kind of failure (crates/clawrouter/src/health.rs `Problem`). */
export type Problem =
  | "no-credentials" | "credentials-rejected" | "access-denied" | "throttled" | "network"
  | "model-retired" | "not-found" | "data-retention" | "timeout" | "unavailable" | "model-error";
export interface ModelHealth {
  profile_id: string;
  status: HealthStatus;
  last_error: string | null;
  problem: Problem | null;
  /** What happened and what to do, in one sentence. */
  advice: string | null;
  last_success: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  successes: number;
  failures: number;
}
export type Lifecycle = "active" | "legacy" | "eol";
export interface ModelRow { name: string; display: string; profile_id: string; tiers: Tier[]; price: Price; health: ModelHealth; lifecycle: Lifecycle; available: boolean; unavailable_reason: string | null }
export interface TierCandidate {
  name: string;
  display: string;
  profile_id: string;
  cost: string;
  status: HealthStatus;
  lifecycle: Lifecycle;
  /** False past end of life, or when Bedrock says this account cannot call it here. */
  available: boolean;
  unavailable_reason: string | null;
}
/** Where `auto` sends a tier's requests while the tier has no usable model. */
export interface TierFallback { tier: Tier; model: string; display: string }
export interface TierView { tier: Tier; chosen: string | null; fallback: TierFallback | null; candidates: TierCandidate[] }
export interface CategoryRoute { category: Category; tier: Tier }
/** Requests refused before reaching a model (crates/clawrouter/src/server/rejections.rs). */
export interface RejectionCounts { unauthorized: number; budget: number; guard: number }
export interface Dashboard { status: ProxyStatus; models: ModelRow[]; tiers: TierView[]; categories: CategoryRoute[]; rejected: RejectionCounts }
/** When Bedrock was asked which models this account can call, and for which region. */
export interface ModelsRefreshed { fetched_at: string; region: string }

export interface Decision {
  category: Category;
  tier: Tier;
  model: string;
  profile_id: string;
  confidence: number;
  why: string;
  tag: Tier | null;
  candidates: { model: string; profile_id: string }[];
}

/** Why AWS credentials did not load: what happened, where ClawRouter looked, the fix. */
export interface CredentialProblem { summary: string; tried: string[]; fix: string }
export interface ModelCheck { name: string; profile_id: string; health: ModelHealth }
export interface CheckReport {
  ok: boolean;
  region: string;
  endpoint: string;
  /** The engine's CredentialSource: "keychain", {"profile": "dev"}, … (see credentials_from). */
  credentials_source: unknown;
  credentials_status: string;
  credentials_problem: CredentialProblem | null;
  api_key_source: string | null;
  api_key_error: string | null;
  models: ModelCheck[];
}
export interface ConnectionReport { check: CheckReport; credentials_from: string | null; tiers: TierView[] }

/** No OS keychain is usable: the client key is kept in `key_file` instead. */
export interface KeychainFallback { key_file: string; reason: string }
export interface ClientSetup { endpoint: string; running: boolean; api_key: string; api_key_source: string; keychain_fallback: KeychainFallback | null }

/** Why the app could not start (src-tauri/src/startup.rs). */
export interface StartupProblem { message: string; file: string | null; can_reset: boolean }
export interface ResetDone { backup: string | null }

export const startupApi = {
  problem: () => invoke<StartupProblem | null>("startup_problem"),
  resetSettings: () => invoke<ResetDone>("reset_settings"),
  restart: () => invoke<void>("restart"),
};

export const api = {
  proxyStatus: () => invoke<ProxyStatus>("proxy_status"),
  startProxy: () => invoke<ProxyStatus>("start_proxy"),
  stopProxy: () => invoke<ProxyStatus>("stop_proxy"),
  clientSetup: () => invoke<ClientSetup>("client_setup"),
  copyText: (text: string) => invoke<void>("copy_text", { text }),
  loadSettings: () => invoke<SettingsView>("load_settings"),
  validateSettings: (settings: Settings, keys: KeysInput | null) =>
    invoke<FieldError[]>("validate_settings", { settings, keys }),
  saveSettings: (settings: Settings) => invoke<Saved>("save_settings", { settings }),
  saveAwsKeys: (keys: KeysInput) => invoke<Saved>("save_aws_keys", { keys }),
  deleteAwsKeys: () => invoke<Saved>("delete_aws_keys"),
  testConnection: () => invoke<ConnectionReport>("test_connection"),
  dashboard: () => invoke<Dashboard>("dashboard"),
  routePreview: (text: string) => invoke<Decision>("route_preview", { text }),
  refreshModels: () => invoke<ModelsRefreshed>("refresh_models"),
};

export function onProxyStatus(handler: (status: ProxyStatus) => void): Promise<UnlistenFn> {
  return listen<ProxyStatus>("proxy-status", (e) => handler(e.payload));
}

export type LedgerEvent =
  | { kind: "changed" }
  | { kind: "budget_warning" | "budget_exceeded"; period: "daily" | "monthly"; spent_usd: number; limit_usd: number };

/** What the engine pushes as it happens (src-tauri emits each as "engine"). */
export type EngineEvent =
  | { source: "usage"; event: LedgerEvent }
  | { source: "health"; event: { profile_id: string; status: HealthStatus; problem: Problem | null } }
  | { source: "availability"; event: { model: string; unavailable: { kind: string; reason: string; replacement: string | null } | null } }
  | { source: "missed" };

export function onEngineEvent(handler: (event: EngineEvent) => void): Promise<UnlistenFn> {
  return listen<EngineEvent>("engine", (e) => handler(e.payload));
}

export function onNavigate(handler: (view: string) => void): Promise<UnlistenFn> {
  return listen<string>("navigate", (e) => handler(e.payload));
}

/** A command's rejection as a sentence, whatever shape it came in. */
export function errorMessage(e: unknown): string {
  if (typeof e === "string") return e;
  if (e && typeof e === "object" && "message" in e) return String((e as CommandError).message);
  return String(e);
}

export function errorFields(e: unknown): FieldError[] {
  if (e && typeof e === "object" && "fields" in e && Array.isArray((e as CommandError).fields)) {
    return (e as CommandError).fields;
  }
  return [];
}

export interface Spend {
  today_usd: number;
  last_7d_usd: number;
  last_30d_usd: number;
  requests_30d: number;
  input_tokens_30d: number;
  output_tokens_30d: number;
  cache_read_tokens_30d: number;
  cache_write_tokens_30d: number;
  /** Requests to models whose price is unknown: in the counts, not in the dollars. */
  unpriced_requests_30d: number;
}
export interface ModelSpend { model: string; profile_id: string; spend: Spend }
export interface ClientSpend { client: string; spend: Spend }
/** One window's money and tokens (crates/clawrouter/src/ledger/report.rs `PeriodTotals`). */
export interface PeriodTotals {
  spent_usd: number;
  /** Routed requests: what the top tier's model would have cost, minus the cost. */
  saved_by_routing_usd: number;
  /** Cache reads × (input rate − cache read rate). */
  saved_by_caching_usd: number;
  requests: number;
  input_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  /** Share of all input tokens served from cache, 0 to 1. */
  cache_read_share: number;
}
export interface Periods { today: PeriodTotals; last_7d: PeriodTotals; last_30d: PeriodTotals }
export interface UsageSummary {
  per_model: ModelSpend[];
  per_tier: { tier: Tier | null; spend: Spend }[];
  total: Spend;
  per_client: ClientSpend[];
  periods: Periods;
  projected_monthly_usd: number;
}
export interface DaySpend { date: string; usd: number; requests: number }
export interface RequestRow {
  at_ms: number;
  client: string;
  route: string;
  requested_model: string;
  tier: Tier | null;
  category: Category | null;
  model: string;
  profile_id: string;
  usage: { input: number; output: number; cache_read: number; cache_write: number };
  /** `null`: the model's price is unknown (a model discovery found). */
  cost_usd: number | null;
  top_tier_cost_usd: number;
  cache_saved_usd: number;
  latency_ms: number;
  ttft_ms: number | null;
  status: number;
  error_kind: string | null;
  /** The router's reason for the tier and model, when recorded. */
  reason?: string | null;
}
export interface Usage {
  summary: UsageSummary;
  daily: DaySpend[];
  recent: RequestRow[];
  period: { today_usd: number; month_usd: number };
  budgets: Budgets;
  /** The ledger holds generated sample traffic (`make demo`), not real requests. */
  demo: boolean;
}

export const usageApi = { usage: () => invoke<Usage>("usage") };
