// Lego builder (frontend/lego_view.py): HTML5 drag and drop of palette bricks onto slots.
// Listeners sit on the document, because Dash redraws the canvas on every edit. A drop writes
// {type, layer, slot, at} into the lego-drop store with dash_clientside.set_props; the server's
// edit callback adds the brick. Clicking a palette brick works without any of this.
(function () {
  const slotOf = (ev) => (ev.target && ev.target.closest) ? ev.target.closest("[data-lego-slot]") : null;
  document.addEventListener("dragstart", (ev) => {
    const brick = ev.target && ev.target.closest && ev.target.closest("[data-lego-type]");
    if (!brick) { return; }
    ev.dataTransfer.setData("application/x-lego-brick", brick.dataset.legoType);
    ev.dataTransfer.setData("text/plain", brick.dataset.legoType);
    ev.dataTransfer.effectAllowed = "copy";
  });
  document.addEventListener("dragover", (ev) => {
    const slot = slotOf(ev);
    if (!slot) { return; }
    ev.preventDefault();  // allows the drop
    ev.dataTransfer.dropEffect = "copy";
    slot.classList.add("drop-over");
  });
  document.addEventListener("dragleave", (ev) => {
    const slot = slotOf(ev);
    if (slot && !slot.contains(ev.relatedTarget)) { slot.classList.remove("drop-over"); }
  });
  document.addEventListener("drop", (ev) => {
    const slot = slotOf(ev);
    if (!slot) { return; }
    ev.preventDefault();
    slot.classList.remove("drop-over");
    const type = ev.dataTransfer.getData("application/x-lego-brick") || ev.dataTransfer.getData("text/plain");
    if (!type || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    window.dash_clientside.set_props("lego-drop-store", {data: {
      type: type, layer: parseInt(slot.dataset.legoLayer, 10), slot: slot.dataset.legoSlot, at: Date.now()}});
  });
})();
