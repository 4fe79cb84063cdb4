#!/usr/bin/env bash
# Makes the mesh's trust anchor and identity issuer, once, into a directory (default .tourmesh/linkerd,
# git-ignored): a self-signed ECDSA P-256 root CA (root.linkerd.cluster.local, 10 years) and the issuer
# it signs (identity.linkerd.cluster.local, 1 year), a CA that may sign only leaf certificates, which is
# what Linkerd's identity service issues every proxy's certificate from.
# Kept across runs: a new trust anchor would split the mesh until every proxy restarted.
set -euo pipefail

dir="${1:-.tourmesh/linkerd}"
if [[ -f "$dir/issuer.crt" ]]; then
  echo "Linkerd trust anchor and issuer already in $dir"
  exit 0
fi
mkdir -p "$dir"
umask 077

openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 \
  -subj "/CN=root.linkerd.cluster.local" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:1" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$dir/ca.crt"

openssl ecparam -name prime256v1 -genkey -noout -out "$dir/issuer.key"
openssl req -new -key "$dir/issuer.key" -subj "/CN=identity.linkerd.cluster.local" |
  openssl x509 -req -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -sha256 -days 365 \
    -extfile <(printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n') \
    -out "$dir/issuer.crt"

echo "Linkerd trust anchor and issuer written to $dir"
