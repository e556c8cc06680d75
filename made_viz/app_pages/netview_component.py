"""The in-browser network view: a Streamlit bidirectional component (st.components.v2, inline HTML/CSS/JS,
no build step) that draws the masked network from made_viz.netview's JSON and traces, hovers and clears
in the browser. Nothing is sent back to Python, so a click costs the server no rerun (issue 17).

The JavaScript's `traceUnit` is the algorithm of made_viz.netview.browser_trace (tests/unit/test_netview.py
checks that one against made_viz.graph); keep the two in step. What it highlights is readable from the DOM
(tests/e2e/test_netview.py does): the root has data-traced="layer:unit", every node data-l, data-k and
data-state (source / up / down / none), every edge data-e="layer:i:j" (layer -1: direct) and data-state
(up / down / bad / none)."""

from __future__ import annotations

import streamlit as st

from made_viz import netview as NV
from made_viz.app_pages.architecture_work import mask_set

CSS = """
.nv { position: relative; font-family: "Source Sans Pro", sans-serif; user-select: none; }
.nv svg { display: block; width: 100%; }
.nv .unit { cursor: pointer; }
.nv .unit text { pointer-events: none; font-weight: 600; }
.nv .tip { position: absolute; pointer-events: none; background: #ffffff; border: 1px solid #9ca3af;
  border-radius: 4px; padding: 4px 7px; font-size: 13px; white-space: pre-line; color: #111827;
  box-shadow: 0 1px 4px rgba(0,0,0,.15); display: none; z-index: 5; }
.nv .layer { font-size: 14px; fill: #111827; }
.nv .layer tspan.n { font-size: 12px; fill: #4b5563; }
.nv .pixel { font-size: 15px; fill: #374151; }
.nv .status { font-size: 13px; color: #374151; min-height: 1.3em; margin-top: 2px; }
"""

JS = r"""
const NS = 'http://www.w3.org/2000/svg';
const HEIGHT = 420;

function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

// adjacency once per view: fwd / back lists of [unitKey, edgeKey]; a unit is "l:k", an edge "l:i:j" (l = -1: direct)
function adjacency(v) {
  const fwd = new Map(), back = new Map(), last = v.sizes.length - 1;
  const add = (m, a, b, e) => { if (!m.has(a)) m.set(a, []); m.get(a).push([b, e]); };
  const runs = v.edges.map((flat, l) => [l, l, l + 1, flat]).concat([[-1, 0, last, v.direct]]);
  for (const [tag, la, lb, flat] of runs)
    for (let n = 0; n < flat.length; n += 2) {
      const i = flat[n], j = flat[n + 1], e = `${tag}:${i}:${j}`;
      add(fwd, `${la}:${i}`, `${lb}:${j}`, e);
      add(back, `${lb}:${j}`, `${la}:${i}`, e);
    }
  return { fwd, back };
}

function reach(start, adj) {
  const seen = new Set(), edges = new Set(), todo = [start];
  while (todo.length) {
    const u = todo.pop();
    for (const [w, e] of (adj.get(u) || [])) {
      edges.add(e);
      if (!seen.has(w)) { seen.add(w); todo.push(w); }
    }
  }
  seen.delete(start);
  return { units: seen, edges };
}

// the same algorithm as made_viz.netview.browser_trace (checked against made_viz.graph by the tests)
function traceUnit(v, adj, layer, unit) {
  const up = reach(`${layer}:${unit}`, adj.back), down = reach(`${layer}:${unit}`, adj.fwd);
  const bad = new Set();
  const forbidden = (e, below) => {
    const [t, i, j] = e.split(':').map(Number);
    if (t === -1) return v.pos[i] >= v.pos[j];
    return below ? v.hi[t][i] >= v.lo[layer][unit] : v.hi[layer][unit] >= v.lo[t + 1][j];
  };
  for (const e of up.edges) if (forbidden(e, true)) bad.add(e);
  for (const e of down.edges) if (forbidden(e, false)) bad.add(e);
  return { up: up.units, down: down.units, upEdges: up.edges, downEdges: down.edges, bad };
}

function geometry(v, width) {
  const nL = v.sizes.length, widest = Math.max(...v.sizes);
  const left = 86, right = 16, top = 34, bottom = 10;
  const bulge = 0.35 * (widest + 1) / 2 + 0.5;
  const half = (widest - 1) / 2 + 0.6 + (v.direct.length ? bulge * 0.5 : 0);
  const px = x => left + (x + half) / (2 * half) * (width - left - right);
  const py = l => top + (nL - 1 + 0.55 - l) / (nL - 1 + 1.1) * (HEIGHT - top - bottom);
  const slot = (width - 110) / Math.max(widest, 1);
  const r = Math.min(23, Math.max(3.5, 0.36 * slot));
  return { px, py, r, font: Math.min(20, Math.max(8, r * 0.84)), bulge, half, width };
}

function draw(root, v, width) {
  root.querySelector('svg')?.remove();
  const g = geometry(v, width), last = v.sizes.length - 1;
  const svg = el('svg', { viewBox: `0 0 ${width} ${HEIGHT}`, height: HEIGHT });
  root.prepend(svg);
  const edges = el('g', {}, svg), nodes = el('g', {}, svg);
  const nEdges = v.edges.reduce((a, f) => a + f.length / 2, 0) + v.direct.length / 2;
  const baseW = nEdges < 60 ? 2.2 : nEdges < 400 ? 1.4 : nEdges < 1500 ? 0.8 : 0.5;
  const baseA = nEdges < 60 ? 0.75 : nEdges < 400 ? 0.5 : nEdges < 1500 ? 0.3 : 0.18;
  const refs = { edges: new Map(), nodes: new Map(), baseW, baseA };
  v.edges.forEach((flat, l) => {
    for (let n = 0; n < flat.length; n += 2) {
      const i = flat[n], j = flat[n + 1];
      const e = el('line', { x1: g.px(v.x[l][i]), y1: g.py(l), x2: g.px(v.x[l + 1][j]), y2: g.py(l + 1),
                             'data-e': `${l}:${i}:${j}` }, edges);
      refs.edges.set(`${l}:${i}:${j}`, e);
    }
  });
  for (let n = 0; n < v.direct.length; n += 2) {
    const i = v.direct[n], j = v.direct[n + 1];
    const x0 = g.px(v.x[0][i]), x1 = g.px(v.x[last][j]), y0 = g.py(0), y1 = g.py(last);
    const cx = (x0 + x1) / 2 + (g.px(g.bulge) - g.px(0)), cy = (y0 + y1) / 2;
    const e = el('path', { d: `M${x0},${y0} Q${cx},${cy} ${x1},${y1}`, fill: 'none', 'data-e': `-1:${i}:${j}` },
                 edges);
    refs.edges.set(`-1:${i}:${j}`, e);
  }
  v.sizes.forEach((n, l) => {
    const t = el('text', { x: 80, y: g.py(l) - 2, 'text-anchor': 'end', class: 'layer' }, svg);
    t.textContent = v.names[l];
    const s = el('tspan', { x: 80, dy: '1.2em', class: 'n' }, t);
    s.textContent = `${n} units`;
    for (let k = 0; k < n; k++) {
      const u = el('g', { class: 'unit', 'data-l': l, 'data-k': k, 'data-state': 'none' }, nodes);
      el('circle', { cx: g.px(v.x[l][k]), cy: g.py(l), r: g.r, fill: v.fill[l][k] }, u);
      if (v.labels) {
        const lab = el('text', { x: g.px(v.x[l][k]), y: g.py(l), 'text-anchor': 'middle',
                                 'dominant-baseline': 'central', 'font-size': g.font, fill: v.ink[l][k] }, u);
        lab.textContent = v.deg[l][k];
      }
      refs.nodes.set(`${l}:${k}`, u);
    }
  });
  if (g.r >= 8 && Math.max(...v.sizes) <= 24) pixelNames(svg, v, g);
  return refs;
}

// x0, x1, ... under the inputs and x̂0, x̂1, ... above the outputs, when there is room (as the plotly figure)
function pixelNames(svg, v, g) {
  const last = v.sizes.length - 1;
  for (let k = 0; k < v.d; k++) {
    el('text', { x: g.px(v.x[0][k]), y: g.py(0) + g.r + 16, 'text-anchor': 'middle', class: 'pixel' }, svg)
      .textContent = `x${k}`;
    el('text', { x: g.px(v.x[last][k]), y: g.py(last) - g.r - 7, 'text-anchor': 'middle', class: 'pixel' }, svg)
      .textContent = `x̂${k}`;
  }
}

function paint(root, v, refs, tr) {
  const c = v.colors, badAll = new Set(v.bad.map(b => b.join(':')));
  const hiW = Math.max(refs.baseW * 1.6, 1.8);
  for (const [key, e] of refs.edges) {
    let state = 'none';
    if (tr) state = tr.bad.has(key) ? 'bad' : tr.upEdges.has(key) ? 'up' : tr.downEdges.has(key) ? 'down' : 'none';
    else if (badAll.has(key)) state = 'bad';
    const direct = key.startsWith('-1:');
    const col = { bad: c.bad, up: c.up, down: c.down, none: direct ? c.direct : c.edge }[state];
    const alpha = state === 'none' ? (tr ? refs.baseA * 0.35 : refs.baseA) : 0.9;
    e.setAttribute('data-state', state);
    e.setAttribute('stroke', col);
    e.setAttribute('stroke-opacity', alpha);
    e.setAttribute('stroke-width', state === 'none' ? refs.baseW : state === 'bad' ? hiW + 0.6 : hiW);
    const dash = state === 'down' ? '6 4' : direct && state !== 'bad' ? '2 3' : '';
    if (dash) e.setAttribute('stroke-dasharray', dash); else e.removeAttribute('stroke-dasharray');
  }
  // highlighted edges drawn on top: orange, then blue, then red
  const order = { none: 0, down: 1, up: 2, bad: 3 };
  const parent = refs.edges.values().next().value?.parentNode;
  if (parent) [...refs.edges.values()].sort((a, b) => order[a.getAttribute('data-state')] -
    order[b.getAttribute('data-state')]).forEach(e => parent.appendChild(e));
  for (const [key, u] of refs.nodes) {
    const state = !tr ? 'none' : key === tr.key ? 'source' : tr.up.has(key) ? 'up' : tr.down.has(key) ? 'down'
      : 'none';
    u.setAttribute('data-state', state);
    const circle = u.querySelector('circle');
    circle.setAttribute('stroke', { source: '#111827', up: c.up, down: c.down, none: '#ffffff' }[state]);
    circle.setAttribute('stroke-width', state === 'source' ? 4 : state === 'none' ? 1.5 : 3);
    u.setAttribute('opacity', tr && state === 'none' ? 0.22 : 1);
  }
  root.setAttribute('data-traced', tr ? tr.key : '');
}

function statusText(v, tr) {
  if (!tr) return 'Click a unit to trace it, in your browser (no wait). Click it again to clear.';
  const [l, k] = tr.key.split(':').map(Number), last = v.sizes.length - 1;
  const what = l === 0 ? `input x${k}` : l === last ? `output x${k}` : `${v.names[l]}, unit ${k}`;
  const ins = [...tr.up].filter(u => u.startsWith('0:')).length;
  const outs = [...tr.down].filter(u => u.startsWith(`${last}:`)).length;
  const red = tr.bad.size ? ` · ${tr.bad.size} edge(s) on a forbidden path` : '';
  return `Tracing ${what} (degree ${v.deg[l][k]}): ${ins} input(s) reach it, it reaches ${outs} output(s)${red}. ` +
         'Click it again to clear.';
}

export default function (component) {
  const { data: v, parentElement } = component;
  let root = parentElement.querySelector('.nv');
  if (!root) {
    root = document.createElement('div');
    root.className = 'nv';
    root.innerHTML = '<div class="tip"></div><div class="status"></div>';
    parentElement.appendChild(root);
  }
  const tip = root.querySelector('.tip'), status = root.querySelector('.status');
  const adj = adjacency(v);
  let traced = v.traced || '', refs = null, width = 0;
  const apply = () => {
    let tr = null;
    if (traced) {
      const [l, k] = traced.split(':').map(Number);
      tr = { key: traced, ...traceUnit(v, adj, l, k) };
    }
    paint(root, v, refs, tr);
    status.textContent = statusText(v, tr);
  };
  const render = () => {
    const w = Math.round(root.getBoundingClientRect().width) || 640;
    if (refs && Math.abs(w - width) < 2) return;
    width = w;
    refs = draw(root, v, width);
    apply();
  };
  root.onclick = ev => {
    const u = ev.target.closest('.unit');
    if (!u) return;
    const key = `${u.getAttribute('data-l')}:${u.getAttribute('data-k')}`;
    traced = traced === key ? '' : key;
    apply();
  };
  root.onmouseover = ev => {
    const u = ev.target.closest('.unit');
    if (!u) { tip.style.display = 'none'; return; }
    const l = +u.getAttribute('data-l'), k = +u.getAttribute('data-k');
    tip.textContent = v.tip[l][k] + '\nclick to trace';
    const box = root.getBoundingClientRect(), c = u.querySelector('circle').getBoundingClientRect();
    tip.style.display = 'block';
    tip.style.left = `${Math.min(c.right - box.left + 6, box.width - 230)}px`;
    const below = c.top - box.top - 10, above = c.top - box.top - tip.offsetHeight - 6;
    tip.style.top = `${Math.max(0, below + tip.offsetHeight > HEIGHT ? above : below)}px`;  // stays on the drawing
  };
  root.onmouseleave = () => { tip.style.display = 'none'; };
  render();
  const ro = new ResizeObserver(render);
  ro.observe(root);
  return () => ro.disconnect();
}
"""

_mount = st.components.v2.component("made_viz_netview", js=JS, css=CSS)


@st.cache_resource(max_entries=64, show_spinner=False)
def view_data(cj: str, k: int, arrange: str) -> dict:
    """made_viz.netview's JSON for the mask shown (built once per config, mask and arrangement)."""
    return NV.build_view(mask_set(cj, k), arrange)


def network_view(view: dict, traced: str = "", key: str = "net_view"):
    """Mount the in-browser network. `traced` ('layer:unit' or '') is the unit highlighted at first (the
    selectbox's pick); the student's clicks then trace in the browser and are never sent back."""
    return _mount(key=key, data={**view, "traced": traced})
