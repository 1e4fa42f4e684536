"""examples/gcn_sparse.py: a GCN on a sparse adjacency learns two communities from 4 labels."""


def test_gcn_example_classifies_the_unlabelled_people(capsys, load_script):
    result = load_script("examples/gcn_sparse.py").main(["--nodes", "30", "--steps", "60"])
    assert result["accuracy"] >= 0.9
    assert result["loss"] < 0.1
    assert result["nnz"] < 30 * 30 / 2  # the adjacency is stored sparsely
    assert "accuracy on the 26 unlabelled" in capsys.readouterr().out
