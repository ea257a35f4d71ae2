// The driver protocol of Autobahn's fuzzingserver (`wstest -m fuzzingserver`, or any
// server speaking it), shared by the node client drivers: the command line, the case
// count, one connection per case, the report update, the tally and the exit status.
// A driver gives only its library's connection:
//
//   connection(url, timeoutSecs, onText) -> Promise of "done" (it ended: closed, or
//   failed by the library), "timeout" (the deadline came first: abandoned) or
//   "failed: ..." (it never opened). onText(ws, text) sees text messages when given;
//   otherwise every message is echoed as it came (text as text, binary as binary).
//
// The last line is 'AGENT: N cases run, N timed out, N failed'; the exit status is 0
// only if none timed out or failed (2 if the case count or the report update failed).

function parseArgs(name, argv) {
  const usage = (msg) => {
    console.error(`${name}: ${msg}`);
    console.error(`usage: node ${name}.mjs BASE AGENT [--cases N|FIRST-LAST] [--case-timeout SECS]`);
    process.exit(2);
  };
  const pos = [];
  const opts = { cases: null, caseTimeout: 200 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--cases") opts.cases = argv[++i];
    else if (a === "--case-timeout") opts.caseTimeout = Number(argv[++i]);
    else if (a.startsWith("--")) usage(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 2) usage("wants BASE and AGENT");
  if (!(opts.caseTimeout > 0)) usage("--case-timeout wants seconds");
  return { base: pos[0].replace(/\/+$/, ""), agent: pos[1], ...opts };
}

function caseRange(spec, count) {
  if (spec == null) return [1, count];
  const [a, b] = spec.split("-");
  const first = Number(a);
  const last = Number(b ?? a);
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || first > last || last > count) {
    throw new Error(`--cases ${spec} is not within the server's 1-${count}`);
  }
  return [first, last];
}

async function main(name, library, connection) {
  const args = parseArgs(name, process.argv.slice(2));
  const agent = encodeURIComponent(args.agent);

  let count = null;
  const how = await connection(`${args.base}/getCaseCount`, args.caseTimeout, (_ws, text) => {
    count = Number.parseInt(text, 10);
  });
  if (how !== "done" || !Number.isInteger(count)) {
    console.error(`${args.agent}: FAILED to get the case count from ${args.base}: ${how}`);
    return 2;
  }
  let first;
  let last;
  try {
    [first, last] = caseRange(args.cases, count);
  } catch (e) {
    console.error(`${args.agent}: ${e.message}`);
    return 2;
  }
  console.log(`${args.agent}: the server has ${count} cases; running ${first}-${last} (${library}, node ${process.version})`);

  let run = 0;
  let timedOut = 0;
  let failed = 0;
  for (let c = first; c <= last; c++) {
    const started = performance.now();
    const how = await connection(`${args.base}/runCase?case=${c}&agent=${agent}`, args.caseTimeout);
    run++;
    if (how === "timeout") {
      timedOut++;
      console.log(`case ${c}: TIMEOUT after ${args.caseTimeout}s (connection abandoned)`);
    } else if (how !== "done") {
      failed++;
      console.log(`case ${c}: FAILED ${how.replace(/^failed: /, "")}`);
    }
    const took = (performance.now() - started) / 1000;
    if (took > 5) console.log(`case ${c}: took ${took.toFixed(1)}s`);
  }

  let status = 0;
  const upd = await connection(`${args.base}/updateReports?agent=${agent}`, args.caseTimeout);
  if (upd !== "done") {
    console.error(`${args.agent}: FAILED to update the reports: ${upd}`);
    status = 2;
  }
  console.log(`${args.agent}: ${run} cases run, ${timedOut} timed out, ${failed} failed`);
  if (status === 0 && (timedOut || failed)) status = 1;
  return status;
}

// Runs the driver named `name` (for messages) with `library` (name and version, for
// the first line) and its `connection`, then exits: an abandoned connection must not
// keep the process alive.
export async function runDriver(name, library, connection) {
  process.exit(await main(name, library, connection));
}
