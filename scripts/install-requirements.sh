#!/usr/bin/env bash
# Install a pinned requirements file into the project's virtualenv, making the venv first
# when it is missing or its Python is older than 3.12 (scripts/find-python.sh picks one).
#
#   scripts/install-requirements.sh [--compile] VENV REQUIREMENTS_FILE
#
# --compile writes the bytecode (.pyc) of every module in the venv, as pip does by default
# for what it installs; without it none is written at install time (quicker: the server
# imports about a quarter of them, and `make run` has its first process write those).
#
# uv (pinned: UV_VERSION) installs when it can be had as a wheel from the package index,
# several times faster than pip on a cold cache; it is put into the venv itself, by the
# venv's pip or, in a venv made without one, by the base interpreter's pip. When uv cannot
# be installed, or fails to install the file (it reads no pip.conf, so a private index or
# mirror that only pip knows of is one reason), pip installs the file instead.
# INSTALLER=pip skips uv altogether; INSTALLER=uv refuses to fall back.
set -euo pipefail

compile=0
if [ "${1:-}" = --compile ]; then compile=1; shift; fi
venv=${1:?usage: $0 [--compile] VENV REQUIREMENTS_FILE}
requirements=${2:?usage: $0 [--compile] VENV REQUIREMENTS_FILE}
uv_version=${UV_VERSION:-0.13.9}
installer=${INSTALLER:-auto}
here=$(cd "$(dirname "$0")" && pwd)
py="$venv/bin/python"
uv="$venv/bin/uv"
quiet_pip="--quiet --disable-pip-version-check"

python_ok() {
  [ -x "$py" ] && "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null
}

if ! python_ok; then
  interp=$("$here/find-python.sh")
  echo "creating $venv with $interp"
  rm -rf "$venv"
  if [ "$installer" = pip ]; then
    "$interp" -m venv "$venv"
  else
    # Without pip: ensurepip alone takes seconds, and uv does the installing.
    "$interp" -m venv --without-pip "$venv"
  fi
fi

have_uv() {
  [ -x "$uv" ] && [ "$("$uv" --version 2>/dev/null | awk '{print $2}')" = "$uv_version" ]
}

venv_pip() { "$py" -m pip --version >/dev/null 2>&1; }

# Put uv==$uv_version into the venv; fail quietly when it cannot be had.
get_uv() {
  have_uv && return 0
  if venv_pip; then
    "$py" -m pip install $quiet_pip "uv==$uv_version" 2>/dev/null && have_uv && return 0
  else
    # The base interpreter's pip (22.3 or newer has --python) installs into the venv.
    local base
    base=$("$py" -c 'import sys; print(sys._base_executable)')
    if "$base" -m pip --python "$py" install $quiet_pip "uv==$uv_version" 2>/dev/null \
      && have_uv; then
      return 0
    fi
    "$py" -m ensurepip --upgrade --default-pip >/dev/null 2>&1 \
      && "$py" -m pip install $quiet_pip "uv==$uv_version" 2>/dev/null && have_uv && return 0
  fi
  return 1
}

# With --compile, the bytecode of everything in the venv, the packages installed before
# this run included (uv's --compile-bytecode would do only the new ones): the test suite
# starts many Python processes, each of which would otherwise compile what it imports again
# wherever PYTHONDONTWRITEBYTECODE is set. What is compiled already is skipped.
compile_all() {
  [ "$compile" = 1 ] || return 0
  "$py" -m compileall -q -q -j 0 "$("$py" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
}

if [ "$installer" != pip ]; then
  if get_uv; then
    echo "installing $requirements with uv $uv_version"
    # --python: this venv only; never a Python of uv's own download.
    if UV_PYTHON_DOWNLOADS=never "$uv" pip install --quiet --python "$py" -r "$requirements"; then
      compile_all
      exit 0
    fi
    [ "$installer" = uv ] && exit 1
    echo "uv could not install $requirements; trying pip" >&2
  else
    [ "$installer" = uv ] && { echo "uv $uv_version could not be installed" >&2; exit 1; }
    echo "uv $uv_version could not be installed (\`$py -m pip install uv==$uv_version\` says why);" \
      "installing with pip" >&2
  fi
fi

venv_pip || "$py" -m ensurepip --upgrade --default-pip >/dev/null
echo "installing $requirements with pip"
"$py" -m pip install $quiet_pip --no-compile -r "$requirements"
compile_all
