"""The python blocks of docs/generative.md run, in order, and print what the text says."""


def test_generative_guide_snippets_run(capsys, run_guide):
    run_guide("docs/generative.md", min_blocks=3)
    out = capsys.readouterr().out
    assert "(5, 1, 8, 8) (5, 2)" in out and "True" in out
    assert "['d_fake', 'd_loss', 'd_real', 'g_loss']" in out and "(8, 1, 8, 8)" in out
    assert "2 True (3, 16)" in out  # the RBM block
    assert "(20, 16) True" in out  # an RBM run resumed from its state dict
