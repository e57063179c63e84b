import { defineConfig } from "vite";

// The app serves the built files (tauri custom protocol); no dev server needed.
export default defineConfig({
  clearScreen: false,
  build: { target: "safari15", outDir: "dist", emptyOutDir: true },
  test: { environment: "jsdom", include: ["tests/**/*.test.ts"] },
});
