from __future__ import annotations

from frontend.map_figures import live_map


def _snapshot(**extra: object) -> dict:
    return {"archs": ["a", "b"], "x": [0.1, None], "y": [0.2, None],
            "values": {"accuracy": [0.5, 0.6]}, "version": 1, "total": 2} | extra


def test_building_map_says_so_and_keeps_candidates_first() -> None:
    fig = live_map(_snapshot(status="building", encoding="learned", method="umap"))
    assert fig.data[0].type == "scattergl" and len(fig.data) == 1
    assert any("building the map" in a.text for a in fig.layout.annotations)
    assert "learned · UMAP" in fig.layout.title.text


def test_ready_map_draws_the_space_density_and_the_greyed_region_under_the_points() -> None:
    grid = {"bins": 2, "extent": [-1.0, 1.0], "allowed": [[3, 0], [0, 1]],
            "excluded": [[0, 5], [0, 0]], "mapped": 9, "space_size": 9}
    fig = live_map(_snapshot(status="ready", background=grid), dark=True)
    assert [t.name for t in fig.data] == ["candidates", "space", "excluded"]
    space, excluded = fig.data[1], fig.data[2]
    assert space.z[0][1] is None and space.z[0][0] > space.z[1][1] > 0  # log counts, empty clear
    assert excluded.z[0][1] is not None and list(space.x) == [-0.5, 0.5]
    assert not fig.layout.annotations and "map of 9 of 9" in fig.layout.title.text


def test_a_refit_is_announced_and_its_figures_animate() -> None:
    from frontend.map_figures import REFIT_TRANSITION, refit_note

    assert refit_note(_snapshot()) == "" and "transition" not in live_map(_snapshot()).to_dict()["layout"]
    refit = {"encoding": "path", "previous": "learned", "message": "", "version": 2, "placed": False}
    during = _snapshot(status="refit", version=2, refit=refit)
    assert refit_note(during) == "Map refit: encoding changed to path — re-placing points…"
    fig = live_map(during)
    assert fig.layout.transition.duration == REFIT_TRANSITION["duration"] > 0
    assert fig.data[0].type == "scatter" and list(fig.data[0].x) == [0.1, None]  # SVG: animatable
    placed = refit | {"placed": True, "version": 3}
    ready = _snapshot(status="ready", version=3, refit=placed)
    assert refit_note(ready) == "Map refit: encoding changed to path — points re-placed"
    assert live_map(ready).layout.transition.duration == REFIT_TRANSITION["duration"]
    later = live_map(_snapshot(status="ready", version=4, refit=placed))  # a later redraw
    assert later.data[0].type == "scattergl" and later.layout.transition.duration is None
    edited = {"encoding": "learned", "previous": "learned", "version": 3, "placed": True,
              "message": "template edited: mapping the new space; every point moves once"}
    assert refit_note(_snapshot(refit=edited)) == "Map refit: template edited — points re-placed"


def test_a_lower_is_better_metric_reverses_and_names_the_map_colours() -> None:
    from supernet.tasks import Task

    field = Task(kind="field_regression").describe()
    fig = live_map(_snapshot(status="ready"), task=field)
    marker = fig.data[0].marker
    assert marker.reversescale is True  # the lowest error gets accuracy's "best" colour
    assert marker.colorbar.title.text == "relative L2 error (lower is better)"
    assert "relative L2 error %{customdata[1]:.3f}" in fig.data[0].hovertemplate
    plain = live_map(_snapshot(status="ready"))
    assert not plain.data[0].marker.reversescale
    assert plain.data[0].marker.colorbar.title.text == "accuracy"
    assert "accuracy %{customdata[1]" in plain.data[0].hovertemplate
    other = live_map(_snapshot(status="ready", values={"params": [1, 2]}), "params", task=field)
    assert not other.data[0].marker.reversescale  # a cost keeps its own scale
    assert other.data[0].marker.colorbar.title.text == "parameters"
