/* Shared helpers of the Qwen-VL demo pages: images in, streaming out, boxes drawn. No dependencies. */
(function () {
  'use strict';
  const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
  const ACCEPTED = ['image/png', 'image/jpeg', 'image/gif', 'image/bmp'];
  const body = document.body;
  const QV = {
    arch: body.dataset.arch || '',
    maxImages: parseInt(body.dataset.maxImages || '8', 10),
    maxBytes: parseInt(body.dataset.maxBytes || String(10 << 20), 10),
  };

  QV.el = function (tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  };

  QV.colorFor = function (i) {
    if (i < PALETTE.length) return PALETTE[i];
    return 'hsl(' + Math.round((i * 137.508) % 360) + ', 70%, 45%)';
  };

  /** Reads image files into {name, dataUrl, width, height}; rejects what the server would refuse anyway. */
  QV.readImages = async function (files) {
    const out = [];
    for (const f of files) {
      if (!ACCEPTED.includes(f.type)) throw new Error('"' + f.name + '" is not a PNG, JPEG, GIF or BMP image.');
      if (f.size > QV.maxBytes) throw new Error('"' + f.name + '" is too large (' + Math.round(f.size / 1024)
        + ' KiB); the limit is ' + Math.round(QV.maxBytes / 1024) + ' KiB.');
      const dataUrl = await new Promise((resolve, reject) => {
        const r = new FileReader();
        r.onload = () => resolve(r.result);
        r.onerror = () => reject(new Error('Cannot read "' + f.name + '"'));
        r.readAsDataURL(f);
      });
      const size = await QV.imageSize(dataUrl);
      out.push({ name: f.name, dataUrl, width: size.width, height: size.height });
    }
    return out;
  };

  /**
   * Asks the server what each image will cost before it is sent (POST /api/images/cost) and sets
   * img.cost = {tokens, resizedWidth, resizedHeight} or {error} on each. Failures leave the images as they are.
   */
  QV.imageCosts = async function (images) {
    if (!images.length) return;
    try {
      const response = await fetch('/api/images/cost', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ images: images.map((i) => i.dataUrl) }),
      });
      if (!response.ok) return;
      const costs = (await response.json()).images;
      costs.forEach((c, i) => { if (images[i]) images[i].cost = c; });
    } catch (e) { /* the cost is a hint; sending still works */ }
  };

  /** A caption for an image's cost: "≈ 256 image tokens" (title: the size the model sees). */
  QV.costLabel = function (img) {
    const c = img.cost;
    if (!c) return null;
    if (c.error) return QV.el('span', { class: 'cost refused', title: c.error, text: 'refused' });
    return QV.el('span', { class: 'cost', text: c.tokens + ' tokens',
      title: 'The model sees this image at ' + c.resizedWidth + '×' + c.resizedHeight + ' px (from '
        + c.originalWidth + '×' + c.originalHeight + '): ' + c.tokens + ' image tokens' });
  };

  QV.imageSize = function (src) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
      img.onerror = () => reject(new Error('The browser cannot decode this image'));
      img.src = src;
    });
  };

  /** Drop, paste and pick on a zone; calls onFiles(File[]). */
  QV.acceptImages = function (zone, input, pickButtons, onFiles) {
    const prevent = (e) => { e.preventDefault(); e.stopPropagation(); };
    ['dragenter', 'dragover'].forEach((t) => zone.addEventListener(t, (e) => { prevent(e); zone.classList.add('over'); }));
    ['dragleave', 'drop'].forEach((t) => zone.addEventListener(t, (e) => { prevent(e); zone.classList.remove('over'); }));
    zone.addEventListener('drop', (e) => onFiles(Array.from(e.dataTransfer.files || [])));
    document.addEventListener('paste', (e) => {
      const files = Array.from(e.clipboardData ? e.clipboardData.files : []).filter((f) => f.type.startsWith('image/'));
      if (files.length) { e.preventDefault(); onFiles(files); }
    });
    for (const b of pickButtons) if (b) b.addEventListener('click', () => input.click());
    input.addEventListener('change', () => { const files = Array.from(input.files); input.value = ''; onFiles(files); });
  };

  /**
   * POSTs JSON to an SSE endpoint and reads the stream with fetch (so it can be stopped with an AbortSignal,
   * which closes the connection and stops generation on the server).
   * handlers: start(data), delta(data), done(data), error({status, error, message}).
   */
  QV.streamChat = async function (url, payload, handlers, signal) {
    let response;
    try {
      response = await fetch(url, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload), signal,
      });
    } catch (e) {
      if (e.name === 'AbortError') return;
      handlers.error({ status: 0, error: 'network', message: 'Cannot reach the server: ' + e.message });
      return;
    }
    if (!response.ok) {
      handlers.error(await QV.errorOf(response));
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const raw = buffer.slice(0, cut);
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
          let event = 'message';
          const data = [];
          for (const line of raw.split(/\r?\n/)) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (!data.length) continue;
          const parsed = JSON.parse(data.join('\n'));
          if (handlers[event]) handlers[event](parsed);
        }
      }
    } catch (e) {
      if (e.name !== 'AbortError') handlers.error({ status: 0, error: 'network', message: 'The stream broke: ' + e.message });
    }
  };

  QV.errorOf = async function (response) {
    try {
      const j = await response.json();
      if (j.message) return j;
      if (j.error && j.error.message) return { status: response.status, error: j.error.code, message: j.error.message };
    } catch (e) { /* not JSON */ }
    return { status: response.status, error: 'http_' + response.status, message: 'The server answered HTTP ' + response.status };
  };

  QV.describeError = function (err) {
    const prefix = { 413: 'Too large', 429: 'Model busy', 503: 'Model unavailable', 504: 'Timed out', 400: 'Not accepted' }[err.status];
    return (prefix ? prefix + ': ' : '') + err.message;
  };

  /** While streaming: hide grounding markup (the server's clean text replaces this when done). */
  QV.liveClean = function (text) {
    return text
      .replace(/<\|object_ref_start\|>|<\|object_ref_end\|>|<\/?ref>/g, '')
      .replace(/<\|(box|quad)_start\|>[\s\S]*?(<\|(box|quad)_end\|>|$)/g, '')
      .replace(/<(box|quad)>[\s\S]*?(<\/(box|quad)>|$)/g, '')
      .replace(/<\|[a-z_]*\|?$/, '').replace(/<[a-z\/]*$/, '');
  };

  /** Colours by label (same label, same colour), index → colour. */
  QV.boxColors = function (boxes) {
    const byLabel = new Map();
    return boxes.map((b) => {
      const key = b.label || '';
      if (!byLabel.has(key)) byLabel.set(key, QV.colorFor(byLabel.size));
      return byLabel.get(key);
    });
  };

  /**
   * Renders an answer into el: clean text with each box's phrase highlighted (linked to its box by data-box),
   * or the raw text as the model wrote it.
   */
  QV.renderAnswer = function (el, result, raw, colors) {
    el.textContent = '';
    if (raw) { el.textContent = result.text; return; }
    const text = result.cleanText;
    const spans = [];
    let from = 0;
    result.boxes.forEach((b, i) => {
      if (!b.label) return;
      let at = text.indexOf(b.label, from);
      if (at < 0) return;
      if (spans.some((s) => at < s.end && at + b.label.length > s.start)) return;
      spans.push({ start: at, end: at + b.label.length, i });
      from = at + b.label.length;
    });
    spans.sort((a, b) => a.start - b.start);
    let pos = 0;
    for (const s of spans) {
      el.append(text.slice(pos, s.start));
      el.append(QV.el('span', { class: 'ref', 'data-box': String(s.i), style: '--c:' + colors[s.i], text: text.slice(s.start, s.end) }));
      pos = s.end;
    }
    el.append(text.slice(pos));
  };

  /** A legend chip per box (for boxes whose phrase is not in the text, and as an overview). */
  QV.renderLegend = function (el, result, colors) {
    el.textContent = '';
    result.boxes.forEach((b, i) => {
      el.append(QV.el('span', { class: 'ref', 'data-box': String(i), style: '--c:' + colors[i],
        text: (b.label || 'box ' + (i + 1)) + (result.images.length > 1 ? ' · image ' + (b.imageIndex + 1) : '') }));
    });
  };

  /** An image with an overlay layer; boxes are positioned in % of the image, so they follow its displayed size. */
  QV.figure = function (src, caption) {
    const img = QV.el('img', { src, alt: caption || 'image', draggable: 'false' });
    const overlay = QV.el('div', { class: 'overlay' });
    const fig = QV.el('div', { class: 'figure' }, img, overlay);
    if (caption) fig.append(QV.el('span', { class: 'caption', text: caption }));
    fig.img = img;
    fig.overlay = overlay;
    return fig;
  };

  QV.drawBoxes = function (fig, boxes, colors, imageIndex) {
    fig.overlay.textContent = '';
    boxes.forEach((b, i) => {
      if (b.imageIndex !== imageIndex || !b.box) return;
      const r = b.box;
      const d = QV.el('div', { class: 'box' + (b.kind === 'POINT' ? ' point' : '') + (r.y1 < 0.06 ? ' below' : ''),
        'data-box': String(i), 'data-label': b.label || '', style: '--c:' + colors[i] + ';left:' + (r.x1 * 100) + '%;top:'
          + (r.y1 * 100) + '%;' + (b.kind === 'POINT' ? '' : 'width:' + ((r.x2 - r.x1) * 100) + '%;height:' + ((r.y2 - r.y1) * 100) + '%;') });
      if (b.label) d.append(QV.el('span', { class: 'tag', text: b.label }));
      d.title = (b.label || 'box') + ' — (' + Math.round(b.pixels ? b.pixels.x1 : 0) + ', ' + Math.round(b.pixels ? b.pixels.y1 : 0)
        + ') – (' + Math.round(b.pixels ? b.pixels.x2 : 0) + ', ' + Math.round(b.pixels ? b.pixels.y2 : 0) + ') px';
      fig.overlay.append(d);
    });
  };

  /** Hovering a phrase highlights its box and the other way round, within scope. */
  QV.linkHover = function (scope) {
    const set = (i, on) => scope.querySelectorAll('[data-box="' + i + '"]').forEach((e) => e.classList.toggle('hl', on));
    scope.addEventListener('mouseover', (e) => { const t = e.target.closest('[data-box]'); if (t) set(t.dataset.box, true); });
    scope.addEventListener('mouseout', (e) => { const t = e.target.closest('[data-box]'); if (t) set(t.dataset.box, false); });
  };

  QV.statsLine = function (r) {
    const t = r.timings || {};
    const parts = [];
    if (t.ttftMillis != null) parts.push('TTFT ' + Math.round(t.ttftMillis) + ' ms');
    if (t.tokensPerSecond) parts.push(t.tokensPerSecond.toFixed(1) + ' tok/s');
    if (r.usage) parts.push(r.usage.promptTokens + ' → ' + r.usage.completionTokens + ' tokens');
    if (r.finishReason === 'length') parts.push('stopped at max tokens');
    if (r.boxes && r.boxes.length) parts.push(r.boxes.length + ' box' + (r.boxes.length > 1 ? 'es' : ''));
    return parts.join(' · ');
  };

  QV.downloadLinks = function (el, result) {
    el.textContent = '';
    const indices = [...new Set(result.boxes.map((b) => b.imageIndex))].filter((i) => i >= 0).sort();
    for (const i of indices) {
      el.append(QV.el('a', { href: '/api/annotated/' + result.id + '/' + i, download: 'annotated-' + (i + 1) + '.png',
        class: 'download', text: '⬇ annotated image' + (result.images.length > 1 ? ' ' + (i + 1) : '') }));
    }
  };

  window.QV = QV;
})();
