"""Merge the JSON object in NEW into the one in TARGET (created if missing).

Used by the Dockerfile to register this module's tools in core's
ocrd-all-tool.json / ocrd-all-module-dir.json without dropping the entries
already there (core's own processors, other modules of a combined image)."""
import json
import sys
from pathlib import Path

target, new = Path(sys.argv[1]), Path(sys.argv[2])
merged = json.loads(target.read_text()) if target.exists() else {}
added = json.loads(new.read_text())
merged.update(added)
target.write_text(json.dumps(merged, indent=1) + '\n')
print(f'{target}: {len(added)} added/updated, {len(merged)} in all')
