"""The driver protocol of Autobahn's fuzzingserver, shared by the Python client drivers.

A driver connects with its own library; this module holds the rest: the command line
(BASE AGENT [--cases N|FIRST-LAST] [--case-timeout SECS]), the case range, the URLs of
/runCase and /updateReports, a line per case that timed out, failed or was slow, the
last line 'AGENT: N cases run, N timed out, N failed' and the exit status (0 only if
none timed out or failed; 2 if the case count or the report update failed).

A driver's run_case returns None when the case ran to its end, or a line saying what
went wrong, starting with TIMEOUT or FAILED.
"""

import argparse
import sys
import time
import urllib.parse


class Run:
    def __init__(self, doc):
        ap = argparse.ArgumentParser(description=doc.splitlines()[0])
        ap.add_argument("base", help="the fuzzingserver's base URL, ws://HOST:PORT")
        ap.add_argument("agent", help="the agent name the cases are reported under")
        ap.add_argument("--cases", help="N or FIRST-LAST (1-based); default all")
        ap.add_argument("--case-timeout", type=float, default=200.0,
                        help="seconds per case (default 200)")
        args = ap.parse_args()
        self.agent = args.agent
        self.base = args.base.rstrip("/")
        self.timeout = args.case_timeout
        self._spec = args.cases
        self._quoted = urllib.parse.quote(args.agent, safe="")
        self.run = self.timed_out = self.failed = 0

    def count_url(self):
        return self.base + "/getCaseCount"

    def case_url(self, case):
        return "%s/runCase?case=%d&agent=%s" % (self.base, case, self._quoted)

    def update_url(self):
        return "%s/updateReports?agent=%s" % (self.base, self._quoted)

    def no_count(self, why):
        """The case count could not be had: says so; the exit status."""
        print("%s: FAILED to get the case count from %s: %s" % (self.agent, self.base, why),
              file=sys.stderr)
        return 2

    def cases(self, count, library):
        """The cases to run (None, said, if --cases is not within 1 to count)."""
        first, last = 1, count
        if self._spec is not None:
            a, _, b = self._spec.partition("-")
            try:
                first, last = int(a), int(b or a)
            except ValueError:
                first, last = 0, 0
            if not 1 <= first <= last <= count:
                print("%s: --cases %s is not within the server's 1-%d"
                      % (self.agent, self._spec, count), file=sys.stderr)
                return None
        print("%s: the server has %d cases; running %d-%d (%s)"
              % (self.agent, count, first, last, library), flush=True)
        return range(first, last + 1)

    def record(self, case, err, started):
        """One case's outcome (run_case's answer), begun at time.monotonic() `started`."""
        self.run += 1
        if err is not None:
            if err.startswith("TIMEOUT"):
                self.timed_out += 1
            else:
                self.failed += 1
            print("case %d: %s" % (case, err), flush=True)
        took = time.monotonic() - started
        if took > 5:
            print("case %d: took %.1fs" % (case, took), flush=True)

    def finish(self, update_err):
        """The report update's outcome: the last line; the exit status."""
        status = 0
        if update_err is not None:
            print("%s: FAILED to update the reports: %s" % (self.agent, update_err),
                  file=sys.stderr)
            status = 2
        print("%s: %d cases run, %d timed out, %d failed"
              % (self.agent, self.run, self.timed_out, self.failed), flush=True)
        if status == 0 and (self.timed_out or self.failed):
            status = 1
        return status
