// The window: a sidebar with the proxy's status, and two views.
import "./style.css";
import { api, errorMessage, onEngineEvent, onNavigate, onProxyStatus, startupApi, type ProxyStatus } from "./api";
import { fill, h } from "./dom";
import { budgetWords, proxyWords } from "./format";
import { dashboardView } from "./views/dashboard";
import { problemView } from "./views/problem";
import { settingsView } from "./views/settings";

type ViewName = "dashboard" | "settings";

export function mount(root: HTMLElement): void {
  const toast = h("div", { class: "toast", id: "toast", role: "status" });
  let toastTimer: ReturnType<typeof setTimeout> | undefined;
  const notify = (text: string) => {
    toast.textContent = text;
    toast.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => toast.classList.remove("show"), 2600);
  };

  const dashboard = dashboardView(notify);
  const settings = settingsView(notify);
  const sideStatus = h("div", { class: "side-status", id: "side-status" });
  const navButton = (name: ViewName, label: string) =>
    h("button", { class: "nav", id: `nav-${name}`, "data-view": name, onclick: () => show(name) }, label);
  const main = h("main", { class: "content" });
  fill(
    root,
    h(
      "aside",
      { class: "sidebar" },
      h("div", { class: "brand" }, h("img", { src: "/icon.svg", alt: "", width: 28, height: 28 }), h("span", {}, "ClawRouter")),
      h("nav", {}, navButton("dashboard", "Dashboard"), navButton("settings", "Settings")),
      sideStatus,
    ),
    main,
    toast,
  );

  let current: ViewName = "dashboard";
  function show(name: ViewName): void {
    current = name;
    for (const b of root.querySelectorAll<HTMLButtonElement>("button.nav")) b.classList.toggle("active", b.dataset.view === name);
    fill(main, name === "dashboard" ? dashboard.element : settings.element);
    // The window scrolls, not the view: a view opens at its top, not at the
    // other view's scroll position.
    window.scrollTo(0, 0);
    const load = name === "dashboard" ? dashboard.refresh() : settings.load();
    load.catch((e) => notify(errorMessage(e)));
  }

  function showStatus(status: ProxyStatus): void {
    const words = proxyWords(status);
    fill(sideStatus, h("span", { class: `dot ${words.tone}` }), h("span", {}, words.headline));
    dashboard.showStatus(status);
  }

  void onProxyStatus((status) => {
    showStatus(status);
    if (current === "dashboard") dashboard.refresh().catch(() => undefined);
  });
  void onNavigate((view) => show(view === "settings" ? "settings" : "dashboard"));
  api.proxyStatus().then(showStatus, (e) => notify(errorMessage(e)));
  // The engine pushes what changes (ledger rows, budgets, health,
  // availability); nothing here wakes up on a timer, so the hidden app
  // stays idle. A hidden window catches up when it is shown again.
  const refreshVisible = () => {
    if (current === "dashboard" && !document.hidden) dashboard.refresh().catch(() => undefined);
  };
  void onEngineEvent((event) => {
    if (event.source === "usage" && event.event.kind !== "changed") {
      const words = budgetWords(event.event.spent_usd, event.event.limit_usd, event.event.period);
      if (words) notify(`Spend is at ${words}.`);
    }
    refreshVisible();
  });
  document.addEventListener("visibilitychange", refreshVisible);
  show("dashboard");
}

/** The dashboard, or, when the app could not start, what is wrong and how to fix it. */
export async function start(root: HTMLElement): Promise<void> {
  const problem = await startupApi.problem();
  if (problem) fill(root, problemView(problem));
  else mount(root);
}

const root = document.getElementById("app");
if (root) void start(root);
