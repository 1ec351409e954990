#!/bin/sh
# Alertmanager entrypoint for the Holdwatch compose stack (busybox sh in prom/alertmanager).
#
# Renders alertmanager.yml's receivers from the snippets in receivers/, one per integration,
# then execs Alertmanager with any extra args. Nothing in YAML is edited to choose a receiver:
#   HOLDWATCH_PAGER                  who gets critical and warning alerts: one or a comma list of
#                                    log (default: the alert-receiver sidecar), slack (or
#                                    Mattermost), email, pagerduty, opsgenie
#   HOLDWATCH_PAGER_WARNING          overrides it for severity=warning (e.g. HOLDWATCH_PAGER=
#                                    pagerduty,slack HOLDWATCH_PAGER_WARNING=slack: a warning
#                                    never wakes anyone)
#   HOLDWATCH_WEBHOOK_URL            the log receiver's URL (default: the alert-receiver sidecar)
#   HOLDWATCH_WEBHOOK_URL_CRITICAL   overrides it for severity=critical
#   HOLDWATCH_WEBHOOK_URL_WARNING    overrides it for severity=warning
#   HOLDWATCH_WEBHOOK_URL_WATCHDOG   the dead man's switch (Watchdog, every minute): an
#                                    external heartbeat service that pages when pings stop
#   HOLDWATCH_SECRETS_DIR            where the credential files are (default /run/secrets)
#   and each receiver's own settings, named in its snippet (receivers/*.yml: e.g.
#   HOLDWATCH_EMAIL_TO; HOLDWATCH_PAGERDUTY_URL and HOLDWATCH_OPSGENIE_API_URL have defaults).
#   AM_CONFIG_TEMPLATE / AM_CONFIG_RENDERED / AM_RECEIVERS_DIR / AM_TEMPLATES_DIR: paths (tests)
# Credentials are never in the environment or the rendered file: the snippets name files
# (api_url_file, auth_password_file, routing_key_file, api_key_file) that Alertmanager reads
# when it sends. A selected receiver whose credential file is missing or empty, or whose
# setting is unset, stops the start here with one line, instead of failing at the first page.
# `entrypoint.sh render` only writes the rendered file (used by the tests).
set -euf

die() { echo "entrypoint.sh: $*" >&2; exit 64; }

template="${AM_CONFIG_TEMPLATE:-/etc/alertmanager/alertmanager.yml}"
rendered="${AM_CONFIG_RENDERED:-/alertmanager/alertmanager.rendered.yml}"
here="$(dirname "$template")"
receivers_dir="${AM_RECEIVERS_DIR:-$here/receivers}"
templates_dir="${AM_TEMPLATES_DIR:-$here/templates}"
secrets_dir="${HOLDWATCH_SECRETS_DIR:-/run/secrets}"
default_critical="http://alert-receiver:9095/critical"
default_warning="http://alert-receiver:9095/warning"
default_watchdog="http://alert-receiver:9095/watchdog"

critical="${HOLDWATCH_WEBHOOK_URL_CRITICAL:-${HOLDWATCH_WEBHOOK_URL:-$default_critical}}"
warning="${HOLDWATCH_WEBHOOK_URL_WARNING:-${HOLDWATCH_WEBHOOK_URL:-$default_warning}}"
watchdog="${HOLDWATCH_WEBHOOK_URL_WATCHDOG:-$default_watchdog}"
HOLDWATCH_PAGERDUTY_URL="${HOLDWATCH_PAGERDUTY_URL:-https://events.pagerduty.com/v2/enqueue}"
HOLDWATCH_OPSGENIE_API_URL="${HOLDWATCH_OPSGENIE_API_URL:-https://api.opsgenie.com/}"

check_url() {
  case "$1" in
    http://?*|https://?*) ;;
    *) die "webhook URL must start with http:// or https://: $1" ;;
  esac
  check_value "URL" "$1"
}
# Values go into double-quoted YAML strings: no spaces, quotes, backslashes or templates.
check_value() {
  case "$2" in
    *[[:space:]]*|*\"*|*\\*|*\{\{*)
      die "$1 must not contain spaces, quotes, backslashes or {{" ;;
  esac
}
# Escape the sed replacement metacharacters (& and the | delimiter).
sed_escape() { printf '%s' "$1" | sed -e 's/[&|]/\\&/g'; }

available() {
  set +f
  for f in "$receivers_dir"/*.yml; do basename "$f" .yml; done | tr '\n' ' ' | sed 's/ $//'
  set -f
}

# A comma list of receiver names -> the distinct names, space separated, in order.
pager_list() {
  out=""
  for p in $(printf '%s' "$1" | tr ',' ' '); do
    case "$p" in
      *[!a-z]*) die "$2: unknown receiver '$p' (choose from: $(available))" ;;
    esac
    [ -f "$receivers_dir/$p.yml" ] || die "$2: unknown receiver '$p' (choose from: $(available))"
    case " $out " in *" $p "*) ;; *) out="$out $p" ;; esac
  done
  [ -n "$out" ] || die "$2 names no receiver (choose from: $(available))"
  echo $out
}

settings_of() { grep -v '^#' "$receivers_dir/$1.yml" | grep -o '@HOLDWATCH_[A-Z0-9_]*@' | tr -d @ | sort -u; }
credentials_of() { grep -v '^#' "$receivers_dir/$1.yml" | sed -n 's|.*_file: "@SECRETS_DIR@/\([a-z0-9_]*\)".*|\1|p'; }

# Everything a selected receiver needs is there before Alertmanager starts.
check_receiver() {
  for var in $(settings_of "$1"); do
    eval "val=\${$var:-}"
    [ -n "$val" ] || die "receiver $1 needs $var (see docs/operations.md, paging receivers)"
    check_value "$var" "$val"
    case "$var" in *_URL) check_url "$val" ;; esac
  done
  for name in $(credentials_of "$1"); do
    path="$secrets_dir/$name"
    host_var="$(printf '%s' "$name" | tr 'a-z' 'A-Z')_FILE"
    if [ ! -r "$path" ] || [ ! -s "$path" ]; then
      die "receiver $1 needs its credential in $path (missing, empty or unreadable by uid $(id -u)); compose mounts the file named by $host_var"
    fi
    # Alertmanager 0.25 sends some credential files as they are (Opsgenie's key with its
    # newline makes an invalid Authorization header, and every notification fails).
    if [ "$(wc -l < "$path" | tr -d ' ')" != 0 ] || grep -q '[[:space:]]' "$path"; then
      die "receiver $1: $path must hold the credential alone, without a newline or spaces (write it with printf '%s')"
    fi
    if grep -q "api_url_file: \"@SECRETS_DIR@/$name\"" "$receivers_dir/$1.yml" \
      && ! head -n 1 "$path" | grep -Eq '^[[:space:]]*https?://[^[:space:]]'; then
      die "receiver $1: $path must hold the webhook URL (http:// or https://)"
    fi
  done
}

webhook_for() { if [ "$1" = critical ]; then echo "$critical"; else echo "$warning"; fi; }

# The sed script that fills one receiver's snippets.
substitutions() {
  printf 's|@SEVERITY@|%s|g\n' "$1"
  printf 's|@WEBHOOK_URL@|%s|g\n' "$(sed_escape "$(webhook_for "$1")")"
  printf 's|@SECRETS_DIR@|%s|g\n' "$(sed_escape "$secrets_dir")"
  for var in $settings; do
    eval "val=\${$var:-}"
    printf 's|@%s@|%s|g\n' "$var" "$(sed_escape "$val")"
  done
}

emit_receiver() {  # name severity pagers...
  printf '  - name: %s\n' "$1"
  severity="$2"
  shift 2
  substitutions "$severity" > "$rendered.sed"
  for p in "$@"; do
    grep -v '^#' "$receivers_dir/$p.yml" | sed -f "$rendered.sed"
  done
}

check_url "$critical"
check_url "$warning"
check_url "$watchdog"
check_value HOLDWATCH_SECRETS_DIR "$secrets_dir"
check_value AM_TEMPLATES_DIR "$templates_dir"

pagers_critical="$(pager_list "${HOLDWATCH_PAGER:-log}" HOLDWATCH_PAGER)"
pagers_warning="$(pager_list "${HOLDWATCH_PAGER_WARNING:-${HOLDWATCH_PAGER:-log}}" HOLDWATCH_PAGER_WARNING)"
settings=""
for p in $(printf '%s\n' $pagers_critical $pagers_warning | sort -u); do
  check_receiver "$p"
  settings="$settings $(settings_of "$p")"
done

{
  sed -n '/^receivers:/q;p' "$template" \
    | sed -e "s|\"/etc/alertmanager/templates/\*\.tmpl\"|\"$(sed_escape "$templates_dir")/*.tmpl\"|"
  echo "receivers:"
  emit_receiver holdwatch-critical critical $pagers_critical
  emit_receiver holdwatch-warning warning $pagers_warning
  printf '  - name: holdwatch-watchdog\n    webhook_configs:\n      - url: "%s"\n        send_resolved: false\n' "$watchdog"
} > "$rendered.tmp"
rm -f "$rendered.sed"
mv "$rendered.tmp" "$rendered"
echo "entrypoint.sh: critical -> $pagers_critical; warning -> $pagers_warning; watchdog -> webhook" >&2

if [ "${1:-}" = "render" ]; then
  exit 0
fi

exec /bin/alertmanager \
  --config.file="$rendered" \
  --storage.path=/alertmanager \
  "$@"
