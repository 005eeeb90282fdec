#!/usr/bin/env bash
# Fails when a module under src/ includes a module it may not depend on. The table below
# is the layering of docs/ARCHITECTURE.md: each module lists the modules it may include;
# "mailhook/..." (the public API and the generated protobuf headers) is open to every
# module. A new include that crosses the layers fails here before it can form a cycle or
# drag a module's dependencies into a library that should not have them (the lookup
# library a send worker links must not pull in the webhook listener).
#   check_layering.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: check_layering.sh SOURCE_DIR}/src

declare -A allowed=(
  [common]=""
  [config]="common"
  [metrics]="common"
  [http]="common metrics"
  [email]="common"
  [storage]="common"
  [kafka]="common config metrics"
  [webhook]="common config metrics http email kafka"
  [suppression]="common config email"
  [index]="common config metrics email storage kafka suppression"
  [policy]="common config metrics email kafka suppression index"
  [sender]="common config metrics http email kafka suppression index"
  [report]="common config metrics email storage kafka"
  [dedup]="common config metrics storage kafka"
  [app]="common config metrics http email storage kafka webhook suppression index policy sender report dedup"
)

bad=0
for dir in "$src"/*/; do
  module=$(basename "$dir")
  if [ -z "${allowed[$module]+set}" ]; then
    echo "layering: src/$module is not in the table of tests/layering/check_layering.sh"
    bad=1
    continue
  fi
  while IFS=: read -r file line text; do
    used=$(sed -E 's/^#include "([a-z_]+)\/.*/\1/' <<<"$text")
    [ "$used" = "$module" ] || [ "$used" = mailhook ] && continue
    if [[ " ${allowed[$module]} " != *" $used "* ]]; then
      echo "layering: ${file#"$src"/}:$line: $module may not include $used (${text})"
      bad=1
    fi
  done < <(grep -nE '^#include "[a-z_]+/' "$dir"*.h "$dir"*.cc 2>/dev/null || true)
done
if ((bad)); then
  exit 1
fi
echo "layering: every include follows the module table"
