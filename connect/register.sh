#!/usr/bin/env bash
# Registers or updates JDBC sink connectors on a Kafka Connect cluster, idempotently.
#
#   connect/register.sh [CONNECT_URL] [connector.json ...]
#
# CONNECT_URL comes from the first argument when it starts with http(s)://, else from the
# CONNECT_URL environment variable, else http://localhost:8083. Without files it registers
# connect/orders-sink.json and connect/order-rejections-sink.json. Each file is a Connect
# REST body {"name": ..., "config": {...}}; the script sends only the "config" object with
# PUT /connectors/<name>/config, which creates the connector or updates it in place, so
# running it twice is harmless. Extra curl options (auth, CA) can be given in CURL_OPTS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
url=${CONNECT_URL:-http://localhost:8083}
if [[ $# -gt 0 && $1 =~ ^https?:// ]]; then
  url=$1
  shift
fi
url=${url%/}
files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  files=("$here/orders-sink.json" "$here/order-rejections-sink.json")
fi

# member FILE KEY prints the raw JSON value of a top-level KEY of the object in FILE.
# It walks the text once, tracking strings and nesting, so formatting does not matter.
member() {
  awk -v want="$2" '
    BEGIN { RS = "^$" }
    {
      s = $0; n = length(s); depth = 0; instr = 0; key = ""; last = ""; cap = 0; out = ""
      for (i = 1; i <= n; i++) {
        c = substr(s, i, 1)
        if (cap) out = out c
        if (instr) {
          if (c == "\\") { i++; if (cap) out = out substr(s, i, 1); if (!cap && depth == 1) tok = tok "\\" substr(s, i, 1); continue }
          if (c == "\"") { instr = 0; if (depth == 1 && !cap) last = tok; if (cap && capdepth == depth && scalar) { print out; exit } ; continue }
          if (depth == 1 && !cap) tok = tok c
          continue
        }
        if (c == "\"") { instr = 1; tok = ""; continue }
        if (c == ":" && depth == 1 && !cap) {
          key = last
          if (key == want) {
            cap = 1; capdepth = depth; out = ""; scalar = 0
            while (substr(s, i + 1, 1) ~ /[ \t\r\n]/) i++
            if (substr(s, i + 1, 1) == "\"") scalar = 1
          }
          continue
        }
        if (c == "{" || c == "[") depth++
        if (c == "}" || c == "]") { depth--; if (cap && depth == capdepth) { print out; exit } }
        if (c == "," && cap && depth == capdepth) { print substr(out, 1, length(out) - 1); exit }
      }
      exit 1
    }' "$1"
}

status=0
for f in "${files[@]}"; do
  name=$(member "$f" name) || { echo "register: $f has no \"name\"" >&2; exit 1; }
  name=${name#\"}
  name=${name%\"}
  config=$(member "$f" config) || { echo "register: $f has no \"config\" object" >&2; exit 1; }
  code=$(curl -sS ${CURL_OPTS:-} -o /tmp/register.$$.out -w '%{http_code}' \
    -X PUT -H 'Content-Type: application/json' -H 'Accept: application/json' \
    --data-binary "$config" "$url/connectors/$name/config") || { echo "register: $name: cannot reach $url" >&2; exit 1; }
  case $code in
    201) echo "register: $name created on $url" ;;
    200) echo "register: $name updated on $url" ;;
    *) echo "register: $name: HTTP $code from $url: $(cat /tmp/register.$$.out)" >&2; status=1 ;;
  esac
  rm -f /tmp/register.$$.out
done
exit $status
