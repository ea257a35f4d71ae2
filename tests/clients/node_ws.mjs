#!/usr/bin/env node
// node's `ws` as the client under test of an Autobahn fuzzingserver (`wstest -m
// fuzzingserver`, or any server speaking its driver protocol).
//
//   node node_ws.mjs ws://127.0.0.1:9001 node-ws [--cases 1-517] [--case-timeout 200]
//
// The driver protocol: one connection to BASE/getCaseCount (one text message, the
// count), then for each case BASE/runCase?case=N&agent=AGENT, echoing every text and
// binary message as it came until the connection ends, then
// BASE/updateReports?agent=AGENT.
//
// Offers permessage-deflate as ws does by default (perMessageDeflate: true, the offer
// "permessage-deflate; client_max_window_bits"). Message limit raised from ws's
// 100 MiB default to none (maxPayload: 0); no pings of its own. Text is echoed as
// text (ws hands it over as a Buffer with isBinary false), binary as binary. The
// client's limit of 16384 fragments a message (maxFragments) is left as ws sets it:
// 9.3.1, 9.3.2, 9.4.1 and 9.4.2 send 4 MiB in smaller fragments, ws fails them with
// 1008, and Autobahn grades them FAILED (a client giving up mid-message, on purpose).
//
// A case that has not ended after --case-timeout seconds (default 200: twice the
// 100 s the 9.x cases wait for an echo) is abandoned (ws.terminate()) with a line
// 'case N: TIMEOUT ...'; a case whose connection cannot be opened gets
// 'case N: FAILED ...'. Errors the library raises while a case runs (protocol
// errors, invalid UTF-8, a dropped connection) are how many cases end and are not
// failures. The last line is 'AGENT: N cases run, N timed out, N failed'; the exit
// status is 0 only if none timed out or failed (2 if the case count or the report
// update failed).
import { createRequire } from "node:module";
import WebSocket from "ws";

import { runDriver } from "./driver.mjs";

const require = createRequire(import.meta.url);
const WS_VERSION = require("ws/package.json").version;

// One connection. Resolves "done" when it ended (closed, or failed by the library),
// "timeout" when the deadline came first, or "failed: ..." when it never opened.
// onText(ws, text) sees text messages when given; otherwise every message is echoed.
function connection(url, timeoutSecs, onText) {
  return new Promise((resolve) => {
    let opened = false;
    let settled = false;
    const finish = (how) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(how);
    };
    const ws = new WebSocket(url, { perMessageDeflate: true, maxPayload: 0 });
    const timer = setTimeout(() => {
      ws.terminate();
      finish(`timeout`);
    }, timeoutSecs * 1000);
    ws.on("open", () => {
      opened = true;
    });
    ws.on("message", (data, isBinary) => {
      if (onText) {
        if (!isBinary) onText(ws, data.toString("utf8"));
        return;
      }
      ws.send(data, { binary: isBinary });
    });
    ws.on("error", (err) => {
      // Before the open: the connection or handshake failed. After: the library
      // failed the connection (as many cases want); 'close' follows.
      if (!opened) {
        ws.terminate();
        finish(`failed: ${err.message}`);
      }
    });
    ws.on("close", () => finish(opened ? "done" : "failed: closed before the handshake finished"));
  });
}

await runDriver("node_ws", `ws ${WS_VERSION}`, connection);
