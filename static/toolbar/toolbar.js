// Kiln dev toolbar: opens and closes the bar, switches tabs (both remembered in localStorage),
// and sends the Clear cache request. The panels themselves are rendered by the server.
(function () {
  'use strict';
  var bar = document.getElementById('kiln-toolbar');
  if (!bar) return;
  var STORAGE_KEY = 'kiln-toolbar';
  var handle = bar.querySelector('.kiln-tb-handle');
  var body = bar.querySelector('.kiln-tb-body');
  var tabs = Array.prototype.slice.call(bar.querySelectorAll('.kiln-tb-tab'));
  var panels = Array.prototype.slice.call(bar.querySelectorAll('.kiln-tb-panel'));

  function load() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || '{}');
      return { open: saved.open === true, tab: typeof saved.tab === 'string' ? saved.tab : 'cache' };
    } catch (e) {
      return { open: false, tab: 'cache' };
    }
  }

  var state = load();

  function save() {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
    } catch (e) {
      // Storage may be disabled; the bar still works for this page.
    }
  }

  function setOpen(open) {
    state.open = open;
    body.hidden = !open;
    handle.setAttribute('aria-expanded', String(open));
    bar.classList.toggle('kiln-tb-open', open);
  }

  function selectTab(name) {
    var known = tabs.some(function (tab) { return tab.getAttribute('data-tab') === name; });
    if (!known) name = 'cache';
    state.tab = name;
    tabs.forEach(function (tab) {
      tab.setAttribute('aria-selected', String(tab.getAttribute('data-tab') === name));
    });
    panels.forEach(function (panel) {
      panel.hidden = panel.getAttribute('data-panel') !== name;
    });
  }

  handle.addEventListener('click', function () {
    setOpen(!state.open);
    save();
  });
  tabs.forEach(function (tab) {
    tab.addEventListener('click', function () {
      selectTab(tab.getAttribute('data-tab'));
      save();
    });
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && state.open) {
      setOpen(false);
      save();
    }
  });

  var clear = bar.querySelector('.kiln-tb-clear');
  var result = bar.querySelector('.kiln-tb-clear-result');
  if (clear && result) {
    clear.addEventListener('click', function () {
      clear.disabled = true;
      result.textContent = 'Clearing…';
      fetch(bar.getAttribute('data-clear-url'), {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'X-Kiln-Toolbar-Token': bar.getAttribute('data-clear-token') || '' },
      })
        .then(function (response) {
          return response.json().then(function (data) {
            result.textContent = response.ok && data.cleared ? 'Cache cleared. Reload to see fresh pages.' : 'Not cleared: ' + (data.error || response.status);
          });
        })
        .catch(function (error) {
          result.textContent = 'Not cleared: ' + error.message;
        })
        .then(function () {
          clear.disabled = false;
        });
    });
  }

  selectTab(state.tab);
  setOpen(state.open);
})();
