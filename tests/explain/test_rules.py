"""Rule extraction: NeuroRule recovers the rules that generated noiseless data."""

import json

import numpy as np
import pytest

from chainrule import explain
from chainrule.cli import main
from chainrule.explain import (
    Attribute,
    Encoding,
    induce_rules,
    load_tabular,
    monk,
    neurorule,
)
from chainrule.explain.tabular import MONK_CONCEPTS


def test_encoding_codes_categorical_one_hot_and_ordered_as_a_thermometer():
    enc = Encoding([Attribute("colour", values=("red", "green", "blue")),
                    Attribute("size", thresholds=(1.0, 2.5))])
    levels = enc.levels(np.array([["green", 0.5], ["blue", 2.0], ["red", 7.0]], dtype=object))
    np.testing.assert_array_equal(levels, [[1, 0], [2, 1], [0, 2]])
    np.testing.assert_array_equal(enc.encode_levels(levels), [[0, 1, 0, 0, 0], [0, 0, 1, 1, 0],
                                                              [1, 0, 0, 1, 1]])
    assert enc.input_names() == ["colour=red", "colour=green", "colour=blue", "size>1",
                                 "size>2.5"]
    with pytest.raises(ValueError, match="values \\['pink'\\] are not among"):
        enc.levels(np.array([["pink", 1.0]], dtype=object))


def test_induced_rules_reproduce_their_table_exactly():
    enc = Encoding([Attribute(f"a{i}", values=(0, 1, 2)) for i in range(3)])
    table = enc.all_levels(range(3))
    labels = ((table[:, 0] == table[:, 1]) | (table[:, 2] == 2)).astype(int)
    rules = induce_rules(table, labels, enc, ["no", "yes"])
    np.testing.assert_array_equal(rules.predict_levels(table), labels)
    assert rules.default == 1                       # 15 of the 27 rows are "yes"
    for rule in rules.rules:                        # every rule is pure on the table
        assert rule.label == 0 and (labels[rule.holds(table)] == 0).all()
    assert rules.to_dict()["n_rules"] == len(rules.rules) + 1 == len(rules.lines())


def _recovers_the_concept(problem, data, result):
    m = result.metrics
    assert m["fidelity_train"] == m["fidelity_test"] == 1.0
    assert m["rules_test_accuracy"] == m["network_test_accuracy"] == 1.0
    assert m["links"] < m["links_initial"] / 4
    # the rules are the concept: same class for all 432 robots, reading only its attributes
    everything = np.concatenate([data.x_train, data.x_test])
    truth = MONK_CONCEPTS[problem][1](everything).astype(int)
    np.testing.assert_array_equal(result.rules.predict(everything), truth)
    wanted = {1: {"a1", "a2", "a5"}, 3: {"a2", "a4", "a5"}}[problem]
    assert set(m["attributes_used"]) == wanted
    assert result.report()["rule_text"][-1].startswith("ELSE")


def test_neurorule_recovers_monk1_and_its_rules_read_as_the_concept(capsys, load_script,
                                                                     monkeypatch):
    """examples/explain_rules.py on monk1 (its printout, metrics and sensitivity rules), and the
    NeuroRule run it made (caught on its way out) recovers the concept: one training serves
    both (these were two tests, the example's in test_examples_explain.py)."""
    runs = []

    def neurorule_seen(data, **options):
        runs.append((data, options, neurorule(data, **options)))
        return runs[-1][2]

    monkeypatch.setattr(explain, "neurorule", neurorule_seen)
    res = load_script("examples/explain_rules.py").main(["--datasets", "monk1",
                                                         "--sensitivity-epochs", "40"])
    m = res["monk1"]["metrics"]
    assert m["fidelity_test"] == 1.0 and m["rules_test_accuracy"] == 1.0
    assert "IF a5 = 1 THEN 1" in capsys.readouterr().out
    assert all(abs(r.change) >= 0.1 for r in res["sensitivity"])
    [(data, options, result)] = runs  # neurorule(monk(1, test_share=0.5, rng=0), ...)
    expected = monk(1, test_share=0.5, rng=0)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(data, name), getattr(expected, name))
    assert options == {"max_accuracy_drop": 0.0, "seed": 0}
    _recovers_the_concept(1, data, result)
    text = str(result.rules)
    assert "IF a5 = 1 THEN 1" in text
    for v in (1, 2, 3):
        assert f"a1 = {v} AND a2 = {v} THEN 1" in text
    assert text.endswith("ELSE 0")


def test_rules_command_recovers_monk3_and_writes_the_rule_set(tmp_path, capsys, monkeypatch):
    """``chainrule rules monk3``: its printout and files, and the NeuroRule run it made (caught on
    its way out) recovers the concept, as monk1's above (one training serves both checks)."""
    runs = []

    def neurorule_seen(data, **options):
        runs.append((data, options, neurorule(data, **options)))
        return runs[-1][2]

    monkeypatch.setattr(explain, "neurorule", neurorule_seen)
    out = tmp_path / "rules"
    assert main(["rules", "monk3", "--max-accuracy-drop", "0", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fidelity 1.0000" in text and "decision tree with" in text
    saved = json.loads((out / "rules.json").read_text())
    assert saved["rules"]["default"] in ("0", "1")
    assert (out / "rules.txt").read_text().startswith("# NeuroRule on monk3")
    [(data, options, result)] = runs
    expected = monk(3, test_share=0.5, rng=0)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(data, name), getattr(expected, name))
    # neurorule's defaults but max_accuracy_drop
    assert options == {"hidden": 4, "levels": 3, "max_accuracy_drop": 0.0, "table": "auto",
                       "seed": 0}
    _recovers_the_concept(3, data, result)


def test_hidden_and_output_rules_compose_to_the_merged_rules():
    data = load_tabular("iris", rng=0)
    result = neurorule(data, seed=0)
    assert result.metrics["fidelity_train"] == 1.0
    assert result.metrics["rules_test_accuracy"] > 0.85
    enc = result.encoding
    used = [i for i, a in enumerate(enc.attributes) if a.name in
            result.metrics["attributes_used"]]
    table = np.zeros((0, len(enc.attributes)), dtype=int)
    table = np.zeros((np.prod([enc.attributes[i].n_levels for i in used]),
                      len(enc.attributes)), dtype=int)
    table[:, used] = enc.all_levels(used)
    names = list(result.hidden_rules)
    # hidden rules give each unit's cluster; the output rules map clusters to the class
    clusters = np.stack([result.hidden_rules[n].predict_levels(table) for n in names], axis=1)
    np.testing.assert_array_equal(result.output_rules.predict_levels(clusters),
                                  result.rules.predict_levels(table))


def test_bad_dataset_names_are_refused():
    with pytest.raises(ValueError, match="unknown tabular dataset 'titanic'"):
        load_tabular("titanic")
    with pytest.raises(ValueError, match="problem must be one of"):
        monk(2)
