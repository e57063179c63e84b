// Shown instead of the dashboard when the app could not start (a
// settings.json or models.yaml that does not load): what is wrong, in which
// file and line, and the ways out.
import { api, errorMessage, startupApi, type StartupProblem } from "../api";
import { fill, h } from "../dom";

export function problemView(problem: StartupProblem): HTMLElement {
  const result = h("p", { class: "small", id: "problem-result", role: "status" });
  const say = (text: string) => fill(result, text);
  const run = (action: () => Promise<void>) => () => action().catch((e) => say(errorMessage(e)));
  const restart = run(() => startupApi.restart());
  return h(
    "div",
    { class: "view problem", id: "problem-view" },
    h("header", { class: "view-head" }, h("h1", {}, "ClawRouter could not start")),
    h(
      "section",
      { class: "card" },
      h("pre", { class: "mono problem-message", id: "startup-problem" }, problem.message),
      problem.file
        ? h("p", { class: "small" }, "Fix ", h("code", { class: "mono", id: "problem-file" }, problem.file), problem.can_reset ? ", or reset it to the defaults (your file is kept as a backup beside it)," : "", " then press Restart.")
        : h("p", { class: "small" }, "Fix the problem above, then press Restart."),
      h(
        "div",
        { class: "row" },
        h("button", { class: "btn primary", id: "problem-restart", onclick: restart }, "Restart"),
        problem.file
          ? h("button", { class: "btn", id: "problem-copy-path", onclick: run(async () => { await api.copyText(problem.file ?? ""); say("Path copied."); }) }, "Copy path")
          : null,
        problem.can_reset
          ? h(
              "button",
              {
                class: "btn danger",
                id: "problem-reset",
                onclick: run(async () => {
                  const done = await startupApi.resetSettings();
                  say(done.backup ? `Defaults written; your file is kept as ${done.backup}. Restarting…` : "Defaults written. Restarting…");
                  await startupApi.restart();
                }),
              },
              "Reset to defaults",
            )
          : null,
      ),
      result,
    ),
  );
}
