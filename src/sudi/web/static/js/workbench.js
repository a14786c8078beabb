/* The staff workbench's enhancements: maps (the district outline from its own GeoJSON, no tiles),
   reply templates, Ctrl+Enter to submit, the patrol point picker. Every page works without it. */
(function () {
  'use strict';

  function ready(fn) {
    if (document.readyState !== 'loading') fn(); else document.addEventListener('DOMContentLoaded', fn);
  }

  function baseMap(el, done) {
    var map = L.map(el, { attributionControl: false, scrollWheelZoom: false, zoomSnap: 0.25, keyboard: true });
    map.setView([35, 105], 4);
    fetch(el.getAttribute('data-geojson'), { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          style: function (f) {
            if (f.properties.level === 'district') return { color: '#7d1420', weight: 3, fill: false, interactive: false };
            return { color: '#a61b29', weight: 1, opacity: 0.7, fillColor: '#f6d6d9', fillOpacity: 0.35 };
          },
          onEachFeature: function (f, l) {
            if (f.properties.level === 'town') l.bindTooltip(f.properties.name, { permanent: true, direction: 'center', className: 'town-label' });
          }
        }).addTo(map);
        if ((data.features || []).length) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
        if (done) done(map);
      })
      .catch(function () { if (done) done(map); });
    return map;
  }

  ready(function () {
    // One appeal's point over the district.
    var point = document.getElementById('appeal-map');
    if (point && window.L) {
      var lat = parseFloat(point.getAttribute('data-lat')), lon = parseFloat(point.getAttribute('data-lon'));
      baseMap(point, function (map) {
        L.marker([lat, lon], { keyboard: false }).addTo(map);
        map.setView([lat, lon], Math.max(map.getZoom(), 12));
      });
    }

    // Reply templates: insert at the cursor of the reply field (shown only when this script runs).
    document.querySelectorAll('[data-reply-templates]').forEach(function (box) { box.hidden = false; });
    document.querySelectorAll('[data-insert-template]').forEach(function (button) {
      button.addEventListener('click', function () {
        var field = document.getElementById(button.getAttribute('data-insert-template'));
        if (!field) return;
        var text = button.getAttribute('data-template');
        var start = field.selectionStart || 0, end = field.selectionEnd || 0;
        field.value = field.value.slice(0, start) + text + field.value.slice(end);
        field.focus();
        field.selectionStart = field.selectionEnd = start + text.length;
        field.dispatchEvent(new Event('input'));
      });
    });

    // Ctrl+Enter (or Cmd+Enter) submits a form marked data-ctrl-enter.
    document.querySelectorAll('form[data-ctrl-enter]').forEach(function (form) {
      form.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        }
      });
    });

    // The patrol page: pick the point on the map or by geolocation; markers of the grid's appeals.
    var patrol = document.getElementById('patrol-map');
    if (patrol && window.L) {
      var latInput = document.getElementById('f-lat'), lonInput = document.getElementById('f-lon');
      var output = document.getElementById('location-output');
      var marker = null;
      var setPoint = function (map, lat, lon, how) {
        latInput.value = lat.toFixed(6); lonInput.value = lon.toFixed(6);
        if (marker) marker.setLatLng([lat, lon]); else marker = L.circleMarker([lat, lon], { radius: 9, color: '#a61b29', weight: 3 }).addTo(map);
        output.textContent = '已选位置（' + how + '）：北纬 ' + lat.toFixed(5) + '，东经 ' + lon.toFixed(5);
      };
      baseMap(patrol, function (map) {
        map.on('click', function (e) { setPoint(map, e.latlng.lat, e.latlng.lng, '地图选点'); });
        fetch(patrol.getAttribute('data-markers'), { credentials: 'same-origin' })
          .then(function (r) { return r.json(); })
          .then(function (data) {
            var bounds = [];
            (data.items || []).forEach(function (item) {
              var m = L.marker([item.lat, item.lon], { keyboard: true, title: item.number }).addTo(map);
              var box = document.createElement('div');
              var a = document.createElement('a');
              a.href = '/staff/appeals/' + encodeURIComponent(item.number);
              a.textContent = item.number;
              var p = document.createElement('p');
              p.textContent = item.title + '（' + item.state_label + '）';
              box.appendChild(a); box.appendChild(p);
              m.bindPopup(box);
              bounds.push([item.lat, item.lon]);
            });
            var centre = (patrol.getAttribute('data-centre') || '').split(',').map(parseFloat);
            if (bounds.length) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
            else if (centre.length === 2 && !isNaN(centre[0])) map.setView(centre, 14);
          })
          .catch(function () {});
        var use = document.getElementById('use-location');
        if (use && navigator.geolocation && window.isSecureContext) {
          use.hidden = false;
          use.addEventListener('click', function () {
            output.textContent = '正在获取位置…';
            navigator.geolocation.getCurrentPosition(function (pos) {
              setPoint(map, pos.coords.latitude, pos.coords.longitude, '当前位置');
              map.setView([pos.coords.latitude, pos.coords.longitude], Math.max(map.getZoom(), 15));
            }, function () { output.textContent = '无法获取位置，请在地图上点选。'; },
            { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
          });
        }
      });
    }
  });
})();
