// The window when the app could not start: the error with file and line,
// and the ways out (restart, and for settings a reset that keeps a backup).
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { StartupProblem } from "../src/api";
import { start } from "../src/main";

afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
});

function mockProblem(problem: StartupProblem | null): string[] {
  const calls: string[] = [];
  mockIPC(
    (cmd) => {
      calls.push(cmd);
      if (cmd === "startup_problem") return problem;
      if (cmd === "reset_settings") return { backup: "/home/u/.config/clawrouter/settings.json.bak-1764530000" };
      if (cmd === "restart") return null;
      if (cmd === "proxy_status") return { state: "stopped" };
      throw new Error(`not needed here: ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  return calls;
}

async function started(): Promise<HTMLElement> {
  const root = document.createElement("div");
  document.body.replaceChildren(root);
  await start(root);
  return root;
}

describe("startup problem", () => {
  it("shows a broken models.yaml with file and line, and restarts once fixed", async () => {
    const calls = mockProblem({ message: "/home/u/.config/clawrouter/models.yaml:7: did not find expected key", file: "/home/u/.config/clawrouter/models.yaml", can_reset: false });
    const root = await started();
    expect(root.querySelector("#startup-problem")?.textContent).toBe("/home/u/.config/clawrouter/models.yaml:7: did not find expected key");
    expect(root.querySelector("#problem-file")?.textContent).toBe("/home/u/.config/clawrouter/models.yaml");
    expect(root.querySelector("#problem-reset")).toBeNull();
    expect(root.querySelector("#dashboard-view")).toBeNull();
    (root.querySelector("#problem-restart") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls).toContain("restart"));
  });

  it("resets broken settings, says where the user's file was kept, and restarts", async () => {
    const calls = mockProblem({ message: "/home/u/.config/clawrouter/settings.json:3:5: invalid settings JSON: expected value", file: "/home/u/.config/clawrouter/settings.json", can_reset: true });
    const root = await started();
    (root.querySelector("#problem-reset") as HTMLButtonElement).click();
    await vi.waitFor(() => expect(calls).toContain("restart"));
    expect(calls.indexOf("reset_settings")).toBeLessThan(calls.indexOf("restart"));
    expect(root.querySelector("#problem-result")?.textContent).toContain("settings.json.bak-1764530000");
  });

  it("opens the dashboard when the app started", async () => {
    mockProblem(null);
    // jsdom does not scroll.
    vi.spyOn(window, "scrollTo").mockImplementation(() => undefined);
    const root = await started();
    expect(root.querySelector("#startup-problem")).toBeNull();
    expect(root.querySelector("#nav-settings")).not.toBeNull();
  });
});
