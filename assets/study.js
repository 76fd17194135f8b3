// Study mode glue (frontend/study_view.py): the time-limit countdown and the replay player.
window.navigator_study = {
  // ``info`` is StudyService.status() as of when it arrived; count down from then, in the
  // browser, so the countdown needs no server round-trip per second.
  countdown: function (info) {
    if (!info) { return ""; }
    if (window.navigatorStudyInfo !== info) {
      window.navigatorStudyInfo = info;
      window.navigatorStudyInfoAt = Date.now();
    }
    const who = `${info.participant} · ${info.study} / ${info.condition}`;
    const task = info.task ? ` · task: ${info.task}` : "";
    if (info.time_limit_s === null || info.time_limit_s === undefined) { return who + task; }
    let left = info.remaining_s;
    if (info.counting) { left -= (Date.now() - window.navigatorStudyInfoAt) / 1000; }
    left = Math.max(0, left);
    if (left <= 0) { return `${who} · time is up: session paused${task}`; }
    const s = Math.ceil(left), text = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    return `${who} · ${text} left${info.counting ? "" : " (starts when the search runs)"}${task}`;
  },
  // Play/pause toggles the tick; each tick moves the slider by tick x speed seconds and
  // playing stops at the end. Play at the end starts again from 0.
  replayTick: function (play, tick, value, max, speed, disabled, tickMs) {
    const nu = window.dash_clientside.no_update;
    const trigger = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
    value = Number(value) || 0; max = Number(max) || 0;
    if (trigger.startsWith("replay-play-button")) {
      if (!disabled) { return [nu, true, "Play"]; }
      return [value >= max ? 0 : nu, false, "Pause"];
    }
    if (disabled) { return [nu, nu, nu]; }
    const next = Math.min(max, Math.round((value + (tickMs / 1000) * (Number(speed) || 1)) * 100) / 100);
    return next >= max ? [max, true, "Play"] : [next, nu, nu];
  },
};
