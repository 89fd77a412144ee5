#!/usr/bin/env bash
# make demo: start the emulator, back up its site with the collection, show the verified result.
# The emulator listens on a fixed port (DEMO_PORT, default 8990; the media host on the next one), so the site
# is the same on every run and a second `make demo` finds its backup and takes no new one.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin="${DEMO_BIN:-$here/.venv/bin}"
dest="${DEMO_DEST:-$here/demo-backups}"
port="${DEMO_PORT:-8990}"
work=$(mktemp -d)
mkdir -p "$dest"
cat > "$work/config.json" <<'JSON'
{"users": {"demo@example.com": "demo-api-token"}, "backup_size": 33554432, "backup_seconds": 6, "queued_seconds": 1}
JSON
PYTHONPATH="$here/tests/emulator" "$bin/python" -m atlassian_emulator --config "$work/config.json" \
  --port "$port" --media-port "$((port + 1))" --ready-file "$work/ready.json" > "$work/emulator.log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  [ -s "$work/ready.json" ] && break
  if ! kill -0 "$emulator" 2>/dev/null; then
    cat "$work/emulator.log" >&2
    echo "The emulator could not start on ports $port and $((port + 1)); choose others with DEMO_PORT=NNNN." >&2
    exit 1
  fi
  sleep 0.1
done
url=$("$bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["site_url"])' "$work/ready.json")
echo "== Emulated Confluence Cloud site at $url (a 32 MiB backup that takes 6 s to create)"
echo "   login: demo@example.com / demo-api-token"
export ATLASSIAN_URL="$url" ATLASSIAN_USERNAME=demo@example.com ATLASSIAN_API_TOKEN=demo-api-token
run() {
  "$bin/ansible-playbook" -i localhost, -c local -e "ansible_python_interpreter=$bin/python" \
    "$here/playbooks/confluence_backup.yml" -e "atlassian_backup_dest=$dest" -e atlassian_backup_poll_interval=1s
}
echo "== First run: takes a backup (or, when $dest already holds one younger than 24 h, calls nothing)"
run
echo "== Second run: a verified backup younger than 24 h is already there, so nothing is called (changed=0)"
run
echo "== What landed in $dest"
ls -l "$dest"
(cd "$dest" && sha256sum -c ./*.sha256)
