#!/usr/bin/env bash
# Times `killswitch refs` on a generated repository: FILES small source
# files (default 100,000) in TypeScript, Python, Go, Java and Rust, spread
# over directories of 100, a config of 500 flags, a .gitignore'd folder of
# 1,000 more files. Prints the wall-clock time of the scan.
#
#   scripts/refs_bench.sh [FILES]
#
# KILLSWITCH names the binary (default: target/release/killswitch, else
# target/debug/killswitch under $CARGO_TARGET_DIR or ./target).
set -euo pipefail
files=${1:-100000}
target=${CARGO_TARGET_DIR:-$(dirname "$0")/../target}
bin=${KILLSWITCH:-}
if [ -z "$bin" ]; then
  for b in "$target/release/killswitch" "$target/debug/killswitch"; do
    if [ -x "$b" ]; then bin=$b; break; fi
  done
fi
[ -n "$bin" ] || { echo "build killswitch first (cargo build -p killswitch-cli --release)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" "$files" <<'PY'
import json, os, sys
root, n = sys.argv[1], int(sys.argv[2])
flags = [f"flag_{i:03d}" for i in range(500)]
json.dump({"flags": [{"flag_key": k, "enabled": True} for k in flags]}, open(os.path.join(root, "flags.json"), "w"))
shapes = {
    "ts": 'import {{ client }} from "./client";\n// {k} gates this view\nexport const on = client.getBooleanValue("{k}", false);\nexport const label = "hello world";\n',
    "py": '# {k} gates this handler\ndef handler(client):\n    return client.get_boolean_value("{k}", False)\n',
    "go": 'package p\n\n// {k} gates this handler\nfunc On() bool {{ v, _ := client.BooleanValue(ctx, "{k}", false, nil); return v }}\n',
    "java": 'class C{i} {{\n  /* {k} */\n  boolean on() {{ return client.getBooleanValue("{k}", false); }}\n}}\n',
    "rs": '/// Reads `{k}`.\npub fn on(flags: &FlagSet) -> bool {{ flags.evaluate("{k}", &ctx()).enabled }}\n',
}
plain = '// A helper with nothing to do with flags.\nconst name_{i} = "item {i}";\nfunction helper_{i}(x) {{ return x + 1; }}\n'
exts = list(shapes)
for i in range(n):
    d = os.path.join(root, "src", f"d{i // 100:04d}")
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    ext = exts[i % len(exts)]
    # One file in ten reads a flag, one in a thousand with a typo; the rest
    # are plain code with strings and comments.
    with open(os.path.join(d, f"f{i}.{ext}"), "w") as f:
        if i % 1000 == 0:
            f.write(shapes[ext].format(k=flags[i % len(flags)] + "_typo", i=i))
        elif i % 10 == 0:
            f.write(shapes[ext].format(k=flags[i % len(flags)], i=i))
        else:
            f.write(plain.format(i=i))
os.makedirs(os.path.join(root, "dist"), exist_ok=True)
open(os.path.join(root, ".gitignore"), "w").write("dist/\n")
for i in range(1000):
    open(os.path.join(root, "dist", f"b{i}.js"), "w").write('getBooleanValue("ignored_key")\n')
PY
echo "$files files in $dir; $bin"
start=$(date +%s.%N)
set +e
"$bin" refs "$dir/flags.json" "$dir" --format json > "$dir/out.jsonl"
code=$?
set -e
end=$(date +%s.%N)
tail -n 1 "$dir/out.jsonl"
printf 'exit %s; %.2f s\n' "$code" "$(echo "$end - $start" | bc)"
