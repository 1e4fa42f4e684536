"""docs/explain.md's python blocks run as written."""


def test_explain_guide_snippets_run(capsys, run_guide):
    namespace = run_guide("docs/explain.md", 2)
    assert namespace["explain"].sparsity(namespace["model"])["global"] >= 0.5
    assert len(namespace["removed"]) == 2
