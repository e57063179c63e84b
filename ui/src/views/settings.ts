// Settings: AWS credentials (keychain or profile/SSO), region, geography,
// port, launch options and budgets; validated by the engine as you type.
import { api, errorFields, errorMessage, type ConnectionReport, type Settings, type SettingsView, type FieldError } from "../api";
import { fill, h } from "../dom";
import { TIER_LABEL, checkWords, healthTone, proxyWords } from "../format";
import { errorsByField, formValues, readForm, type FormValues } from "../settingsForm";

export interface SettingsPanel {
  element: HTMLElement;
  load(): Promise<void>;
}

const GEOGRAPHIES: [string, string][] = [
  ["", "Automatic (catalog default)"],
  ["us", "United States (us.)"],
  ["eu", "Europe (eu.)"],
  ["apac", "Asia Pacific (apac.)"],
  ["jp", "Japan (jp.)"],
  ["global", "Global (global.): about 10% cheaper"],
];

export function settingsView(notify: (text: string) => void): SettingsPanel {
  const form = h("form", { class: "settings", id: "settings-form", novalidate: true });
  const result = h("section", { class: "card", id: "connection-result", hidden: true });
  const element = h(
    "div",
    { class: "view", id: "settings-view" },
    h("header", { class: "view-head" }, h("h1", {}, "Settings"), h("p", { class: "muted" }, "Keys are kept in your OS keychain, never in a file.")),
    form,
    result,
  );

  let base: Settings | null = null;
  let view: SettingsView | null = null;
  let serverErrors: FieldError[] = [];
  let validateTimer: ReturnType<typeof setTimeout> | undefined;

  const input = (id: string, attrs: Record<string, string | boolean> = {}) =>
    h("input", { id, name: id, autocomplete: "off", spellcheck: "false", ...attrs }) as HTMLInputElement;
  const fields = {
    access_key_id: input("access_key_id", { placeholder: "AKIA…", class: "mono" }),
    secret_access_key: input("secret_access_key", { type: "password", placeholder: "40 characters" }),
    session_token: input("session_token", { type: "password", placeholder: "only for temporary (ASIA…) keys" }),
    aws_profile: input("aws_profile", { placeholder: "default" }),
    region: input("region", { placeholder: "us-east-1", class: "mono" }),
    port: input("port", { inputmode: "numeric", class: "mono" }),
    daily_usd: input("daily_usd", { inputmode: "decimal", placeholder: "no limit" }),
    monthly_usd: input("monthly_usd", { inputmode: "decimal", placeholder: "no limit" }),
  };
  const geography = h("select", { id: "geography" }, GEOGRAPHIES.map(([v, label]) => h("option", { value: v }, label))) as HTMLSelectElement;
  const startOnLaunch = input("start_proxy_on_launch", { type: "checkbox" });
  const startOnLogin = input("start_on_login", { type: "checkbox" });
  const autoCache = input("auto_cache", { type: "checkbox" });
  const modeKeys = input("mode-keys", { type: "radio", name: "mode", value: "keys" });
  const modeProfile = input("mode-profile", { type: "radio", name: "mode", value: "profile" });
  const keysStatus = h("div", { class: "keys-status", id: "keys-status" });

  // Which input shows the error of an engine field name.
  const FIELD_INPUT: Record<string, HTMLElement> = {
    access_key_id: fields.access_key_id,
    secret_access_key: fields.secret_access_key,
    session_token: fields.session_token,
    aws_profile: fields.aws_profile,
    region: fields.region,
    port: fields.port,
    "budgets.daily_usd": fields.daily_usd,
    "budgets.monthly_usd": fields.monthly_usd,
  };

  function values(): FormValues {
    return {
      mode: modeProfile.checked ? "profile" : "keys",
      access_key_id: fields.access_key_id.value,
      secret_access_key: fields.secret_access_key.value,
      session_token: fields.session_token.value,
      aws_profile: fields.aws_profile.value,
      region: fields.region.value,
      geography: geography.value as FormValues["geography"],
      port: fields.port.value,
      start_proxy_on_launch: startOnLaunch.checked,
      start_on_login: startOnLogin.checked,
      auto_cache: autoCache.checked,
      daily_usd: fields.daily_usd.value,
      monthly_usd: fields.monthly_usd.value,
    };
  }

  function showErrors(local: FieldError[]): boolean {
    const byField = errorsByField(local, serverErrors);
    for (const [field, el] of Object.entries(FIELD_INPUT)) {
      const msg = byField.get(field);
      const row = el.closest(".field");
      el.toggleAttribute("aria-invalid", Boolean(msg));
      const slot = row?.querySelector(".error");
      if (slot) slot.textContent = msg ?? "";
    }
    return byField.size === 0;
  }

  function validateSoon(): void {
    clearTimeout(validateTimer);
    validateTimer = setTimeout(validate, 150);
  }

  async function validate(): Promise<boolean> {
    if (!base) return false;
    const read = readForm(values(), base);
    try {
      serverErrors = await api.validateSettings(read.settings, read.keys);
    } catch (e) {
      serverErrors = [];
      notify(errorMessage(e));
    }
    return showErrors(read.local);
  }

  function renderKeysStatus(): void {
    const keys = view?.keys;
    if (!keys) return;
    if (keys.error) {
      fill(keysStatus, h("span", { class: "dot bad" }), h("span", {}, `Keychain unavailable: ${keys.error}`));
    } else if (keys.saved) {
      fill(
        keysStatus,
        h("span", { class: "dot ok" }),
        h("span", {}, "Saved in the OS keychain: ", h("code", { class: "mono" }, keys.masked_access_key_id ?? ""), keys.has_session_token ? " (with session token)" : ""),
        h("button", { type: "button", class: "btn small danger", id: "delete-keys", onclick: removeKeys }, "Remove"),
      );
    } else {
      fill(keysStatus, h("span", { class: "dot idle" }), h("span", { class: "muted" }, "No keys saved. Enter them below, or use your AWS profile / SSO."));
    }
  }

  function renderMode(): void {
    form.dataset.mode = modeProfile.checked ? "profile" : "keys";
  }

  async function removeKeys(): Promise<void> {
    try {
      const saved = await api.deleteAwsKeys();
      if (view) view.keys = saved.keys;
      renderKeysStatus();
      notify("AWS keys removed from the keychain");
    } catch (e) {
      notify(errorMessage(e));
    }
  }

  async function save(event: Event): Promise<void> {
    event.preventDefault();
    if (!base || !(await validate())) {
      notify("Fix the marked fields first");
      return;
    }
    const read = readForm(values(), base);
    const status = h("span", { id: "save-result" });
    try {
      if (read.keys) {
        const saved = await api.saveAwsKeys(read.keys);
        if (view) view.keys = saved.keys;
        fields.access_key_id.value = fields.secret_access_key.value = fields.session_token.value = "";
      }
      const saved = await api.saveSettings(read.settings);
      base = read.settings;
      if (view) view.keys = saved.keys;
      renderKeysStatus();
      fill(status, saved.restarted ? `Saved. Proxy restarted: ${proxyWords(saved.status).headline}.` : "Saved.");
      status.className = "ok-text";
    } catch (e) {
      serverErrors = errorFields(e);
      showErrors([]);
      fill(status, errorMessage(e));
      status.className = "bad-text";
    }
    fill(saveLine, status);
  }

  async function testConnection(): Promise<void> {
    result.hidden = false;
    fill(result, h("h2", {}, "Test connection"), h("p", { class: "muted" }, "Checking credentials and asking each model (free token count)…"));
    bringIntoView(result);
    try {
      renderReport(await api.testConnection());
    } catch (e) {
      fill(result, h("h2", {}, "Test connection"), h("p", { class: "bad-text" }, errorMessage(e)));
    }
    bringIntoView(result);
  }

  /** The results appear below the form: scroll them into sight. */
  function bringIntoView(el: HTMLElement): void {
    el.scrollIntoView?.({ block: "start", behavior: "smooth" });
  }

  function renderReport(report: ConnectionReport): void {
    const lines = checkWords(report);
    const credsOk = report.check.credentials_status === "loaded";
    fill(
      result,
      h("h2", {}, "Test connection"),
      h("ul", { class: "check-lines", id: "check-lines" }, lines.map((l) => h("li", { class: l.ok ? "ok" : "bad" }, h("span", { class: `dot ${l.ok ? "ok" : "bad"}` }), l.text))),
      credsOk
        ? h(
            "div",
            {},
            h("h3", {}, "Suggested tiers"),
            h("p", { class: "muted small" }, "From the catalog: the first model that answers in each tier is used for “auto”."),
            h(
              "div",
              { class: "tiers compact" },
              report.tiers.map((t) =>
                h(
                  "div",
                  { class: `tier tier-${t.tier}` },
                  h("div", { class: "tier-head" }, h("span", { class: `chip tier-${t.tier}` }, TIER_LABEL[t.tier]), h("strong", {}, t.chosen ? (t.candidates.find((c) => c.name === t.chosen)?.display ?? t.chosen) : "none answered")),
                  h("ol", { class: "candidates" }, t.candidates.map((c) => h("li", {}, h("span", { class: `dot ${healthTone(c.status)}` }), c.display, h("span", { class: "muted small" }, ` ${c.cost}`)))),
                ),
              ),
            ),
          )
        : null,
    );
  }

  const field = (label: string, el: HTMLElement, hint?: string) =>
    h("label", { class: "field" }, h("span", { class: "label" }, label), el, hint ? h("span", { class: "hint" }, hint) : null, h("span", { class: "error", role: "alert" }));
  const check = (el: HTMLInputElement, label: string, hint: string) =>
    h("label", { class: "check" }, el, h("span", {}, h("strong", {}, label), h("span", { class: "hint" }, hint)));
  const saveLine = h("div", { class: "save-line" });

  fill(
    form,
    h(
      "section",
      { class: "card" },
      h("h2", {}, "AWS credentials"),
      h(
        "div",
        { class: "segmented" },
        h("label", {}, modeKeys, h("span", {}, "Access keys")),
        h("label", {}, modeProfile, h("span", {}, "AWS profile / SSO")),
      ),
      h(
        "div",
        { class: "mode-keys" },
        keysStatus,
        h(
          "div",
          { class: "grid-3" },
          field("Access key ID", fields.access_key_id),
          field("Secret access key", fields.secret_access_key),
          field("Session token", fields.session_token, "Optional"),
        ),
      ),
      h(
        "div",
        { class: "mode-profile" },
        field("Profile name", fields.aws_profile, "From ~/.aws/config; run `aws sso login --profile NAME` first for SSO. Empty uses the default chain (environment, default profile, instance role)."),
        h("p", { class: "hint" }, "Keys saved in the keychain take precedence over a profile: remove them to use the profile."),
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Bedrock"),
      h("div", { class: "grid-2" }, field("Region", fields.region, "Empty: AWS_REGION or your profile's region."), field("Geography", geography, "Which inference profiles to call; eu/apac/jp keep data in the region.")),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Proxy"),
      h(
        "div",
        { class: "grid-2" },
        field("Port", fields.port, "On 127.0.0.1 only. If it is taken, the next free port is used."),
        h("div", { class: "checks" }, check(startOnLaunch, "Start the proxy when ClawRouter opens", "On by default."), check(startOnLogin, "Open ClawRouter when I log in", "Starts in the tray."),
          check(autoCache, "Cache repeated prompts for OpenAI-style clients", "Adds Bedrock cache points after long system prompts and tools, so later turns pay a tenth of the input price for them. On by default."),
        ),
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Budgets"),
      h("div", { class: "grid-2" }, field("Daily limit (USD)", fields.daily_usd), field("Monthly limit (USD)", fields.monthly_usd)),
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "btn primary", id: "save-settings" }, "Save"),
      h("button", { type: "button", class: "btn", id: "test-connection", onclick: testConnection }, "Test connection"),
      saveLine,
    ),
  );
  form.addEventListener("submit", save);
  form.addEventListener("input", validateSoon);
  form.addEventListener("change", () => {
    renderMode();
    validateSoon();
  });

  async function load(): Promise<void> {
    view = await api.loadSettings();
    base = view.settings;
    const v = formValues(view.settings, view.keys.saved);
    (v.mode === "profile" ? modeProfile : modeKeys).checked = true;
    fields.aws_profile.value = v.aws_profile;
    fields.region.value = v.region;
    geography.value = v.geography;
    fields.port.value = v.port;
    fields.daily_usd.value = v.daily_usd;
    fields.monthly_usd.value = v.monthly_usd;
    startOnLaunch.checked = v.start_proxy_on_launch;
    startOnLogin.checked = v.start_on_login;
    autoCache.checked = v.auto_cache;
    renderMode();
    renderKeysStatus();
    serverErrors = [];
    showErrors([]);
  }

  return { element, load };
}
