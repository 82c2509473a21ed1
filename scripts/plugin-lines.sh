#!/usr/bin/env bash
# Prints each plugin's size as issue 10 counts it: the non-blank, non-comment lines of
# plugins/NAME/src/lib.rs before its `#[cfg(test)]` module (a line whose first non-space
# characters are `//`, doc comments included, is a comment).
#
#   scripts/plugin-lines.sh          # the work tree
#   scripts/plugin-lines.sh main     # the files as they are at a commit, for a before/after table
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:-}"

count() {
  awk '/^[[:space:]]*#\[cfg\(test\)\]/ { exit }
       /^[[:space:]]*$/ { next }
       /^[[:space:]]*\/\// { next }
       { n++ }
       END { print n + 0 }'
}

for dir in plugins/*/; do
  plugin=$(basename "$dir")
  file="plugins/$plugin/src/lib.rs"
  if [ -n "$rev" ]; then
    source_text=$(git show "$rev:$file" 2>/dev/null) || continue
  else
    [ -f "$file" ] || continue
    source_text=$(cat "$file")
  fi
  printf '%s\t%s\n' "$plugin" "$(printf '%s\n' "$source_text" | count)"
done
