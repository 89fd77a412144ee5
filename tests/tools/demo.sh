#!/usr/bin/env bash
# make demo: start the emulator, back up its site with the collection, show the verified result.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin="$here/.venv/bin"
work=$(mktemp -d)
dest="$here/demo-backups"
mkdir -p "$dest"
cat > "$work/config.json" <<'JSON'
{"users": {"demo@example.com": "demo-api-token"}, "backup_size": 33554432, "backup_seconds": 6, "queued_seconds": 1}
JSON
PYTHONPATH="$here/tests/emulator" "$bin/python" -m atlassian_emulator --config "$work/config.json" \
  --ready-file "$work/ready.json" > "$work/emulator.log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
url=$("$bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["site_url"])' "$work/ready.json")
echo "== Emulated Confluence Cloud site at $url (a 32 MiB backup that takes 6 s to create)"
export ATLASSIAN_URL="$url" ATLASSIAN_USERNAME=demo@example.com ATLASSIAN_API_TOKEN=demo-api-token
run() {
  "$bin/ansible-playbook" -i localhost, -c local -e "ansible_python_interpreter=$bin/python" \
    "$here/playbooks/confluence_backup.yml" -e "atlassian_backup_dest=$dest" -e atlassian_backup_poll_interval=1s
}
echo "== First run: starts a backup, waits for it, downloads and verifies it"
run
echo "== Second run: a verified backup younger than 24h is already there, so nothing is called (changed=0)"
run
echo "== What landed in $dest"
ls -l "$dest"
(cd "$dest" && sha256sum -c ./*.sha256)
echo "== Emulator's own sha256 of the backup it served:"
curl -s "$url/_emulator/state" | "$bin/python" -c 'import json,sys; b=json.load(sys.stdin)["backup"]; print(b["sha256"], b["size"], "bytes")'
