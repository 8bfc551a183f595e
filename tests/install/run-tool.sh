#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# run-tool.sh TOOL ARGS...: runs a validator, or skips (77) when it is not installed.
if ! command -v "$1" >/dev/null 2>&1; then
  echo "SKIP: $1 is not installed"
  exit 77
fi
exec "$@"
