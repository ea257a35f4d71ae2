# shellcheck shell=bash
# Headless Chromium for the browser tests: sourced, not run.
#
#   source scripts/lib/chromium.sh
#   chromium_install LOGDIR   # sets CHROMIUM (installing Debian's chromium, and
#                             # nodejs for the page drivers in tests/browser/, with
#                             # apt-get if missing; CHROMIUM may name another
#                             # binary); returns 1 with the reason on stderr
#   chromium_trust CERT_PEM   # prints the flag that makes Chromium accept exactly
#                             # that certificate (wsecho --tls-self-signed's)

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

chromium_install() {
  local logdir="$1"
  mkdir -p "$logdir"
  CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
  if [[ -z "$CHROMIUM" ]]; then
    apt_install "$logdir/apt.log" chromium fonts-liberation || {
      echo "cannot install chromium (see above)" >&2
      return 1
    }
    CHROMIUM="$(command -v chromium)" || {
      echo "chromium not found after installing it" >&2
      return 1
    }
  fi
  if ! command -v node >/dev/null; then
    apt_install "$logdir/apt.log" nodejs || {
      echo "cannot install nodejs (see above)" >&2
      return 1
    }
  fi
}

chromium_trust() {
  # Chromium's flag takes the base64 SHA-256 of the certificate's public key
  # (SPKI); computed by node, which the page drivers need anyway, rather than the
  # openssl command, which a fresh machine may lack.
  local spki
  spki="$(node -e '
    const { X509Certificate, createHash } = require("node:crypto");
    const pem = require("node:fs").readFileSync(process.argv[1]);
    const der = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
    console.log(createHash("sha256").update(der).digest("base64"));
  ' "$1")" || return 1
  printf -- '--ignore-certificate-errors-spki-list=%s\n' "$spki"
}
