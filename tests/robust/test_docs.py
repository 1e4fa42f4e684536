"""The python blocks of docs/robustness.md run, in order, and print what the text says."""


def test_robustness_guide_snippets_run(capsys, run_guide):
    run_guide("docs/robustness.md", min_blocks=4)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "(100, 1, 8, 8) True True"
    assert lines[1] == "True"           # the targeted attack reaches class 3
    assert lines[2] == "0.0"            # no accuracy left at eps 0.3 on the undefended MLP
    assert lines[3] == "True True"      # APGD-T fools no fewer than APGD-DLR, within eps
    assert lines[4] == "True"           # adversarial training raised robust accuracy
    assert lines[5] == "0.8333333333333334 0.3333333333333333"
