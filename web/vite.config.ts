import { defineConfig } from "vitest/config";

// The gateway serves the API and the built player from one origin; in development Vite
// serves the player and forwards every API prefix to a running gateway, so the code only
// ever uses relative URLs and never needs CORS.
const gateway = process.env.SPOTILIKE_GATEWAY_URL ?? "http://127.0.0.1:8080";
const apiPrefixes = [
  "/auth",
  "/.well-known",
  "/users",
  "/admin",
  "/catalog",
  "/audio",
  "/stream",
  "/notifications",
  "/playlists",
  "/search",
  "/social",
  "/ws",
];

export default defineConfig({
  server: {
    port: 5173,
    strictPort: true,
    proxy: Object.fromEntries(
      // Anchored on a path segment as the gateway matches them: /authors is not /auth.
      apiPrefixes.map((prefix) => [
        `^${prefix.replace(".", "\\.")}(/|\\?|$)`,
        { target: gateway, ws: prefix === "/ws" },
      ]),
    ),
  },
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: true,
    target: "es2022",
  },
  test: {
    environment: "node",
    include: ["tests/**/*.test.ts"],
  },
});
