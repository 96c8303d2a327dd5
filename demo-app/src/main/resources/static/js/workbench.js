/* Grounding, region and compare pages: images on a stage, one question, a streamed answer, boxes drawn on the stage. */
(function () {
  'use strict';
  const QV = window.QV;
  const $ = (id) => document.getElementById(id);
  const main = document.querySelector('main.workbench');
  const mode = main.dataset.mode;
  const maxImages = mode === 'compare' ? Math.min(4, QV.maxImages) : 1;
  const stage = $('stage'), dropzone = $('dropzone'), question = $('question'), send = $('send'), stop = $('stop');
  const errorBox = $('error'), answerCard = $('answer-card'), answer = $('answer'), rawToggle = $('raw-toggle');
  let images = [];
  let figures = [];
  let region = null;       // {x1, y1, x2, y2} in original pixels
  let result = null, colors = [];
  let controller = null;

  main.classList.add(mode);
  function showError(msg) { errorBox.textContent = msg; errorBox.hidden = !msg; }
  function hint(text) { $('stage-hint').textContent = text; }

  function renderStage() {
    figures.forEach((f) => f.remove());
    figures = images.map((img, i) => {
      const fig = QV.figure(img.dataUrl, mode === 'compare' ? 'Image ' + (i + 1) : null);
      fig.dataset.index = String(i);
      stage.append(fig);
      return fig;
    });
    dropzone.hidden = images.length >= (mode === 'compare' ? 2 : 1);
    dropzone.classList.toggle('compact', images.length > 0);
    stage.append(dropzone);
    if (mode === 'region') figures.forEach(enableDrag);
    updateHint();
    QV.linkHover(main);
  }

  /** The line under the images: what to do next, their size and what they will cost in image tokens. */
  function updateHint() {
    const priced = images.filter((img) => img.cost && !img.cost.error);
    const tokens = priced.length ? ' · ≈ ' + priced.reduce((sum, img) => sum + img.cost.tokens, 0) + ' image tokens' : '';
    const refused = images.find((img) => img.cost && img.cost.error);
    if (refused) showError('"' + refused.name + '" would be refused: ' + refused.cost.error);
    if (mode === 'compare') {
      hint(images.length < 2 ? 'Add ' + (2 - images.length) + ' more image(s) — 2 to 4 in all.' : images.length + ' images' + tokens + (images.length < maxImages ? ' · drop or paste more (up to ' + maxImages + ')' : ''));
    } else if (mode === 'region') {
      hint(images.length ? 'Drag on the image to select a region.' + tokens : '');
    } else {
      hint(images.length ? images[0].name + ' · ' + images[0].width + '×' + images[0].height + tokens : '');
    }
  }

  async function addFiles(files) {
    showError('');
    try {
      const added = await QV.readImages(files);
      const all = mode === 'compare' ? images.concat(added) : added.slice(-1);
      images = all.slice(0, maxImages);
      if (all.length > maxImages) showError('At most ' + maxImages + ' images: the others were left out.');
      region = null; result = null;
      answerCard.hidden = true;
      if (mode === 'region') { $('region-markup').hidden = true; $('region-info').textContent = 'Drag a rectangle on the image.'; }
      renderStage();
      await QV.imageCosts(added);
      updateHint();
    } catch (e) { showError(e.message); }
  }

  QV.acceptImages(document.querySelector('.stage-panel'), $('images-input'), [$('pick')], addFiles);
  $('replace').addEventListener('click', () => { images = []; region = null; answerCard.hidden = true; renderStage(); $('images-input').click(); });

  /* Region: drag a rectangle; coordinates are kept in original image pixels. */
  function enableDrag(fig) {
    let start = null, sel = null;
    const toImage = (e) => {
      const r = fig.img.getBoundingClientRect();
      const x = Math.min(Math.max(e.clientX - r.left, 0), r.width), y = Math.min(Math.max(e.clientY - r.top, 0), r.height);
      return { x: x / r.width, y: y / r.height };
    };
    const place = (a, b) => {
      const x1 = Math.min(a.x, b.x), y1 = Math.min(a.y, b.y), x2 = Math.max(a.x, b.x), y2 = Math.max(a.y, b.y);
      sel.style.left = x1 * 100 + '%'; sel.style.top = y1 * 100 + '%';
      sel.style.width = (x2 - x1) * 100 + '%'; sel.style.height = (y2 - y1) * 100 + '%';
      return { x1, y1, x2, y2 };
    };
    fig.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      fig.setPointerCapture(e.pointerId);
      start = toImage(e);
      fig.querySelectorAll('.selection').forEach((s) => s.remove());
      sel = QV.el('div', { class: 'selection', id: 'selection' });
      fig.append(sel);
      place(start, start);
    });
    fig.addEventListener('pointermove', (e) => { if (start) place(start, toImage(e)); });
    fig.addEventListener('pointerup', (e) => {
      if (!start) return;
      const n = place(start, toImage(e));
      start = null;
      const w = images[0].width, h = images[0].height;
      if ((n.x2 - n.x1) * w < 3 || (n.y2 - n.y1) * h < 3) { sel.remove(); region = null; return; }
      region = { x1: Math.round(n.x1 * w), y1: Math.round(n.y1 * h), x2: Math.round(n.x2 * w), y2: Math.round(n.y2 * h) };
      $('region-info').textContent = 'Region (' + region.x1 + ', ' + region.y1 + ') – (' + region.x2 + ', ' + region.y2 + ') px';
      regionMarkup().catch((err) => showError(err.message));
    });
  }

  async function regionMarkup() {
    const response = await fetch('/api/region', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(Object.assign({ image: images[0].dataUrl, label: $('region-label').value.trim() || null }, region)),
    });
    if (!response.ok) throw new Error(QV.describeError(await QV.errorOf(response)));
    const r = await response.json();
    const code = $('region-markup');
    code.textContent = r.markup;
    code.hidden = false;
    return r.markup;
  }

  function render() {
    if (!result) return;
    QV.renderAnswer(answer, result, rawToggle.checked, colors);
  }
  rawToggle.addEventListener('change', render);

  document.querySelectorAll('[data-template]').forEach((b) => b.addEventListener('click', () => {
    question.value = b.dataset.template.replace('{object}', $('preset-object').value.trim() || 'objects');
    question.focus();
  }));

  async function ask() {
    if (controller) return;
    showError('');
    if (!images.length) { showError('Add an image first.'); return; }
    if (mode === 'compare' && images.length < 2) { showError('Add at least two images to compare.'); return; }
    let text = question.value.trim();
    if (mode === 'region') {
      if (!region) { showError('Drag a rectangle on the image first.'); return; }
      try {
        const markup = await regionMarkup();
        text = text.includes('{region}') ? text.split('{region}').join(markup) : (text + ' ' + markup).trim();
      } catch (e) { showError(e.message); return; }
    }
    if (!text) { showError('Type a question.'); return; }
    result = null;
    figures.forEach((f) => { f.overlay.textContent = ''; });
    answerCard.hidden = false;
    answer.textContent = '';
    answer.classList.add('cursor');
    $('legend').textContent = ''; $('stats').textContent = ''; $('downloads').textContent = '';
    send.disabled = true; stop.hidden = false;
    controller = new AbortController();
    let raw = '';
    let finished = false;
    await QV.streamChat('/api/chat/stream', { messages: [{ role: 'user', text, images: images.map((i) => i.dataUrl) }] }, {
      delta: (d) => { raw += d.text; answer.textContent = QV.liveClean(raw); },
      done: (r) => {
        finished = true;
        result = r;
        colors = QV.boxColors(r.boxes);
        answer.classList.remove('cursor');
        render();
        QV.renderLegend($('legend'), r, colors);
        figures.forEach((f, i) => QV.drawBoxes(f, r.boxes, colors, i));
        $('stats').textContent = QV.statsLine(r);
        QV.downloadLinks($('downloads'), r);
      },
      error: (err) => { finished = true; answer.classList.remove('cursor'); answerCard.hidden = !raw; showError(QV.describeError(err)); },
    }, controller.signal);
    if (!finished) { answer.classList.remove('cursor'); $('stats').textContent = 'stopped'; }
    controller = null;
    send.disabled = false; stop.hidden = true;
  }

  send.addEventListener('click', ask);
  question.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) ask(); });
  stop.addEventListener('click', () => { if (controller) controller.abort(); });
  renderStage();
})();
