// Headless Chromium driven through the Chrome DevTools Protocol over a pipe
// (--remote-debugging-pipe: no npm packages, no port). Shared by the page drivers
// (selftest.mjs, suite.mjs).
//
//   const browser = launch(CHROMIUM);         // CHROMIUM_EXTRA_ARGS adds flags
//   const page = await browser.open(URL);     // a new tab, navigated to URL
//   const value = await page.evaluate(EXPR);  // EXPR's value (returned by value)
//   await browser.close();                    // and its profile removed
//
// Page exceptions and console.error lines are printed as they come.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

export function launch(chromium) {
  const profile = mkdtempSync(join(tmpdir(), "wsecho-chromium-"));
  const child = spawn(
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
  child.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  let exited = false;
  const exit = new Promise((ok) =>
    child.on("exit", () => {
      exited = true;
      ok();
    }),
  );

  // CDP messages are JSON, each terminated by a NUL byte.
  let nextId = 0;
  const pending = new Map();
  let inbuf = Buffer.alloc(0);
  child.stdio[4].on("data", (chunk) => {
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
      if (exited) return fail(new Error(`chromium exited (before ${method})`));
      const id = ++nextId;
      pending.set(id, { ok, fail });
      const msg = { id, method, params };
      if (sessionId) msg.sessionId = sessionId;
      child.stdio[3].write(JSON.stringify(msg) + "\0");
      setTimeout(() => {
        if (pending.delete(id)) fail(new Error(`no answer to ${method}`));
      }, 30000);
    });
  }

  async function open(url) {
    const { targetId } = await cdp("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await cdp("Target.attachToTarget", { targetId, flatten: true });
    await cdp("Runtime.enable", {}, sessionId);
    const nav = await cdp("Page.navigate", { url }, sessionId);
    if (nav.errorText) throw new Error(`navigation failed: ${nav.errorText}`);
    return {
      async evaluate(expression) {
        const r = await cdp("Runtime.evaluate", { expression, returnByValue: true }, sessionId);
        return r.result?.value;
      },
    };
  }

  async function close() {
    try {
      await Promise.race([cdp("Browser.close"), sleep(3000)]);
    } catch {
      // already gone
    }
    await Promise.race([exit, sleep(5000)]);
    if (!exited) {
      child.kill("SIGKILL");
      await Promise.race([exit, sleep(5000)]);
    }
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
    } catch (e) {
      console.log(`note: could not remove ${profile}: ${e.message}`);
    }
  }

  return {
    cdp,
    open,
    close,
    exited: () => exited,
    stderr: () => stderr,
  };
}
