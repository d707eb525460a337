"""Writes one benchmark's section of benches/RESULTS.md: the block between its
`<!-- NAME:start -->` and `<!-- NAME:end -->` markers is replaced (or appended)."""
import re

PATH = "benches/RESULTS.md"


def write_section(name, block, path=PATH):
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    assert block.startswith(start) and block.endswith(end), "the block carries its markers"
    try:
        text = open(path).read()
    except FileNotFoundError:
        text = "# Benchmark results\n\nEach section names the command that produced it.\n"
    if start in text:
        text = re.sub(re.escape(start) + ".*" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    open(path, "w").write(text)
    print(block)
