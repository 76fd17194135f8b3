"""The lego builder's pure edits, validation and loading (frontend/lego_doc.py) and its
drawing (frontend/lego_view.py)."""

from __future__ import annotations

import base64
import copy
import json

import pytest

from frontend import lego_doc as lego
from frontend import lego_view
from supernet.space import SearchSpace
from supernet.templates.chain import BLOCK_TYPES, ChainTemplate


def _space(doc: dict) -> SearchSpace:
    return SearchSpace(ChainTemplate.from_dict(doc))


def _upload(obj: object) -> str:
    text = obj if isinstance(obj, str) else json.dumps(obj)
    return "data:application/json;base64," + base64.b64encode(text.encode()).decode()


def test_presets_are_chain_templates_with_their_documented_sizes() -> None:
    assert _space(lego.preset_doc("navigator-chain")).size() == 839_808
    assert _space(lego.preset_doc("chain-tiny")).size() == 648
    empty = lego.preset_doc(lego.EMPTY)
    assert _space(empty).size() == 1 and len(empty["layers"]) == 1
    assert set(lego.chain_presets()) == {"empty", "navigator-chain", "chain-tiny"}
    with pytest.raises(ValueError, match="unknown chain preset 'tiny'"):
        lego.preset_doc("tiny")  # a cell preset


def test_building_three_layers_by_edits_never_mutates_and_counts_the_space() -> None:
    doc = lego.preset_doc(lego.EMPTY)
    frozen = copy.deepcopy(doc)
    doc2, sel = lego.add_block(doc, 0, "blocks", "sep_conv")
    assert doc == frozen, "edits return a new doc"
    assert sel == {"layer": 0, "slot": "blocks", "index": 1}
    assert [b["name"] for b in doc2["layers"][0]["blocks"]] == ["conv1", "sep1"]
    doc2, _ = lego.add_block(doc2, 0, "pools", "max_pool")
    doc2, _ = lego.add_block(doc2, 0, "pools", "avg_pool")
    doc2, at = lego.add_layer(doc2)
    assert at == 1 and doc2["layers"][1] == {"name": "layer2", "blocks": [], "pools": []}
    doc2, sel = lego.add_block(doc2, 1, "blocks", "conv")
    doc2 = lego.set_props(doc2, 1, "blocks", sel["index"], {"filters": 32, "name": "wide"})
    doc2, _ = lego.add_block(doc2, 1, "blocks", "conv")  # copies filters and stride from "wide"
    assert doc2["layers"][1]["blocks"][1] | {"name": "x"} == {
        "name": "x", "type": "conv", "filters": 32, "kernel": 3, "stride": 1, "padding": 1, "activation": "relu"}
    doc2, at = lego.add_layer(doc2)
    doc2, _ = lego.add_block(doc2, at, "blocks", "identity")
    doc2, sel = lego.add_block(doc2, None, "heads", "dense")
    assert sel == {"layer": lego.HEAD_LAYER, "slot": "heads", "index": 1}
    space = _space(doc2)
    assert space.size() == (2 * 2) * 2 * 1 * 2
    assert [cp.name for cp in space] == ["layer1.block", "layer1.pool", "layer2.block", "layer3.block", "head"]
    check = lego.validate(doc2, "digits")
    assert check.error == "" and check.size == 16 and check.choice_points == 5
    assert check.summary() == "16 architectures · 5 choice points"
    assert check.input == "1×8×8"
    assert check.shapes == {"layer1.block": "16×8×8", "layer1.pool": "16×4×4", "layer2.block": "32×4×4",
                            "layer3.block": "32×4×4", "head": "10×1×1"}
    # "no pooling" next to a pool that halves the image cannot share weights: named, in red
    bad, _ = lego.add_block(doc2, 0, "pools", "identity")
    check = lego.validate(bad, "digits")
    assert check.error.startswith("layer1.pool: candidates must give one output shape") and check.bad_layer == "layer1"
    assert check.summary() == "24 architectures · 5 choice points"  # still counted


def test_new_pool_copies_its_sibling_pools_geometry_so_shapes_compose() -> None:
    doc = lego.preset_doc("chain-tiny")  # layer1 pools: kernel 3, stride 1, padding 1
    doc, sel = lego.add_block(doc, 0, "pools", "avg_pool")
    brick = doc["layers"][0]["pools"][sel["index"]]
    assert (brick["kernel"], brick["stride"], brick["padding"]) == (3, 1, 1)
    assert lego.validate(doc, "digits").error == ""


def test_wrong_slot_and_unknown_types_are_refused_with_a_reason() -> None:
    doc = lego.preset_doc(lego.EMPTY)
    with pytest.raises(ValueError, match="drop it on the head choice"):
        lego.add_block(doc, 0, "blocks", "dense")
    with pytest.raises(ValueError, match="head choice takes dense"):
        lego.add_block(doc, None, "heads", "conv")
    with pytest.raises(ValueError, match="unknown block type 'lstm'"):
        lego.add_block(doc, 0, "blocks", "lstm")
    with pytest.raises(ValueError, match="no layer 5"):
        lego.add_block(doc, 5, "blocks", "conv")
    with pytest.raises(ValueError, match="add a layer first"):
        lego.add_block(lego.delete_layer(doc, 0), 0, "blocks", "conv")


def test_target_of_a_palette_click() -> None:
    doc = lego.preset_doc("chain-tiny")
    assert lego.target_of(doc, None, "conv") == (2, "blocks")  # last layer
    assert lego.target_of(doc, None, "max_pool") == (2, "pools")
    assert lego.target_of(doc, {"layer": 0, "slot": None, "index": None}, "avg_pool") == (0, "pools")
    assert lego.target_of(doc, {"layer": 1, "slot": "pools", "index": None}, "identity") == (1, "pools")
    assert lego.target_of(doc, {"layer": 1, "slot": "blocks", "index": 2}, "max_pool") == (1, "blocks")
    assert lego.target_of(doc, {"layer": 0, "slot": "blocks", "index": 0}, "dense") == (-1, "heads")
    assert lego.target_of(doc, {"layer": -1, "slot": "heads", "index": 0}, "conv") == (2, "blocks")
    assert lego.target_of(doc, {"layer": 9, "slot": "blocks", "index": None}, "conv") == (2, "blocks")


def test_delete_selected_brick_or_layer() -> None:
    doc = lego.preset_doc("chain-tiny")
    out, sel, message = lego.delete_selected(doc, {"layer": 1, "slot": "blocks", "index": 0})
    assert [b["name"] for b in out["layers"][1]["blocks"]] == ["conv5x5", "sep3x3"]
    assert sel == {"layer": 1, "slot": "blocks", "index": None} and message == "deleted brick conv3x3"
    out, sel, message = lego.delete_selected(doc, {"layer": -1, "slot": "heads", "index": 2})
    assert [h["name"] for h in out["heads"]] == ["dense1", "dense2"] and "dense3" in message
    out, sel, message = lego.delete_selected(doc, {"layer": 0, "slot": None, "index": None})
    assert [layer["name"] for layer in out["layers"]] == ["layer2", "layer3"] and sel is None
    with pytest.raises(ValueError, match="select a brick or a layer"):
        lego.delete_selected(doc, None)
    assert doc == lego.preset_doc("chain-tiny")


def test_move_selected_layer_or_brick() -> None:
    doc = lego.preset_doc("chain-tiny")
    out, sel, message = lego.move_selected(doc, {"layer": 0, "slot": None, "index": None}, 1)
    assert [layer["name"] for layer in out["layers"]] == ["layer2", "layer1", "layer3"]
    assert sel == {"layer": 1, "slot": None, "index": None} and message == "moved layer layer1 right"
    out, sel, message = lego.move_selected(doc, {"layer": -1, "slot": "heads", "index": 2}, -1)
    assert [h["name"] for h in out["heads"]] == ["dense1", "dense3", "dense2"]
    assert sel == {"layer": -1, "slot": "heads", "index": 1} and "dense3 left" in message
    out, _, _ = lego.move_selected(doc, {"layer": 2, "slot": "pools", "index": 0}, 1)
    assert [p["name"] for p in out["layers"][2]["pools"]] == ["avg", "max"]
    with pytest.raises(ValueError, match="already the first"):
        lego.move_selected(doc, {"layer": 0, "slot": None, "index": None}, -1)
    with pytest.raises(ValueError, match="already the last"):
        lego.move_selected(doc, {"layer": -1, "slot": "heads", "index": 2}, 1)
    with pytest.raises(ValueError, match="select a brick or a layer"):
        lego.move_selected(doc, {"layer": 1, "slot": "blocks", "index": None}, 1)
    assert doc == lego.preset_doc("chain-tiny")


def test_side_pane_values_are_coerced_and_applied_by_ref() -> None:
    doc = lego.preset_doc("chain-tiny")
    ref = lego.make_ref(-1, "heads", 1)
    assert lego.parse_ref(ref) == {"layer": -1, "slot": "heads", "index": 1}
    out = lego.apply_pane(doc, ref, {"name": "deep", "hidden": "128, 64", "dropout": 0.25,
                                     "activation": "gelu"})
    assert out["heads"][1] | {} == {"name": "deep", "type": "dense", "hidden": [128, 64], "dropout": 0.25,
                                    "activation": "gelu"}
    assert lego.coerce_prop("hidden", "") == [] and lego.coerce_prop("filters", 16.0) == 16
    out = lego.apply_pane(doc, lego.make_ref(0, None, None), {"name": "stem"})
    assert out["layers"][0]["name"] == "stem"
    # text that is no list of widths stays as typed, and validation says what is wrong
    out = lego.apply_pane(doc, ref, {"hidden": "64, x"})
    assert "hidden must be a list" in lego.validate(out, "digits").error
    # an unchanged pane gives an equal doc (the callback then sends nothing)
    block = doc["layers"][1]["blocks"][0]
    same = {k: block[k] for k in ["name", *BLOCK_TYPES["conv"]]}
    assert lego.apply_pane(doc, lego.make_ref(1, "blocks", 0), same) == doc


def test_validation_names_the_layer_whose_candidates_disagree_on_stride() -> None:
    doc = lego.preset_doc("chain-tiny")
    doc = lego.set_props(doc, 1, "blocks", 1, {"stride": 2})  # layer2's conv5x5 halves the image
    check = lego.validate(doc, "digits")
    assert check.error.startswith("layer2.block: candidates must give one output shape")
    assert "conv5x5 gives 16×4×4" in check.error and check.bad_layer == "layer2"
    # the layers before the failing one still show their shapes, the others none
    assert check.shapes == {"layer1.block": "8×8×8", "layer1.pool": "8×8×8"}
    assert check.size == 648  # the space itself is well formed
    # the same template composes on no dataset whose shape is unknown before loading
    unknown = lego.validate(doc, "npz:/tmp/x.npz")
    assert unknown.error == "" and unknown.input == "" and "checked then" in unknown.note


@pytest.mark.parametrize("edit, message, bad", [
    (lambda d: lego.add_layer(d)[0], "layer 'layer4' has no candidate blocks", "layer4"),
    (lambda d: lego.set_props(d, 0, "blocks", 0, {"filters": 0}), "filters must be an integer >= 1", None),
    (lambda d: lego.rename_layer(d, 1, "layer1"), "used twice", None),
    (lambda d: lego.set_props(d, 2, "pools", 0, {"kernel": 9, "padding": 0, "stride": 9}),
     "layer3.pool: block 'max' turns", "layer3"),
    (lambda d: {**d, "heads": []}, "at least one head", "head"),
])
def test_validation_messages(edit, message: str, bad: str | None) -> None:
    check = lego.validate(edit(lego.preset_doc("chain-tiny")), "digits")
    assert message in check.error
    assert check.bad_layer == bad


def test_load_upload_accepts_chain_json_and_refuses_the_rest_clearly() -> None:
    doc = lego.preset_doc("chain-tiny")
    assert lego.load_upload(_upload(doc), "t.json") == doc
    assert lego.load_upload(_upload({"template": doc, "size": 648})) == doc  # a space event
    sparse = {"layers": [{"name": "a", "blocks": [{"name": "c", "type": "conv"}]}],
              "heads": [{"name": "h", "type": "dense"}]}
    assert lego.load_upload(_upload(sparse))["layers"][0]["blocks"][0]["filters"] == 16  # defaults filled
    with pytest.raises(ValueError, match="'t.json' is not valid JSON"):
        lego.load_upload(_upload("{nope"), "t.json")
    with pytest.raises(ValueError, match="cell template; the lego builder edits chain"):
        lego.load_upload(_upload({"kind": "cell", "n_nodes": 4, "ops": ["none"]}))
    with pytest.raises(ValueError, match="not a valid chain template: .*unknown type 'lstm'"):
        lego.load_upload(_upload({"kind": "chain", "layers": [{"name": "a", "blocks": [
            {"name": "x", "type": "lstm"}]}], "heads": []}))
    with pytest.raises(ValueError, match="cannot read"):
        lego.load_upload("data:application/json;base64,***")


def test_start_config_is_an_engine_config_for_the_chain() -> None:
    from supernet.configs import EngineConfig

    doc = lego.preset_doc("chain-tiny")
    config = lego.start_config(doc, " digits ", 2, "fair", ["synflow"], None)
    engine = EngineConfig.from_dict(config)
    assert engine.space().kind.name == "chain" and engine.space().size() == 648
    assert engine.dataset == "digits" and config["prescreen_n"] == 0
    ranked = lego.start_config(doc, "digits", 2, "fair", ["synflow", "snip"], 8, ["snip"])
    assert EngineConfig.from_dict(ranked).prescreen_by == ["snip"]


def test_canvas_and_pane_render_what_is_selected() -> None:
    doc = lego.preset_doc("chain-tiny")
    check = lego.validate(doc, "digits")
    columns = lego_view.canvas(doc, {"layer": 1, "slot": "blocks", "index": 2}, check)
    assert len(columns) == 1 + 3 + 1  # input, layers, head
    text = json.dumps([c.to_plotly_json() for c in columns], default=lambda o: o.to_plotly_json(), ensure_ascii=False)
    assert "lego-brick lego-sep_conv selected" in text and "16×4×4" in text
    pane = json.dumps([c.to_plotly_json() for c in lego_view.pane(doc, {"layer": 1, "slot": "blocks", "index": 2})],
                      default=lambda o: o.to_plotly_json(), ensure_ascii=False)
    for key in ["name", *BLOCK_TYPES["sep_conv"]]:
        assert f'"key": "{key}"' in pane
    assert lego_view.props_summary(doc["heads"][2]) == "32→16 drop 0.0"
    assert lego_view.props_summary(doc["layers"][0]["blocks"][1]) == "8f 5×5 s1 p2 relu"
