#!/usr/bin/env bash
# tests/mkcert.sh with RSA keys, for the Wine runs: Wine 8's crypt32 now
# and then finds a valid ECDSA signature invalid (trust status 0x8).
export PS_MKCERT_ALG=rsa
exec "$(dirname "$0")/../mkcert.sh" "$@"
