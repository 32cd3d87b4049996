"""The latest full results (bench/results/*.json) as Markdown tables, for the README.

python -m bench.report
"""

from __future__ import annotations

import json

from bench.harness import RESULTS_DIR, fmt

ORDER = ["take_delivery", "web", "token_file", "scale", "targeted_list", "token_lookup"]


def main() -> None:
    paths = sorted(RESULTS_DIR.glob("*.json"), key=lambda p: [*ORDER, p.stem].index(p.stem))
    for path in paths:
        data = json.loads(path.read_text())
        machine = data["machine"]
        print(
            f"\n**{data['benchmark']}** ({data['started_at']}, commit {machine['git_commit']}, "
            f"{machine['cpus']} CPUs, load {machine['load_average'][0]:.1f}, "
            f"PostgreSQL {machine['postgresql']}): `{data['command']}`\n"
        )
        print("| figure | value | limit | ratio | target | |")
        print("|---|---:|---:|---:|---|---|")
        for row in data["rows"]:
            limit = (
                f"{fmt(row['limit'])} {row['limit_name']}".strip()
                if row["limit"] is not None
                else ""
            )
            ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else ""
            verdict = {True: "met", False: "**missed**", None: ""}[row["passed"]]
            value = (
                f"{fmt(row['value'])} {row['unit']}".strip()
                if row["value"] is not None
                else row["note"]
            )
            cells = [row["name"].strip(), value, limit, ratio, row["target"], verdict]
            print("| " + " | ".join(cells) + " |")
        for failure in data["failures"]:
            print(f"\nFAILED: {failure}")


if __name__ == "__main__":
    main()
