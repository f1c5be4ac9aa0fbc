// The result page's area filter: keep only the chosen area's sentences visible.
(function () {
  "use strict";
  var select = document.getElementById("area-filter");
  if (!select) {
    return;
  }
  var sentences = document.querySelectorAll("#sentences .sentence");
  var counter = document.getElementById("filter-count");

  function applyFilter() {
    var area = select.value;
    var shown = 0;
    sentences.forEach(function (sentence) {
      var visible = !area || sentence.dataset.area === area;
      sentence.hidden = !visible;
      if (visible) {
        shown += 1;
      }
    });
    counter.textContent = area ? "显示 " + shown + " 句" : "";
  }

  select.addEventListener("change", applyFilter);
  applyFilter();
})();
