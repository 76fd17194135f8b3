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
