"""Graph drawing shared by both front-ends: neutral nodes and edges in, a graphviz Digraph out.

A front-end describes what it wants drawn as plain `VizNode`s and `VizEdge`s (`eager.viz` walks
the autograd tape, `graph.viz` walks a static Graph). Everything about the look lives here, in
one table keyed by the registry's op name, so `matmul` looks the same in both drawings:

- fill colour by op family (the module of `framework/ops` the op is declared in);
- node shape by kind (op, input, parameter, constant, saved value, output, gradient);
- clusters from each node's cluster path (name scopes, modules, cond branches, loop bodies);
- folding: sibling clusters with the same structure (`layer_0` ... `layer_9`) drawn once, "x10";
- collapsing: clusters below a depth become one "scope (N ops)" node with edges re-routed, and
  with `max_nodes` the depth is chosen so the drawing stays under that many nodes.

>>> nodes = [VizNode("a", None, "input", "x", details=("(?, 2) float32",)),
...          VizNode("b", "relu", "op", "relu", cluster=("layer",))]
>>> dot = to_digraph(nodes, [VizEdge("a", "b", "(?, 2) float32")])
>>> "cluster_" in dot.source and "relu" in dot.source
True
"""

from __future__ import annotations

import dataclasses
import re
import traceback

import graphviz

from framework.ops import REGISTRY

# -- the neutral description -----------------------------------------------------------------

KINDS = ("op", "input", "parameter", "constant", "saved", "output", "gradient", "scope")
EDGE_KINDS = ("data", "control", "saved", "repeat")


@dataclasses.dataclass(frozen=True)
class VizNode:
    """One box of a drawing.

    `id` is unique within a drawing; `op` is the registry op name (or a front-end op type such
    as "Placeholder", or None); `kind` is one of `KINDS`; `label` the first line of text and
    `details` the smaller lines below it; `cluster` the path of nested clusters it sits in,
    outermost first; `site` the user's line that created it (shown as a tooltip).
    """

    id: str
    op: str | None
    kind: str
    label: str
    cluster: tuple = ()
    details: tuple = ()
    site: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"VizNode {self.id!r}: unknown kind {self.kind!r}; one of {KINDS}")


@dataclasses.dataclass(frozen=True)
class VizEdge:
    """A value flowing from node `src` to node `dst`; `label` usually "(?, 64) float32".

    `shape` (None for an unknown dimension) and `dtype` are the same facts as data, for readers
    other than a drawing (TensorBoard's graph needs numbers); None where a front-end has none.
    """

    src: str
    dst: str
    label: str = ""
    kind: str = "data"
    shape: tuple | None = None
    dtype: str | None = None

    def __post_init__(self):
        if self.kind not in EDGE_KINDS:
            raise ValueError(f"VizEdge {self.src}->{self.dst}: unknown kind {self.kind!r}; "
                             f"one of {EDGE_KINDS}")


def shape_text(shape, dtype=None) -> str:
    """'(?, 64) float32': unknown dimensions as '?', as on every edge of a drawing.

    >>> shape_text((None, 64), "float32"), shape_text((3,)), shape_text(())
    ('(?, 64) float32', '(3,)', '()')
    """
    if getattr(shape, "ndims", 0) is None:  # a graph shape whose rank is unknown too
        text = "<unknown>"
    else:
        dims = ["?" if d is None else str(d) for d in shape]
        text = f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"
    return f"{text} {dtype}" if dtype is not None else text


def site_text(site) -> str | None:
    """'file.py:12 in fn' for a FrameSummary or a (file, line, function) tuple."""
    if site is None:
        return None
    if isinstance(site, traceback.FrameSummary):
        return f"{site.filename}:{site.lineno} in {site.name}"
    filename, lineno, *rest = site
    return f"{filename}:{lineno}" + (f" in {rest[0]}" if rest and rest[0] else "")


# -- the style table -------------------------------------------------------------------------

FAMILY_COLOURS = {
    "elementwise": "#dbeafe",   # light blue
    "reduction": "#fde68a",     # amber
    "linalg": "#fca5a5",        # red
    "conv": "#f9a8d4",          # pink
    "nn": "#c4b5fd",            # violet
    "movement": "#e5e7eb",      # grey
    "random": "#a7f3d0",        # mint
    "indexing": "#d1d5db",      # darker grey, beside movement's
    "sorting": "#fed7aa",       # peach
    "scan": "#fef3c7",          # pale amber, beside reduction's
    "creation": "#f3f4f6",      # pale grey
    "control flow": "#fdba74",  # orange
    "state": "#d9f99d",         # lime
    "other": "#ffffff",
}

# Front-end op types that are not registry primitives (the graph's variables, assigns,
# control flow...), by family: each front-end registers its own (`register_op_family`).
FRONTEND_FAMILIES: dict[str, str] = {}


def register_op_family(op_type: str, family: str) -> None:
    """Draw the front-end op type `op_type` in `family`'s colour (one of FAMILY_COLOURS)."""
    if family not in FAMILY_COLOURS:
        raise ValueError(f"unknown op family {family!r}; known: {', '.join(FAMILY_COLOURS)}")
    FRONTEND_FAMILIES[op_type] = family

KIND_STYLES = {
    "op": {"shape": "box", "style": "rounded,filled"},
    "gradient": {"shape": "box", "style": "rounded,filled,dashed"},
    "input": {"shape": "ellipse", "style": "filled", "fillcolor": "#bfdbfe"},
    "parameter": {"shape": "box3d", "style": "filled", "fillcolor": "#bbf7d0"},
    "constant": {"shape": "note", "style": "filled", "fillcolor": "#f3f4f6", "fontsize": "9"},
    "saved": {"shape": "box", "style": "dotted,filled", "fillcolor": "#fff7ed",
              "fontsize": "8", "height": "0.2"},
    "output": {"shape": "doubleoctagon", "style": "filled", "fillcolor": "#fde047"},
    "scope": {"shape": "folder", "style": "filled", "fillcolor": "#e0e7ff"},
}

EDGE_STYLES = {
    "data": {},
    "control": {"style": "dashed", "color": "#6b7280", "arrowhead": "odot"},
    "saved": {"style": "dotted", "color": "#9ca3af", "arrowhead": "none"},
    "repeat": {"style": "dashed", "color": "#2563eb", "constraint": "false"},
}


def op_family(op: str | None) -> str:
    """The family of a registry op (its module in framework/ops) or front-end op type.

    >>> import graph  # registers its own op types: Cond, While, Assign, ...
    >>> op_family("matmul"), op_family("relu"), op_family("Cond"), op_family(None)
    ('linalg', 'elementwise', 'control flow', 'other')
    """
    if op in REGISTRY:
        family = REGISTRY[op].__module__.rsplit(".", 1)[-1]
        return family if family in FAMILY_COLOURS else "other"
    return FRONTEND_FAMILIES.get(op, "other")


def node_style(node: VizNode) -> dict:
    """The graphviz attributes of a node: shape from its kind, colour from its op's family.

    Same op, same look: this is the only place either front-end's nodes get their style.
    """
    style = dict(KIND_STYLES[node.kind])
    if node.kind in ("op", "gradient"):
        style["fillcolor"] = FAMILY_COLOURS[op_family(node.op)]
    return style


# -- folding and collapsing ------------------------------------------------------------------


@dataclasses.dataclass
class Drawing:
    """What `to_digraph` draws after folding and collapsing: nodes, edges, cluster labels."""

    nodes: list
    edges: list
    cluster_labels: dict


def _cluster_tree(nodes) -> tuple[dict, dict]:
    """children: path -> child paths in first-seen order; members: path -> its own nodes."""
    children: dict[tuple, list] = {(): []}
    members: dict[tuple, list] = {(): []}
    for node in nodes:
        path = tuple(node.cluster)
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            if prefix not in children:
                children[prefix] = []
                members[prefix] = []
                children[prefix[:-1]].append(prefix)
        members[path].append(node)
    return children, members


def _subtree_nodes(path, children, members) -> list:
    """The nodes of a cluster and of its nested clusters, in a canonical order."""
    found = list(members[path])
    for child in children[path]:
        found += _subtree_nodes(child, children, members)
    return found


def _stem(name: str) -> str:
    """'dense_12' -> 'dense', 'layer3' -> 'layer': the name a run of repeated clusters shares."""
    return re.sub(r"[_\-.]?\d+$", "", name)


def _signature(path, children, members, edges_by_src) -> tuple:
    """Structure of a cluster without its names: node looks, internal edges, child structure."""
    inside = _subtree_nodes(path, children, members)
    index = {node.id: i for i, node in enumerate(inside)}
    looks = tuple((n.kind, n.op, n.label, n.details, len(n.cluster) - len(path)) for n in inside)
    internal = sorted((index[e.src], index[e.dst], e.label, e.kind)
                      for n in inside for e in edges_by_src.get(n.id, ()) if e.dst in index)
    child_shapes = tuple(_signature(c, children, members, edges_by_src)
                         for c in children[path])
    return looks, tuple(internal), child_shapes


def fold_repeats(nodes, edges, cluster_labels=None) -> Drawing:
    """Draw sibling clusters with the same structure and name stem once, labelled "xN".

    Edges into or out of the folded copies are re-routed to the one drawn copy; an edge from
    one copy into the next (the output of layer i feeding layer i+1) becomes a dashed "repeat"
    edge inside it.
    """
    labels = dict(cluster_labels or {})
    children, members = _cluster_tree(nodes)
    edges_by_src: dict[str, list] = {}
    for edge in edges:
        edges_by_src.setdefault(edge.src, []).append(edge)
    replaced: dict[str, str] = {}   # node id in a folded copy -> node id in the drawn copy
    copies: dict[str, dict] = {}    # node id -> {fold group number: which copy it is in}
    signatures: dict[tuple, tuple] = {}

    def signature(path):
        if path not in signatures:
            signatures[path] = _signature(path, children, members, edges_by_src)
        return signatures[path]

    def visit(path):
        groups: dict[tuple, list] = {}
        for child in children[path]:
            groups.setdefault((_stem(child[-1]), signature(child)), []).append(child)
        for group in groups.values():
            if len(group) > 1:
                number = len(copies_seen)
                copies_seen.append(group)
                shown = [n.id for n in _subtree_nodes(group[0], children, members)]
                for copy, other in enumerate(group):
                    ids = [n.id for n in _subtree_nodes(other, children, members)]
                    for mine, theirs in zip(ids, shown):
                        if copy:
                            replaced[mine] = theirs
                        copies.setdefault(mine, {})[number] = copy
                first, last = group[0], group[-1]
                labels[first] = (f"{labels.get(first, first[-1])} … "
                                 f"{labels.get(last, last[-1])} (x{len(group)})")
            visit(group[0])

    def drawn(node_id):
        while node_id in replaced:
            node_id = replaced[node_id]
        return node_id

    copies_seen: list = []
    visit(())
    kept = [n for n in nodes if n.id not in replaced]
    new_edges = []
    for edge in edges:
        src_copies, dst_copies = copies.get(edge.src, {}), copies.get(edge.dst, {})
        between_copies = any(dst_copies.get(g, c) != c for g, c in src_copies.items())
        new_edges.append(VizEdge(drawn(edge.src), drawn(edge.dst), edge.label,
                                 "repeat" if between_copies else edge.kind))
    return Drawing(kept, _merge_edges(new_edges), labels)


def _merge_edges(edges) -> list:
    """One edge per (src, dst, kind), the first label kept; no self-loops except repeats."""
    seen: dict[tuple, VizEdge] = {}
    for edge in edges:
        if edge.src == edge.dst and edge.kind != "repeat":
            continue
        seen.setdefault((edge.src, edge.dst, edge.kind), edge)
    return list(seen.values())


def _counted(node: VizNode) -> int:
    return 1 if node.kind in ("op", "gradient") else 0


def collapse_clusters(nodes, edges, paths, cluster_labels=None) -> Drawing:
    """Replace each cluster in `paths` (tuples) by one "name (N ops)" node; re-route edges."""
    labels = dict(cluster_labels or {})
    paths = sorted(set(map(tuple, paths)), key=len)
    target: dict[tuple, tuple] = {}
    for path in paths:
        if not any(path[:len(p)] == p for p in target):  # an outer collapsed cluster wins
            target[path] = path
    owner: dict[str, tuple] = {}
    count: dict[tuple, int] = {}
    kept: list = []  # a scope node takes the place of its cluster's first node
    for node in nodes:
        cluster = tuple(node.cluster)
        path = next((p for p in target if cluster[:len(p)] == p), None)
        if path is None:
            kept.append(node)
            continue
        owner[node.id] = path
        if path not in count:
            count[path] = 0
            kept.append(path)
        count[path] += _counted(node)
    scope_ids = {path: f"scope{i}" for i, path in enumerate(count)}
    kept = [item if isinstance(item, VizNode) else
            VizNode(scope_ids[item], None, "scope", labels.get(item, item[-1]),
                    cluster=item[:-1],
                    details=(f"({count[item]} op{'s' if count[item] != 1 else ''})",))
            for item in kept]
    new_edges = []
    for edge in edges:
        src = scope_ids[owner[edge.src]] if edge.src in owner else edge.src
        dst = scope_ids[owner[edge.dst]] if edge.dst in owner else edge.dst
        kind = "data" if edge.kind == "repeat" and src != edge.src else edge.kind
        new_edges.append(VizEdge(src, dst, edge.label, kind))
    return Drawing(kept, _merge_edges(new_edges), labels)


def simplify(nodes, edges, *, fold=True, collapse=None, max_nodes=None,
             cluster_labels=None) -> Drawing:
    """Fold repeats, then collapse clusters: what `to_digraph` will actually draw.

    `collapse` is an int depth (0: every top-level cluster becomes one node; 1: their child
    clusters do; ...) or an iterable of cluster paths ("dense_3", "gradients/cond_grad", or
    tuples). With `max_nodes`, the deepest depth whose drawing has at most that many nodes is
    chosen as well (a large graph shows its outer structure first).
    """
    drawing = Drawing(list(nodes), list(edges), dict(cluster_labels or {}))
    known_ids = {n.id for n in drawing.nodes}
    if len(known_ids) != len(drawing.nodes):
        raise ValueError("two VizNodes share an id; each node of a drawing needs its own id")
    for edge in drawing.edges:
        for end in (edge.src, edge.dst):
            if end not in known_ids:
                raise ValueError(f"edge {edge.src!r} -> {edge.dst!r} names an unknown node "
                                 f"{end!r}")
    if fold:
        drawing = fold_repeats(drawing.nodes, drawing.edges, drawing.cluster_labels)
    if collapse is not None and not isinstance(collapse, bool):
        drawing = collapse_clusters(drawing.nodes, drawing.edges,
                                    _paths_to_collapse(drawing.nodes, collapse),
                                    drawing.cluster_labels)
    if max_nodes is not None and len(drawing.nodes) > max_nodes:
        drawing = collapse_clusters(drawing.nodes, drawing.edges,
                                    _paths_to_fit(drawing.nodes, max_nodes),
                                    drawing.cluster_labels)
    return drawing


def _paths_to_fit(nodes, max_nodes: int) -> list[tuple]:
    """Clusters to collapse so that at most `max_nodes` remain: the largest first, the inner
    one of two equal sizes first (so the outer structure stays visible as long as possible)."""
    size: dict[tuple, int] = {}
    for node in nodes:
        for depth in range(1, len(node.cluster) + 1):
            size[tuple(node.cluster[:depth])] = size.get(tuple(node.cluster[:depth]), 0) + 1
    count, chosen = len(nodes), []
    for path in sorted(size, key=lambda p: (-size[p], -len(p))):
        if count <= max_nodes:
            break
        if any(path[:len(c)] == c for c in chosen):
            continue  # already inside a collapsed cluster
        inner = [c for c in chosen if c[:len(path)] == path]
        drawn_inside = size[path] - sum(size[c] - 1 for c in inner)
        if drawn_inside > 1:
            chosen = [c for c in chosen if c not in inner] + [path]
            count -= drawn_inside - 1
    return chosen


def _paths_to_collapse(nodes, collapse) -> list[tuple]:
    if isinstance(collapse, int):
        if collapse < 0:
            raise ValueError(f"collapse depth must be >= 0, got {collapse}")
        return list(dict.fromkeys(tuple(n.cluster[:collapse + 1]) for n in nodes
                                  if len(n.cluster) > collapse))
    if isinstance(collapse, str):
        collapse = [collapse]
    paths = []
    for item in collapse:
        path = tuple(item.split("/")) if isinstance(item, str) else tuple(item)
        present = any(tuple(n.cluster[:len(path)]) == path for n in nodes)
        if not present:
            names = sorted({"/".join(n.cluster) for n in nodes if n.cluster})
            raise ValueError(f"collapse: no cluster {'/'.join(path)!r} in this drawing; "
                             f"clusters: {', '.join(names[:20]) or 'none'}")
        paths.append(path)
    return paths


# -- graphviz output -------------------------------------------------------------------------


def _text(lines) -> str:
    """A plain-text graphviz label: never HTML, backslashes kept, one line per item."""
    return graphviz.nohtml("\\n".join(str(line).replace("\\", "\\\\") for line in lines))


def to_digraph(nodes, edges, *, fold=True, collapse=None, max_nodes=None, cluster_labels=None,
               title=None, rankdir="TB") -> graphviz.Digraph:
    """The graphviz Digraph of a neutral description (see `simplify` for fold and collapse).

    It displays inline in Jupyter; `render(digraph, "svg")` gives the bytes.
    """
    drawing = simplify(nodes, edges, fold=fold, collapse=collapse, max_nodes=max_nodes,
                       cluster_labels=cluster_labels)
    dot = graphviz.Digraph(
        graph_attr={"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "11",
                    "nodesep": "0.25", "ranksep": "0.35", "newrank": "true"},
        node_attr={"fontname": "Helvetica", "fontsize": "10", "height": "0.3"},
        edge_attr={"fontname": "Helvetica", "fontsize": "8", "color": "#374151"})
    if title:
        dot.attr(label=_text([title]), labelloc="t", fontsize="14")
    children, members = _cluster_tree(drawing.nodes)
    counter = iter(range(len(children)))

    def add(graph, path):
        for node in members[path]:
            attrs = node_style(node)
            if node.site:
                attrs["tooltip"] = _text([node.site])
            graph.node(node.id, _text([node.label, *node.details]), **attrs)
        for child in children[path]:
            with graph.subgraph(name=f"cluster_{next(counter)}") as sub:
                sub.attr(label=_text([drawing.cluster_labels.get(child, child[-1])]),
                         style="rounded,filled", fillcolor=_cluster_fill(len(child)),
                         color="#9ca3af", fontsize="10", labeljust="l")
                add(sub, child)

    add(dot, ())
    for edge in drawing.edges:
        attrs = dict(EDGE_STYLES[edge.kind])
        if edge.label:
            attrs["label"] = _text([edge.label])
        dot.edge(edge.src, edge.dst, **attrs)
    return dot


def _cluster_fill(depth: int) -> str:
    shades = ("#f9fafb", "#f3f4f6", "#eef2ff", "#ecfeff")
    return shades[(depth - 1) % len(shades)]


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's `dot` program, which lays drawings out, is not installed."""


def render(digraph: graphviz.Digraph, fmt: str = "svg", path=None) -> bytes:
    """Lay out and render a drawing: the SVG or PNG bytes (also written to `path` if given).

    >>> render(graphviz.Digraph(), "svg")[:5]  # doctest: +SKIP
    b'<?xml'
    """
    if fmt not in ("svg", "png"):
        raise ValueError(f"render: fmt must be 'svg' or 'png', got {fmt!r}")
    try:
        data = digraph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(
            "drawing needs graphviz's `dot` program, which was not found on PATH; install it "
            "with `sudo apt-get install graphviz` (macOS: `brew install graphviz`)") from None
    if path is not None:
        with open(path, "wb") as file:
            file.write(data)
    return data
