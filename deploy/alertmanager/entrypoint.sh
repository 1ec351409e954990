#!/bin/sh
# Alertmanager entrypoint for the Holdwatch compose stack (busybox sh in prom/alertmanager).
#
# Renders the webhook URLs into the config, then execs Alertmanager with any extra args.
#   HOLDWATCH_WEBHOOK_URL            both receivers (default: the alert-receiver sidecar)
#   HOLDWATCH_WEBHOOK_URL_CRITICAL   overrides it for severity=critical
#   HOLDWATCH_WEBHOOK_URL_WARNING    overrides it for severity=warning
#   HOLDWATCH_WEBHOOK_URL_WATCHDOG   the dead man's switch (Watchdog, every minute): an
#                                    external heartbeat service that pages when pings stop
#   AM_CONFIG_TEMPLATE / AM_CONFIG_RENDERED   paths (tests use them)
# `entrypoint.sh render` only writes the rendered file (used by the tests).
set -eu

template="${AM_CONFIG_TEMPLATE:-/etc/alertmanager/alertmanager.yml}"
rendered="${AM_CONFIG_RENDERED:-/alertmanager/alertmanager.rendered.yml}"
default_critical="http://alert-receiver:9095/critical"
default_warning="http://alert-receiver:9095/warning"
default_watchdog="http://alert-receiver:9095/watchdog"

critical="${HOLDWATCH_WEBHOOK_URL_CRITICAL:-${HOLDWATCH_WEBHOOK_URL:-$default_critical}}"
warning="${HOLDWATCH_WEBHOOK_URL_WARNING:-${HOLDWATCH_WEBHOOK_URL:-$default_warning}}"
watchdog="${HOLDWATCH_WEBHOOK_URL_WATCHDOG:-$default_watchdog}"

check_url() {
  case "$1" in
    http://?*|https://?*) ;;
    *) echo "entrypoint.sh: webhook URL must start with http:// or https://: $1" >&2; exit 64 ;;
  esac
  case "$1" in
    *[[:space:]]*|*\"*|*\\*)
      echo "entrypoint.sh: webhook URL must not contain spaces, quotes or backslashes" >&2; exit 64 ;;
  esac
}
# Escape the sed replacement metacharacters (& and the | delimiter).
sed_escape() { printf '%s' "$1" | sed -e 's/[&|]/\\&/g'; }

check_url "$critical"
check_url "$warning"
check_url "$watchdog"

sed -e "s|\"$default_critical\"|\"$(sed_escape "$critical")\"|" \
    -e "s|\"$default_warning\"|\"$(sed_escape "$warning")\"|" \
    -e "s|\"$default_watchdog\"|\"$(sed_escape "$watchdog")\"|" \
    "$template" > "$rendered.tmp"
mv "$rendered.tmp" "$rendered"

if [ "${1:-}" = "render" ]; then
  exit 0
fi

exec /bin/alertmanager \
  --config.file="$rendered" \
  --storage.path=/alertmanager \
  "$@"
