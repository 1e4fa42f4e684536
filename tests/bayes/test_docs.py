"""The python blocks of docs/regularization.md run, in order, and print what the text says."""


def test_regularization_guide_snippets_run(capsys, run_guide):
    run_guide("docs/regularization.md", min_blocks=5)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "True True"      # early stopping stops patience epochs after its best
    assert lines[1] == "True 12"        # the ensemble averages probabilities; 3 x 4 tensors
    assert lines[2].split()[0] in {"3.8", "3.9", "4.0", "4.1", "4.2"} and lines[2].endswith("True")
    assert lines[3] == "(2, 2) (5, 5) (10, 10) (5, 2)"  # KFAC: B (x) A covers [W | b]
    assert lines[4] == "True"           # Bayes by Backprop learns digits
    assert lines[5] == "[0.5, 0.0, -0.5, 0.0]"
