// Keyboard use of the console: a single key focuses the field marked data-key="<key>"
// ("/" search, "n" new contact, "k" scripts), or follows such a link ("s" new sale),
// unless the agent is already typing;
// Ctrl/Cmd+Enter submits the form being typed in.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && typing(event.target) && event.target.form) {
      event.preventDefault();
      event.target.form.requestSubmit();
      return;
    }
    // "/" in the search box itself means "search again", not a slash in the number.
    if (event.key === "/" && event.target.dataset && event.target.dataset.key === "/") {
      event.preventDefault();
      event.target.select();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var field = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (field) {
      event.preventDefault();
      if (field.tagName === "A") { field.click(); return; }  // an action ("s" new sale) opens at once
      field.focus();
      if (field.select) field.select();
    }
  });
  // After a contact is saved the form is swapped in fresh: put the cursor back in it.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "contact-form") {
      var reason = document.getElementById("id_reason");
      if (reason && !reason.value) reason.focus();
    }
  });
})();
