#!/usr/bin/env bash
# Throughput of Kiln with KILN_WORKERS=1 vs 2 (production, CACHE_TYPE=redis, private redis), interleaved.
set -u
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
redis-server --port 6391 --save "" --appendonly no --daemonize yes --dir "$dir" >/dev/null
sleep 0.3
NODE_ENV=production SESSION_SECRET=bench-secret-bench-secret DATABASE_URL="sqlite:$dir/k.sqlite" SEED_DEMO=0 \
  npx tsx src/blog/cli/import.ts ../shared/bench/posts.json >/dev/null 2>&1
run() {
  local workers=$1 port=$2
  NODE_ENV=production SESSION_SECRET=bench-secret-bench-secret DATABASE_URL="sqlite:$dir/k.sqlite" SEED_DEMO=0 \
    AUTHOR_USERNAME=author AUTHOR_PASSWORD=bench-author-password \
    CACHE_TYPE=redis CACHE_REDIS_URL=redis://127.0.0.1:6391 CACHE_KEY_PREFIX="w$workers:" KILN_WORKERS=$workers PORT=$port \
    node scripts/run.mjs src/server.ts >"$dir/server-$workers.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
  for _ in 1 2 3 4; do curl -s -o /dev/null "http://127.0.0.1:$port/"; done
  wrk -t1 -c32 -d3s "http://127.0.0.1:$port/" >/dev/null 2>&1
  wrk -t1 -c32 -d8s --latency "http://127.0.0.1:$port/" | awk -v w=$workers '/Requests\/sec/ {rps=$2} /99%/ {p99=$2} END {print "workers=" w " req/s=" rps " p99=" p99}'
  kill "$pid"; wait "$pid" 2>/dev/null
}
for round in 1 2 3; do run 1 3101; run 2 3102; done
redis-cli -p 6391 shutdown nosave >/dev/null 2>&1
rm -rf "$dir"
