// The dashboard: proxy status, models' health and prices, tier routing with
// a prompt tryout, and client setup snippets.
import { api, errorMessage, usageApi, type ClientSetup, type Dashboard, type ProxyStatus, type Usage } from "../api";
import { gaugeArc, spendChart } from "../chart";
import { fill, h } from "../dom";
import { TIER_LABEL, ago, budgetWords, clock, errorRate, healthTone, healthWords, lifecycleWords, ms, perMillion, proxyWords, routeReason, tokens, usd } from "../format";
import { maskKey, snippets } from "../snippets";

export interface DashboardView {
  element: HTMLElement;
  refresh(): Promise<void>;
  showStatus(status: ProxyStatus): void;
}

export function dashboardView(notify: (text: string) => void): DashboardView {
  const statusCard = h("section", { class: "card status-card", id: "proxy-card" });
  const models = h("section", { class: "card" });
  const routing = h("section", { class: "card" });
  const tryout = h("section", { class: "card" });
  const setup = h("section", { class: "card", id: "client-setup" });
  const spend = h("section", { class: "card", id: "spend" });
  const savings = h("section", { class: "card", id: "savings" });
  const byModel = h("section", { class: "card", id: "spend-by-model" });
  const byClient = h("section", { class: "card", id: "spend-by-client" });
  const recent = h("section", { class: "card", id: "recent-requests" });
  const element = h(
    "div",
    { class: "view", id: "dashboard-view" },
    h("header", { class: "view-head" }, h("h1", {}, "Dashboard"), h("p", { class: "muted" }, "Health, routing and setup of your local Bedrock proxy.")),
    statusCard,
    spend,
    savings,
    models,
    h("div", { class: "grid-2" }, routing, tryout),
    byModel,
    byClient,
    recent,
    setup,
  );

  let status: ProxyStatus = { state: "stopped" };
  let revealKey = false;
  let selected = "claude-code";
  let lastSetup: ClientSetup | null = null;
  const displayOf = new Map<string, string>();

  function renderStatus(): void {
    const words = proxyWords(status);
    const running = status.state === "running";
    const busy = status.state === "starting";
    const toggle = h(
      "button",
      {
        class: running ? "btn" : "btn primary",
        id: running ? "stop-proxy" : "start-proxy",
        disabled: busy,
        onclick: async () => {
          try {
            showStatus(running ? await api.stopProxy() : await api.startProxy());
            await refresh();
          } catch (e) {
            notify(errorMessage(e));
          }
        },
      },
      running ? "Stop proxy" : "Start proxy",
    );
    fill(
      statusCard,
      h("div", { class: `pulse ${words.tone}` }),
      h(
        "div",
        { class: "status-text" },
        h("div", { class: "status-headline", id: "proxy-status", "data-state": status.state }, words.headline),
        h("div", { class: "muted", id: "proxy-detail" }, words.detail),
      ),
      toggle,
    );
  }

  function showStatus(next: ProxyStatus): void {
    status = next;
    renderStatus();
  }

  function renderModels(d: Dashboard): void {
    fill(
      models,
      h("div", { class: "card-head" }, h("h2", {}, "Models"), h("span", { class: "muted" }, "Prices are USD per million tokens")),
      h(
        "table",
        { class: "table", id: "models-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Model"), h("th", {}, "Tiers"), h("th", {}, "On Bedrock"), h("th", {}, "Health"), h("th", { class: "num" }, "Errors"), h("th", { class: "num" }, "p50"), h("th", { class: "num" }, "p95"), h("th", {}, "Price"), h("th", {}, "Last success"))),
        h(
          "tbody",
          {},
          d.models.map((m) =>
            h(
              "tr",
              { "data-model": m.name, "data-status": m.health.status },
              h("td", {}, h("div", { class: "model-name" }, h("span", { class: `dot ${healthTone(m.health.status)}` }), m.display), h("div", { class: "mono muted small" }, m.profile_id)),
              h("td", {}, m.tiers.map((t) => h("span", { class: `chip tier-${t}` }, TIER_LABEL[t]))),
              h("td", { class: "lifecycle", title: m.unavailable_reason ?? "" }, lifecycleWords(m)),
              h("td", { class: "health-words" }, healthWords(m.health)),
              h("td", { class: "num error-rate" }, errorRate(m.health)),
              h("td", { class: "num" }, ms(m.health.p50_ms)),
              h("td", { class: "num p95" }, ms(m.health.p95_ms)),
              h("td", { class: "small" }, perMillion(m.price)),
              h("td", { class: "small muted" }, ago(m.health.last_success)),
            ),
          ),
        ),
      ),
    );
  }

  function renderRouting(d: Dashboard): void {
    fill(
      routing,
      h("div", { class: "card-head" }, h("h2", {}, "Tier routing"), h("span", { class: "muted" }, "model auto")),
      h(
        "div",
        { class: "tiers" },
        d.tiers.map((t) =>
          h(
            "div",
            { class: `tier tier-${t.tier}`, "data-tier": t.tier },
            h("div", { class: "tier-head" }, h("span", { class: `chip tier-${t.tier}` }, TIER_LABEL[t.tier]), h("strong", { class: "tier-chosen" }, t.chosen ? (t.candidates.find((c) => c.name === t.chosen)?.display ?? t.chosen) : "no usable model")),
            h("ol", { class: "candidates" }, t.candidates.map((c) => h("li", {}, h("span", { class: `dot ${healthTone(c.status)}` }), c.display, h("span", { class: "muted small" }, ` ${c.cost}`)))),
            h("div", { class: "categories" }, d.categories.filter((c) => c.tier === t.tier).map((c) => h("span", { class: "chip ghost" }, c.category))),
          ),
        ),
      ),
    );
  }

  function renderTryout(): void {
    const input = h("textarea", { id: "route-input", rows: 3, placeholder: "Type a prompt, e.g. “prove that √2 is irrational”" }) as HTMLTextAreaElement;
    const out = h("div", { id: "route-result", class: "route-result muted" }, "The decision appears here. Nothing is sent to Bedrock.");
    let timer: ReturnType<typeof setTimeout> | undefined;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const text = input.value.trim();
        if (!text) return fill(out, "The decision appears here. Nothing is sent to Bedrock.");
        try {
          const d = await api.routePreview(text);
          out.classList.remove("muted");
          fill(
            out,
            h("div", { class: "decision" }, h("span", { class: `chip tier-${d.tier}` }, TIER_LABEL[d.tier]), h("strong", {}, d.model), h("span", { class: "chip ghost" }, d.category), h("span", { class: "muted small" }, `confidence ${Math.round(d.confidence * 100)}%`)),
            h("p", { class: "small" }, d.why),
            d.candidates.length > 1 ? h("p", { class: "muted small" }, "Fallbacks: ", d.candidates.slice(1).map((c) => c.profile_id).join(", ")) : null,
          );
        } catch (e) {
          fill(out, errorMessage(e));
        }
      }, 200);
    });
    fill(tryout, h("div", { class: "card-head" }, h("h2", {}, "Try a prompt")), input, out);
  }

  function renderSetup(s: ClientSetup): void {
    const list = snippets(s.endpoint, revealKey ? s.api_key : maskKey(s.api_key));
    const real = snippets(s.endpoint, s.api_key);
    const current = list.find((x) => x.id === selected) ?? list[0];
    const copy = async (text: string, what: string) => {
      try {
        await api.copyText(text);
        notify(`${what} copied`);
      } catch (e) {
        notify(errorMessage(e));
      }
    };
    fill(
      setup,
      h(
        "div",
        { class: "card-head" },
        h("h2", {}, "Connect your tools"),
        h(
          "div",
          { class: "row" },
          h("code", { class: "pill mono", id: "endpoint" }, s.endpoint),
          h("button", { class: "btn small", onclick: () => copy(s.endpoint, "Endpoint") }, "Copy endpoint"),
          h("code", { class: "pill mono", id: "api-key" }, revealKey ? s.api_key : maskKey(s.api_key)),
          h("button", { class: "btn small", onclick: () => { revealKey = !revealKey; renderSetup(s); } }, revealKey ? "Hide key" : "Show key"),
          h("button", { class: "btn small", onclick: () => copy(s.api_key, "API key") }, "Copy key"),
        ),
      ),
      h("div", { class: "tabs" }, list.map((x) => h("button", { class: x.id === current.id ? "tab active" : "tab", onclick: () => { selected = x.id; renderSetup(s); } }, x.title))),
      h("p", { class: "muted small" }, current.note),
      h(
        "div",
        { class: "snippet" },
        h("pre", { class: "mono", id: `snippet-${current.id}` }, current.code),
        h("button", { class: "btn small copy", onclick: () => copy(real.find((x) => x.id === current.id)?.code ?? "", current.title + " setup") }, "Copy"),
      ),
      s.running ? null : h("p", { class: "muted small" }, "The proxy is stopped; these use the configured port."),
    );
  }

  function renderUsage(u: Usage): void {
    const t = u.summary.total;
    const stat = (label: string, value: string, note: string | null, id: string) =>
      h("div", { class: "stat", id }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), note ? h("div", { class: "stat-note" }, note) : null);
    const W = 720, H = 120;
    const chart = spendChart(u.daily, W, H);
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `-44 -8 ${W + 52} ${H + 30}`);
    svg.setAttribute("class", "chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Daily spend, last 30 days");
    for (const tick of chart.ticks) {
      const line = document.createElementNS(ns, "line");
      Object.entries({ x1: 0, x2: W, y1: tick.y, y2: tick.y, class: "grid" }).forEach(([k, v]) => line.setAttribute(k, String(v)));
      const text = document.createElementNS(ns, "text");
      Object.entries({ x: -8, y: tick.y + 4, class: "axis", "text-anchor": "end" }).forEach(([k, v]) => text.setAttribute(k, String(v)));
      text.textContent = tick.label;
      svg.append(line, text);
    }
    chart.bars.forEach((b, i) => {
      const rect = document.createElementNS(ns, "rect");
      Object.entries({ x: b.x, y: b.y, width: b.width, height: Math.max(b.height, 0.5), rx: 2, class: i === chart.bars.length - 1 ? "bar today" : "bar" }).forEach(([k, v]) => rect.setAttribute(k, String(v)));
      const title = document.createElementNS(ns, "title");
      title.textContent = b.title;
      rect.append(title);
      svg.append(rect);
      if (i % 5 === 4 || i === chart.bars.length - 1) {
        const text = document.createElementNS(ns, "text");
        Object.entries({ x: b.x + b.width / 2, y: H + 18, class: "axis", "text-anchor": "middle" }).forEach(([k, v]) => text.setAttribute(k, String(v)));
        text.textContent = b.label;
        svg.append(text);
      }
    });
    fill(
      spend,
      h("div", { class: "card-head" }, h("h2", {}, "Spend"), h("span", { class: "muted" }, "Estimated from Bedrock list prices · UTC days")),
      h(
        "div",
        { class: "stats" },
        stat("Today", usd(t.today_usd), budgetWords(u.period.today_usd, u.budgets.daily_usd, "daily"), "spend-today"),
        stat("Last 7 days", usd(t.last_7d_usd), null, "spend-7d"),
        stat("Last 30 days", usd(t.last_30d_usd), `${t.requests_30d} requests`, "spend-30d"),
        stat("This month", usd(u.period.month_usd), budgetWords(u.period.month_usd, u.budgets.monthly_usd, "monthly") ?? `on pace for ${usd(u.summary.projected_monthly_usd)}`, "spend-month"),
      ),
      svg,
    );
    renderSavings(u);
    fill(
      byClient,
      h("div", { class: "card-head" }, h("h2", {}, "Spend by client"), h("span", { class: "muted" }, "Named from each request's User-Agent")),
      u.summary.per_client.length === 0
        ? h("p", { class: "muted" }, "No requests recorded yet.")
        : h(
            "table",
            { class: "table", id: "client-table" },
            h("thead", {}, h("tr", {}, h("th", {}, "Client"), h("th", { class: "num" }, "Today"), h("th", { class: "num" }, "7 days"), h("th", { class: "num" }, "30 days"), h("th", { class: "num" }, "Requests"))),
            h("tbody", {}, u.summary.per_client.map((c) =>
              h("tr", { "data-client": c.client },
                h("td", {}, c.client),
                h("td", { class: "num" }, usd(c.spend.today_usd)),
                h("td", { class: "num" }, usd(c.spend.last_7d_usd)),
                h("td", { class: "num strong" }, usd(c.spend.last_30d_usd)),
                h("td", { class: "num" }, c.spend.requests_30d),
              ))),
          ),
    );
    fill(
      byModel,
      h("div", { class: "card-head" }, h("h2", {}, "Spend by model"), h("span", { class: "muted" }, "Last 30 days")),
      u.summary.per_model.length === 0
        ? h("p", { class: "muted" }, "No requests recorded yet.")
        : h(
            "table",
            { class: "table" },
            h("thead", {}, h("tr", {}, h("th", {}, "Model"), h("th", { class: "num" }, "Today"), h("th", { class: "num" }, "7 days"), h("th", { class: "num" }, "30 days"), h("th", { class: "num" }, "Requests"), h("th", { class: "num" }, "Tokens in / out"))),
            h("tbody", {}, u.summary.per_model.map((m) =>
              h("tr", {},
                h("td", {}, h("div", { class: "model-name" }, displayOf.get(m.model) ?? m.model), h("div", { class: "mono muted small" }, m.profile_id)),
                h("td", { class: "num" }, usd(m.spend.today_usd)),
                h("td", { class: "num" }, usd(m.spend.last_7d_usd)),
                h("td", { class: "num strong" }, usd(m.spend.last_30d_usd)),
                h("td", { class: "num" }, m.spend.requests_30d),
                h("td", { class: "num small" }, `${tokens(m.spend.input_tokens_30d + m.spend.cache_read_tokens_30d + m.spend.cache_write_tokens_30d)} / ${tokens(m.spend.output_tokens_30d)}`),
              ))),
          ),
    );
    fill(
      recent,
      h("div", { class: "card-head" }, h("h2", {}, "Recent requests")),
      u.recent.length === 0
        ? h("p", { class: "muted" }, "Requests through the proxy appear here.")
        : h(
            "table",
            { class: "table", id: "recent-table" },
            h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "Client"), h("th", {}, "Requested → served"), h("th", { class: "num" }, "Tokens in / out"), h("th", { class: "num" }, "Latency"), h("th", { class: "num" }, "Cost"), h("th", {}, "Status"))),
            h("tbody", {}, u.recent.map((r) =>
              h("tr", { "data-model": r.model },
                h("td", { class: "small" }, clock(r.at_ms)),
                h("td", { class: "small" }, r.client || "—"),
                h(
                  "td",
                  { class: "routed" },
                  h("div", {}, r.tier ? h("span", { class: `chip tier-${r.tier}` }, TIER_LABEL[r.tier]) : null, h("span", { class: "requested mono small" }, r.requested_model), " → ", h("span", { class: "served" }, displayOf.get(r.model) ?? r.model)),
                  h("div", { class: "reason muted small" }, routeReason(r)),
                ),
                h("td", { class: "num small" }, `${tokens(r.usage.input + r.usage.cache_read + r.usage.cache_write)} / ${tokens(r.usage.output)}`),
                h("td", { class: "num small" }, ms(r.latency_ms)),
                h("td", { class: "num" }, r.cost_usd === null ? "n/a" : usd(r.cost_usd)),
                h("td", {}, h("span", { class: `status-code ${r.status < 400 ? "ok" : "bad"}` }, r.status < 400 ? "OK" : `${r.status}${r.error_kind ? ` ${r.error_kind.replace(/_/g, " ")}` : ""}`)),
              ))),
          ),
    );
  }

  /** Spend against what routing and caching saved, and how much input the
   *  cache served (a gauge each for today and the last 7 days). */
  function renderSavings(u: Usage): void {
    const p = u.summary.periods;
    const windows = [p.today, p.last_7d, p.last_30d];
    const row = (label: string, id: string, amount: (w: typeof p.today) => number) =>
      h("tr", { id }, h("th", {}, label), windows.map((w) => h("td", { class: "num" }, usd(amount(w)))));
    const RADIUS = 26;
    const gauge = (label: string, id: string, w: typeof p.today) => {
      const arc = gaugeArc(w.cache_read_share, RADIUS);
      const ns = "http://www.w3.org/2000/svg";
      const svg = document.createElementNS(ns, "svg");
      svg.setAttribute("viewBox", "0 0 64 64");
      svg.setAttribute("class", "gauge-ring");
      svg.setAttribute("aria-hidden", "true");
      for (const [cls, dash] of [["track", null], ["fill", arc.dash]] as const) {
        const circle = document.createElementNS(ns, "circle");
        Object.entries({ cx: 32, cy: 32, r: RADIUS, class: cls, transform: "rotate(-90 32 32)" }).forEach(([k, v]) => circle.setAttribute(k, String(v)));
        if (dash) circle.setAttribute("stroke-dasharray", dash);
        svg.append(circle);
      }
      const served = w.cache_read_tokens;
      const all = w.input_tokens + w.cache_read_tokens + w.cache_write_tokens;
      return h(
        "div",
        { class: "gauge", id, role: "meter", "aria-label": `Input served from cache, ${label.toLowerCase()}`, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(arc.percent) },
        svg,
        h("div", {}, h("div", { class: "gauge-value" }, `${arc.percent}%`), h("div", { class: "stat-label" }, label), h("div", { class: "stat-note" }, all === 0 ? "no input yet" : `${tokens(served)} of ${tokens(all)} input tokens`)),
      );
    };
    fill(
      savings,
      h("div", { class: "card-head" }, h("h2", {}, "Savings"), h("span", { class: "muted" }, "Routing: against every routed request on the top tier's model · Caching: cache reads against uncached input")),
      h(
        "div",
        { class: "savings-grid" },
        h(
          "table",
          { class: "table", id: "savings-table" },
          h("thead", {}, h("tr", {}, h("th", {}), h("th", { class: "num" }, "Today"), h("th", { class: "num" }, "7 days"), h("th", { class: "num" }, "30 days"))),
          h(
            "tbody",
            {},
            row("Spent", "spent-row", (w) => w.spent_usd),
            row("Saved by routing", "routing-saved-row", (w) => w.saved_by_routing_usd),
            row("Saved by caching", "cache-saved-row", (w) => w.saved_by_caching_usd),
          ),
        ),
        h("div", { class: "gauges" }, gauge("Today", "cache-gauge-today", p.today), gauge("Last 7 days", "cache-gauge-7d", p.last_7d)),
      ),
    );
  }

  async function refresh(): Promise<void> {
    const usage = usageApi.usage();
    const [d, s] = await Promise.all([api.dashboard(), api.clientSetup().catch(() => null)]);
    showStatus(d.status);
    for (const m of d.models) displayOf.set(m.name, m.display);
    // After the catalog's display names are known, so rows name models the same way.
    usage.then(renderUsage, (e) => {
      fill(spend, h("h2", {}, "Spend"), h("p", { class: "muted" }, `Usage is unavailable: ${errorMessage(e)}`));
      fill(savings);
      fill(byModel);
      fill(byClient);
      fill(recent);
    });
    renderModels(d);
    renderRouting(d);
    if (s) {
      lastSetup = s;
      renderSetup(s);
    } else if (!lastSetup) {
      fill(setup, h("h2", {}, "Connect your tools"), h("p", { class: "muted" }, "The client key is unavailable (is the keychain unlocked?)."));
    }
  }

  renderStatus();
  renderTryout();
  return { element, refresh, showStatus };
}
