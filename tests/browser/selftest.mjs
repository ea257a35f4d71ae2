// Drives headless Chromium (chromium.mjs), opens wsecho's `/?selftest` page and
// waits for its verdict in <pre id="result">.
//
//   node tests/browser/selftest.mjs CHROMIUM URL [TIMEOUT_SECONDS]
//
// CHROMIUM_EXTRA_ARGS (space-separated) adds flags, e.g. the
// --ignore-certificate-errors-spki-list that trusts wsecho's certificate.
//
// Prints the page's log and verdict; exits 0 on "PASS ...", 1 otherwise.
// (--dump-dom is not enough: it dumps at load, before the WebSocket test ends,
// and --virtual-time-budget fast-forwards the page's timers past its waits.)

import { launch, sleep } from "./chromium.mjs";

const [chromium, url, timeoutArg = "120"] = process.argv.slice(2);
if (!chromium || !url) {
  console.error("usage: node selftest.mjs CHROMIUM URL [TIMEOUT_SECONDS]");
  process.exit(2);
}
const deadline = Date.now() + Number(timeoutArg) * 1000;
const browser = launch(chromium);

async function run() {
  const page = await browser.open(url);
  const probe =
    "JSON.stringify({result: document.getElementById('result')?.textContent ?? null," +
    " log: document.getElementById('log')?.textContent ?? ''," +
    " ws: document.getElementById('url')?.textContent ?? null})";
  let state = { result: null, log: "", ws: null };
  while (Date.now() < deadline) {
    if (browser.exited()) throw new Error("chromium exited");
    const value = await page.evaluate(probe);
    if (typeof value === "string") state = JSON.parse(value);
    if (state.result && /^(PASS|FAIL)\b/.test(state.result)) break;
    await sleep(200);
  }
  process.stdout.write(state.log);
  // The URL the page opened its WebSocket on (test-browser.sh checks the scheme).
  console.log(`websocket url: ${state.ws}`);
  const verdict = state.result && /^(PASS|FAIL)\b/.test(state.result)
    ? state.result
    : `FAIL no verdict within ${timeoutArg} s (result: ${JSON.stringify(state.result)})`;
  console.log(`browser: ${verdict}`);
  return verdict.startsWith("PASS");
}

let ok = false;
try {
  const version = await browser.cdp("Browser.getVersion");
  console.log(`${version.product} (${version.userAgent})`);
  ok = await run();
} catch (e) {
  console.log(`browser: FAIL ${e.message}`);
  if (browser.stderr()) console.log(`---- chromium stderr (tail) ----\n${browser.stderr()}`);
} finally {
  await browser.close();
}
process.exit(ok ? 0 : 1);
