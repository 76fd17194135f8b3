"""Layout, component ids and the pure helpers behind the callbacks."""

from __future__ import annotations

import json

import pytest

from frontend import ids
from frontend.callbacks import template_from_fields
from frontend.edits import preview_edit, prune_outside
from frontend.layout import build_layout
from navigator.bus import MemoryBus
from supernet.space import CellTemplate, SearchSpace
from supernet.steering import SteeringState


def _layout_ids(component: object) -> list[object]:
    found = []
    if getattr(component, "id", None) is not None:
        found.append(component.id)
    children = getattr(component, "children", None)
    if children is None:
        return found
    for child in children if isinstance(children, (list, tuple)) else [children]:
        found.extend(_layout_ids(child))
    return found


def _declared_ids() -> dict[str, str]:
    return {k: v for k, v in vars(ids).items() if k.isupper() and isinstance(v, str)}


def test_every_declared_id_is_in_the_layout_exactly_once() -> None:
    present = _layout_ids(build_layout())
    strings = [i for i in present if isinstance(i, str)]
    assert len(strings) == len(set(strings)), "duplicate component ids"
    declared = _declared_ids()
    assert len(set(declared.values())) == len(declared), "two constants share an id"
    dynamic = {ids.WEIGHT_SLIDER, ids.TAB_PANE}  # pattern-matching: sliders per edge, tab panes
    dynamic |= {ids.LEGO_PALETTE, ids.LEGO_LAYER, ids.LEGO_SLOT, ids.LEGO_BRICK, ids.LEGO_PROP}
    dynamic |= {ids.ADVISOR_ACCEPT, ids.ADVISOR_DISMISS}  # one pair per open proposal
    missing = sorted(set(declared.values()) - set(strings) - dynamic)
    assert not missing, f"ids declared but not laid out: {missing}"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    from navigator.config import ServerConfig
    from navigator.wsgi import create_app

    config = ServerConfig(host="127.0.0.1", port=0, secret="t", auth="none",
                          data_dir=tmp_path_factory.mktemp("layout"))
    app, _ = create_app(config, MemoryBus())
    yield app.server.test_client()
    app.server.extensions["navigator_hub"].close()
    app.server.extensions["navigator_study"].close()


def test_app_serves_layout_and_callbacks_reference_real_components(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and b"NAS Navigator" in page.data
    assert client.get("/assets/navigator.css").status_code == 200
    assert client.get("/assets/navigator.js").status_code == 200
    layout = json.dumps(client.get("/_dash-layout").get_json())
    deps = client.get("/_dash-dependencies").get_json()
    assert len(deps) >= 20
    referenced = set()
    for dep in deps:
        for item in dep["inputs"] + dep["state"]:
            referenced.add(item["id"])
        for out in dep["output"].strip(".").split("..."):  # "..a.prop@hash...b.prop.."
            referenced.add(out.split("@")[0].rsplit(".", 1)[0])
    for cid in referenced:
        if cid.startswith("{"):  # pattern-matching id
            continue
        assert f'"id": "{cid}"' in layout, f"callback uses {cid!r}, which is not in the layout"


def test_light_and_dark_theme_variables_exist() -> None:
    from frontend.paths import assets_dir

    css = (assets_dir() / "navigator.css").read_text()
    assert ":root" in css and '[data-theme="dark"]' in css
    for var in ("--bg", "--panel", "--text"):
        assert css.count(var + ":") >= 2


def test_template_from_fields_all_edges_and_overrides() -> None:
    doc = template_from_fields(4, ["none", "skip_connect"], 8, 1)
    space = SearchSpace(CellTemplate.from_dict(doc))
    assert space.size() == 2 ** 6
    doc = template_from_fields(3, ["none", "skip_connect"], 8, 1,
                               {"2<-1": ["nor_conv_3x3"], "9<-0": ["none"]})
    space = SearchSpace(CellTemplate.from_dict(doc))
    assert space.choice_point("2<-1").candidates == ("nor_conv_3x3",)
    assert space.size() == 2 * 2 * 1


@pytest.mark.parametrize("fields, message", [
    ((4, [], 8, 1), "empty candidate list"),
    ((1, ["none"], 8, 1), "at least 2 nodes"),
    ((4, ["none"], 0, 1), "C must be a positive integer"),
    ((4, ["none"], 8, None), "cells_per_stage"),
])
def test_builder_validation_messages(fields: tuple, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        CellTemplate.from_dict(template_from_fields(*fields))


def _space_doc(space: SearchSpace) -> dict:
    return {"template": space.to_dict(), "choice_points": [cp.to_dict() for cp in space],
            "size": space.size()}


def test_preview_edit_reports_size_or_reason_without_changing_input(tiny_space) -> None:
    steering = SteeringState(tiny_space).to_dict()
    before = json.dumps(steering, sort_keys=True)
    assert preview_edit(steering, _space_doc(tiny_space), "prune_op", "1<-0", "none") == ("", 4 * 5 ** 5)
    assert preview_edit(steering, _space_doc(tiny_space), "lock_edge", "1<-0", "none") == ("", 5 ** 5)
    error, size = preview_edit(steering, _space_doc(tiny_space), "unlock_edge", "1<-0", "")
    assert "not locked" in error and size == 5 ** 6
    assert json.dumps(steering, sort_keys=True) == before


def test_prune_outside_keeps_ops_used_by_selection_and_skips_illegal(tiny_space) -> None:
    state = SteeringState(tiny_space)
    state.lock("3<-2", "avg_pool_3x3")
    a = ("nor_conv_3x3",) * 5 + ("avg_pool_3x3",)
    b = ("skip_connect",) + ("nor_conv_3x3",) * 4 + ("avg_pool_3x3",)
    edits = prune_outside(state.to_dict(), _space_doc(tiny_space),
                          [tiny_space.to_string(a), tiny_space.to_string(b)])
    assert ("1<-0", "none") in edits and ("1<-0", "skip_connect") not in edits
    assert all(cp != "3<-2" for cp, _ in edits)  # locked edge: pruning would be illegal
    for cp, op in edits:
        state.prune(cp, op)
    assert state.space_size() == 2


def test_share_box_text_becomes_the_share_audience() -> None:
    from frontend.callbacks import share_audience

    assert share_audience(" bob, carol;bob ") == ["bob", "carol"]
    assert share_audience("bob, *") == "*"
    assert share_audience("") == [] and share_audience(None) == []


def test_a_chart_drawn_on_a_click_follows_a_theme_switch() -> None:
    from frontend import figures
    from frontend.workspace import rethemed

    drawn = figures.inside_outside_figure([], "top", 0, 0, dark=False).to_plotly_json()
    dark = rethemed(drawn, dark=True)
    assert dark.layout.paper_bgcolor == figures.theme_layout(True)["paper_bgcolor"]
    assert dark.layout.title.text.startswith("Fitness inside vs outside")
    assert rethemed(dark.to_plotly_json(), dark=False).layout.paper_bgcolor == "#ffffff"
