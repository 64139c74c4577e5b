// Kiln's editor (views/admin/edit.njk): a live preview through POST /api/v1/preview, the
// category rule checked as it is typed, a warning before leaving unsaved changes, and the text
// kept in this browser's storage while typing, so that a crash or a closed tab can be recovered
// (the author is always asked; nothing is restored silently). On the page after a successful
// save, the flash (views/base.njk) names the draft that is saved now, and this script forgets it.
// Without JavaScript the form works as it is: the server renders the preview of what it shows.
(function () {
  'use strict';
  var PREFIX = 'kiln.draft:';
  var PREVIEW_DELAY_MS = 250;
  var STORE_DELAY_MS = 300;

  var storage = (function () {
    try {
      var s = window.localStorage;
      s.setItem('kiln.probe', '1');
      s.removeItem('kiln.probe');
      return s;
    } catch (e) {
      return null; // Storage may be disabled; everything else still works.
    }
  })();

  function readDraft(key) {
    if (!storage || !key) return null;
    try {
      var draft = JSON.parse(storage.getItem(PREFIX + key) || 'null');
      return draft && typeof draft.body === 'string' ? draft : null;
    } catch (e) {
      return null;
    }
  }

  function writeDraft(key, draft) {
    if (!storage || !key) return;
    try {
      storage.setItem(PREFIX + key, JSON.stringify(draft));
    } catch (e) {
      // Full or refused: the text is still in the form.
    }
  }

  function forgetDraft(key) {
    if (storage && key) storage.removeItem(PREFIX + key);
  }

  // The page after a successful save says which draft it made obsolete.
  var saved = document.querySelector('[data-draft-saved]');
  if (saved) forgetDraft(saved.getAttribute('data-draft-saved'));

  var form = document.getElementById('editor');
  if (!form) return;

  var fields = {
    title: form.querySelector('#title'),
    category: form.querySelector('#category'),
    body: form.querySelector('#body'),
    published: form.querySelector('input[name="published"]'),
    version: form.querySelector('input[name="version"]'),
    draft: form.querySelector('input[name="draft"]'),
    csrf: form.querySelector('input[name="_csrf"]'),
  };
  var preview = {
    section: document.querySelector('.studio-preview'),
    title: document.getElementById('preview-title'),
    category: document.getElementById('preview-category'),
    body: document.getElementById('preview-body'),
    error: document.getElementById('preview-error'),
    status: document.getElementById('preview-status'),
  };
  var categoryError = document.getElementById('category-error');
  var recovery = document.getElementById('draft-recovery');

  // ---- What the form holds, and whether it differs from what is saved ----

  function snapshot() {
    return {
      title: fields.title.value,
      category: fields.category.value,
      body: fields.body.value,
      published: fields.published.checked,
      version: fields.version ? fields.version.value : '',
    };
  }

  function sameText(a, b) {
    return a.title === b.title && a.category === b.category && a.body === b.body && a.published === b.published;
  }

  var initial = snapshot();
  // The server shows a refused save again (a conflict, an error, a save made while signed out).
  var unsavedOnArrival = form.getAttribute('data-unsaved') === 'true';
  var submitting = false;

  function isDirty() {
    return unsavedOnArrival || !sameText(snapshot(), initial);
  }

  // A new post's draft is named on its first visit and sent back in `draft`, so the flash after
  // the save can name it.
  var draftKey = form.getAttribute('data-draft-key') || '';
  if (!draftKey) {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    var id = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join('');
    draftKey = 'new:' + id;
    fields.draft.value = id;
  }

  // ---- Keeping the text in this browser while typing ----

  var storeTimer = 0;
  var recoveryOpen = false;

  function store() {
    window.clearTimeout(storeTimer);
    // While the author decides about an older draft, it must not be overwritten.
    if (recoveryOpen) return;
    if (!isDirty()) {
      forgetDraft(draftKey);
      return;
    }
    var draft = snapshot();
    draft.savedAt = Date.now();
    writeDraft(draftKey, draft);
  }

  function storeSoon() {
    window.clearTimeout(storeTimer);
    storeTimer = window.setTimeout(store, STORE_DELAY_MS);
  }

  // ---- Recovering a draft a crash or a closed tab left behind ----

  function newPostDrafts() {
    var found = [];
    if (!storage) return found;
    for (var i = 0; i < storage.length; i++) {
      var name = storage.key(i);
      if (name && name.indexOf(PREFIX + 'new:') === 0 && name !== PREFIX + draftKey) {
        var draft = readDraft(name.slice(PREFIX.length));
        if (draft) found.push({ key: name.slice(PREFIX.length), draft: draft });
      }
    }
    found.sort(function (a, b) { return (b.draft.savedAt || 0) - (a.draft.savedAt || 0); });
    return found;
  }

  function offer(key, draft) {
    recoveryOpen = true;
    var when = document.getElementById('draft-recovery-when');
    when.textContent = draft.savedAt ? 'last typed ' + new Date(draft.savedAt).toLocaleString() : 'time unknown';
    recovery.hidden = false;
    document.getElementById('draft-restore').onclick = function () {
      fields.title.value = draft.title || '';
      fields.category.value = draft.category || '';
      fields.body.value = draft.body;
      fields.published.checked = draft.published === true;
      // The version it was written against: a save made elsewhere since then becomes a 409.
      if (fields.version && draft.version) fields.version.value = draft.version;
      if (key.indexOf('new:') === 0 && key !== draftKey) {
        forgetDraft(draftKey);
        draftKey = key;
        fields.draft.value = key.slice(4);
      }
      close();
      checkCategory();
      showTitle();
      previewNow();
      fields.body.focus();
    };
    document.getElementById('draft-discard').onclick = function () {
      forgetDraft(key);
      close();
      fields.title.focus();
    };
    function close() {
      recovery.hidden = true;
      recoveryOpen = false;
      store();
    }
  }

  (function offerRecovery() {
    var own = readDraft(draftKey);
    if (own) {
      if (sameText(own, snapshot())) {
        if (!unsavedOnArrival) forgetDraft(draftKey);
      } else {
        offer(draftKey, own);
      }
      return;
    }
    // A fresh new-post editor offers the newest new post this browser never saved.
    if (!form.getAttribute('data-draft-key')) {
      var others = newPostDrafts();
      if (others.length > 0) offer(others[0].key, others[0].draft);
    }
  })();

  // ---- The live preview ----

  var previewTimer = 0;
  var sequence = 0;

  function setPreviewState(state, message) {
    preview.section.setAttribute('data-state', state);
    preview.status.textContent = message || '';
  }

  function showTitle() {
    preview.title.textContent = fields.title.value;
    preview.category.textContent = fields.category.value;
  }

  function previewNow() {
    window.clearTimeout(previewTimer);
    var mine = ++sequence;
    setPreviewState('updating');
    fetch('/api/v1/preview', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': fields.csrf.value, Accept: 'application/json' },
      body: JSON.stringify({ markdown: fields.body.value }),
    })
      .then(function (res) {
        return res.json().then(function (data) { return { status: res.status, data: data }; }, function () { return { status: res.status, data: null }; });
      })
      .then(function (answer) {
        if (mine !== sequence) return; // A later keystroke asked again.
        if (answer.status === 200 && answer.data && typeof answer.data.html === 'string') {
          preview.body.innerHTML = answer.data.html;
          preview.error.hidden = true;
          setPreviewState('ready');
        } else if (answer.status === 403) {
          setPreviewState('signed-out', 'The preview has stopped: you are signed out. Your text is kept; Save will ask you to sign in first.');
        } else {
          var message = answer.data && answer.data.error ? answer.data.error.message : 'The preview failed (' + answer.status + ').';
          preview.error.textContent = message;
          preview.error.hidden = false;
          setPreviewState('error');
        }
      })
      .catch(function () {
        if (mine === sequence) setPreviewState('offline', 'The preview cannot reach the server right now; your text is kept in this browser.');
      });
  }

  function previewSoon() {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(previewNow, PREVIEW_DELAY_MS);
  }

  // ---- The category rule, checked as it is typed ----

  var categoryRule = document.getElementById('category-hint').textContent;

  function checkCategory() {
    var validity = fields.category.validity;
    var bad = validity.patternMismatch || validity.tooLong;
    if (bad) {
      fields.category.setAttribute('aria-invalid', 'true');
      categoryError.textContent = 'Not a valid category. ' + categoryRule;
      categoryError.hidden = false;
    } else if (fields.category.value !== '') {
      fields.category.removeAttribute('aria-invalid');
      categoryError.textContent = '';
      categoryError.hidden = true;
    }
  }

  // ---- Wiring ----

  fields.body.addEventListener('input', function () {
    previewSoon();
    storeSoon();
  });
  fields.title.addEventListener('input', function () {
    showTitle();
    storeSoon();
  });
  fields.category.addEventListener('input', function () {
    showTitle();
    checkCategory();
    storeSoon();
  });
  fields.published.addEventListener('change', storeSoon);

  form.addEventListener('submit', function () {
    submitting = true;
    // Kept until the page after the save says it is saved: a save that fails leaves it here.
    store();
  });

  window.addEventListener('pagehide', store);
  window.addEventListener('beforeunload', function (event) {
    if (submitting || !isDirty()) return;
    store();
    event.preventDefault();
    event.returnValue = '';
  });

  // The first field the server found wrong gets the focus (it is also marked autofocus).
  var firstInvalid = form.querySelector('[aria-invalid="true"]');
  if (firstInvalid && document.activeElement !== firstInvalid) firstInvalid.focus();
  setPreviewState('ready');
})();
