#!/usr/bin/env bash
# Checks the files under deploy/ against the tools that will read them and against the
# daemon itself: Prometheus' own promtool parses the scrape configuration and the alert
# rules and runs the rules' unit tests; every mailhook metric the Grafana dashboard and
# the alerts query is one the daemon defines (a renamed metric would leave a blank panel
# or an alert that never fires); every alert has a unit test; systemd parses the unit.
#
#   tests/deploy/check_deploy_files.sh SOURCE_DIR MAILHOOK_BINARY
set -euo pipefail
source_dir=$1
binary=$2
deploy=$source_dir/deploy
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

promtool check config "$deploy/prometheus/prometheus.yml" || fail "promtool check config"
(cd "$deploy/prometheus" && promtool test rules alerts_test.yml) || fail "promtool test rules"

python3 - "$source_dir" <<'PY' || fail "metric names or alert tests"
import json, pathlib, re, sys
root = pathlib.Path(sys.argv[1])
defined = set()
for path in list((root / "src").rglob("*.cc")) + list((root / "src").rglob("*.h")):
    defined.update(re.findall(r'"(mailhook_[a-z0-9_]+)"', path.read_text()))

def used(text):
    names = set(re.findall(r"\b(mailhook_[a-z0-9_]+)", text))
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}

dashboard = json.loads((root / "deploy/grafana/mailhook.json").read_text())
exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
exprs += [v.get("definition", "") for v in dashboard["templating"]["list"]]
alerts = (root / "deploy/prometheus/alerts.yml").read_text()
bad = False
for where, names in (("deploy/grafana/mailhook.json", used("\n".join(exprs))),
                     ("deploy/prometheus/alerts.yml", used(alerts))):
    unknown = sorted(n for n in names if n not in defined)
    for n in unknown:
        print(f"{where}: {n} is not a metric mailhook defines", file=sys.stderr)
    bad = bad or bool(unknown)
    print(f"{where}: {len(names)} mailhook metrics, all defined" if not unknown else "", end="")
    print()

tested = set(re.findall(r"alertname:\s*(\w+)", (root / "deploy/prometheus/alerts_test.yml").read_text()))
for name in re.findall(r"-\s*alert:\s*(\w+)", alerts):
    if name not in tested:
        print(f"alert {name} has no test in alerts_test.yml", file=sys.stderr)
        bad = True
sys.exit(1 if bad else 0)
PY

# systemd-analyze verify wants the unit's programs to exist: check a copy that names the
# built binary.
unit_dir=$(mktemp -d)
trap 'rm -rf "$unit_dir"' EXIT
sed "s|/usr/local/bin/mailhook|$binary|g" "$deploy/systemd/mailhook.service" >"$unit_dir/mailhook.service"
systemd-analyze verify "$unit_dir/mailhook.service" || fail "systemd-analyze verify"

if ((failed)); then exit 1; fi
echo "deploy files: OK"
