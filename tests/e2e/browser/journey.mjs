// The browser journey: the demo listener logs in, searches for a track, plays it, and
// the audio element's clock must move while hls.js has a level loaded. Prints one JSON
// line of findings and exits non-zero on any failure; always leaves a screenshot.
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const email = process.env.EMAIL;
const password = process.env.PASSWORD;
const query = process.env.QUERY;
const screenshot = process.env.SCREENSHOT;
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";

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
  await page.waitForFunction(() => document.getElementById("player-audio").currentTime > 0.5, null, { timeout: 30000 });
  findings.first = await audio();
  await page.waitForTimeout(2000);
  findings.second = await audio();
  await page.screenshot({ path: screenshot });
} catch (error) {
  findings.errors.push(error.message.split("\n")[0]);
  if (page) await page.screenshot({ path: screenshot }).catch(() => {});
} finally {
  await browser.close();
}
console.log(JSON.stringify(findings));
process.exit(findings.errors.length === 0 ? 0 : 1);
