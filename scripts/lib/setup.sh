# Shared set-up steps of scripts/quickstart and .ci/run (sourced, not run). Bash >= 4.
#
#   skx_step NAME LOG CMD...      run CMD with its output in LOG; on failure print the last lines
#                                 of LOG and return CMD's exit code (the caller prints its verdict)
#   skx_externally_managed PY     true when PY is a system Python that refuses pip (PEP 668)
#   skx_make_venv PY DIR LOG      reuse DIR if it is a working venv, else create it with PY; when the
#                                 venv module or ensurepip is missing (Debian/Ubuntu without
#                                 python3-venv), install it with apt (root, or `sudo -n`) and retry
#   skx_apt_install LOG PKG...    apt-get update (once) and install PKG, output in LOG
#
# Set-up steps never read or write the user's ~/.skyexec_nb; the callers say where they write.

SKX_TAIL_LINES=${SKX_TAIL_LINES:-25}
_skx_apt_updated=0

skx_step() {
  local name=$1 log=$2; shift 2
  mkdir -p "$(dirname "$log")"
  local rc=0
  "$@" </dev/null >>"$log" 2>&1 || rc=$?
  if ((rc != 0)); then
    echo "== step '$name' failed (exit $rc); last lines of $log:"
    tail -n "$SKX_TAIL_LINES" "$log" | sed 's/^/    /'
  fi
  return "$rc"
}

skx_externally_managed() {
  "$1" -c 'import os, sys, sysconfig
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(marker) else 1)' 2>/dev/null
}

skx_apt_install() {
  local log=$1; shift
  local sudo=()
  if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
      echo "apt-get install $* needs root, and sudo is not installed" >>"$log"
      return 1
    fi
    sudo=(sudo -n)
  fi
  if ! command -v apt-get >/dev/null; then
    echo "apt-get not found: install $* with this system's package manager" >>"$log"
    return 1
  fi
  if ((_skx_apt_updated == 0)); then
    echo "+ ${sudo[*]:+${sudo[*]} }apt-get update" >>"$log"
    "${sudo[@]}" apt-get update -qq </dev/null >>"$log" 2>&1 || return $?
    _skx_apt_updated=1
  fi
  echo "+ ${sudo[*]:+${sudo[*]} }apt-get install -y $*" >>"$log"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@" </dev/null >>"$log" 2>&1
}

_skx_venv_works() {
  [[ -x "$1/bin/python" ]] && "$1/bin/python" -m pip --version >/dev/null 2>&1
}

skx_make_venv() {
  local py=$1 dir=$2 log=$3
  mkdir -p "$(dirname "$log")"
  if _skx_venv_works "$dir"; then
    echo "reusing the venv $dir ($("$dir/bin/python" --version 2>&1))" >>"$log"
    return 0
  fi
  rm -rf "$dir"
  echo "+ $py -m venv $dir" >>"$log"
  if "$py" -m venv "$dir" </dev/null >>"$log" 2>&1 && _skx_venv_works "$dir"; then
    return 0
  fi
  rm -rf "$dir"  # a failed `python3 -m venv` leaves a venv without pip behind
  local version
  version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  echo "the venv module or ensurepip is missing: installing python${version}-venv with apt" >>"$log"
  skx_apt_install "$log" "python${version}-venv" || skx_apt_install "$log" python3-venv || return $?
  echo "+ $py -m venv $dir" >>"$log"
  "$py" -m venv "$dir" </dev/null >>"$log" 2>&1 && _skx_venv_works "$dir" || { rm -rf "$dir"; return 1; }
}
