// Kiln dev toolbar: opens and closes the bar, switches tabs (both remembered in localStorage; the
// tabs follow the WAI-ARIA tabs pattern: arrow keys, Home and End), and sends the bar's requests:
// Clear cache, an entry's TTL and tags, drop a key, invalidate a tag, EXPLAIN. The panels
// themselves are rendered by the server.
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
      var selected = tab.getAttribute('data-tab') === name;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
    });
    panels.forEach(function (panel) {
      panel.hidden = panel.getAttribute('data-panel') !== name;
    });
  }

  handle.addEventListener('click', function () {
    setOpen(!state.open);
    save();
  });
  tabs.forEach(function (tab, i) {
    tab.addEventListener('click', function () {
      selectTab(tab.getAttribute('data-tab'));
      save();
    });
    tab.addEventListener('keydown', function (event) {
      var to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (to === undefined) return;
      event.preventDefault();
      var next = tabs[(to + tabs.length) % tabs.length];
      selectTab(next.getAttribute('data-tab'));
      save();
      next.focus();
    });
  });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && state.open) {
      setOpen(false);
      save();
    }
  });

  var dataUrl = bar.getAttribute('data-data-url');

  // A request of the bar: the token and same-origin credentials; resolves { ok, data }.
  function call(method, url) {
    var headers = method === 'POST' ? { 'X-Kiln-Toolbar-Token': bar.getAttribute('data-clear-token') || '' } : {};
    return fetch(url, { method: method, credentials: 'same-origin', headers: headers }).then(function (response) {
      return response.json().then(function (data) {
        return { ok: response.ok, data: data };
      });
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function actionButton(label, onClick) {
    var button = element('button', 'kiln-tb-action', label);
    button.type = 'button';
    button.addEventListener('click', onClick);
    return button;
  }

  // An entry's TTL and tags, with its drop and invalidate buttons, under its row.
  function showEntry(button, box) {
    var index = button.getAttribute('data-index');
    var entryUrl = dataUrl + '/cache/' + index;
    box.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    box.textContent = 'Reading…';
    call('GET', entryUrl).then(function (reply) {
      box.textContent = '';
      if (!reply.ok) return void box.appendChild(element('span', 'kiln-tb-errmsg', reply.data.error || 'Failed.'));
      var info = reply.data;
      var status = element('span', 'kiln-tb-action-result');
      status.setAttribute('role', 'status');
      box.appendChild(element('div', 'kiln-tb-ttl', 'TTL: ' + info.ttlText));
      var tags = element('div', 'kiln-tb-tags', info.tags.length === 0 ? 'Tags: none' : 'Tags: ');
      info.tags.forEach(function (tag) {
        var holder = element('span', 'kiln-tb-tag');
        holder.appendChild(element('code', '', tag));
        holder.appendChild(actionButton('invalidate this tag', function () {
          act('POST', entryUrl + '/invalidate?tag=' + encodeURIComponent(tag), status, 'Tag “' + tag + '” invalidated.');
        }));
        tags.appendChild(holder);
      });
      box.appendChild(tags);
      if (info.exists) box.appendChild(actionButton('drop this key', function () {
        act('POST', entryUrl + '/drop', status, 'Key dropped.');
      }));
      box.appendChild(status);
    }).catch(function (error) {
      box.textContent = 'Failed: ' + error.message;
    });
  }

  function act(method, url, status, done) {
    status.textContent = 'Working…';
    call(method, url).then(function (reply) {
      status.textContent = reply.ok ? done : 'Refused: ' + (reply.data.error || 'error');
    }).catch(function (error) {
      status.textContent = 'Failed: ' + error.message;
    });
  }

  Array.prototype.forEach.call(bar.querySelectorAll('.kiln-tb-entry'), function (button) {
    var box = button.parentNode.querySelector('.kiln-tb-entry-info');
    button.addEventListener('click', function () {
      if (!box.hidden) {
        box.hidden = true;
        button.setAttribute('aria-expanded', 'false');
        return;
      }
      showEntry(button, box);
    });
  });

  Array.prototype.forEach.call(bar.querySelectorAll('.kiln-tb-explain'), function (button) {
    var plan = button.parentNode.querySelector('.kiln-tb-plan');
    button.addEventListener('click', function () {
      plan.hidden = false;
      plan.textContent = 'Explaining…';
      call('POST', dataUrl + '/sql/' + button.getAttribute('data-index') + '/explain').then(function (reply) {
        plan.textContent = reply.ok ? reply.data.plan.join('\n') : 'Not explained: ' + (reply.data.error || 'error');
      }).catch(function (error) {
        plan.textContent = 'Failed: ' + error.message;
      });
    });
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
