/**
 * The playground page (`GET /playground`, issue 25): one self-contained HTML document (inline style
 * and script, no CDN, no font, no request off the server's own origin) that shows what the model
 * does to a query, a document and a ranking, from the server's own API: `/info`, `/encode` with
 * `explain`, `/explain` (query × document) and `/search` with `explain`.
 */

export const PLAYGROUND_CSP = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

export function playgroundHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sparse-encoder playground</title>
<style>
:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #5b6470; --line: #d6dae0; --input: #2563eb; --expansion: #c2410c; --bar: #94a3b8; --mark: #fde68a; --card: #f6f7f9; }
@media (prefers-color-scheme: dark) { :root { --bg: #111418; --fg: #e6e8eb; --muted: #9aa4b1; --line: #2b313a; --input: #60a5fa; --expansion: #fb923c; --bar: #64748b; --mark: #854d0e; --card: #181c22; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 12px; }
h1 { font-size: 1.2rem; margin: 0 0 4px; } h2 { font-size: 1rem; margin: 16px 0 6px; }
#model { color: var(--muted); font-size: .85rem; word-break: break-word; }
label { display: block; font-weight: 600; margin: 10px 0 4px; }
input[type=text], textarea, input[type=number] { width: 100%; padding: 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); font: inherit; }
textarea { min-height: 90px; resize: vertical; }
button { padding: 7px 14px; border-radius: 6px; border: 1px solid var(--line); background: var(--card); color: var(--fg); font: inherit; cursor: pointer; margin-top: 6px; }
:focus-visible { outline: 3px solid var(--input); outline-offset: 2px; }
.row { display: flex; flex-wrap: wrap; gap: 12px; } .col { flex: 1 1 320px; min-width: 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px; margin-top: 8px; }
.stats { color: var(--muted); font-size: .85rem; margin: 4px 0; }
.tokens { display: flex; flex-wrap: wrap; gap: 3px; margin: 6px 0; }
.tok { padding: 1px 4px; border-radius: 4px; border: 1px solid var(--line); font-family: ui-monospace, monospace; font-size: .85rem; }
.tok.hl { background: var(--mark); }
.terms { list-style: none; margin: 0; padding: 0; max-height: 420px; overflow: auto; }
.term { display: grid; grid-template-columns: minmax(60px, 9em) 1fr 4.5em; align-items: center; gap: 6px; padding: 2px 0; font-size: .85rem; }
.term:focus { background: var(--mark); }
.term .name { font-family: ui-monospace, monospace; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.term .name.input { color: var(--input); } .term .name.expansion { color: var(--expansion); }
.bar { height: 10px; background: var(--bar); border-radius: 3px; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.legend span { margin-right: 12px; font-size: .8rem; } .legend .input { color: var(--input); } .legend .expansion { color: var(--expansion); }
.hit { border-top: 1px solid var(--line); padding: 6px 0; } .hit:first-child { border-top: 0; }
.error { color: #dc2626; white-space: pre-wrap; }
</style>
</head>
<body>
<main>
<h1>sparse-encoder playground</h1>
<div id="model">loading model information…</div>
<div class="legend"><span class="input">■ input token</span><span class="expansion">■ expansion term</span><span>hover or focus a term to see the token that produced it</span></div>
<div class="row">
  <section class="col" aria-labelledby="q-h">
    <h2 id="q-h">Query</h2>
    <form id="query-form"><label for="query">Query text (Enter encodes)</label><input id="query" type="text" autocomplete="off" placeholder="what does a sparse model do to this query?"></form>
    <div id="query-out" class="card" hidden></div>
  </section>
  <section class="col" aria-labelledby="d-h">
    <h2 id="d-h">Document</h2>
    <form id="doc-form"><label for="document">Document text</label><textarea id="document" placeholder="paste a document"></textarea><button id="explain" type="submit">Explain the score</button></form>
    <div id="doc-out" class="card" hidden></div>
  </section>
</div>
<section id="breakdown-section" aria-labelledby="b-h" hidden>
  <h2 id="b-h">Score breakdown: query × document</h2>
  <div id="breakdown" class="card"></div>
</section>
<section id="search-section" aria-labelledby="s-h" hidden>
  <h2 id="s-h">Search the index</h2>
  <form id="search-form" class="row">
    <div class="col"><label for="k">Top k</label><input id="k" type="number" min="1" max="100" value="5"></div>
    <div class="col"><label><input id="approximate" type="checkbox"> approximate search</label><button id="search" type="submit">Search with the query</button></div>
  </form>
  <div id="hits" class="card" hidden></div>
</section>
<p id="error" class="error" role="alert"></p>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const fmt = (x) => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(3));
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  let state = { query: null, queryText: '' };
  async function api(path, body) {
    const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const data = await res.json();
    if (!res.ok) throw new Error((data.error && (data.error.message || data.error)) || res.statusText);
    return data;
  }
  function fail(e) { $('error').textContent = String(e && e.message || e); }
  function tokens(t, id) {
    return '<div class="tokens" id="' + id + '" aria-label="input tokens">' + t.tokens.map((x, i) => '<span class="tok" data-pos="' + i + '">' + esc(x.token) + '</span>').join('') + '</div>';
  }
  function terms(t, owner) {
    const max = t.terms.length ? Math.abs(t.terms[0].weight) || 1 : 1;
    return '<ul class="terms" aria-label="terms by weight">' + t.terms.map((x) =>
      '<li class="term" tabindex="0" data-owner="' + owner + '" data-index="' + x.index + '" data-weight="' + x.weight + '"' + (x.position === undefined ? '' : ' data-pos="' + x.position + '"') + ' data-source="' + x.source + '">' +
      '<span class="name ' + x.source + '" title="' + esc(x.token) + ' (' + x.source + ')">' + esc(x.token) + '</span>' +
      '<span class="bar" style="width:' + (100 * Math.abs(x.weight) / max).toFixed(1) + '%"></span><span class="num">' + fmt(x.weight) + '</span></li>').join('') + '</ul>';
  }
  function textCard(t, owner) {
    const inputs = t.terms.filter((x) => x.source === 'input').length;
    return '<div class="stats" data-role="stats">route <b data-role="route">' + esc(t.route) + '</b> (' + esc(t.kind === 'static' ? 'static lookup, no transformer run' : t.kind) + ') · <span data-role="active">' + t.activeDims + '</span> active dims · ' + inputs + ' input, ' + (t.activeDims - inputs) + ' expansion</div>' +
      tokens(t, owner + '-tokens') + terms(t, owner);
  }
  function highlight(el, on) {
    const pos = el.getAttribute('data-pos');
    const strip = $(el.getAttribute('data-owner') + '-tokens');
    if (!strip || pos === null) return;
    strip.querySelectorAll('.tok').forEach((s) => s.classList.toggle('hl', on && s.getAttribute('data-pos') === pos));
  }
  for (const ev of ['mouseover', 'focusin']) document.addEventListener(ev, (e) => { const el = e.target.closest && e.target.closest('.term'); if (el) highlight(el, true); });
  for (const ev of ['mouseout', 'focusout']) document.addEventListener(ev, (e) => { const el = e.target.closest && e.target.closest('.term'); if (el) highlight(el, false); });
  function breakdown(e) {
    const rows = e.contributions || [];
    const max = rows.length ? Math.abs(rows[0].contribution) || 1 : 1;
    const sum = rows.reduce((a, c) => a + c.contribution, 0);
    return '<div class="stats">score (' + esc(e.similarity) + ') <b id="score">' + fmt(e.score) + '</b> = sum of <span id="shared">' + rows.length + '</span> shared terms (' + rows.length + ' multiplications) · sum <span id="sum">' + fmt(sum) + '</span></div>' +
      '<ul class="terms" id="contributions">' + rows.map((c) => '<li class="term" tabindex="0" data-index="' + c.index + '" data-contribution="' + c.contribution + '"><span class="name" title="' + esc(c.token) + '">' + esc(c.token) + '</span><span class="bar" style="width:' + (100 * Math.abs(c.contribution) / max).toFixed(1) + '%"></span><span class="num">' + fmt(c.contribution) + '</span></li>').join('') + '</ul>';
  }
  async function encodeQuery() {
    $('error').textContent = '';
    const text = $('query').value;
    const r = await api('/encode', { texts: [text], task: 'query', explain: true });
    state.query = r.explanations[0]; state.queryText = text;
    $('query-out').innerHTML = textCard(state.query, 'query');
    $('query-out').hidden = false;
  }
  $('query-form').addEventListener('submit', (e) => { e.preventDefault(); encodeQuery().catch(fail); });
  $('doc-form').addEventListener('submit', (e) => {
    e.preventDefault();
    (async () => {
      $('error').textContent = '';
      if (state.query === null || state.queryText !== $('query').value) await encodeQuery();
      const r = await api('/explain', { query: $('query').value, document: $('document').value });
      const d = r.documents[0];
      $('doc-out').innerHTML = textCard(d.document, 'document');
      $('doc-out').hidden = false;
      $('breakdown').innerHTML = breakdown(d);
      $('breakdown-section').hidden = false;
    })().catch(fail);
  });
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    (async () => {
      $('error').textContent = '';
      if (state.query === null || state.queryText !== $('query').value) await encodeQuery();
      const approximate = $('approximate').checked;
      const r = await api('/search', { query: $('query').value, k: Number($('k').value) || 5, exact: !approximate, explain: true });
      const names = new Map(state.query.terms.map((t) => [t.index, t.token]));
      const hits = r.results[0].hits;
      $('hits').innerHTML = '<div class="stats">' + hits.length + ' hits, ' + (approximate ? 'approximate' : 'exact') + ' search</div>' + hits.map((h, i) =>
        '<div class="hit" data-id="' + esc(h.id) + '" data-score="' + h.score + '"><b>' + (i + 1) + '. ' + esc(h.id) + '</b> score ' + fmt(h.score) +
        breakdown({ similarity: 'dot', score: h.score, contributions: (h.contributions || []).map((c) => ({ ...c, token: names.get(c.index) || '[' + c.index + ']' })) }).replace(/ id="(score|shared|sum|contributions)"/g, '') + '</div>').join('');
      $('hits').hidden = false;
    })().catch(fail);
  });
  api('/info').then((info) => {
    const m = info.model;
    $('model').textContent = m ? (m.id + ' · ' + m.modules + ' · ' + m.precision + ' · max ' + m.maxSeqLength + ' tokens · similarity ' + m.similarityFn + ' · ' + m.dim + ' dims' + (m.router ? ' · routes ' + m.routes.join(', ') : '')) : 'no model';
    if (info.index) { $('search-section').hidden = false; $('model').textContent += ' · index of ' + info.index.size + ' documents'; }
    document.body.setAttribute('data-ready', '1');
  }).catch(fail);
})();
</script>
</body>
</html>
`;
}
