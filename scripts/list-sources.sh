#!/bin/sh
# list-sources.sh: every C source and header of the project, for the
# banned-function check. Run by meson at configure time from the source root.
cd "$(dirname "$0")/.." || exit 1
find util spec state diff neon source engine serve reconciler sim tests bench -name '*.[ch]' 2>/dev/null | sort
