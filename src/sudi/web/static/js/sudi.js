/* sudi 诉递: small progressive enhancements shared by every page. Pages work without it. */
(function () {
  'use strict';

  function ready(fn) {
    if (document.readyState !== 'loading') fn(); else document.addEventListener('DOMContentLoaded', fn);
  }

  ready(function () {
    // Move focus to the error summary so screen-reader and keyboard users hear what to fix.
    var summary = document.getElementById('error-summary');
    if (summary) summary.focus();

    // A form submits once: the button is disabled while the page is being sent (the server's
    // idempotency key is the real guard; this only spares people a second wait).
    document.querySelectorAll('form[method=post]').forEach(function (form) {
      form.addEventListener('submit', function () {
        form.querySelectorAll('button[type=submit]').forEach(function (button) {
          window.setTimeout(function () { button.disabled = true; button.dataset.busy = '1'; }, 0);
        });
      });
    });
    window.addEventListener('pageshow', function () {
      document.querySelectorAll('button[data-busy]').forEach(function (b) { b.disabled = false; delete b.dataset.busy; });
    });

    // Characters typed / allowed, under textareas with a maximum.
    document.querySelectorAll('[data-counter-for]').forEach(function (counter) {
      var field = document.getElementById(counter.getAttribute('data-counter-for'));
      if (!field) return;
      var max = counter.getAttribute('data-max');
      var update = function () { counter.textContent = field.value.length + ' / ' + max; };
      field.addEventListener('input', update);
      update();
    });

    // Anonymous: hide the name and phone fields (the server ignores them anyway).
    var anonymous = document.getElementById('f-is_anonymous');
    var contact = document.getElementById('contact-fields');
    if (anonymous && contact) {
      var toggle = function () { contact.hidden = anonymous.checked; };
      anonymous.addEventListener('change', toggle);
      toggle();
    }

    document.querySelectorAll('[data-print]').forEach(function (button) {
      button.addEventListener('click', function () { window.print(); });
    });
  });
})();
