# bash completion for flotilla                               -*- shell-script -*-
#
# Installed as share/bash-completion/completions/flotilla. Keep the two tables
# below true to `flotilla COMMAND --help` (tests/install.sh checks that every
# option a command's --help prints is here, and completes a few words).

# The commands, and each one's options; 'state' completes its subcommands
# first, whose options are under state_SUBCOMMAND. Keys spell '-' as '_'.
_flotilla_commands="validate explain refresh plan adopt apply daemon unlock status state
	connection-string recover restore usage"
declare -A _flotilla_opts=(
	[validate]="--dir --repo --ref --format --help"
	[explain]="--dir --repo --ref --format --help"
	[refresh]="--full --rebuild --repo --dir --state --api-url --api-key-file --rate --help"
	[plan]="--repo --ref --refresh --select --changed-since --out --format --full-plan-url --color
		--detailed-exitcode --state --api-url --api-key-file --rate --verbose --help"
	[adopt]="--all-matching --select --match --auto-approve --repo --ref --state --parallel --rate
		--api-url --api-key-file --color --help"
	[apply]="--auto-approve --parallel --rate --max-deletes --continue-on-error --secrets-dir
		--lock-timeout --op-timeout --format --color --state --api-url --api-key-file --repo --ref
		--refresh --select --changed-since --verbose --help"
	[daemon]="--repo --ref --interval --listen --port-file --cache-dir --webhook-secret-file
		--drift-budget --list-interval --usage-interval --notify-url --notify-url-file --lease-ttl --rate --parallel
		--secrets-dir --state --api-url --api-key-file --log-format --help"
	[unlock]="--force --reason --state --help"
	[status]="--state --format --color --idle --as-of --help"
	[state]="list show forget copy"
	[state_list]="--format --state --help"
	[state_show]="--format --state --help"
	[state_forget]="--force --lock-timeout --state --help"
	[state_copy]="--lock-timeout --help"
	[connection_string]="--role --database --branch --pooled --state --api-url --api-key-file
		--rate --help"
	[recover]="--project --force --auto-approve --repo --dir --ref --state --api-url --api-key-file
		--rate --lock-timeout --help"
	[restore]="--to --snapshot --branch --preserve-as --cleanup-after --auto-approve --state --api-url
		--api-key-file --rate --help"
	[usage]="--since --until --format --select --top --by --org-id --repo --ref --state --api-url
		--api-key-file --rate --help"
)

# What an option's value is: a file, a directory, or one of some words.
# Options not listed here take no value or a free one (a URL, a number).
declare -A _flotilla_values=(
	[--dir]=@dir [--repo]=@dir [--cache-dir]=@dir [--secrets-dir]=@dir
	[--state]=@file [--api-key-file]=@file [--out]=@file [--port-file]=@file
	[--webhook-secret-file]=@file [--notify-url-file]=@file
	[--refresh]="auto full none" [--color]="auto always never" [--log-format]="json text"
	[--format]="text json" [plan--format]="text json markdown"
	[usage--format]="table csv json" [--by]="cost compute storage transfer active"
	[--ref]=@free [--select]=@free [--changed-since]=@free [--full-plan-url]=@free
	[--match]=@free [--rate]=@free [--parallel]=@free [--max-deletes]=@free
	[--lock-timeout]=@free [--op-timeout]=@free [--api-url]=@free [--interval]=@free
	[--listen]=@free [--drift-budget]=@free [--list-interval]=@free [--usage-interval]=@free [--notify-url]=@free
	[--lease-ttl]=@free [--reason]=@free [--role]=@free [--database]=@free [--branch]=@free
	[--to]=@free [--snapshot]=@free [--preserve-as]=@free [--cleanup-after]=@free
	[--since]=@free [--until]=@free [--top]=@free [--org-id]=@free
)

_flotilla()
{
	local cur prev words cword split
	_init_completion -s || return

	if ((cword == 1)); then
		COMPREPLY=($(compgen -W "$_flotilla_commands help --help --version" -- "$cur"))
		return
	fi

	local cmd=${words[1]//-/_} key
	if [[ $cmd == help ]]; then
		((cword == 2)) && COMPREPLY=($(compgen -W "$_flotilla_commands" -- "$cur"))
		return
	fi
	if [[ $cmd == state ]]; then
		if ((cword == 2)); then
			COMPREPLY=($(compgen -W "${_flotilla_opts[state]}" -- "$cur"))
			return
		fi
		cmd=state_${words[2]}
	fi
	[[ -v "_flotilla_opts[$cmd]" ]] || return

	key=$prev
	[[ -v "_flotilla_values[${cmd}$prev]" ]] && key=${cmd}$prev
	case ${_flotilla_values[$key]-} in
	@dir) _filedir -d; return ;;
	@file) _filedir; return ;;
	@free) return ;;
	?*) COMPREPLY=($(compgen -W "${_flotilla_values[$key]}" -- "$cur")); return ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${_flotilla_opts[$cmd]}" -- "$cur"))
		return
	fi
	# Positional words: apply's PLANFILE, state copy's FROM and TO are files.
	case $cmd in
	apply | state_copy) _filedir ;;
	esac
} &&
	complete -F _flotilla flotilla

# ex: filetype=sh
