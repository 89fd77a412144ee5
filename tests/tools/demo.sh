#!/usr/bin/env bash
# make demo: start the emulator and a local S3 server, run the scheduled-backup playbook against them twice, and
# show where everything landed. The emulator listens on a fixed port (DEMO_PORT, default 8990; the media host on
# the next one), so the site is the same on every run and a later `make demo` finds its backups and takes no new
# ones. The S3 server (moto) keeps its objects in memory: each `make demo` uploads to a fresh bucket.
# By default it prints a short account (each run's report and recap) and writes the playbook runs in full to
# $dest/demo.log; DEMO_VERBOSE=1 prints them in full.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin="${DEMO_BIN:-$here/.venv/bin}"
dest="${DEMO_DEST:-$here/demo-backups}"
port="${DEMO_PORT:-8990}"
verbose="${DEMO_VERBOSE:-}"
work=$(mktemp -d)
mkdir -p "$dest/metrics"
log="$dest/demo.log"
: > "$log"
cat > "$work/config.json" <<'JSON'
{"users": {"demo@example.com": "demo-api-token"}, "backup_size": 33554432, "backup_seconds": 6, "queued_seconds": 1,
 "backup_inventory": {"spaces": 12, "pages": 4800, "blog_posts": 230, "comments": 9100, "attachments": 2600},
 "snapshots_api_keys": ["demo-snapshots-key"], "snapshots_endpoint_token": "demo0token"}
JSON
PYTHONPATH="$here/tests/emulator" "$bin/python" -m atlassian_emulator --config "$work/config.json" \
  --port "$port" --media-port "$((port + 1))" --ready-file "$work/ready.json" > "$work/emulator.log" 2>&1 &
emulator=$!
"$bin/python" "$here/tests/tools/s3server.py" --ready-file "$work/s3.json" > "$work/s3.log" 2>&1 &
s3=$!
trap 'kill $emulator $s3 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 300); do
  [ -s "$work/ready.json" ] && [ -s "$work/s3.json" ] && break
  if ! kill -0 "$emulator" 2>/dev/null; then
    cat "$work/emulator.log" >&2
    echo "The emulator could not start on ports $port and $((port + 1)); choose others with DEMO_PORT=NNNN." >&2
    exit 1
  fi
  if ! kill -0 "$s3" 2>/dev/null; then
    cat "$work/s3.log" >&2
    echo "The S3 server (moto) could not start." >&2
    exit 1
  fi
  sleep 0.1
done
url=$("$bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["site_url"])' "$work/ready.json")
s3url=$("$bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint_url"])' "$work/s3.json")
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
"$bin/python" -c 'import boto3,sys; boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").create_bucket(Bucket="demo-backups")' "$s3url"
echo "== Emulated Confluence Cloud site at $url (a 32 MiB backup that takes 6 s to create), its Snapshots app,"
echo "   and an S3 server at $s3url (bucket demo-backups)"
# The credentials come from the environment, under each target's prefix (see roles/scheduled_backup/README.md).
export SCHEDULED_BACKUP_SITE_USERNAME=demo@example.com SCHEDULED_BACKUP_SITE_API_TOKEN=demo-api-token
export SCHEDULED_BACKUP_SNAPSHOTS_ENDPOINT="$url/snapshots/api/backup/demo0token"
export SCHEDULED_BACKUP_SNAPSHOTS_API_KEY=demo-snapshots-key
cat > "$work/vars.json" <<JSON
{"scheduled_backup_dest": "$dest", "scheduled_backup_textfile_dir": "$dest/metrics",
 "scheduled_backup_poll_interval": "1s", "scheduled_backup_max_age": "20h", "scheduled_backup_verify": "inventory",
 "scheduled_backup_keep_daily": 7, "scheduled_backup_keep_weekly": 4, "scheduled_backup_keep_monthly": 12,
 "scheduled_backup_keep_yearly": 2,
 "scheduled_backup_s3": {"bucket": "demo-backups", "prefix": "nightly", "endpoint_url": "$s3url",
                         "region": "us-east-1", "validate_certs": false},
 "scheduled_backup_targets": [
   {"name": "site", "type": "confluence_cloud", "url": "$url"},
   {"name": "snapshots", "type": "snapshots", "url": "$url"}]}
JSON
playbook() {
  "$bin/ansible-playbook" -i localhost, -c local -e "ansible_python_interpreter=$bin/python" \
    "$here/playbooks/scheduled_backup.yml" -e "@$work/vars.json"
}
run() {
  if [ -n "$verbose" ]; then
    playbook 2>&1 | tee -a "$log"
    return "${PIPESTATUS[0]}"
  fi
  local started rc=0 part="$work/run.log"
  started=$(date +%s)
  playbook > "$part" 2>&1 || rc=$?
  cat "$part" >> "$log"
  # The role's report (one line per target), the warnings and failures, and the recap.
  "$bin/python" - "$part" <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
show, report = [], False
for line in lines:
    if line.startswith("TASK [") and "Show what each target did" in line:
        report = True
        continue
    if report:
        if line.startswith(("TASK [", "PLAY RECAP")):
            report = False
        else:
            match = re.match(r'^\s+"(.*)",?$', line)
            if match and not match.group(1).startswith("msg"):
                show.append("   " + json.loads('"%s"' % match.group(1)))
            continue
    if line.startswith(("[WARNING]", "fatal:", "failed:", "[ERROR]")) or re.match(r"^localhost\s*:\s*ok=", line):
        show.append("   " + line)
print("\n".join(show))
PY
  echo "   ($(( $(date +%s) - started )) s; the whole run is in $log)"
  return "$rc"
}
echo "== First run: for each target, lock, pre-flight, backup (or reuse one younger than 20 h), verify the"
echo "   inventory, apply the retention, copy to S3 and read it back, write the metrics"
run
echo "== Second run: every verified backup is younger than 20 h, the bucket holds it: nothing changes (changed=0)"
run
echo "== What landed in $dest"
if [ -n "$verbose" ]; then ls -lR "$dest"; else (cd "$dest" && ls -l site snapshots metrics); fi
(cd "$dest/site" && sha256sum -c ./*.sha256) && (cd "$dest/snapshots" && sha256sum -c ./*.sha256)
echo "== The metrics for node_exporter ($dest/metrics/atlassian_backup_site.prom)"
grep -v '^#' "$dest/metrics/atlassian_backup_site.prom"
echo "== The off-site copy"
"$bin/python" -c 'import boto3,sys
for o in boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1").list_objects_v2(Bucket="demo-backups")["Contents"]:
    print("s3://demo-backups/%s  %d bytes" % (o["Key"], o["Size"]))' "$s3url"
