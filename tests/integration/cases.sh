#!/bin/bash
# Every data-driven case of tests/cases/ (a folder per case: command, expected
# records byte for byte, expected counters).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${LLMTAP:?}"
tests/cases/run.sh
