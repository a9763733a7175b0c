#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, preferring 3.13, or fail with a clear message.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
candidates+=(python3.13 python3.12)
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for v in 3.13 3.12; do
    for p in $(ls -d "$root"/versions/"$v".*/bin/python3 2>/dev/null | sort -V -r); do candidates+=("$p"); done
  done
fi
for p in /usr/local/bin/python3.13 /usr/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.12 python3; do
  candidates+=("$p")
done
for c in "${candidates[@]}"; do
  path=$(command -v "$c" 2>/dev/null) || continue
  if ok "$path"; then echo "$path"; exit 0; fi
done
echo "error: no Python 3.12 or newer found; install Python 3.13 (or 3.12) or set PYTHON=/path/to/python3.13" >&2
exit 1
