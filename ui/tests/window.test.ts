// The window shell (main.ts) against mocked IPC: switching views.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mount } from "../src/main";

afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
});

describe("window", () => {
  it("opens Settings at its top, not at the dashboard's scroll position", async () => {
    mockIPC(
      (cmd) => {
        if (cmd === "proxy_status") return { state: "stopped" };
        // The views' data is not what this test is about.
        throw new Error(`not needed here: ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    // jsdom does not scroll; record the calls instead.
    const scrollTo = vi.spyOn(window, "scrollTo").mockImplementation(() => undefined);
    const root = document.createElement("div");
    document.body.replaceChildren(root);
    mount(root);
    scrollTo.mockClear();
    (document.querySelector("#nav-settings") as HTMLButtonElement).click();
    expect(document.querySelector("#nav-settings")?.classList.contains("active")).toBe(true);
    expect(scrollTo).toHaveBeenCalledWith(0, 0);
  });
});
