#!/bin/sh
# check-banned.sh STAMP FILE...: fail when a source calls a banned unsafe
# function (STYLE.md rule 12). Each has a bounded replacement in util/:
# strcpy/strcat -> str_copy or buf, sprintf -> snprintf or buf_printf,
# strtok -> strtok_r or manual scanning, atoi -> str_to_i64, gets -> never.
stamp=$1; shift
pattern='(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)[[:space:]]*\('
if grep -nE "$pattern" "$@" | grep -vE '//[[:space:]]*banned-ok'; then
	echo "error: banned function used (see STYLE.md rule 12)" >&2
	exit 1
fi
touch "$stamp"
