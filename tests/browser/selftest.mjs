// Drives headless Chromium through the Chrome DevTools Protocol over a pipe
// (--remote-debugging-pipe: no npm packages, no port), opens wsecho's
// `/?selftest` page and waits for its verdict in <pre id="result">.
//
//   node tests/browser/selftest.mjs CHROMIUM URL [TIMEOUT_SECONDS]
//
// CHROMIUM_EXTRA_ARGS (space-separated) adds flags, e.g. the
// --ignore-certificate-errors-spki-list that trusts wsecho's certificate.
//
// Prints the page's log and verdict; exits 0 on "PASS ...", 1 otherwise.
// (--dump-dom is not enough: it dumps at load, before the WebSocket test ends,
// and --virtual-time-budget fast-forwards the page's timers past its waits.)

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [chromium, url, timeoutArg = "120"] = process.argv.slice(2);
if (!chromium || !url) {
  console.error("usage: node selftest.mjs CHROMIUM URL [TIMEOUT_SECONDS]");
  process.exit(2);
}
const deadline = Date.now() + Number(timeoutArg) * 1000;
const profile = mkdtempSync(join(tmpdir(), "wsecho-chromium-"));

const browser = spawn(
  chromium,
  [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    `--user-data-dir=${profile}`,
    "--remote-debugging-pipe",
    ...(process.env.CHROMIUM_EXTRA_ARGS ?? "").split(" ").filter(Boolean),
    "about:blank",
  ],
  // fd 3: our commands to Chromium; fd 4: its replies and events.
  { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] },
);
let stderr = "";
browser.stderr.on("data", (d) => {
  stderr = (stderr + d).slice(-4000);
});
let exited = false;
const exit = new Promise((ok) =>
  browser.on("exit", () => {
    exited = true;
    ok();
  }),
);

// CDP messages are JSON, each terminated by a NUL byte.
let nextId = 0;
const pending = new Map();
let inbuf = Buffer.alloc(0);
browser.stdio[4].on("data", (chunk) => {
  inbuf = Buffer.concat([inbuf, chunk]);
  for (let nul; (nul = inbuf.indexOf(0)) >= 0; ) {
    const msg = JSON.parse(inbuf.subarray(0, nul).toString("utf8"));
    inbuf = inbuf.subarray(nul + 1);
    if (msg.id !== undefined && pending.has(msg.id)) {
      const { ok, fail } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) fail(new Error(`${msg.error.message} (${msg.error.code})`));
      else ok(msg.result);
    } else if (msg.method === "Runtime.exceptionThrown") {
      const d = msg.params.exceptionDetails;
      console.log(`page exception: ${d.exception?.description ?? d.text}`);
    } else if (msg.method === "Runtime.consoleAPICalled" && msg.params.type === "error") {
      console.log(`page console.error: ${msg.params.args.map((a) => a.value ?? a.description).join(" ")}`);
    }
  }
});

function cdp(method, params = {}, sessionId = undefined) {
  return new Promise((ok, fail) => {
    const id = ++nextId;
    pending.set(id, { ok, fail });
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    browser.stdio[3].write(JSON.stringify(msg) + "\0");
    setTimeout(() => {
      if (pending.delete(id)) fail(new Error(`no answer to ${method}`));
    }, 30000);
  });
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function run() {
  const { targetId } = await cdp("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await cdp("Target.attachToTarget", { targetId, flatten: true });
  await cdp("Runtime.enable", {}, sessionId);
  const nav = await cdp("Page.navigate", { url }, sessionId);
  if (nav.errorText) throw new Error(`navigation failed: ${nav.errorText}`);
  const probe =
    "JSON.stringify({result: document.getElementById('result')?.textContent ?? null," +
    " log: document.getElementById('log')?.textContent ?? ''," +
    " ws: document.getElementById('url')?.textContent ?? null})";
  let state = { result: null, log: "", ws: null };
  while (Date.now() < deadline) {
    if (exited) throw new Error("chromium exited");
    const r = await cdp("Runtime.evaluate", { expression: probe, returnByValue: true }, sessionId);
    if (r.result?.type === "string") state = JSON.parse(r.result.value);
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
  const version = await cdp("Browser.getVersion");
  console.log(`${version.product} (${version.userAgent})`);
  ok = await run();
} catch (e) {
  console.log(`browser: FAIL ${e.message}`);
  if (stderr) console.log(`---- chromium stderr (tail) ----\n${stderr}`);
} finally {
  try {
    await Promise.race([cdp("Browser.close"), sleep(3000)]);
  } catch {
    // already gone
  }
  await Promise.race([exit, sleep(5000)]);
  if (!exited) {
    browser.kill("SIGKILL");
    await Promise.race([exit, sleep(5000)]);
  }
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  } catch (e) {
    console.log(`note: could not remove ${profile}: ${e.message}`);
  }
}
process.exit(ok ? 0 : 1);
