// Drives headless Chromium (chromium.mjs) through wsecho's `/suite` page, the client
// suite run by the browser's own WebSocket, and waits for the page to end: its
// title becomes 'suite done: N cases' (or 'suite failed: ...').
//
//   node tests/browser/suite.mjs CHROMIUM URL [TIMEOUT_SECONDS] [RESULTS_JSON]
//
// CHROMIUM_EXTRA_ARGS (space-separated) adds flags, e.g. the
// --ignore-certificate-errors-spki-list that trusts wsecho's certificate.
//
// Prints the progress every 30 s, then the page's summary; RESULTS_JSON gets what
// the page saw of each case (number, id, behavior from /getCaseStatus, the close
// code the browser got, milliseconds). Exits 0 once the page is done, 1 otherwise.

import { writeFileSync } from "node:fs";
import { launch, sleep } from "./chromium.mjs";

const [chromium, url, timeoutArg = "1800", resultsFile] = process.argv.slice(2);
if (!chromium || !url) {
  console.error("usage: node suite.mjs CHROMIUM URL [TIMEOUT_SECONDS] [RESULTS_JSON]");
  process.exit(2);
}
const deadline = Date.now() + Number(timeoutArg) * 1000;
const browser = launch(chromium);

async function run() {
  const page = await browser.open(url);
  const probe =
    "JSON.stringify({title: document.title," +
    " progress: document.getElementById('progress')?.textContent ?? ''," +
    " summary: document.getElementById('summary')?.textContent ?? ''," +
    " server: document.getElementById('server')?.textContent ?? ''})";
  let state = { title: "", progress: "", summary: "" };
  let note = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (browser.exited()) throw new Error("chromium exited");
    const value = await page.evaluate(probe);
    if (typeof value === "string") state = JSON.parse(value);
    if (/^suite (done|failed)\b/.test(state.title)) break;
    if (Date.now() >= note) {
      console.log(`suite: ${state.progress}`);
      note = Date.now() + 30000;
    }
    await sleep(250);
  }
  console.log(`suite server: ${state.server}`);
  if (resultsFile) {
    const results = await page.evaluate("JSON.stringify(window.suiteResults ?? [])");
    writeFileSync(resultsFile, results ?? "[]");
  }
  if (state.title.startsWith("suite done")) {
    console.log(`suite: ${state.summary}`);
    return true;
  }
  console.log(`suite: FAIL ${state.summary || `not done within ${timeoutArg} s (${state.progress})`}`);
  return false;
}

let ok = false;
try {
  const version = await browser.cdp("Browser.getVersion");
  console.log(`${version.product} (${version.userAgent})`);
  ok = await run();
} catch (e) {
  console.log(`suite: FAIL ${e.message}`);
  if (browser.stderr()) console.log(`---- chromium stderr (tail) ----\n${browser.stderr()}`);
} finally {
  await browser.close();
}
process.exit(ok ? 0 : 1);
