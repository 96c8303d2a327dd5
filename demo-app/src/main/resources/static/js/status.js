/* Status page: model facts, last request timings, limits; polls /api/status. */
(function () {
  'use strict';
  const QV = window.QV;
  const fmt = (n, unit) => (n == null ? '—' : (Math.round(n * 10) / 10).toLocaleString('en') + (unit || ''));
  const bytes = (n) => (n >= 1 << 30 ? (n / (1 << 30)).toFixed(2) + ' GiB' : n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + ' MiB'
    : Math.round(n / 1024) + ' KiB');
  function fill(id, rows) {
    const dl = document.getElementById(id);
    dl.textContent = '';
    for (const [k, v, key] of rows) {
      dl.append(QV.el('dt', { text: k }));
      const dd = QV.el('dd', { id: key ? 'status-' + key : null });
      if (v instanceof Node) dd.append(v); else dd.textContent = v;
      dl.append(dd);
    }
  }
  async function refresh() {
    let s;
    try { s = await (await fetch('/api/status')).json(); } catch (e) { return; }
    const state = QV.el('span', { class: 'pill ' + (s.loaded ? 'ok' : 'no'), text: s.loaded ? 'loaded' : (s.loadError ? 'failed' : 'not loaded') });
    fill('model-facts', [
      ['Model', s.modelId, 'model'],
      ['State', state, 'state'],
      ['Backend', s.backend === 'remote' ? 'remote (OpenAI-compatible server)' : 'local (in this JVM)', 'backend'],
      ['Architecture', s.architecture || '—', 'architecture'],
      ['Device', s.device || '—', 'device'],
      ['Precision', s.precision || '—'],
      ['Parameters', s.parameters ? (s.parameters / 1e6).toFixed(2) + ' M' : '—', 'parameters'],
      ['Weights', s.weightBytes ? bytes(s.weightBytes) : '—'],
      ['Context length', s.contextLength ? s.contextLength.toLocaleString('en') + ' tokens' : '—'],
      ['Load time', s.loadMillis ? fmt(s.loadMillis, ' ms') : '—'],
      ['Weights are', s.randomWeights ? 'random (tiny test model)' : 'trained'],
      ['Requests', s.completedRequests + ' done · ' + s.failedRequests + ' failed · ' + s.running + ' running · ' + s.waiting + ' waiting'],
      ['Decode batch', s.batch ? s.batch.size + ' in the current step · ' + s.batch.decoding + ' decoding · at most ' + s.batch.maxBatchSize
        + ' (largest so far ' + s.batch.largest + ')' : 'each request decodes alone', 'batch'],
    ].concat(s.loadError ? [['Load error', s.loadError]] : []));
    const last = s.lastRequest;
    if (last) {
      const t = last.timings || {};
      fill('last-facts', [
        ['When', new Date(last.at).toLocaleTimeString()],
        ['Endpoint', last.endpoint],
        ['TTFT', fmt(t.ttftMillis, ' ms'), 'ttft'],
        ['Decode speed', fmt(t.tokensPerSecond, ' tokens/s'), 'tps'],
        ['Total', fmt(t.totalMillis, ' ms')],
        ['Vision / prefill', fmt(t.visionMillis, ' ms') + ' / ' + fmt(t.prefillMillis, ' ms')],
        ['Tokens', last.usage.promptTokens + ' prompt (' + (last.usage.imageTokens || 0) + ' image) → ' + last.usage.completionTokens + ' generated'],
        ['Finish', last.finishReason],
        ['Images / boxes', last.images + ' / ' + last.boxes],
      ]);
    }
    const l = s.limits;
    fill('limit-facts', [
      ['Images per request', String(l.maxImages)],
      ['Image size', bytes(l.maxImageBytes)],
      ['Request size', bytes(l.maxRequestBytes)],
      ['Image pixels', (l.maxImagePixels / 1e6).toFixed(1) + ' MP'],
      ['Concurrent generations', String(l.maxConcurrentRequests)],
      ['Decode batch size', String(l.maxBatchSize)],
    ]);
  }
  refresh();
  setInterval(refresh, 2000);
})();
