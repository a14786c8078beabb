#!/usr/bin/env bash
# Copy the front-end libraries the web face uses into src/sudi/web/static/vendor/.
#
# The copied files are checked in: the product serves them itself and needs no network (no CDN)
# at run time. Run this only to upgrade a library (edit package.json, then run it and commit the
# result). node_modules/ is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v npm >/dev/null 2>&1 || { echo "npm is needed to vendor the assets" >&2; exit 1; }
npm install --no-audit --no-fund --no-package-lock --loglevel=error

nm=node_modules
out=src/sudi/web/static/vendor
rm -rf "$out"
mkdir -p "$out/htmx" "$out/echarts" "$out/leaflet/images"

cp "$nm/htmx.org/dist/htmx.min.js" "$out/htmx/"
cp "$nm/htmx.org/LICENSE" "$out/htmx/LICENSE"

cp "$nm/echarts/dist/echarts.min.js" "$out/echarts/"
cp "$nm/echarts/LICENSE" "$out/echarts/LICENSE"
[ -f "$nm/echarts/NOTICE" ] && cp "$nm/echarts/NOTICE" "$out/echarts/NOTICE"

cp "$nm/leaflet/dist/leaflet.js" "$nm/leaflet/dist/leaflet.css" "$out/leaflet/"
cp "$nm/leaflet/dist/images/"*.png "$out/leaflet/images/"
cp "$nm/leaflet/LICENSE" "$out/leaflet/LICENSE"

# A record of exactly what was vendored.
node -e '
const fs = require("fs");
const names = ["htmx.org", "echarts", "leaflet"];
const lines = names.map(n => {
  const p = JSON.parse(fs.readFileSync(`node_modules/${n}/package.json`, "utf8"));
  return `${n} ${p.version} (${p.license})`;
});
fs.writeFileSync(process.argv[1], "# Vendored by scripts/vendor_assets.sh; do not edit by hand.\n" + lines.join("\n") + "\n");
' "$out/VERSIONS.txt"
cat "$out/VERSIONS.txt"
