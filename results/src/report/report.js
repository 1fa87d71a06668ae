(function () {
  'use strict';
  // Everything here builds DOM with textContent and attributes: values
  // from the history never become markup.
  var errBox = document.getElementById('js-errors');
  function fault(where, e) {
    errBox.hidden = false;
    errBox.textContent += 'report script error in ' + where + ': ' + ((e && e.stack) || e) + '\n';
    if (window.console) console.error('report: ' + where + ': ' + e);
  }
  var D;
  try {
    D = JSON.parse(document.getElementById('report-data').textContent);
  } catch (e) {
    fault('data', e);
    return;
  }
  var S = D.summary;
  var SVGNS = document.getElementById('svg-ns').namespaceURI;
  var COL = { ok: '#57a773', fail: '#e5534b', info: '#f2b134', pending: '#aab2bd' };
  var OUTCOMES = ['ok', 'fail', 'info', 'pending'];
  var BAND = { partition: '#5b8def', kill: '#e5534b', pause: '#9b6dde', clock: '#e0a020' };
  var FCOL = ['#4269d0', '#efb118', '#ff725c', '#6cc5b0', '#3ca951', '#ff8ab7', '#a463f2', '#97bbf5', '#9c6b4e', '#9498a0'];
  var UNIT = D.unit;
  var tip = h('div', { class: 'tooltip', id: 'tooltip', hidden: '' });
  document.body.appendChild(tip);

  function h(tag, attrs) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }
  function s(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    for (var i = 2; i < arguments.length; i++) add(e, arguments[i]);
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    });
  }
  function add(e, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach(function (k) { add(e, k); }); return; }
    e.appendChild(typeof kid === 'object' ? kid : document.createTextNode(String(kid)));
  }
  function showTip(ev, text) {
    tip.textContent = text;
    tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    var r = tip.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 8) x = Math.max(8, ev.clientX - r.width - 14);
    if (y + r.height > window.innerHeight - 8) y = Math.max(8, ev.clientY - r.height - 14);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }
  function hideTip() { tip.hidden = true; }

  // EDN-ish text of a JSON value (the notation of Jepsen histories).
  function edn(v) {
    if (v === null || v === undefined) return 'nil';
    if (Array.isArray(v)) return '[' + v.map(edn).join(' ') + ']';
    if (typeof v === 'object') return '{' + Object.keys(v).map(function (k) { return k + ' ' + edn(v[k]); }).join(', ') + '}';
    if (typeof v === 'string') return v;
    return String(v);
  }
  function clip(t, n) { t = String(t); return t.length > n ? t.slice(0, Math.max(1, n - 1)) + '…' : t; }
  function fmtT(t) {
    if (UNIT === 'index') return '#' + Math.round(t);
    var sec = t / 1e6;
    return (sec < 10 ? sec.toFixed(3) : sec < 100 ? sec.toFixed(2) : sec.toFixed(1)) + ' s';
  }
  function fmtDur(d) {
    if (UNIT === 'index') return Math.round(d) + ' ops';
    if (d < 1000) return d.toFixed(0) + ' µs';
    if (d < 1e6) return (d / 1e3).toFixed(2) + ' ms';
    return (d / 1e6).toFixed(3) + ' s';
  }
  function niceStep(raw) {
    if (UNIT === 'index' && raw < 1) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }
  function bandColor(name) { return BAND[name] || '#8c959f'; }
  function section(id) { var e = document.getElementById(id); e.hidden = false; var n = document.getElementById('nav-' + id.split('-')[0]); if (n) n.hidden = false; return e; }
  function run(name, f) { try { f(); } catch (e) { fault(name, e); } }

  // ---- decoded timeline columns ------------------------------------------
  var T = D.tl, N = T.n, END = D.span || 1;
  var ST = new Float64Array(N), EN = new Float64Array(N), LN = new Uint32Array(N), OC = new Uint8Array(N), FI = new Uint16Array(N);
  var IX = new Float64Array(N), VI = new Int32Array(N), VO = new Int32Array(N);
  var sorted = true;
  (function () {
    var acc = 0, ix = 0, fresh = 0;
    // Value references: -1 none, 0 the next new text, k the text k - 1.
    var ref = function (r) { return r < 0 ? -1 : r === 0 ? fresh++ : r - 1; };
    for (var i = 0; i < N; i++) {
      VI[i] = ref(T.vi[i]); VO[i] = ref(T.vo[i]);
      acc += T.st[i]; ix += T.ix[i];
      ST[i] = acc; IX[i] = ix;
      EN[i] = T.du[i] < 0 ? END : acc + T.du[i];
      LN[i] = T.lane[i]; OC[i] = T.oc[i] & 3; FI[i] = T.oc[i] >> 2;
      if (i && ST[i] < ST[i - 1]) sorted = false;
    }
  })();
  var LANES = T.lanes.length;
  var laneCalls = [];
  (function () {
    var counts = new Uint32Array(LANES);
    for (var i = 0; i < N; i++) counts[LN[i]]++;
    for (var l = 0; l < LANES; l++) laneCalls.push(new Uint32Array(counts[l]));
    var fill = new Uint32Array(LANES);
    for (i = 0; i < N; i++) laneCalls[LN[i]][fill[LN[i]]++] = i;
    if (!sorted) laneCalls.forEach(function (a) { a.sort(function (x, y) { return ST[x] - ST[y]; }); });
  })();
  var marks = D.marks || [];
  var markWhy = {};
  marks.forEach(function (m) { (markWhy[m.c] = markWhy[m.c] || []).push(m.why); });
  var markCalls = Object.keys(markWhy).map(Number).sort(function (a, b) { return ST[a] - ST[b]; });

  function callText(i) {
    var f = T.fs[FI[i]], o = OUTCOMES[OC[i]];
    var v = VI[i] >= 0 ? T.vs[VI[i]] : '', out = VO[i] >= 0 ? T.vs[VO[i]] : null;
    var what = v === '' && out !== null ? f + ' ' + out : f + ' ' + v + (o === 'ok' && out !== null && out !== v ? ' → ' + out : '');
    var lines = ['process ' + T.pr[i] + ' · ' + what + ' · ' + o];
    lines.push('invoked #' + IX[i] + ' at ' + fmtT(ST[i]));
    if (T.du[i] >= 0) lines.push('completed #' + (IX[i] + T.cx[i]) + ' at ' + fmtT(EN[i]) + ' (' + fmtDur(T.du[i]) + ')');
    else lines.push('never completed: its outcome is unknown');
    if (out !== null && o !== 'ok' && out !== v) lines.push('completion value ' + out);
    if (markWhy[i]) markWhy[i].forEach(function (w) { lines.push('⚠ ' + w); });
    return lines.join('\n');
  }

  // ---- each checker's section: the blocks its result type chose ----------
  var LINW = {};
  (D.lin || []).forEach(function (w) { LINW[w.checker + ':' + w.block] = w; });
  var CHIP = { finding: 'chip kind', 'ruled-out': 'chip out', holds: 'chip in', neutral: 'chip' };
  function findingsSection() {
    var shown = S.checkers.filter(function (c) { return c.section && (c.section.blocks || []).length; });
    if (!shown.length) return;
    var root = document.getElementById('findings');
    section('findings-section');
    var nLin = 0, nCycle = 0;
    S.checkers.forEach(function (c, ci) {
      var blocks = (c.section && c.section.blocks) || [];
      if (!blocks.length) return;
      var card = h('div', { class: 'checker-card', id: 'checker-card-' + ci });
      card.appendChild(h('h3', null, c.name + ' — ', h('span', { class: 'pill v-' + c.valid }, c.valid)));
      blocks.forEach(function (b, bi) {
        card.appendChild(block(c, b, ci, bi));
      });
      root.appendChild(card);
    });
    function block(c, b, ci, bi) {
      switch (b.type) {
        case 'text': return h('div', { class: b.alert ? 'explain' : 'muted block-text' }, b.text);
        case 'facts': return h('div', { class: 'facts' }, b.facts.map(function (f) {
          return h('div', { class: 'fact' }, h('div', { class: 'fact-v' }, f.value), h('div', { class: 'fact-l' }, f.label));
        }));
        case 'chips': return h('div', { class: 'chips chips-' + b.name }, h('span', { class: 'muted' }, b.label),
          b.items.map(function (t) { return h('span', { class: CHIP[b.tone] || 'chip' }, t); }));
        case 'list': return h('div', null,
          h('div', { class: 'chart-title' }, b.title + ' (' + (b.total > b.items.length ? b.items.length + ' of ' + b.total : b.items.length) + ')'),
          h('div', { class: 'mono other-list' }, b.items.join('  ')));
        case 'table': return h('div', null, h('div', { class: 'chart-title' }, b.title), h('div', { class: 'steps' }, h('table', null,
          h('thead', null, h('tr', null, b.columns.map(function (t) { return h('th', null, t); }))),
          h('tbody', null, b.rows.map(function (r) { return h('tr', null, r.map(function (t) { return h('td', null, t); })); })))));
        case 'linearizability': return linFailure(c, b, LINW[ci + ':' + bi] || { calls: [], checker: ci, block: bi }, nLin++);
        case 'cycle': return anomalyCard(b, nCycle, nCycle++);
        // A block this page does not know (a newer shakedown wrote it): its data.
        default: return h('pre', { class: 'raw' }, JSON.stringify(b, null, 2));
      }
    }
  }

  function callLabel(op) {
    var t = op.f + ' ' + edn(op.value);
    if (op.output !== undefined && op.output !== null && edn(op.output) !== edn(op.value)) t += ' → ' + edn(op.output);
    if (op.outcome === 'info') t += ' (unknown outcome)';
    return t;
  }

  function linFailure(chk, b, w, k) {
    var fl = b.failure;
    var card = h('div', { class: 'card bad lin-failure', id: 'lin-failure-' + k });
    var title = 'Not linearizable' + (fl.key !== undefined && fl.key !== null ? ' — key ' + edn(fl.key) : '') + ' (' + chk.name + ', model ' + b.model + ')';
    card.appendChild(h('h3', null, title));
    card.appendChild(h('div', { class: 'explain lin-explanation' }, fl.explanation));
    var prefixes = fl.prefixes || [];
    var holder = h('div');
    var which = 0, axis = 'order';
    if (prefixes.length > 1) {
      var bar = h('div', { class: 'controls' }, h('span', { class: 'muted' }, prefixes.length + ' longest linearizable prefixes found:'));
      prefixes.forEach(function (p, i) {
        bar.appendChild(h('button', { class: i === 0 ? 'on' : '', onclick: function (ev) {
          which = i;
          Array.prototype.forEach.call(bar.querySelectorAll('button'), function (b) { b.className = ''; });
          ev.target.className = 'on';
          draw();
        } }, 'prefix ' + (i + 1)));
      });
      card.appendChild(bar);
    }
    card.appendChild(holder);
    function draw() {
      holder.textContent = '';
      var p = prefixes[which] || { steps: [], omitted: 0, blocked: fl.op };
      var rows = [];
      var tbody = h('tbody');
      var stepOf = {};
      p.steps.forEach(function (st, j) {
        var n = p.omitted + j + 1;
        stepOf[st.op.index] = { n: n, state: st.state, op: st.op };
        var tr = h('tr', { 'data-index': st.op.index },
          h('td', null, n), h('td', null, st.op.process), h('td', null, callLabel(st.op)), h('td', null, edn(st.state)));
        rows[st.op.index] = tr;
        tbody.appendChild(tr);
      });
      var blocked = p.blocked || fl.op;
      var btr = h('tr', { class: 'blocked', 'data-index': blocked.index },
        h('td', null, '✗'), h('td', null, blocked.process), h('td', null, callLabel(blocked)), h('td', null, 'cannot be placed after state ' + edn(p.steps.length ? p.steps[p.steps.length - 1].state : fl.state)));
      rows[blocked.index] = btr;
      tbody.appendChild(btr);
      var legal = {};
      (fl.pending || []).forEach(function (pc) { legal[pc.op.index] = pc.legal; });
      holder.appendChild(h('div', { class: 'controls' }, h('span', { class: 'muted' }, 'x axis:'),
        h('button', { class: axis === 'order' ? 'on' : '', onclick: function () { axis = 'order'; draw(); } }, 'event order'),
        h('button', { class: axis === 'time' ? 'on' : '', onclick: function () { axis = 'time'; draw(); } }, UNIT === 'index' ? 'history index (to scale)' : 'time (to scale)')));
      holder.appendChild(linPicture(w, stepOf, blocked, legal, rows, axis));
      var table = h('div', { class: 'steps' }, h('table', null,
        h('thead', null, h('tr', null, h('th', null, 'step'), h('th', null, 'process'), h('th', null, 'operation'), h('th', null, 'model state after'))), tbody));
      var left = h('div', null, h('div', { class: 'chart-title' }, 'Longest linearizable prefix' + (p.omitted ? ' (last ' + p.steps.length + ' of ' + (p.omitted + p.steps.length) + ' steps)' : '')), table);
      var pend = h('tbody');
      (fl.pending || []).forEach(function (pc) {
        pend.appendChild(h('tr', null, h('td', null, pc.op.process), h('td', null, callLabel(pc.op)), h('td', null, pc.legal ? 'legal here' : 'illegal here')));
      });
      var right = h('div', null,
        h('div', { class: 'chart-title' }, 'State at the end of the prefix'),
        h('div', { class: 'mono lin-state' }, edn(fl.state)),
        h('div', { class: 'chart-title' }, 'Calls pending when the blocked call completed'),
        (fl.pending || []).length ? h('div', { class: 'steps' }, h('table', null,
          h('thead', null, h('tr', null, h('th', null, 'process'), h('th', null, 'operation'), h('th', null, 'in that state'))), pend)) : h('div', { class: 'muted' }, 'none'));
      holder.appendChild(h('div', { class: 'two' }, left, right));
      requestAnimationFrame(function () { table.scrollTop = table.scrollHeight; });
    }
    draw();
    return card;
  }

  function linPicture(w, stepOf, blocked, legal, rows, mode) {
    var calls = w.calls || [];
    var W = Math.max(700, Math.min(1400, (document.getElementById('findings').clientWidth || 1200) - 10));
    if (!calls.length) return h('div', { class: 'muted' }, 'No calls to draw.');
    var procs = [];
    calls.forEach(function (c) { if (procs.indexOf(c.p) < 0) procs.push(c.p); });
    procs.sort(function (a, b) { var x = Number(a), y = Number(b); return isNaN(x) || isNaN(y) ? (a < b ? -1 : 1) : x - y; });
    // Porcupine's axis: calls placed by the order of their invocations and
    // completions, evenly spaced. Real-time precedence (all that matters
    // for linearizability) is kept; durations are not to scale.
    var ev = [];
    calls.forEach(function (c) { ev.push(c.s); if (c.e !== null) ev.push(c.e); });
    ev.sort(function (a, b) { return a - b; });
    ev = ev.filter(function (t, i) { return i === 0 || t !== ev[i - 1]; });
    var rank = function (t) { var a = 0, b = ev.length; while (a < b) { var m = (a + b) >> 1; if (ev[m] < t) a = m + 1; else b = m; } return a; };
    var LEFT = 70, LH = 30, TOP = 30, RIGHT = 40;
    var H = TOP + procs.length * LH + 30;
    var slot = (W - LEFT - RIGHT) / Math.max(1, ev.length);
    var xs = function (t) { return LEFT + rank(t) * slot + 1; };
    var xe = function (t) { return LEFT + (rank(t) + 1) * slot - 1; };
    var x = function (t) { return LEFT + (rank(t) + 0.5) * slot; };
    var lo = ev[0], hi = ev[ev.length - 1];
    if (mode === 'time') {
      // To scale: positions proportional to time (or history index).
      var pad = (hi - lo) * 0.02 || 1;
      lo -= pad; hi += pad;
      x = function (t) { return LEFT + (t - lo) / (hi - lo) * (W - LEFT - RIGHT); };
      xs = x;
      xe = x;
    }
    var svg = s('svg', { class: 'lin-svg', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, id: 'lin-svg-' + w.checker + '-' + w.block });
    svg.appendChild(s('text', { x: 8, y: H - 10, fill: '#656d76' }, UNIT === 'index' ? 'index →' : 'time →'));
    procs.forEach(function (p, i) {
      var y = TOP + i * LH;
      svg.appendChild(s('rect', { x: 0, y: y, width: W, height: LH, fill: i % 2 ? '#fafbfc' : '#fff' }));
      svg.appendChild(s('text', { x: 8, y: y + LH / 2 + 4, fill: '#1f2328' }, 'p ' + p));
    });
    // Ticks: the real times of a few events, or a linear scale.
    var tick = function (tx, t) {
      svg.appendChild(s('line', { x1: tx, x2: tx, y1: TOP, y2: H - 24, stroke: '#eaeef2' }));
      svg.appendChild(s('text', { x: tx, y: H - 10, 'text-anchor': 'middle', fill: '#656d76' }, fmtT(t)));
    };
    if (mode === 'time') {
      var step = niceStep((hi - lo) / 8);
      for (var t = Math.ceil(lo / step) * step; t <= hi; t += step) if (x(t) > LEFT + 30) tick(x(t), t);
    } else {
      var every = Math.max(1, Math.ceil(ev.length / 8)), lastX = -1e9;
      for (var r = 0; r < ev.length; r += every) {
        var tx = LEFT + (r + 0.5) * slot;
        if (tx - lastX < 90) continue;
        lastX = tx;
        tick(tx, ev[r]);
      }
    }
    var points = [];
    var centre = {};
    calls.forEach(function (c) {
      var li = procs.indexOf(c.p);
      var y = TOP + li * LH + 5;
      var x0 = xs(c.s), x1 = c.e === null ? W - 6 : Math.max(xe(c.e), x0 + 3);
      var st = stepOf[c.i], isBlocked = c.i === blocked.index;
      var fill = '#eef1f4', stroke = '#9aa4b2', sw = 1;
      if (st) { fill = '#d8f0de'; stroke = '#2e8b57'; }
      else if (isBlocked) { fill = '#ffd8d6'; stroke = '#cf222e'; sw = 2.5; }
      else if (legal[c.i] === true) { fill = '#fff3c4'; stroke = '#b08800'; }
      var g = s('g', { class: isBlocked ? 'lin-call lin-blocked' : st ? 'lin-call lin-step' : 'lin-call', 'data-index': c.i });
      g.appendChild(s('rect', { x: x0, y: y, width: x1 - x0, height: LH - 10, rx: 3, fill: fill, stroke: stroke, 'stroke-width': sw, 'stroke-dasharray': c.oc === 'info' ? '4 3' : null }));
      var label = c.f + ' ' + c.v + (c.o !== null && c.o !== undefined && c.o !== c.v ? ' → ' + c.o : '');
      var shown = (st ? st.n + ': ' : isBlocked ? '✗ ' : '') + label;
      var room = Math.floor((x1 - x0 - 6) / 6.7);
      if (isBlocked) {
        // The op that cannot be placed keeps its full label, beside it if need be.
        // above the lanes, pointing down at it.
        var tw = shown.length * 6.7, bx = Math.min(Math.max(LEFT, x0), W - 8 - tw);
        svg.appendChild(s('line', { x1: x0 + 4, x2: x0 + 4, y1: TOP - 4, y2: y, stroke: '#cf222e', 'stroke-width': 1.5 }));
        svg.appendChild(s('text', { x: bx, y: TOP - 8, fill: '#cf222e', 'font-weight': 'bold', class: 'lin-blocked-label' }, shown));
      } else if (room >= 3) g.appendChild(s('text', { x: x0 + 4, y: y + LH / 2, fill: '#1f2328' }, clip(shown, room)));
      var info = ['process ' + c.p + ' · ' + label + ' · ' + c.oc, 'invoked #' + c.i + (c.ci !== null ? ', completed #' + c.ci : ', never completed')];
      if (st) info.push('step ' + st.n + ' of the linearization; state after: ' + edn(st.state));
      else if (isBlocked) info.push('✗ cannot be linearized after the prefix');
      else if (legal[c.i] !== undefined) info.push('pending; ' + (legal[c.i] ? 'legal' : 'illegal') + ' in the prefix\'s end state');
      else info.push('not part of the prefix shown');
      g.addEventListener('mousemove', function (ev) { showTip(ev, info.join('\n')); });
      g.addEventListener('mouseenter', function () { var r = rows[c.i]; if (r) { r.classList.add('hl'); r.scrollIntoView({ block: 'nearest' }); } });
      g.addEventListener('mouseleave', function () { hideTip(); var r = rows[c.i]; if (r) r.classList.remove('hl'); });
      svg.appendChild(g);
      centre[c.i] = { x0: x0, x1: x1, y: y + (LH - 10) / 2 };
      if (st) points.push({ n: st.n, c: c });
    });
    // Linearization points: the earliest instants consistent with the order.
    points.sort(function (a, b) { return a.n - b.n; });
    var prev = -Infinity, path = [];
    points.forEach(function (pt) {
      var c = pt.c, ce = centre[c.i];
      var at = Math.max(prev, c.s);
      if (c.e !== null) at = Math.min(at, c.e);
      prev = at;
      var px = Math.min(Math.max(x(at), ce.x0 + 2), ce.x1 - 2);
      path.push([px, ce.y]);
    });
    if (path.length) {
      svg.appendChild(s('polyline', { points: path.map(function (p) { return p[0] + ',' + (p[1] + (LH - 10) / 2); }).join(' '), fill: 'none', stroke: '#2e8b57', 'stroke-width': 1.5, 'stroke-dasharray': '5 3', 'pointer-events': 'none' }));
      path.forEach(function (p) {
        svg.appendChild(s('circle', { cx: p[0], cy: p[1] + (LH - 10) / 2, r: 3.5, fill: '#2e8b57', 'pointer-events': 'none' }));
      });
    }
    var bc = centre[blocked.index];
    if (bc) {
      if (path.length) {
        var last = path[path.length - 1];
        svg.appendChild(s('line', { x1: last[0], y1: last[1] + (LH - 10) / 2, x2: Math.max(bc.x0 + 8, last[0]), y2: bc.y + (LH - 10) / 2, stroke: '#cf222e', 'stroke-width': 1.5, 'stroke-dasharray': '2 3', 'pointer-events': 'none' }));
      }
      svg.appendChild(s('circle', { cx: Math.max(bc.x0 + 8, path.length ? path[path.length - 1][0] : 0), cy: bc.y + (LH - 10) / 2, r: 4.5, fill: '#cf222e', 'pointer-events': 'none' }));
    }
    var legend = h('div', { class: 'legend' },
      h('span', null, mode === 'time' ? 'x: ' + (UNIT === 'index' ? 'history index' : 'time') + ' to scale' : 'x: invocations and completions in order (spacing not to scale)'),
      h('span', null, h('span', { class: 'sw', style: 'background:#d8f0de;border:1px solid #2e8b57' }), 'in the linearizable prefix (n: its place in the linearization; dots: a possible linearization point)'),
      h('span', null, h('span', { class: 'sw', style: 'background:#ffd8d6;border:2px solid #cf222e' }), 'cannot be placed'),
      h('span', null, h('span', { class: 'sw', style: 'background:#fff3c4;border:1px solid #b08800' }), 'pending, legal in the end state'),
      h('span', null, h('span', { class: 'sw', style: 'background:#eef1f4;border:1px solid #9aa4b2' }), 'other calls on this key'),
      h('span', null, 'dashed outline: unknown outcome (info)'));
    return h('div', null, svg, legend);
  }

  // ---- transactional anomalies -------------------------------------------
  var EDGE = { ww: '#d62728', wr: '#1f77b4', rw: '#ff7f0e', process: '#6e7781', realtime: '#8250df', rt: '#8250df' };
  function fmtMops(ops) {
    if (!Array.isArray(ops)) return edn(ops);
    return ops.map(function (m) { return Array.isArray(m) ? m.map(edn).join(' ') : edn(m); }).join('  ·  ');
  }

  function anomalyCard(a, i, gid) {
    var card = h('div', { class: 'card bad txn-anomaly', id: 'txn-anomaly-' + gid });
    card.appendChild(h('h3', null, a.kind + (a.txns && a.txns.length ? ' — ' + a.txns.map(function (t) { return t.name; }).join(', ') : '')));
    card.appendChild(h('div', { class: 'explain' }, a.explanation || ''));
    if ((a.ruled_out || []).length) card.appendChild(h('div', { class: 'chips' }, h('span', { class: 'muted' }, 'rules out:'), a.ruled_out.map(function (m) { return h('span', { class: 'chip out' }, m); })));
    var row = h('div', { class: 'two' });
    if (a.cycle && a.cycle.length) row.appendChild(cycleGraph(a.cycle, gid));
    var tb = h('tbody');
    (a.txns || []).forEach(function (t) {
      tb.appendChild(h('tr', null, h('td', null, t.name), h('td', null, t.process), h('td', null, t.status), h('td', null, fmtMops(t.ops))));
    });
    row.appendChild(h('div', null, h('div', { class: 'chart-title' }, 'Transactions'), h('div', { class: 'steps' }, h('table', null,
      h('thead', null, h('tr', null, h('th', null, 'txn'), h('th', null, 'process'), h('th', null, 'status'), h('th', null, 'micro-ops'))), tb))));
    card.appendChild(row);
    if (a.cycle && a.cycle.length) {
      var ol = h('ol', { class: 'cycle-steps' });
      a.cycle.forEach(function (e) {
        ol.appendChild(h('li', null, h('b', { style: 'color:' + (EDGE[e.type] || '#444') }, e.from + ' —' + e.type + '→ ' + e.to), ' ', e.why || ''));
      });
      card.appendChild(ol);
    }
    return card;
  }

  // A cycle's edge label: its type, key and value, clipped so that long
  // keys and lists never run over the nodes (the full text is the edge's
  // tooltip and the numbered steps below).
  function edgeLabel(e) {
    return e.type + (e.key !== undefined && e.key !== null ? ' ' + clip(edn(e.key), 16) : '') +
      (e.value !== undefined && e.value !== null ? '=' + clip(edn(e.value), 12) : '');
  }

  // Up to CIRCLE txns sit on a circle; longer cycles are drawn as a chain,
  // one txn under the other with the closing edge along the side, so the
  // drawing keeps its natural size (12px labels) whatever the cycle's
  // length: a circle of 16 txns scaled into its column made them ~5px.
  var CIRCLE = 6;
  function cycleGraph(cycle, gid) {
    var names = [];
    cycle.forEach(function (e) { [e.from, e.to].forEach(function (n) { if (names.indexOf(n) < 0) names.push(n); }); });
    var n = names.length, chain = n > CIRCLE;
    var longest = 0;
    cycle.forEach(function (e) { longest = Math.max(longest, edgeLabel(e).length); });
    var labelW = Math.min(220, 12 + longest * 7);
    var R = Math.max(100, n * 32), W, H, pos = {}, cx, cy;
    if (chain) {
      // Nodes in a column; labels of the steps to the right, of the
      // closing edge to the left.
      cx = labelW + 110; W = cx + 40 + labelW; H = 50 + (n - 1) * 64 + 40; cy = H / 2;
      names.forEach(function (nm, i) { pos[nm] = [cx, 40 + i * 64]; });
    } else {
      W = 2 * R + Math.max(200, labelW + 60); H = 2 * R + 90; cx = W / 2; cy = H / 2;
      names.forEach(function (nm, i) {
        var ang = -Math.PI / 2 + (2 * Math.PI * i) / n;
        pos[nm] = n === 1 ? [cx, cy] : [cx + R * Math.cos(ang), cy + R * Math.sin(ang)];
      });
    }
    var svg = s('svg', { class: 'cycle-svg', width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'data-layout': chain ? 'chain' : 'circle' });
    var defs = s('defs');
    Object.keys(EDGE).forEach(function (k) {
      defs.appendChild(s('marker', { id: 'arr-' + gid + '-' + k, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', fill: EDGE[k] })));
    });
    svg.appendChild(defs);
    // The drawing's extent, grown by every node and label: the viewBox is
    // fitted to it at the end, so no label is cut and no space is wasted.
    var box = [Infinity, Infinity, -Infinity, -Infinity];
    function grow(x0, y0, x1, y1) {
      box = [Math.min(box[0], x0), Math.min(box[1], y0), Math.max(box[2], x1), Math.max(box[3], y1)];
    }
    function text(x, y, anchor, col, label) {
      var w = label.length * 7.2;
      var x0 = anchor === 'start' ? x : anchor === 'end' ? x - w : x - w / 2;
      grow(x0, y - 10, x0 + w, y + 10);
      svg.appendChild(s('text', { x: x, y: y + 4, 'text-anchor': anchor, fill: col, 'font-weight': 'bold', stroke: '#fff', 'stroke-width': 3, 'paint-order': 'stroke' }, label));
    }
    var seen = {};
    cycle.forEach(function (e) {
      var a = pos[e.from], b = pos[e.to], col = EDGE[e.type] || '#444';
      var d, lx, ly, anchor = 'middle';
      if (chain) {
        var ia = names.indexOf(e.from), ib = names.indexOf(e.to);
        if (ib === ia + 1) {
          // The next txn down: a straight arrow, its label beside it.
          d = 'M' + a[0] + ',' + (a[1] + 22) + ' L' + b[0] + ',' + (b[1] - 24);
          lx = a[0] + 12; ly = (a[1] + b[1]) / 2; anchor = 'start';
        } else {
          // The closing edge (or any other): an arc on the left.
          var off = 60 + 14 * Math.min(6, Math.abs(ib - ia));
          d = 'M' + (a[0] - 22) + ',' + a[1] + ' C' + (a[0] - off) + ',' + a[1] + ' ' + (b[0] - off) + ',' + b[1] + ' ' + (b[0] - 24) + ',' + b[1];
          lx = a[0] - 0.75 * off - 10; ly = (a[1] + b[1]) / 2; anchor = 'end';
        }
      } else {
        var pair = e.from + '>' + e.to;
        var k = seen[pair] = (seen[pair] || 0) + 1;
        var dx = b[0] - a[0], dy = b[1] - a[1], len = Math.sqrt(dx * dx + dy * dy) || 1;
        var ux = dx / len, uy = dy / len;
        var bend = 34 * k;
        var sx = a[0] + ux * 24, sy = a[1] + uy * 24, ex = b[0] - ux * 26, ey = b[1] - uy * 26;
        var mx = (sx + ex) / 2 - uy * bend, my = (sy + ey) / 2 + ux * bend;
        if (e.from === e.to) { sx = a[0] - 10; sy = a[1] - 22; ex = a[0] + 10; ey = a[1] - 22; mx = a[0]; my = a[1] - 80; }
        d = 'M' + sx + ',' + sy + ' Q' + mx + ',' + my + ' ' + ex + ',' + ey;
        lx = 0.25 * sx + 0.5 * mx + 0.25 * ex; ly = 0.25 * sy + 0.5 * my + 0.25 * ey;
        // Labels outside the curve, away from the middle of the graph.
        var ox = lx - cx, oy = ly - cy, ol = Math.sqrt(ox * ox + oy * oy) || 1;
        lx += ox / ol * 14; ly += oy / ol * 14;
      }
      var path = s('path', { d: d, fill: 'none', stroke: col, 'stroke-width': 2, 'marker-end': 'url(#arr-' + gid + '-' + (EDGE[e.type] ? e.type : 'process') + ')' });
      path.appendChild(s('title', null, e.from + ' ' + e.type + ' ' + e.to + ': ' + (e.why || '')));
      svg.appendChild(path);
      text(lx, ly, anchor, col, edgeLabel(e));
    });
    names.forEach(function (nm) {
      var p = pos[nm];
      grow(p[0] - 24, p[1] - 24, p[0] + 24, p[1] + 24);
      svg.appendChild(s('circle', { cx: p[0], cy: p[1], r: 22, fill: '#f6f8fa', stroke: '#1f2328', 'stroke-width': 1.5 }));
      svg.appendChild(s('text', { x: p[0], y: p[1] + 4, 'text-anchor': 'middle', 'font-weight': 'bold' }, nm));
    });
    // The closing arc of a chain bulges left of its ends.
    if (chain) grow(cx - 80, box[1], cx, box[3]);
    if (n === 1) grow(cx - 30, cy - 90, cx + 30, cy);
    var bw = Math.ceil(box[2] - box[0] + 16), bh = Math.ceil(box[3] - box[1] + 16);
    svg.setAttribute('viewBox', Math.floor(box[0] - 8) + ' ' + Math.floor(box[1] - 8) + ' ' + bw + ' ' + bh);
    svg.setAttribute('width', bw);
    svg.setAttribute('height', bh);
    var legend = h('div', { class: 'legend' }, ['ww', 'wr', 'rw', 'process', 'realtime'].map(function (k) {
      return h('span', null, h('span', { class: 'sw', style: 'background:' + EDGE[k] }), k);
    }));
    // Scrolls rather than shrinks: a drawing scaled down to its column
    // would make its labels unreadable.
    return h('div', { class: 'cycle-wrap' }, svg, legend);
  }

  // ---- history timeline (canvas) -----------------------------------------
  function timeline() {
    var canvas = document.getElementById('timeline');
    var wrap = document.getElementById('timeline-wrap');
    var ctx = canvas.getContext('2d');
    // Fault bands get rows of their own above the lanes where they overlap.
    var bands = (D.nem && D.nem.bands) || [], events = (D.nem && D.nem.events) || [];
    // Who was primary when (targets that watch it): band rows of their own,
    // marked by `p` (how many primaries), not shading the lanes.
    bands = bands.concat((D.nem && D.nem.prim) || []);
    var rowEnds = [];
    bands.forEach(function (b) {
      if (b.s === null) return;
      var e = b.e === null ? Infinity : b.e, r = 0;
      while (r < rowEnds.length && rowEnds[r] >= b.s) r++;
      rowEnds[r] = e;
      b.row = r;
    });
    var BAND_Y = 12, BAND_H = 11;
    var LEFT = 92, TOP = BAND_Y + Math.max(1, rowEnds.length) * BAND_H + 4, BOTTOM = 22;
    var laneH = Math.max(5, Math.min(22, Math.floor(520 / Math.max(1, LANES))));
    var cssW = Math.max(600, wrap.clientWidth || 1200);
    var cssH = TOP + Math.max(1, LANES) * laneH + BOTTOM;
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(cssW * dpr); canvas.height = Math.round(cssH * dpr);
    canvas.style.height = cssH + 'px';
    var plotW = cssW - LEFT - 8;
    var v0 = 0, v1 = END * 1.01 || 1;
    var off = document.createElement('canvas');
    off.width = plotW; off.height = LANES * laneH || 1;
    var octx = off.getContext('2d');
    var img = octx.createImageData(off.width, off.height);
    var px32 = new Uint32Array(img.data.buffer);
    function rgba(hex) { var n = parseInt(hex.slice(1), 16); return (255 << 24) | ((n & 255) << 16) | (((n >> 8) & 255) << 8) | (n >> 16); }
    var PIX = [rgba(COL.ok), rgba(COL.fail), rgba(COL.info), rgba(COL.pending)];
    var bins = new Uint32Array(LANES * plotW * 4);
    var MAXDUR = 0, OPEN = [];
    for (var q0 = 0; q0 < N; q0++) {
      if (T.du[q0] < 0) OPEN.push(q0);
      else if (T.du[q0] > MAXDUR) MAXDUR = T.du[q0];
    }
    if (!sorted) OPEN.sort(function (x, y) { return ST[x] - ST[y]; });
    var ub = function (t) { // first call with ST > t
      if (!sorted) return N;
      var a = 0, b = N;
      while (a < b) { var m = (a + b) >> 1; if (ST[m] <= t) a = m + 1; else b = m; }
      return a;
    };
    var rangeLabel = h('span', { class: 'muted', id: 'timeline-range' });
    var idx = -1;
    var controls = document.getElementById('timeline-controls');
    controls.appendChild(h('button', { onclick: function () { v0 = 0; v1 = END * 1.01 || 1; draw(); } }, 'Reset zoom'));
    if (markCalls.length) {
      var go = function (d) {
        idx = (idx + d + markCalls.length) % markCalls.length;
        var c = markCalls[idx], len = Math.max((EN[c] - ST[c]) * 12, END / 200, 10);
        v0 = (ST[c] + EN[c]) / 2 - len / 2; v1 = v0 + len;
        draw();
      };
      controls.appendChild(h('button', { id: 'prev-anomaly', onclick: function () { go(-1); } }, '◀ previous blamed op'));
      controls.appendChild(h('button', { id: 'next-anomaly', onclick: function () { go(1); } }, 'next blamed op ▶'));
      controls.appendChild(h('span', { class: 'muted' }, markCalls.length + ' op(s) blamed by the checkers'));
    }
    controls.appendChild(rangeLabel);
    var legend = document.getElementById('timeline-legend');
    ['ok', 'fail', 'info', 'pending'].forEach(function (o) {
      legend.appendChild(h('span', null, h('span', { class: 'sw', style: 'background:' + COL[o] }), o === 'info' ? 'info (unknown outcome)' : o === 'pending' ? 'never completed' : o));
    });
    var PRIMARY = '#1f6feb', SPLIT = '#cf222e';
    if (((D.nem && D.nem.prim) || []).length) {
      legend.appendChild(h('span', null, h('span', { class: 'sw', style: 'background:' + PRIMARY }), 'primary'));
      legend.appendChild(h('span', null, h('span', { class: 'sw', style: 'background:' + SPLIT }), 'two primaries (split brain)'));
    }
    var famSeen = {};
    bands.forEach(function (b) {
      if (b.p !== undefined || famSeen[b.name]) return; famSeen[b.name] = 1;
      legend.appendChild(h('span', null, h('span', { class: 'sw', style: 'background:' + bandColor(b.name) + ';opacity:.45' }), b.name));
    });
    legend.appendChild(h('span', null, h('span', { class: 'sw', style: 'background:#fff;border:2px solid #000' }), 'blamed by a checker'));

    var X = function (t) { return LEFT + (t - v0) / (v1 - v0) * plotW; };
    function draw() {
      var began = performance.now();
      var k = plotW / (v1 - v0);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, cssW, cssH);
      ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, cssW, cssH);
      // Lanes.
      for (var l = 0; l < LANES; l++) {
        if (l % 2) { ctx.fillStyle = '#f7f8fa'; ctx.fillRect(LEFT, TOP + l * laneH, plotW, laneH); }
      }
      ctx.save();
      ctx.beginPath(); ctx.rect(LEFT, 0, plotW, cssH); ctx.clip();
      // Fault bands.
      bands.forEach(function (b) {
        if (b.s === null) return;
        var e = b.e === null ? END : b.e;
        if (e < v0 || b.s > v1) return;
        var x0 = X(b.s), x1 = Math.max(X(e), x0 + 2), y0 = BAND_Y + b.row * BAND_H;
        ctx.globalAlpha = 0.14; ctx.fillStyle = b.p === undefined ? bandColor(b.name) : b.p === 1 ? PRIMARY : SPLIT;
        if (b.p === undefined) {
          ctx.fillRect(x0, TOP, x1 - x0, cssH - TOP - BOTTOM);
          ctx.fillRect(x0, y0 + BAND_H - 1, 1, TOP - y0 - BAND_H + 1);
        }
        ctx.globalAlpha = 0.9;
        ctx.fillRect(x0, y0, x1 - x0, BAND_H - 1);
        ctx.globalAlpha = 1;
        if (x1 - x0 > 40) { ctx.fillStyle = '#fff'; ctx.font = 'bold 9px system-ui,sans-serif'; ctx.fillText(clip(b.name, Math.floor((x1 - x0) / 6)), Math.max(x0, LEFT) + 3, y0 + 8); }
      });
      events.forEach(function (e) {
        if (e.t === null || e.t < v0 || e.t > v1) return;
        ctx.fillStyle = '#6e7781'; ctx.fillRect(X(e.t), BAND_Y, 1, cssH - BAND_Y - BOTTOM);
      });
      // Calls: wide ones as rectangles, narrow ones binned per pixel column.
      bins.fill(0);
      var wide = [[], [], [], []];
      // Only calls that can overlap the view: those starting at most the
      // longest completed call's duration before it, plus the few that
      // never completed.
      var last = ub(v1), first = sorted ? ub(v0 - MAXDUR - 1) : 0;
      var binned = 0;
      var place = function (i) {
        var e = EN[i];
        if (e < v0) return;
        var a = (ST[i] - v0) * k, b = (e - v0) * k;
        if (b - a >= 2) wide[OC[i]].push(i);
        else {
          var p = a < 0 ? 0 : a >= plotW ? plotW - 1 : a | 0;
          bins[((LN[i] * plotW) + p) * 4 + OC[i]]++;
          binned++;
        }
      };
      for (var i = first; i < last; i++) if (T.du[i] >= 0) place(i);
      for (var j = 0; j < OPEN.length && ST[OPEN[j]] <= v1; j++) place(OPEN[j]);
      if (binned) {
        px32.fill(0);
        var W = off.width;
        for (l = 0; l < LANES; l++) {
          var rowTop = l * laneH + 1, rows = Math.max(1, laneH - 2);
          for (var p = 0; p < plotW; p++) {
            var base = (l * plotW + p) * 4;
            var c0 = bins[base], c1 = bins[base + 1], c2 = bins[base + 2], c3 = bins[base + 3];
            var tot = c0 + c1 + c2 + c3;
            if (!tot) continue;
            // Rows split by outcome: failures and unknowns stay visible
            // (at least one row each) however rare.
            var r1 = c1 ? Math.max(1, Math.round(rows * c1 / tot)) : 0;
            var r2 = c2 ? Math.max(1, Math.round(rows * c2 / tot)) : 0;
            var r3 = c3 ? Math.max(1, Math.round(rows * c3 / tot)) : 0;
            var r0 = Math.max(0, rows - r1 - r2 - r3);
            var y = rowTop;
            var seg = [[r0, 0], [r2, 2], [r3, 3], [r1, 1]];
            for (var q = 0; q < 4; q++) {
              for (var rr = 0; rr < seg[q][0] && y < rowTop + rows; rr++, y++) px32[y * W + p] = PIX[seg[q][1]];
            }
          }
        }
        octx.putImageData(img, 0, 0);
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(off, LEFT, TOP);
      }
      var labels = 0;
      for (var o = 0; o < 4; o++) {
        ctx.fillStyle = COL[OUTCOMES[o]];
        ctx.beginPath();
        wide[o].forEach(function (i) {
          var x0 = X(ST[i]), x1 = X(EN[i]);
          ctx.rect(x0, TOP + LN[i] * laneH + 1, x1 - x0 - (x1 - x0 > 4 ? 1 : 0), laneH - 2);
        });
        ctx.fill();
        if (laneH >= 14) wide[o].forEach(function (i) {
          var x0 = X(ST[i]), x1 = X(EN[i]);
          if (x1 - x0 < 36 || labels > 3000) return;
          labels++;
          var out = VO[i] >= 0 && OC[i] === 0 ? T.vs[VO[i]] : null, v = VI[i] >= 0 ? T.vs[VI[i]] : '';
          var text = T.fs[FI[i]] + ' ' + (v === '' && out !== null ? out : v + (out !== null && out !== v ? '→' + out : ''));
          ctx.fillStyle = '#fff'; ctx.font = '10px system-ui,sans-serif';
          ctx.fillText(clip(text, Math.floor((Math.min(x1, cssW) - Math.max(x0, LEFT) - 6) / 5.6)), Math.max(x0, LEFT) + 3, TOP + LN[i] * laneH + laneH / 2 + 3.5);
          ctx.fillStyle = COL[OUTCOMES[o]];
        });
      }
      // Faults tint the calls they overlap.
      bands.forEach(function (b) {
        if (b.s === null) return;
        var e = b.e === null ? END : b.e;
        if (e < v0 || b.s > v1) return;
        var x0 = X(b.s), x1 = Math.max(X(e), x0 + 2);
        ctx.globalAlpha = 0.10; ctx.fillStyle = bandColor(b.name);
        ctx.fillRect(x0, TOP, x1 - x0, cssH - TOP - BOTTOM);
        ctx.globalAlpha = 1;
      });
      // Blamed ops: always drawn, on top, at least 4 px wide.
      markCalls.forEach(function (i) {
        if (EN[i] < v0 || ST[i] > v1) return;
        var x0 = X(ST[i]), x1 = Math.max(X(EN[i]), x0 + 4);
        ctx.fillStyle = 'rgba(207,34,46,.10)'; ctx.fillRect(x0, TOP, x1 - x0, cssH - TOP - BOTTOM);
        ctx.fillStyle = COL[OUTCOMES[OC[i]]]; ctx.fillRect(x0, TOP + LN[i] * laneH, x1 - x0, laneH);
        ctx.lineWidth = 2; ctx.strokeStyle = '#000'; ctx.strokeRect(x0, TOP + LN[i] * laneH + 1, x1 - x0, laneH - 2);
        ctx.fillStyle = '#cf222e';
        ctx.beginPath(); ctx.moveTo((x0 + x1) / 2 - 5, 1); ctx.lineTo((x0 + x1) / 2 + 5, 1); ctx.lineTo((x0 + x1) / 2, 9); ctx.fill();
      });
      ctx.restore();
      // Lane labels and axis.
      ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, LEFT, cssH);
      ctx.fillStyle = '#1f2328'; ctx.font = (laneH >= 12 ? 11 : 9) + 'px system-ui,sans-serif';
      var every = Math.ceil(11 / laneH);
      for (l = 0; l < LANES; l += every) {
        var procs = T.lanes[l];
        var lab = 'p ' + procs[0] + (procs.length > 1 ? ' +' + (procs.length - 1) : '');
        ctx.fillText(lab, 6, TOP + l * laneH + laneH / 2 + 4);
      }
      ctx.fillStyle = '#656d76'; ctx.font = '10px system-ui,sans-serif';
      ctx.fillText(UNIT === 'index' ? 'history index' : 'time', 6, 14);
      var step = niceStep((v1 - v0) / Math.max(2, plotW / 110));
      ctx.strokeStyle = '#d0d7de';
      for (var t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
        var x = X(t);
        if (x < LEFT - 1 || x > cssW - 50) continue;
        ctx.fillRect(x, cssH - BOTTOM, 1, 4);
        ctx.fillText(fmtT(t), x + 2, cssH - 6);
      }
      ctx.fillStyle = '#d0d7de'; ctx.fillRect(LEFT, cssH - BOTTOM, plotW, 1);
      canvas.setAttribute('data-draw-ms', (performance.now() - began).toFixed(1));
      rangeLabel.textContent = 'showing ' + fmtT(Math.max(0, v0)) + ' – ' + fmtT(v1) + (binned ? ' · ' + binned.toLocaleString() + ' ops aggregated per pixel' : '');
    }
    function at(ev) {
      var r = canvas.getBoundingClientRect();
      return { x: ev.clientX - r.left, y: ev.clientY - r.top };
    }
    canvas.addEventListener('wheel', function (ev) {
      ev.preventDefault();
      var p = at(ev);
      var t = v0 + (Math.min(Math.max(p.x - LEFT, 0), plotW) / plotW) * (v1 - v0);
      var f = Math.pow(1.0015, ev.deltaY);
      var span = Math.max(1, Math.min((v1 - v0) * f, END * 1.5 || 1));
      v0 = t - (t - v0) / (v1 - v0) * span; v1 = v0 + span;
      schedule();
    }, { passive: false });
    var drag = null;
    canvas.addEventListener('mousedown', function (ev) { drag = { x: at(ev).x, v0: v0, v1: v1 }; canvas.classList.add('dragging'); });
    window.addEventListener('mouseup', function () { drag = null; canvas.classList.remove('dragging'); });
    window.addEventListener('mousemove', function (ev) {
      if (!drag) return;
      var dx = at(ev).x - drag.x, dt = dx / plotW * (drag.v1 - drag.v0);
      v0 = drag.v0 - dt; v1 = drag.v1 - dt;
      schedule();
    });
    canvas.addEventListener('dblclick', function () { v0 = 0; v1 = END * 1.01 || 1; schedule(); });
    canvas.addEventListener('mouseleave', hideTip);
    canvas.addEventListener('mousemove', function (ev) {
      if (drag) { hideTip(); return; }
      var p = at(ev);
      var t = v0 + (p.x - LEFT) / plotW * (v1 - v0), tol = 3 / plotW * (v1 - v0);
      if (p.x < LEFT) {
        var l0 = Math.floor((p.y - TOP) / laneH);
        if (l0 >= 0 && l0 < LANES) return showTip(ev, 'lane ' + l0 + ': processes ' + T.lanes[l0].slice(0, 40).join(', ') + (T.lanes[l0].length > 40 ? ' …' : ''));
        return hideTip();
      }
      if (p.y < TOP) {
        var row = Math.floor((p.y - BAND_Y) / BAND_H);
        var hit = bands.filter(function (b) { return b.s !== null && (p.y < BAND_Y || b.row === row) && b.s - tol <= t && (b.e === null ? END : b.e) + tol >= t; });
        var evs = events.filter(function (e) { return e.t !== null && Math.abs(e.t - t) <= tol; });
        if (hit.length || evs.length) {
          return showTip(ev, hit.map(function (b) { return b.name + ': ' + b.sf + ' #' + b.si + ' (' + fmtT(b.s) + ') → ' + (b.ef ? b.ef + ' #' + b.ei + ' (' + fmtT(b.e) + ')' : 'end of history') + '\n' + b.v; })
            .concat(evs.map(function (e) { return 'nemesis ' + e.f + ' #' + e.i + ' ' + e.v; })).join('\n\n'));
        }
        return hideTip();
      }
      var lane = Math.floor((p.y - TOP) / laneH);
      if (lane < 0 || lane >= LANES) return hideTip();
      var arr = laneCalls[lane], a = 0, b = arr.length;
      while (a < b) { var m = (a + b) >> 1; if (ST[arr[m]] <= t + tol) a = m + 1; else b = m; }
      var best = -1, bestD = Infinity;
      for (var j = a - 1; j >= 0 && j >= a - 12; j--) {
        var c = arr[j], d = t < ST[c] ? ST[c] - t : t > EN[c] ? t - EN[c] : 0;
        if (d <= tol && d < bestD) { best = c; bestD = d; }
      }
      if (best >= 0) showTip(ev, callText(best));
      else hideTip();
    });
    var pending = false;
    // One redraw per animation frame, or after 40 ms where frames are
    // throttled (background tabs, headless browsers).
    function schedule() {
      if (pending) return;
      pending = true;
      var fire = function () { if (pending) { pending = false; draw(); } };
      requestAnimationFrame(fire);
      setTimeout(fire, 40);
    }
    draw();
  }

  // ---- latency and throughput --------------------------------------------
  function axisTicksLog(lo, hi) {
    var out = [];
    for (var e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(Math.pow(10, e));
    return out;
  }
  function fmtMs(v) { return v >= 1000 ? (v / 1000) + ' s' : v >= 1 ? v + ' ms' : (v * 1000).toFixed(0) + ' µs'; }

  // A line chart over the time buckets, as SVG.
  function lineChart(o) {
    var W = o.width, H = o.height || 240, L = 64, R = 14, Tp = 10, B = 26;
    var svg = s('svg', { class: 'chart', id: o.id, width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
    var x = function (t) { return L + t / END * (W - L - R); };
    var lo = Infinity, hi = -Infinity;
    o.series.forEach(function (se) { se.ys.forEach(function (v) { if (v !== null && (!o.log || v > 0)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
    if (!isFinite(lo)) { svg.appendChild(s('text', { x: L, y: H / 2 }, 'no data')); return svg; }
    if (!o.log) { lo = 0; hi = hi * 1.08 || 1; }
    else { lo = Math.pow(10, Math.floor(Math.log10(lo))); hi = Math.pow(10, Math.ceil(Math.log10(hi))); if (lo === hi) hi = lo * 10; }
    var y = o.log ? function (v) { return Tp + (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (H - Tp - B); }
      : function (v) { return Tp + (1 - (v - lo) / (hi - lo)) * (H - Tp - B); };
    (D.nem.bands || []).forEach(function (b) {
      if (b.s === null) return;
      var e = b.e === null ? END : b.e;
      svg.appendChild(s('rect', { x: x(b.s), y: Tp, width: Math.max(1, x(e) - x(b.s)), height: H - Tp - B, fill: bandColor(b.name), opacity: 0.15 }));
    });
    var ticks = o.log ? axisTicksLog(lo, hi) : (function () { var st = niceStep(hi / 5), a = []; for (var v = 0; v <= hi; v += st) a.push(v); return a; })();
    ticks.forEach(function (v) {
      svg.appendChild(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#eaeef2' }));
      svg.appendChild(s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', fill: '#656d76' }, o.fmtY(v)));
    });
    var st = niceStep(END / 8);
    for (var t = 0; t <= END; t += st) if (x(t) < W - 40) svg.appendChild(s('text', { x: x(t), y: H - 8, 'text-anchor': 'middle', fill: '#656d76' }, fmtT(t)));
    svg.appendChild(s('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#8c959f' }));
    var bw = D.charts.width;
    o.series.forEach(function (se) {
      var d = '', pen = false;
      se.ys.forEach(function (v, i) {
        if (v === null || (o.log && v <= 0)) { pen = false; return; }
        d += (pen ? 'L' : 'M') + x((i + 0.5) * bw).toFixed(1) + ',' + y(v).toFixed(1);
        pen = true;
      });
      var path = s('path', { d: d, fill: 'none', stroke: se.color, 'stroke-width': se.width || 1.6, 'stroke-dasharray': se.dash || null, opacity: se.opacity || 1 });
      path.appendChild(s('title', null, se.name));
      svg.appendChild(path);
    });
    return svg;
  }

  function perf() {
    var root = document.getElementById('perf');
    if (!D.charts || UNIT !== 'us') {
      root.appendChild(h('p', { class: 'muted', id: 'perf-none' }, 'This history has no op times, so latency and throughput cannot be drawn (ops are placed by history index).'));
      return;
    }
    var W = Math.max(600, root.clientWidth || 1200);
    var fs = Object.keys(D.charts.lat).concat(Object.keys(D.charts.thr)).filter(function (f, i, a) { return a.indexOf(f) === i; }).sort();
    var fcol = {};
    fs.forEach(function (f, i) { fcol[f] = FCOL[i % FCOL.length]; });
    // Scatter: every completed call, on a canvas.
    root.appendChild(h('div', { class: 'chart-title' }, 'Latency of every call (log scale), by completion type'));
    var cv = h('canvas', { id: 'latency-scatter', width: W, height: 280, class: 'chart' });
    root.appendChild(cv);
    var c = cv.getContext('2d'), L = 64, R = 14, Tp = 10, B = 26, H = 280;
    var lo = Infinity, hi = 0;
    for (var i = 0; i < N; i++) { var d = T.du[i]; if (d > 0) { if (d < lo) lo = d; if (d > hi) hi = d; } }
    if (hi > 0) {
      var llo = Math.floor(Math.log10(lo / 1000)), lhi = Math.ceil(Math.log10(hi / 1000));
      if (llo === lhi) lhi++;
      var x = function (t) { return L + t / END * (W - L - R); };
      var y = function (ms) { return Tp + (1 - (Math.log10(ms) - llo) / (lhi - llo)) * (H - Tp - B); };
      c.fillStyle = '#fff'; c.fillRect(0, 0, W, H);
      D.nem.bands.forEach(function (b) {
        if (b.s === null) return;
        var e = b.e === null ? END : b.e;
        c.globalAlpha = 0.15; c.fillStyle = bandColor(b.name); c.fillRect(x(b.s), Tp, Math.max(1, x(e) - x(b.s)), H - Tp - B); c.globalAlpha = 1;
      });
      c.font = '11px system-ui,sans-serif';
      for (var e = llo; e <= lhi; e++) {
        c.fillStyle = '#eaeef2'; c.fillRect(L, y(Math.pow(10, e)), W - L - R, 1);
        c.fillStyle = '#656d76'; c.textAlign = 'right'; c.fillText(fmtMs(Math.pow(10, e)), L - 6, y(Math.pow(10, e)) + 4);
      }
      c.textAlign = 'center';
      var st = niceStep(END / 8);
      for (var t = 0; t <= END; t += st) if (x(t) < W - 40) c.fillText(fmtT(t), x(t), H - 8);
      c.textAlign = 'left';
      var order = [0, 2, 1]; // failures and unknowns on top
      order.forEach(function (oc) {
        c.fillStyle = COL[OUTCOMES[oc]];
        c.beginPath();
        for (var i = 0; i < N; i++) {
          if (OC[i] !== oc || T.du[i] <= 0) continue;
          c.rect(x(ST[i]) - 1, y(T.du[i] / 1000) - 1, 2, 2);
        }
        c.fill();
      });
    }
    var lg = h('div', { class: 'legend' });
    ['ok', 'fail', 'info'].forEach(function (o) { lg.appendChild(h('span', null, h('span', { class: 'sw', style: 'background:' + COL[o] }), o)); });
    root.appendChild(lg);

    root.appendChild(h('div', { class: 'chart-title' }, 'Latency quantiles of ok calls per function (p50 solid, p95 dashed, p99 dotted, max faint)'));
    var series = [];
    fs.forEach(function (f) {
      var q = D.charts.lat[f];
      if (!q) return;
      series.push({ name: f + ' p50', color: fcol[f], ys: q.p50, width: 2 });
      series.push({ name: f + ' p95', color: fcol[f], ys: q.p95, dash: '6 3' });
      series.push({ name: f + ' p99', color: fcol[f], ys: q.p99, dash: '2 3' });
      series.push({ name: f + ' max', color: fcol[f], ys: q.max, width: 1, opacity: 0.35 });
    });
    root.appendChild(lineChart({ id: 'latency-quantiles', width: W, series: series, log: true, fmtY: fmtMs }));
    root.appendChild(h('div', { class: 'legend' }, fs.map(function (f) { return h('span', null, h('span', { class: 'sw', style: 'background:' + fcol[f] }), f); })));

    root.appendChild(h('div', { class: 'chart-title' }, 'Throughput: completions per second per function (solid ok, dashed fail, dotted info)'));
    var per = 1e6 / D.charts.width;
    var tseries = [];
    fs.forEach(function (f) {
      var q = D.charts.thr[f];
      if (!q) return;
      var rate = function (a) { return a.map(function (v) { return v * per; }); };
      tseries.push({ name: f + ' ok/s', color: fcol[f], ys: rate(q.ok), width: 2 });
      if (q.fail.some(function (v) { return v > 0; })) tseries.push({ name: f + ' fail/s', color: fcol[f], ys: rate(q.fail), dash: '6 3' });
      if (q.info.some(function (v) { return v > 0; })) tseries.push({ name: f + ' info/s', color: fcol[f], ys: rate(q.info), dash: '2 3' });
    });
    root.appendChild(lineChart({ id: 'throughput', width: W, series: tseries, log: false, fmtY: function (v) { return v >= 1000 ? (v / 1000).toFixed(1) + 'k/s' : v.toFixed(v < 10 ? 1 : 0) + '/s'; } }));
  }

  function raw() {
    var root = document.getElementById('raw');
    S.checkers.forEach(function (c, i) {
      var pre = h('pre', { class: 'raw' });
      var d = h('details', { id: 'raw-' + i }, h('summary', null, c.name + ' (' + c.valid + ')'), pre);
      d.addEventListener('toggle', function () { if (d.open && !pre.textContent) pre.textContent = JSON.stringify(c.result, null, 2); });
      root.appendChild(d);
    });
    if (!S.checkers.length) root.appendChild(h('p', { class: 'muted' }, 'No checker results.'));
  }

  run('findings', findingsSection);
  run('timeline', timeline);
  var firstDraw = performance.now();
  run('latency', perf);
  run('raw', raw);
  var done = performance.now();
  document.body.setAttribute('data-first-render-ms', firstDraw.toFixed(0));
  document.body.setAttribute('data-render-ms', done.toFixed(0));
  document.getElementById('render-time').textContent = 'timeline drawn ' + firstDraw.toFixed(0) + ' ms after navigation, everything ' + done.toFixed(0) + ' ms';
})();
