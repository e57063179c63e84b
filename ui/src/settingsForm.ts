// The settings form as data: what the inputs hold → the Settings and keys
// the engine validates and saves. No DOM here, so it is unit-tested.
import type { FieldError, Geography, KeysInput, Settings } from "./api";

export type CredentialMode = "keys" | "profile";

/** The raw values of the inputs (strings as typed, booleans for checkboxes). */
export interface FormValues {
  mode: CredentialMode;
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
  aws_profile: string;
  region: string;
  geography: "" | Geography;
  port: string;
  start_proxy_on_launch: boolean;
  start_on_login: boolean;
  auto_cache: boolean;
  daily_usd: string;
  monthly_usd: string;
}

export interface ReadForm {
  settings: Settings;
  /** Present when the user typed anything in the key boxes. */
  keys: KeysInput | null;
  /** Problems the engine cannot see because the value is not even a number. */
  local: FieldError[];
}

export function formValues(settings: Settings, keysSaved: boolean): FormValues {
  return {
    mode: settings.aws_profile && !keysSaved ? "profile" : "keys",
    access_key_id: "",
    secret_access_key: "",
    session_token: "",
    aws_profile: settings.aws_profile ?? "",
    region: settings.region ?? "",
    geography: settings.geography ?? "",
    port: String(settings.port),
    start_proxy_on_launch: settings.start_proxy_on_launch,
    start_on_login: settings.start_on_login,
    auto_cache: settings.auto_cache,
    daily_usd: settings.budgets.daily_usd?.toString() ?? "",
    monthly_usd: settings.budgets.monthly_usd?.toString() ?? "",
  };
}

/** `base` keeps the fields this form does not show (timeouts, origins…). */
export function readForm(v: FormValues, base: Settings): ReadForm {
  const local: FieldError[] = [];
  const number = (field: string, text: string, integer: boolean): number | null => {
    const t = text.trim();
    if (t === "") return null;
    const n = Number(t);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
      local.push({ field, message: integer ? "must be a whole number" : "must be a number" });
      return null;
    }
    return n;
  };
  const port = number("port", v.port, true);
  if (v.port.trim() === "") local.push({ field: "port", message: "must not be empty" });
  else if (port !== null && (port < 0 || port > 65535)) local.push({ field: "port", message: "must be between 1 and 65535" });
  const daily = number("budgets.daily_usd", v.daily_usd, false);
  const monthly = number("budgets.monthly_usd", v.monthly_usd, false);
  const text = (s: string) => (s.trim() === "" ? null : s.trim());
  const settings: Settings = {
    ...base,
    port: port !== null && port >= 0 && port <= 65535 ? port : base.port,
    region: text(v.region),
    geography: v.geography === "" ? null : v.geography,
    aws_profile: v.mode === "profile" ? text(v.aws_profile) : base.aws_profile,
    start_proxy_on_launch: v.start_proxy_on_launch,
    start_on_login: v.start_on_login,
    auto_cache: v.auto_cache,
    budgets: { daily_usd: daily, monthly_usd: monthly },
  };
  const typed = v.access_key_id.trim() !== "" || v.secret_access_key !== "" || v.session_token !== "";
  const keys =
    v.mode === "keys" && typed
      ? {
          access_key_id: v.access_key_id.trim(),
          secret_access_key: v.secret_access_key,
          session_token: v.session_token.trim() === "" ? null : v.session_token,
        }
      : null;
  return { settings, keys, local };
}

/** Field → first message, local problems first (they explain engine ones). */
export function errorsByField(...lists: FieldError[][]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of lists.flat()) if (!out.has(e.field)) out.set(e.field, e.message);
  return out;
}
