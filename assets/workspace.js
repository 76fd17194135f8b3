// The workspace's tabs (frontend/workspace.py) and the archive grid's refresh
// (frontend/archive_view.py).
window.navigator_workspace = {
  // Show the chosen tab's pane, hide the others (all stay mounted); charts drawn while hidden
  // take their real width once shown.
  showTab: function (tab, panes) {
    setTimeout(() => window.dispatchEvent(new Event("resize")), 30);
    return (panes || []).map(p => p.tab === tab ? {} : {display: "none"});
  },
  // New candidates or another session: the infinite grid asks the server again for the
  // blocks it shows (and learns the new row count).
  refreshArchive: function (gridId) {
    const grid = window.dash_ag_grid;
    if (grid && grid.getApiAsync) {
      grid.getApiAsync(gridId).then(api => api.refreshInfiniteCache()).catch(() => null);
    }
    return Date.now();
  }
};
