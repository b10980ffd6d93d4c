/* autorec dashboard script: draws the curves (dygraphs) from the JSON API
 * and refreshes the live parts of a page.  Sets data-ready="1" on <html>
 * once every chart is drawn without error; any error goes to
 * data-js-error and a visible banner (the browser tests check both).
 * Values are put in the page with textContent only. */
(function () {
  'use strict';
  var root = document.documentElement;

  function report(msg) {
    root.setAttribute('data-js-error', String(msg));
    var p = document.getElementById('js-error');
    if (!p) {
      p = document.createElement('p');
      p.id = 'js-error';
      p.className = 'error';
      document.body.insertBefore(p, document.body.firstChild);
    }
    p.textContent = 'Page error: ' + msg;
  }
  window.addEventListener('error', function (e) { report(e.message); });
  window.addEventListener('unhandledrejection', function (e) {
    report(e.reason && e.reason.message ? e.reason.message : e.reason);
  });

  function getJSON(url) {
    return fetch(url, {cache: 'no-store'}).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(url + ': ' + (j.error || r.status));
        return j;
      });
    });
  }

  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e',
                 '#8c564b', '#e377c2', '#17becf'];

  /* Rows for dygraphs: x = epoch 1..max, one column per series (null where
   * a series has no value). */
  function table(series) {
    var max = 0;
    series.forEach(function (s) {
      s.points.forEach(function (p) { if (p[0] > max) max = p[0]; });
    });
    var rows = [];
    for (var e = 1; e <= max; e++) {
      var row = [e];
      for (var k = 0; k < series.length; k++) row.push(null);
      rows.push(row);
    }
    series.forEach(function (s, k) {
      s.points.forEach(function (p) {
        if (p[1] !== null && p[1] !== undefined) rows[p[0] - 1][k + 1] = p[1];
      });
    });
    return rows;
  }

  function pts(epochs, key) {
    return epochs.filter(function (e) { return e[key] !== null; })
                 .map(function (e) { return [e.epoch, e[key]]; });
  }

  /* The series of one chart kind ('loss' or 'rmse') for the runs' data. */
  function seriesOf(kind, runs) {
    var out = [], many = runs.length > 1;
    runs.forEach(function (d, i) {
      var tag = many ? '#' + d.run + ' ' : '';
      var c = palette[i % palette.length];
      var add = function (label, key, list, dash, color) {
        var p = pts(list, key);
        if (p.length) out.push({label: tag + label, points: p, dash: dash,
                                color: color});
      };
      if (kind === 'loss') {
        add('train loss', 'train_loss', d.epochs, false, c);
        if (!many) add('refit train loss', 'train_loss', d.refit_epochs, true,
                       '#ff7f0e');
      } else if (many) {
        add('test RMSE', 'test_rmse', d.epochs, false, c);
        add('val RMSE', 'val_rmse', d.epochs, true, c);
      } else {
        add('test RMSE', 'test_rmse', d.epochs, false, '#1f77b4');
        add('test MAE', 'test_mae', d.epochs, false, '#9ecae1');
        add('val RMSE', 'val_rmse', d.epochs, true, '#d62728');
        add('val MAE', 'val_mae', d.epochs, true, '#ff9896');
        add('refit test RMSE', 'test_rmse', d.refit_epochs, false, '#2ca02c');
        add('refit test MAE', 'test_mae', d.refit_epochs, false, '#98df8a');
      }
    });
    return out;
  }

  var charts = [];

  function draw(div, runs) {
    var kind = div.getAttribute('data-chart');
    var series = seriesOf(kind, runs);
    if (!series.length) {
      div.textContent = 'no epochs recorded yet';
      div.setAttribute('data-drawn', 'empty');
      return;
    }
    var legend = div.nextElementSibling;
    if (!legend || !legend.classList.contains('legend-box')) {
      legend = document.createElement('div');
      legend.className = 'legend-box';
      div.parentNode.insertBefore(legend, div.nextSibling);
    }
    var opts = {
      labelsDiv: legend,
      labels: ['epoch'].concat(series.map(function (s) { return s.label; })),
      colors: series.map(function (s) { return s.color; }),
      series: {},
      connectSeparatedPoints: true,
      drawPoints: true,
      pointSize: 1.5,
      highlightCircleSize: 4,
      strokeWidth: 1.6,
      legend: 'always',
      labelsSeparateLines: false,
      xlabel: 'epoch',
      logscale: false,
      animatedZooms: false
    };
    series.forEach(function (s) {
      if (s.dash) opts.series[s.label] = {strokePattern: [6, 3]};
    });
    var selected = runs.length === 1 ? runs[0].selected_epoch : null;
    if (selected) {
      opts.underlayCallback = function (ctx, area, g) {
        var x = g.toDomXCoord(selected);
        ctx.save();
        ctx.strokeStyle = '#555';
        ctx.setLineDash([4, 4]);
        ctx.beginPath();
        ctx.moveTo(x, area.y);
        ctx.lineTo(x, area.y + area.h);
        ctx.stroke();
        ctx.fillStyle = '#333';
        ctx.font = '12px sans-serif';
        var label = 'selected ' + selected;
        var right = x + 8 + ctx.measureText(label).width > area.x + area.w;
        ctx.textAlign = right ? 'right' : 'left';
        ctx.fillText(label, right ? x - 4 : x + 4, area.y + 14);
        ctx.restore();
      };
    }
    var old = div._graph;
    if (old) {
      old.updateOptions({file: table(series), labels: opts.labels,
                         colors: opts.colors});
    } else {
      div.textContent = '';
      div._graph = new Dygraph(div, table(series), opts);
      charts.push(div._graph);
    }
    div.setAttribute('data-drawn', String(series.length));
  }

  /* Draws every chart of the page.  Returns a promise. */
  function drawAll() {
    var divs = Array.prototype.slice.call(
      document.querySelectorAll('[data-chart]'));
    var ids = {};
    divs.forEach(function (d) {
      d.getAttribute('data-runs').split(',').forEach(function (id) {
        ids[id] = true;
      });
    });
    var keys = Object.keys(ids);
    return Promise.all(keys.map(function (id) {
      return getJSON('/api/runs/' + encodeURIComponent(id) + '/epochs');
    })).then(function (list) {
      var byId = {};
      list.forEach(function (d) { byId[String(d.run)] = d; });
      divs.forEach(function (div) {
        draw(div, div.getAttribute('data-runs').split(',').map(
          function (id) { return byId[id]; }));
      });
    });
  }

  /* Replaces the page's [data-part] elements by their current version. */
  function refreshParts() {
    return fetch(location.href, {cache: 'no-store'}).then(function (r) {
      if (!r.ok) throw new Error('refresh: HTTP ' + r.status);
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      document.querySelectorAll('[data-part]').forEach(function (el) {
        var fresh = el.id && doc.getElementById(el.id);
        if (!fresh) return;
        /* keep ticked compare boxes */
        var ticked = {};
        el.querySelectorAll('input[type=checkbox]:checked').forEach(
          function (c) { ticked[c.value] = true; });
        el.replaceWith(fresh);
        fresh.querySelectorAll('input[type=checkbox]').forEach(function (c) {
          if (ticked[c.value]) c.checked = true;
        });
      });
      var live = document.getElementById('live');
      if (live) live.textContent = 'live \u00b7 updated ' +
        new Date().toLocaleTimeString();
    });
  }

  function start() {
    drawAll().then(function () {
      root.setAttribute('data-charts', String(charts.length));
      root.setAttribute('data-ready', '1');
    }).catch(function (e) { report(e.message || e); });
    if (document.body.hasAttribute('data-live')) {
      var live = document.getElementById('live');
      if (live) live.textContent = 'live';
      setInterval(function () {
        if (document.hidden) return;
        refreshParts().then(function () {
          if (document.querySelector('[data-chart]')) return drawAll();
        }).catch(function (e) {
          var l = document.getElementById('live');
          if (l) l.textContent = 'not updated: ' + (e.message || e);
        });
      }, 3000);
    }
  }

  if (document.readyState === 'loading')
    document.addEventListener('DOMContentLoaded', start);
  else
    start();
})();
