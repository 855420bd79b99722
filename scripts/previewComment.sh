#!/usr/bin/env bash
# The pull request's comment for one stack's preview (.github/workflows/preview.yml), on stdout:
# the etcd plan first (issue 28: components/plan/planResource.ts's check wrote its Markdown to $PLAN
# during the preview, a refused plan too), then Pulumi's own preview output, folded.
# Reads from the environment: STACK, OUTCOME (the preview step's outcome), PLAN (a file path),
# PREVIEW (the preview's output; may be empty when the step failed).
set -euo pipefail
fence='```'
echo "## etcd-stack preview: \`${STACK}\`"
echo
if [[ -s ${PLAN:-} ]]; then
    cat "$PLAN"
else
    echo "_No etcd plan: the preview stopped before the plan's check ran (Pulumi's output below says why)._"
fi
echo
if [[ ${OUTCOME:-} != success ]]; then
    echo "**The preview failed** (${OUTCOME:-unknown}): \`pulumi up\` would be refused the same way."
    echo
fi
echo "<details><summary>Pulumi's preview (the resources that change)</summary>"
echo
echo "${fence}"
# A comment holds at most 65536 characters: keep the plan, cut the diff.
preview=${PREVIEW:-}
printf '%s\n' "${preview:0:50000}"
echo "${fence}"
echo "</details>"
