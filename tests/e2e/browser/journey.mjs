// The browser journey: the demo listener logs in, searches for a track, plays it, and
// the audio element's clock must move while hls.js has a level loaded. Prints one JSON
// line of findings and exits non-zero on any failure; always leaves a screenshot.
//
// With NATIVE_HLS=1 the page is made to look like Safari on iOS before 17.1: no Media
// Source Extensions, and an <audio> that says it plays HLS itself. The player must then
// hand the element a header-less master link; the journey fetches that link from the
// page without any header and reports what it answered (Chromium cannot play it).
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const email = process.env.EMAIL;
const password = process.env.PASSWORD;
const query = process.env.QUERY;
const screenshot = process.env.SCREENSHOT;
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const nativeHls = process.env.NATIVE_HLS === "1";

// A desktop Chrome's user agent: headless Chromium names itself "HeadlessChrome", which
// the sign-in risk checks rightly treat as automation.
const userAgent =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36";

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ["--autoplay-policy=no-user-gesture-required"],
});
const findings = { errors: [] };
let page;
try {
  const context = await browser.newContext({ userAgent, locale: "en-GB", viewport: { width: 1280, height: 800 } });
  if (nativeHls) {
    await context.addInitScript(() => {
      for (const name of ["MediaSource", "ManagedMediaSource", "WebKitMediaSource", "SourceBuffer"]) {
        Object.defineProperty(window, name, { value: undefined, configurable: true });
      }
      const canPlayType = HTMLMediaElement.prototype.canPlayType;
      HTMLMediaElement.prototype.canPlayType = function (type) {
        return type === "application/vnd.apple.mpegurl" ? "maybe" : canPlayType.call(this, type);
      };
    });
  }
  page = await context.newPage();
  page.on("pageerror", (error) => findings.errors.push(`pageerror: ${error.message}`));

  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor({ timeout: 20000 });

  await page.getByRole("searchbox", { name: "Search" }).fill(query);
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/find\?q=/);
  const play = page.getByRole("button", { name: `Play ${query}`, exact: true });
  await play.first().waitFor({ timeout: 20000 });
  await play.first().click();

  const audio = () => page.evaluate(() => {
    const element = document.getElementById("player-audio");
    const hls = window.__spotilike?.hls;
    return {
      currentTime: element.currentTime,
      paused: element.paused,
      levels: hls ? hls.levels.length : 0,
      loadedLevel: hls ? hls.loadLevel : -1,
      currentLevel: hls ? hls.currentLevel : -1,
    };
  });
  if (nativeHls) {
    // Read in the same frame it appears: Chromium, unable to play it, makes the player
    // fetch fresh links and finally give up, which empties the element again.
    const linked = await page.waitForFunction(
      () => {
        const src = document.getElementById("player-audio").src;
        return src.includes("master.m3u8?") ? src : false;
      },
      null,
      { timeout: 30000 },
    );
    const src = await linked.jsonValue();
    findings.native = await page.evaluate(async (link) => {
      const response = await fetch(link, { credentials: "omit" });
      return { src: link, hlsJs: Boolean(window.__spotilike?.hls), status: response.status, playlist: await response.text() };
    }, src);
  } else {
    await page.waitForFunction(() => document.getElementById("player-audio").currentTime > 0.5, null, {
      timeout: 30000,
    });
    findings.first = await audio();
    await page.waitForTimeout(2000);
    findings.second = await audio();
  }
  await page.screenshot({ path: screenshot });
} catch (error) {
  findings.errors.push(error.message.split("\n")[0]);
  if (page) await page.screenshot({ path: screenshot }).catch(() => {});
} finally {
  await browser.close();
}
console.log(JSON.stringify(findings));
process.exit(findings.errors.length === 0 ? 0 : 1);
