# Shared by the package tests (sourced). A tool or a privilege a test needs is missing:
# the test is skipped (exit 77, ctest's SKIP_RETURN_CODE) on a developer's machine and fails
# under CI=true, like BERTH_MISSING_PEER in tests/support/test_support.h.
# shellcheck shell=bash

missing() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: CI=true, and $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}

need_tools() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || missing "$t is not installed (scripts/install-deps test)"
  done
}

need_root() {
  [ "$(id -u)" -eq 0 ] || missing "needs root (a private mount namespace and chroot): run as root"
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The one .deb in DIR whose name starts with berth_.
the_deb() {
  local debs=("$1"/berth_*.deb)
  if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
    fail "expected one berth_*.deb in $1, found: ${debs[*]}"
  fi
  echo "${debs[0]}"
}
