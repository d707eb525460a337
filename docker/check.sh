#!/usr/bin/env bash
# Validates what can be validated without a Docker engine: the compose file against the
# Compose specification (Debian's docker-compose), nginx's configuration with `nginx -t`
# (the replicas' names mapped to local addresses), and the Dockerfile's stages.
set -euo pipefail
cd "$(dirname "$0")"

CUR_JWT_SECRET=check docker-compose -f docker-compose.yml config -q
echo "docker-compose.yml: valid"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed -e 's/gateway-a:8080/127.0.0.1:18081/' -e 's/gateway-b:8080/127.0.0.1:18082/' nginx.conf > "$dir/nginx.conf"
nginx -t -q -p "$dir" -c "$dir/nginx.conf" -g "pid $dir/nginx.pid; error_log $dir/error.log;"
echo "nginx.conf: valid"

# Every stage the runtime copies from exists, and the runtime image runs as non-root.
grep -q '^FROM .* AS build' Dockerfile
grep -q '^USER nonroot' Dockerfile
grep -q "readyz" Dockerfile && grep -q "^HEALTHCHECK" Dockerfile
echo "Dockerfile: build stage, non-root user, readiness healthcheck"
