#!/usr/bin/env bash
# Installs Linkerd into the current cluster, unless it is already there and healthy: its CRDs, then its
# control plane with the trust anchor and issuer of tilt/linkerd-certs.sh, then the viz extension.
# Usage: tilt/install-linkerd.sh <version>, e.g. edge-26.8.3; the linkerd CLI on PATH must be that version
# (it installs its own version). The Gateway API CRDs must be installed first.
set -euo pipefail

want="$1"
have="$(linkerd version --client --short)"
if [[ "$have" != "$want" ]]; then
  echo "The linkerd CLI is $have; this repository expects $want." >&2
  echo "Install it from https://github.com/linkerd/linkerd2/releases/tag/$want" >&2
  exit 1
fi

if linkerd check --output short >/dev/null 2>&1; then
  echo "Linkerd is installed and healthy; to change its version, use linkerd upgrade."
else
  certs=.tourmesh/linkerd
  tilt/linkerd-certs.sh "$certs"
  linkerd install --crds | kubectl apply -f -
  linkerd install \
    --identity-trust-anchors-file "$certs/ca.crt" \
    --identity-issuer-certificate-file "$certs/issuer.crt" \
    --identity-issuer-key-file "$certs/issuer.key" |
    kubectl apply -f -
  linkerd check --wait 5m
fi

if linkerd viz check --output short >/dev/null 2>&1; then
  echo "Linkerd viz is installed and healthy."
else
  linkerd viz install | kubectl apply -f -
  linkerd viz check --wait 5m
fi
