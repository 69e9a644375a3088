# shellcheck shell=bash
# Shared by the CI service scripts (ci-s3.sh, ci-postgres.sh), which source
# it; nothing here starts anything.

# _lakevec_chain_exit_trap runs $1 on exit, before any EXIT trap already
# set (so ci-s3.sh and ci-postgres.sh can both be sourced).
_lakevec_chain_exit_trap() {
	local cur old
	cur=$(trap -p EXIT)
	if [ -z "$cur" ]; then
		trap "$1" EXIT
		return
	fi
	_lakevec_trap_arg3() { printf '%s' "$3"; }
	old=$(eval "_lakevec_trap_arg3 $cur")
	trap "$1; $old" EXIT
}
