// The review page from the keyboard: move between units, confirm or correct each, saved at once.
(function () {
  "use strict";
  var list = document.getElementById("review-units");
  if (!list) {
    return;
  }
  var units = Array.prototype.slice.call(list.querySelectorAll(".unit"));
  var areas = list.dataset.areas.split(",");
  var offTopic = list.dataset.offTopic;
  var areaKeys = "1234567890-";
  var status = document.getElementById("review-status");
  var token = document.querySelector("meta[name=csrf-token]").content;

  function say(message) {
    status.textContent = message;
  }

  function focusUnit(index) {
    if (index >= 0 && index < units.length) {
      units[index].focus();
      units[index].scrollIntoView({block: "nearest"});
    }
  }

  function percent(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  function showFigures(figures) {
    document.getElementById("decided-count").textContent = figures.decided;
    var cells = document.querySelectorAll("#figures-reviewed td");
    var reviewed = figures.reviewed || {};
    cells[0].textContent = reviewed.score === null || reviewed.score === undefined ? "—" : reviewed.score.toFixed(1);
    cells[1].textContent = percent(reviewed.coverage);
    cells[2].textContent = percent(reviewed.specificity);
  }

  function decide(unit, action, area, category) {
    var form = new FormData();
    form.append("csrf_token", token);
    form.append("action", action);
    form.append("area", area);
    form.append("category", category || "");
    say("保存中…");
    return fetch(unit.dataset.url, {
      method: "POST", body: form, credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": token}
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          throw new Error(body.error ? body.error.message : response.statusText);
        }
        return body;
      });
    }).then(function (body) {
      var decision = body.decision;
      unit.dataset.area = decision.new_area;
      unit.dataset.category = decision.new_category || "";
      delete unit.dataset.pendingArea;
      unit.classList.add("decided");
      unit.querySelector("select[name=area]").value = decision.new_area;
      var categorySelect = unit.querySelector("select[name=category]");
      if (categorySelect) {
        categorySelect.value = decision.new_category || "";
      }
      unit.querySelector(".unit-decision").textContent = "已审（" + decision.reviewer + "）";
      showFigures(body.figures);
      say("已保存第 " + (decision.unit_index + 1) + " 句");
      focusUnit(units.indexOf(unit) + 1);
    }).catch(function (error) {
      say("未保存：" + error.message);
    });
  }

  function needsCategory(unit, area) {
    return unit.dataset.kind === "body" && area !== offTopic;
  }

  list.addEventListener("keydown", function (event) {
    var unit = event.target;
    if (!unit.classList || !unit.classList.contains("unit") || event.altKey || event.ctrlKey || event.metaKey) {
      return;  // keys typed in a form control keep their usual meaning
    }
    var index = units.indexOf(unit);
    var key = event.key;
    if (key === "j" || key === "ArrowDown") {
      focusUnit(index + 1);
    } else if (key === "k" || key === "ArrowUp") {
      focusUnit(index - 1);
    } else if (key === "Enter" || key === "y") {
      decide(unit, "confirm", unit.dataset.area, unit.dataset.category);
    } else if (areaKeys.indexOf(key) >= 0 && areaKeys.indexOf(key) < areas.length) {
      var area = areas[areaKeys.indexOf(key)];
      var category = needsCategory(unit, area) ? unit.dataset.category : "";
      if (needsCategory(unit, area) && !category) {
        unit.dataset.pendingArea = area;
        say("请按 c（具体）或 s（口号）选择类别");
      } else {
        decide(unit, "correct", area, category);
      }
    } else if (key === "c" || key === "s") {
      var chosenArea = unit.dataset.pendingArea || unit.dataset.area;
      if (!needsCategory(unit, chosenArea)) {
        say("标题、页面附属和无关句子没有类别");
      } else {
        decide(unit, "correct", chosenArea, key === "c" ? "concrete" : "slogan");
      }
    } else {
      return;
    }
    event.preventDefault();
  });

  focusUnit(0);
})();
