#!/bin/sh
# Benchmark `killswitch diff`: 1,000,000 contexts x 100 flags.
#
#   scripts/bench_diff.sh [CONTEXTS] [CHANGED]
#
# Generates (once, in $BENCH_DIR, default target/bench-diff) an OLD config of
# 100 flags (rollouts, allow and deny rules, segments, prerequisites), a NEW
# config where CHANGED of them (default 100: the worst case, every flag
# evaluated under both configs) have a changed rollout, rule or segment, and
# CONTEXTS JSON lines (default 1,000,000) of five attributes each; then times
# the release binary on them with /usr/bin/time (elapsed, CPU, peak memory).
set -eu
contexts=${1:-1000000}
changed=${2:-100}
dir=${BENCH_DIR:-target/bench-diff}
mkdir -p "$dir"
python3 - "$dir" "$contexts" "$changed" <<'PY'
import json, os, random, sys
d, n, changed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def config(new):
    segments = {"internal": 'email endsWith "@internal.com"',
                "legacy": 'app_version semVerLessThan "%s"' % ("3.2.0" if new and changed >= 1 else "3.0.0"),
                "europe": 'country in ["FR", "DE", "ES", "IT"]'}
    flags = []
    for i in range(100):
        c = new and i < changed
        f = {"flag_key": f"flag_{i:03}", "enabled": True}
        kind = i % 4
        if kind == 0:
            f["rollout_percentage"] = 25 if c else 20
        elif kind == 1:
            f["rollout_percentage"] = 50
            f["targeting_rules"] = {"allow_list": ["@internal"],
                                    "deny_list": ["@legacy" if i < changed else 'plan == "free"']}
            if c:
                f["rollout_percentage"] = 55
        elif kind == 2:
            f["rollout_percentage"] = 10
            f["targeting_rules"] = {"allow_list": ['plan == "enterprise"' + (' or @europe' if c else '')]}
        else:
            f["rollout_percentage"] = 70 if c else 60
            f["requires"] = [f"flag_{i-3:03}"]
            f["targeting_rules"] = {"deny_list": ['country == "US" and plan == "free"']}
        flags.append(f)
    return {"segments": segments, "flags": flags}
for name, new in (("old.json", False), ("new.json", True)):
    with open(os.path.join(d, name), "w") as out:
        json.dump(config(new), out, indent=1)
path = os.path.join(d, f"contexts-{n}.jsonl")
if not os.path.exists(path):
    random.seed(17)
    plans, countries, versions = ["free", "pro", "enterprise"], ["FR", "DE", "US", "GB", "ES", "JP"], ["2.9.1", "3.1.0", "3.4.2"]
    with open(path, "w") as out:
        for i in range(n):
            email = f"u{i}@internal.com" if i % 100 == 0 else f"u{i}@example.com"
            out.write('{"user_id": "user-%d", "email": "%s", "plan": "%s", "country": "%s", "app_version": "%s"}\n'
                      % (i, email, random.choice(plans), random.choice(countries), random.choice(versions)))
PY
cargo build --release -q -p killswitch-cli
bin=${CARGO_TARGET_DIR:-target}/release/killswitch
echo "killswitch diff: $contexts contexts x 100 flags, $changed changed, $(nproc) cores"
/usr/bin/time -f "elapsed %e s, user %U s, system %S s, max RSS %M KiB" \
    "$bin" diff "$dir/old.json" "$dir/new.json" --contexts "$dir/contexts-$contexts.jsonl" \
    --format json > "$dir/report.json"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('flags changed', r['flags_changed'], 'decisions changed', r['decisions_changed'])" "$dir/report.json"
