#!/usr/bin/env node
// undici's WebSocket (the WHATWG API that node's global WebSocket is built on) as the
// client under test of an Autobahn fuzzingserver (`wstest -m fuzzingserver`, or any
// server speaking its driver protocol).
//
//   node node_undici.mjs ws://127.0.0.1:9001 node-undici [--cases 1-517] [--case-timeout 200]
//
// The driver protocol: one connection to BASE/getCaseCount (one text message, the
// count), then for each case BASE/runCase?case=N&agent=AGENT, echoing every text and
// binary message as it came until the connection ends, then
// BASE/updateReports?agent=AGENT.
//
// Offers permessage-deflate as undici always does (the WHATWG API has no knob): the
// offer "permessage-deflate; client_max_window_bits"; it inflates what it receives
// and sends uncompressed. No pings of its own. Text arrives as a string and is sent
// back as one (text), binary as an ArrayBuffer (binaryType "arraybuffer") and sent
// back as binary.
//
// A case that has not ended after --case-timeout seconds (default 200: twice the
// 100 s the 9.x cases wait for an echo) is abandoned (ws.close(), then dropped) with a line
// 'case N: TIMEOUT ...'; a case whose connection cannot be opened gets
// 'case N: FAILED ...'. Errors the library raises while a case runs (protocol
// errors, invalid UTF-8, a dropped connection) are how many cases end and are not
// failures. The last line is 'AGENT: N cases run, N timed out, N failed'; the exit
// status is 0 only if none timed out or failed (2 if the case count or the report
// update failed).
import { createRequire } from "node:module";
import { WebSocket } from "undici";

import { runDriver } from "./driver.mjs";

const require = createRequire(import.meta.url);
const UNDICI_VERSION = require("undici/package.json").version;

// One connection. Resolves "done" when it ended (closed, or failed by the library),
// "timeout" when the deadline came first, or "failed: ..." when it never opened.
// onText(ws, text) sees text messages when given; otherwise every message is echoed.
function connection(url, timeoutSecs, onText) {
  return new Promise((resolve) => {
    let opened = false;
    let settled = false;
    let error = null;
    const finish = (how) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(how);
    };
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    const timer = setTimeout(() => {
      // The API has no way to drop the TCP connection: start a close and walk away.
      try {
        ws.close();
      } catch {
        // already closing
      }
      finish("timeout");
    }, timeoutSecs * 1000);
    ws.addEventListener("open", () => {
      opened = true;
    });
    ws.addEventListener("message", (ev) => {
      if (onText) {
        if (typeof ev.data === "string") onText(ws, ev.data);
        return;
      }
      try {
        ws.send(ev.data); // a string goes as text, an ArrayBuffer as binary
      } catch {
        // closing already: the case is ending
      }
    });
    ws.addEventListener("error", (ev) => {
      // Before the open: the connection or handshake failed. After: the library
      // failed the connection (as many cases want). 'close' follows either way.
      error = ev.message || ev.error?.message || "error";
    });
    ws.addEventListener("close", () =>
      finish(opened ? "done" : `failed: ${error ?? "closed before the handshake finished"}`),
    );
  });
}

await runDriver("node_undici", `undici ${UNDICI_VERSION}`, connection);
