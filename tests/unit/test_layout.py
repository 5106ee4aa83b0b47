"""The house keeps its shape: no import cycles, no import against the flow, every area's plug-ins loaded.

The imports are read from the source with ast (module level and inside functions; `if TYPE_CHECKING:` blocks
are left out, they never run). A failure names the cycle or the arrow with its file and line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from ops_watch import areas, plugins
from ops_watch.core.registry import DuplicateName, Registry, UnknownName

PACKAGE = Path(__file__).resolve().parents[2] / "ops_watch"

# The floors, lowest first: a module may import its own floor and the floors below, never one above.
# sources -> formats -> store -> checks -> findings -> notify/report, with the areas above the shells they
# plug into, and the wiring (CLI app, daemon, jobs, plug-in loading) on top.
FLOORS: tuple[tuple[str, int], ...] = (
    ("ops_watch.core", 0),
    ("ops_watch.__init__", 0),  # the version only
    ("ops_watch.store", 1),
    ("ops_watch.trail", 1),  # the hash chains: sealed in the store's own transactions
    ("ops_watch.config", 1),
    ("ops_watch.formats", 2),
    ("ops_watch.sources", 3),
    ("ops_watch.ingest", 4),
    ("ops_watch.polled", 4),
    ("ops_watch.collect", 4),
    ("ops_watch.findings", 5),
    ("ops_watch.runtime", 6),
    ("ops_watch.cli.common", 6),
    ("ops_watch.notify", 6),
    ("ops_watch.report", 6),
    ("ops_watch.areas", 7),
    ("ops_watch.plugins", 8),
    ("ops_watch.jobs", 8),
    ("ops_watch.daemon", 8),
    ("ops_watch.cli", 8),
    ("ops_watch.web", 8),  # the console: wires findings, reports and the areas to pages, like the CLI
    ("ops_watch.metrics", 8),  # Prometheus: reads what the jobs and the areas left in the store
    ("ops_watch.__main__", 8),
)
# Arrows the floors allow but the design does not: siblings that must not know each other, and the parts of a
# floor another may not reach.
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    ("ops_watch.notify", "ops_watch.report", "notify and report are siblings: shared names come from core"),
    ("ops_watch.report", "ops_watch.notify", "notify and report are siblings: shared names come from core"),
    (
        "ops_watch.areas",
        "ops_watch.notify",
        "the jobs layer queues reminders and reports; areas never touch the outbox",
    ),
    ("ops_watch.web", "ops_watch.cli", "the console and the CLI are siblings: shared logic lives below both"),
    ("ops_watch.formats", "ops_watch.store.db", "formats may use the table declarations only"),
    ("ops_watch.formats", "ops_watch.store.bulk", "formats may use the table declarations only"),
    ("ops_watch.formats", "ops_watch.store.__init__", "formats may use the table declarations only"),
)


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    file: str
    line: int
    in_function: bool

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.file}:{self.line})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        found[module_name(path)] = path
    return found


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module an imported name lives in: `a.b.c` is module a.b.c, or a name in a.b, or in package a.b."""
    while name:
        if name in known:
            return name
        if f"{name}.__init__" in known:
            return f"{name}.__init__"
        name = name.rpartition(".")[0]
    return None


def arrows() -> list[Arrow]:
    known = modules()
    found: list[Arrow] = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name.rpartition(".")[0]
        rel = str(path.relative_to(PACKAGE.parent))

        def visit(
            node: ast.AST, in_function: bool, name: str = name, package: str = package, rel: str = rel
        ) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                targets: list[str] = []
                if isinstance(child, ast.Import):
                    targets = [a.name for a in child.names]
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                        base = ".".join([*anchor, base] if base else anchor)
                    targets = [f"{base}.{a.name}" for a in child.names]
                for target in targets:
                    if not target.startswith("ops_watch"):
                        continue
                    module = resolve(target, known)
                    if module and module != name:
                        found.append(Arrow(name, module, rel, child.lineno, in_function))
                visit(child, inside)

        visit(tree, False)
    return found


def floor_of(module: str) -> int:
    best = None
    for prefix, floor in FLOORS:
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, floor)
    assert best is not None, (
        f"{module}: on no floor; add it to FLOORS in this test and to docs/architecture.md"
    )
    return best[1]


def cycles(edges: list[Arrow]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for a in edges:
        graph.setdefault(a.source, set()).add(a.target)
        graph.setdefault(a.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return found


def test_the_package_has_no_import_cycle() -> None:
    edges = arrows()
    found = cycles(edges)
    described = []
    for component in found:
        inside = [str(a) for a in edges if a.source in component and a.target in component]
        described.append(f"cycle of {len(component)} modules:\n    " + "\n    ".join(inside))
    assert not found, "\n".join(described)


def test_no_import_runs_against_the_flow() -> None:
    wrong = []
    for arrow in arrows():
        if floor_of(arrow.target) > floor_of(arrow.source):
            wrong.append(f"{arrow}: floor {floor_of(arrow.source)} imports floor {floor_of(arrow.target)}")
        for source, target, why in FORBIDDEN:
            if (arrow.source == source or arrow.source.startswith(source + ".")) and (
                arrow.target == target or arrow.target.startswith(target + ".")
            ):
                wrong.append(f"{arrow}: {why}")
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)


def test_imports_inside_functions_say_why() -> None:
    """An import placed in a function to dodge a cycle hides a module on the wrong floor: one that buys
    start-up time says so in a comment on its line or the line above."""
    silent = []
    for arrow in arrows():
        if not arrow.in_function:
            continue
        lines = (PACKAGE.parent / arrow.file).read_text(encoding="utf-8").splitlines()
        near = " ".join(lines[max(0, arrow.line - 2) : arrow.line + 1])
        if "start-up" not in near:
            silent.append(str(arrow))
    assert not silent, "imports inside functions without a start-up reason:\n" + "\n".join(silent)


def test_the_arrow_reader_sees_a_planted_cycle_and_back_arrow(tmp_path: Path) -> None:
    """The checks above can fail: a cycle and an arrow against the flow in made-up edges are found."""
    planted = [
        Arrow("ops_watch.findings.engine", "ops_watch.areas.staffing.checks", "x.py", 1, False),
        Arrow("ops_watch.areas.staffing.checks", "ops_watch.findings.engine", "y.py", 2, False),
    ]
    assert cycles(planted) == [["ops_watch.areas.staffing.checks", "ops_watch.findings.engine"]]
    assert floor_of("ops_watch.areas.staffing.checks") > floor_of("ops_watch.findings.engine")
    assert floor_of("ops_watch.cli.common") < floor_of("ops_watch.areas.money.billing.commands")
    assert floor_of("ops_watch.cli.app") > floor_of("ops_watch.areas.money.billing.commands")


def test_each_area_lives_in_its_own_package_and_every_module_of_it_is_loaded() -> None:
    """areas.AREA_MODULES is the one list: every module under areas/ is listed there or imported by another
    module (the jobs import the door and backup pollers), and the areas are exactly the vocabulary's (the
    `area` a check reports under)."""
    from ops_watch.core.vocabulary import AREAS

    assert set(areas.AREA_MODULES) == set(AREAS)
    known = modules()
    listed = {f"ops_watch.areas.{a}.{m}" for a, ms in areas.AREA_MODULES.items() for m in ms}
    for name in listed:
        assert name in known, f"{name}: listed in areas.AREA_MODULES but there is no such module"
    reached = listed | {a.target for a in arrows()}
    unloaded = [
        m
        for m in known
        if m.startswith("ops_watch.areas.") and not m.endswith("__init__") and m not in reached
    ]
    assert not unloaded, (
        f"modules of an area that nothing loads (list them in areas.AREA_MODULES): {unloaded}"
    )


def test_every_plug_in_point_is_a_registry_and_holds_its_plug_ins() -> None:
    plugins.load()
    points = plugins.registries()
    for what, registry in points.items():
        assert isinstance(registry, Registry), what
        assert len(registry) > 0, f"{what}: nothing registered"
    assert {"staffing_rate", "satisfaction", "findings_on_time_rate"} <= set(points["score indicators"])
    assert {"local", "ssh", "prometheus"} <= set(points["sources"])
    assert {"hikvision", "zkbiotime"} <= set(points["door pollers"])
    assert set(points["report sections"]) == set(areas.AREA_MODULES)


def test_a_registry_refuses_a_name_twice_and_names_the_known_ones() -> None:
    registry: Registry[int] = Registry("widget")
    registry.add("a", 1)
    with pytest.raises(DuplicateName, match="widget 'a' registered twice"):
        registry.add("a", 2)
    with pytest.raises(UnknownName, match=r"unknown widget 'b' \(known: a\)"):
        registry.lookup("b")
    assert registry["a"] == 1 and list(registry) == ["a"] and registry.names() == ["a"]


def test_rules_plugins_lists_every_registry_with_its_names() -> None:
    import json

    from click.testing import CliRunner

    from ops_watch.cli import main
    from ops_watch.findings.registry import CHECKS

    result = CliRunner().invoke(main, ["rules", "plugins", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["registry"] for r in rows} == set(plugins.registries())
    checks = {r["name"]: r["detail"] for r in rows if r["registry"] == "checks"}
    assert checks == {name: spec.area for name, spec in CHECKS.items()}
    kinds = {r["name"]: r["detail"] for r in rows if r["registry"] == "evidence kinds"}
    assert kinds["door"] == "门禁记录"
