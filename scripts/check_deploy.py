#!/usr/bin/env python3
"""Check deploy/kubernetes.yaml against the real wsecho binary.

    check_deploy.py MANIFEST WSECHO_BIN SHUTDOWN_GRACE_SECONDS

Run by scripts/check-deploy.sh in its venv (PyYAML comes with kubernetes-validate),
after kubernetes-validate. Each check prints 'ok' or 'FAIL' and what it saw:

- args: every flag in the container's args is one `wsecho --help` lists;
- port: the containerPort the probes and the Service name is the --port in args, and
  the prometheus.io/port annotation is that port too;
- probes: a wsecho started with those args (--host and --port swapped for 127.0.0.1
  and a free port: the machine running the check may use 5050) answers 200 on the
  liveness and readiness paths, and Prometheus text on prometheus.io/path;
- shutdown: with a client that never answers the close, SIGTERM makes that wsecho
  send 1001 and exit 0 within SHUTDOWN_GRACE_SECONDS (+1 s of slack), and preStop's
  sleep plus that stays under terminationGracePeriodSeconds.

The last line is 'check-deploy: N checks passed, M failed'; exit status 1 on any failure.
"""

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

results = []


def report(ok, what):
    results.append(ok)
    print("check-deploy: %s %s" % ("ok  " if ok else "FAIL", what), flush=True)


def flag_name(arg):
    """'--port=5050' -> '--port'; '-p' -> '-p'; a value -> None."""
    if not arg.startswith("-") or re.fullmatch(r"-?\d+(\.\d+)?", arg):
        return None
    return arg.split("=", 1)[0]


def help_flags(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    flags = set()
    for line in out.splitlines():
        # Option lines: '  -p, --port <PORT>', '      --no-deflate'.
        m = re.match(r"^\s+(-\w)?(?:, )?(--[a-z0-9][a-z0-9-]*)?", line)
        if m and (m.group(1) or m.group(2)):
            flags.update(f for f in m.groups() if f)
    return flags


def arg_value(args, names):
    """The value of the last of `names` in args ('--port 5050' or '--port=5050')."""
    value = None
    for i, a in enumerate(args):
        name = flag_name(a)
        if name in names:
            if "=" in a:
                value = a.split("=", 1)[1]
            elif i + 1 < len(args):
                value = args[i + 1]
    return value


def replace_arg(args, names, value):
    """args with every `names` flag dropped (and its value), then `names[0] value`."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if flag_name(a) in names:
            skip = "=" not in a
            continue
        out.append(a)
    return out + [names[0], value]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError as e:
        return None, str(e)


def start(binary, args, logdir):
    out = open(os.path.join(logdir, "wsecho.out"), "w+")
    err = open(os.path.join(logdir, "wsecho.log"), "w")
    proc = subprocess.Popen([binary] + args, stdout=out, stderr=err)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        out.seek(0)
        if "listening on" in out.read():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    return proc if proc.poll() is None else None


def shutdown_check(proc, port, grace, term_grace, pre_stop):
    """An upgraded client that never answers the close, then SIGTERM."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16))
    sock.sendall(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            return False, "the upgrade got no answer"
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        return False, "the upgrade was answered %r" % head.split(b"\r\n")[0]
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    frame = b""
    while len(frame) < 4:
        chunk = sock.recv(4 - len(frame))
        if not chunk:
            break
        frame += chunk
    try:
        rc = proc.wait(timeout=grace + 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False, "wsecho still running %d s after SIGTERM" % (grace + 5)
    took = time.monotonic() - t0
    sock.close()
    code = int.from_bytes(frame[2:4], "big") if len(frame) == 4 and frame[0] == 0x88 else None
    what = "close %s, exit status %d after %.2f s (wsecho's grace %d s; preStop %d s + that vs terminationGracePeriodSeconds %d)" % (
        code, rc, took, grace, pre_stop, term_grace)
    ok = code == 1001 and rc == 0 and took <= grace + 1 and pre_stop + took < term_grace
    return ok, what


def main():
    manifest, binary, grace = sys.argv[1], sys.argv[2], int(sys.argv[3])
    docs = [d for d in yaml.safe_load_all(open(manifest)) if d]
    deploy = next((d for d in docs if d.get("kind") == "Deployment"), None)
    service = next((d for d in docs if d.get("kind") == "Service"), None)
    if deploy is None or service is None:
        report(False, "%s: needs a Deployment and a Service" % manifest)
        return finish()
    pod = deploy["spec"]["template"]
    spec = pod["spec"]
    containers = spec.get("containers", [])
    if len(containers) != 1:
        report(False, "the Deployment has %d containers, expected 1 (wsecho)" % len(containers))
        return finish()
    c = containers[0]
    args = [str(a) for a in c.get("args", [])]
    annotations = pod.get("metadata", {}).get("annotations", {})

    # Flags.
    known = help_flags(binary)
    flags = [f for f in map(flag_name, args) if f]
    unknown = [f for f in flags if f not in known]
    report(not unknown and bool(flags),
           "args %s: %s" % (args, "unknown to wsecho --help: %s" % unknown if unknown
                            else "all %d flags in wsecho --help" % len(flags)))

    # Ports.
    port_arg = arg_value(args, ("--port", "-p"))
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    probe_ports = []
    for kind in ("livenessProbe", "readinessProbe"):
        probe = c.get(kind, {}).get("httpGet", {})
        p = probe.get("port")
        probe_ports.append((kind, ports.get(p) if isinstance(p, str) else p))
    targets = []
    for sp in service["spec"].get("ports", []):
        t = sp.get("targetPort", sp.get("port"))
        targets.append(ports.get(t) if isinstance(t, str) else t)
    scrape_port = annotations.get("prometheus.io/port")
    seen = ["containerPort %s" % list(ports.values())] + [
        "%s port %s" % pp for pp in probe_ports] + [
        "Service targetPort %s" % targets, "prometheus.io/port %s" % scrape_port]
    want = str(port_arg)
    ok = (port_arg is not None and all(str(p) == want for p in ports.values()) and ports
          and all(str(p) == want for _, p in probe_ports)
          and targets and all(str(t) == want for t in targets) and str(scrape_port) == want)
    report(bool(ok), "--port %s in args; %s" % (port_arg, ", ".join(seen)))

    # Probes, from a wsecho started with those args.
    paths = [(kind, c.get(kind, {}).get("httpGet", {}).get("path")) for kind in ("livenessProbe", "readinessProbe")]
    scrape_path = annotations.get("prometheus.io/path")
    test_port = free_port()
    run_args = replace_arg(replace_arg(args, ("--host",), "127.0.0.1"), ("--port", "-p"), str(test_port))
    logdir = tempfile.mkdtemp(prefix="wsecho-check-deploy.")
    proc = start(binary, run_args, logdir)
    if proc is None:
        log = open(os.path.join(logdir, "wsecho.log")).read().strip().splitlines()
        why = "wsecho %s did not start: %s" % (" ".join(run_args), log[0] if log else "no output")
        # Each check that needed it fails: the tally keeps its shape.
        for what in [kind for kind, _ in paths] + ["prometheus.io/path", "SIGTERM"]:
            report(False, "%s: not checked, %s" % (what, why))
        return finish()
    try:
        for kind, path in paths:
            status, _ = http_get("http://127.0.0.1:%d%s" % (test_port, path or ""))
            report(status == 200, "%s GET %s: %s from wsecho %s" % (kind, path, status, " ".join(run_args)))
        status, body = http_get("http://127.0.0.1:%d%s" % (test_port, scrape_path or ""))
        metrics = "# TYPE wsecho_connections counter" in body
        report(annotations.get("prometheus.io/scrape") == "true" and status == 200 and metrics,
               "prometheus.io/scrape %r, GET %s: %s%s" % (
                   annotations.get("prometheus.io/scrape"), scrape_path, status,
                   ", Prometheus text" if metrics else ", not wsecho's metrics"))
        pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        term_grace = spec.get("terminationGracePeriodSeconds", 30)
        ok, what = shutdown_check(proc, test_port, grace, term_grace, pre_stop)
        report(ok, "SIGTERM: " + what)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    return finish()


def finish():
    passed = sum(results)
    failed = len(results) - passed
    print("check-deploy: %d checks passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
