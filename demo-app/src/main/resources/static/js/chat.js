/* Chat page: multi-round conversation with images, streamed answers, boxes on the images they belong to. */
(function () {
  'use strict';
  const QV = window.QV;
  const $ = (id) => document.getElementById(id);
  const conversation = $('conversation'), question = $('question'), send = $('send'), stop = $('stop');
  const thumbs = $('thumbs'), errorBox = $('error');
  const history = [];      // [{role, text, images: [dataUrl]}] as sent to the server
  const allImages = [];    // every image of the conversation, in order: box imageIndex points here
  let pending = [];        // images attached to the next message
  let controller = null;

  function showError(msg) { errorBox.textContent = msg; errorBox.hidden = !msg; }

  function renderThumbs() {
    thumbs.textContent = '';
    pending.forEach((img, i) => {
      thumbs.append(QV.el('div', { class: 'thumb' }, QV.el('img', { src: img.dataUrl, alt: img.name, title: img.name }),
        QV.el('button', { type: 'button', title: 'Remove', 'aria-label': 'Remove image', text: '×',
          onclick: () => { pending.splice(i, 1); renderThumbs(); } })));
    });
    showCosts();
  }

  /** Each thumbnail's image tokens (as the server will count them) and their total, once known. */
  function showCosts() {
    const shown = thumbs.querySelectorAll('.thumb');
    pending.forEach((img, i) => {
      const thumb = shown[i];
      if (thumb && !thumb.querySelector('.cost')) {
        const label = QV.costLabel(img);
        if (label) thumb.append(label);
      }
    });
    const old = thumbs.querySelector('.cost-total');
    if (old) old.remove();
    const priced = pending.filter((img) => img.cost && !img.cost.error);
    if (priced.length) {
      thumbs.append(QV.el('span', { class: 'cost-total', id: 'image-cost-total',
        text: '≈ ' + priced.reduce((sum, img) => sum + img.cost.tokens, 0) + ' image tokens' }));
    }
  }

  async function addFiles(files) {
    showError('');
    try {
      const images = await QV.readImages(files);
      if (allImages.length + pending.length + images.length > QV.maxImages) {
        throw new Error('Too many images: at most ' + QV.maxImages + ' per conversation. Clear to start a new one.');
      }
      pending = pending.concat(images);
      renderThumbs();
      await QV.imageCosts(images);
      showCosts();
    } catch (e) { showError(e.message); }
  }

  QV.acceptImages($('dropzone'), $('images-input'), [$('pick')], addFiles);

  function options() {
    const o = {};
    const mt = $('opt-max-tokens').value, t = $('opt-temperature').value;
    if (mt) o.maxTokens = parseInt(mt, 10);
    if (t) o.temperature = parseFloat(t);
    return o;
  }

  function scrollDown() { conversation.scrollTop = conversation.scrollHeight; }

  function setBusy(busy) {
    send.disabled = busy; stop.hidden = !busy; question.disabled = busy;
  }

  function userBubble(text, images) {
    const m = QV.el('div', { class: 'msg user' });
    if (images.length) m.append(QV.el('div', { class: 'msg-images' }, ...images.map((i) => QV.el('img', { src: i.dataUrl, alt: i.name }))));
    if (text) m.append(QV.el('div', { class: 'text', text }));
    return m;
  }

  function finish(bubble, result) {
    const colors = QV.boxColors(result.boxes);
    const textEl = bubble.querySelector('.text');
    textEl.classList.remove('cursor');
    let raw = false;
    QV.renderAnswer(textEl, result, raw, colors);
    const toolbar = QV.el('div', { class: 'toolbar' });
    const toggle = QV.el('label', { class: 'toggle-inline' }, QV.el('input', { type: 'checkbox', class: 'raw-toggle' }), ' raw text');
    toggle.querySelector('input').addEventListener('change', (e) => { raw = e.target.checked; QV.renderAnswer(textEl, result, raw, colors); });
    toolbar.append(QV.el('span', { class: 'stats', text: QV.statsLine(result) }), toggle);
    const downloads = QV.el('span', { class: 'downloads' });
    QV.downloadLinks(downloads, result);
    toolbar.append(downloads);
    bubble.append(toolbar);
    const indices = [...new Set(result.boxes.map((b) => b.imageIndex))].filter((i) => i >= 0 && i < allImages.length);
    if (indices.length) {
      const figures = QV.el('div', { class: 'figures' });
      for (const i of indices.sort()) {
        const fig = QV.figure(allImages[i].dataUrl, 'Image ' + (i + 1));
        fig.img.addEventListener('load', scrollDown);
        QV.drawBoxes(fig, result.boxes, colors, i);
        figures.append(fig);
      }
      bubble.append(figures);
    }
    QV.linkHover(bubble);
  }

  async function ask(text) {
    if (controller) return;
    if (!text && !pending.length) { showError('Type a question or add an image.'); return; }
    showError('');
    const images = pending;
    const userMessage = { role: 'user', text, images: images.map((i) => i.dataUrl) };
    $('empty-state') && $('empty-state').remove();
    conversation.append(userBubble(text, images));
    const bubble = QV.el('div', { class: 'msg assistant' }, QV.el('div', { class: 'text cursor' }));
    conversation.append(bubble);
    scrollDown();
    pending = []; renderThumbs(); question.value = '';
    setBusy(true);
    controller = new AbortController();
    let raw = '';
    let finished = false;
    const textEl = bubble.querySelector('.text');
    await QV.streamChat('/api/chat/stream', { messages: history.concat([userMessage]), options: options() }, {
      start: () => {},
      delta: (d) => { raw += d.text; textEl.textContent = QV.liveClean(raw); scrollDown(); },
      done: (result) => {
        finished = true;
        history.push(userMessage, { role: 'assistant', text: result.text });
        allImages.push(...images);
        finish(bubble, result);
        scrollDown();
      },
      error: (err) => {
        finished = true;
        bubble.remove();
        conversation.lastElementChild && conversation.lastElementChild.remove();
        pending = images.concat(pending); renderThumbs();
        question.value = text;
        showError(QV.describeError(err));
      },
    }, controller.signal);
    if (!finished) {
      // stopped: keep what was said so far as part of the conversation
      textEl.classList.remove('cursor');
      bubble.append(QV.el('div', { class: 'toolbar', text: 'stopped' }));
      history.push(userMessage, { role: 'assistant', text: raw });
      allImages.push(...images);
    }
    controller = null;
    setBusy(false);
    question.focus();
  }

  $('composer').addEventListener('submit', (e) => { e.preventDefault(); ask(question.value.trim()); });
  question.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); ask(question.value.trim()); }
  });
  stop.addEventListener('click', () => { if (controller) controller.abort(); });
  $('clear').addEventListener('click', () => {
    if (controller) controller.abort();
    history.length = 0; allImages.length = 0; pending = []; renderThumbs(); showError('');
    conversation.textContent = '';
  });
  document.querySelectorAll('[data-suggest]').forEach((b) => b.addEventListener('click', () => { question.value = b.dataset.suggest; question.focus(); }));
  document.querySelectorAll('[data-template]').forEach((b) => b.addEventListener('click', () => {
    question.value = b.dataset.template.replace('{object}', $('preset-object').value.trim() || 'objects');
    question.focus();
  }));
})();
