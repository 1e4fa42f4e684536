"""docs/text.md's python blocks (quantization, n-gram features, packed sequences) run as
written."""


def test_text_guide_runs(run_guide):
    run_guide("docs/text.md", min_blocks=3)
